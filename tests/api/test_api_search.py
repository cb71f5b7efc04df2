"""GET /search as consumers rely on it: bounded pagination, exact-author and year filters, sorts, a bounded q
with typo tolerance only where it is cheap, and errors that name the parameter (local gateway, OpenSearch
stand-in with the indexer's own mapping)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from api_http_client import Api

AUTHOR = "Ursula K. Le Guin"


@pytest.fixture(scope="module")
def shelf(api: Api, opensearch_url: str) -> dict[str, Any]:
    """Twelve books sharing one rare word, indexed directly (the oracle is the index, not the API)."""
    word = "zq" + uuid.uuid4().hex[:8]
    books = {
        f"{word}-{n:02d}": {
            "id": f"{word}-{n:02d}",
            "title": f"{word} volume {n:02d}",
            "author": AUTHOR if n % 2 else "Ursula Smith",
            "year": 1960 + n,
        }
        for n in range(12)
    }
    lines = "".join(
        json.dumps({"index": {"_index": api.index, "_id": doc_id}}) + "\n" + json.dumps(book) + "\n"
        for doc_id, book in books.items()
    )
    request = urllib.request.Request(
        f"{opensearch_url}/_bulk?refresh=true",
        data=lines.encode(),
        method="POST",
        headers={"Content-Type": "application/x-ndjson"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert not json.loads(answer.read())["errors"]
    return {"word": word, "books": books}


def search(api: Api, **query: Any) -> Any:
    reply = api.call("GET", "/search?" + urllib.parse.urlencode(query))
    assert reply.status == 200, reply.body
    return reply.json()


def test_pages_of_size_and_from_cover_every_match_once_with_the_total(
    api: Api, shelf: dict[str, Any]
) -> None:
    seen: list[str] = []
    for start in range(0, 12, 5):
        page = search(api, q=shelf["word"], size=5, **{"from": start}, sort="title")
        assert page["total"] == 12
        seen.extend(item["id"] for item in page["items"])

    assert seen == sorted(shelf["books"])


def test_exact_author_and_year_range_filter(api: Api, shelf: dict[str, Any]) -> None:
    found = search(api, q=shelf["word"], author=AUTHOR, yearFrom=1963, yearTo=1969)

    expected = {i for i, b in shelf["books"].items() if b["author"] == AUTHOR and 1963 <= b["year"] <= 1969}
    assert {item["id"] for item in found["items"]} == expected
    assert search(api, q=shelf["word"], author="Ursula")["total"] == 0  # exact, not a match on a word


def test_sort_by_year_descending(api: Api, shelf: dict[str, Any]) -> None:
    years = [item["book"]["year"] for item in search(api, q=shelf["word"], sort="-year", size=12)["items"]]

    assert years == sorted((b["year"] for b in shelf["books"].values()), reverse=True)


def test_a_typo_is_tolerated_in_a_short_query_but_not_in_a_long_one(api: Api, shelf: dict[str, Any]) -> None:
    typo = shelf["word"][:-1] + ("a" if shelf["word"][-1] != "a" else "b")
    long_query = typo + " " + " ".join(["filler"] * 10)  # over 64 characters: matched exactly

    assert search(api, q=typo)["total"] == 12
    assert search(api, q=long_query)["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"q": "x" * 257}, "q"),
        ({"q": "x", "size": "0"}, "size"),
        ({"q": "x", "size": "101"}, "size"),
        ({"q": "x", "from": "-1"}, "from"),
        ({"q": "x", "from": "9990", "size": "20"}, "from"),
        ({"q": "x", "author": "a" * 257}, "author"),
        ({"q": "x", "yearFrom": "19x"}, "yearFrom"),
        ({"q": "x", "yearTo": "007"}, "yearTo"),
        ({"q": "x", "yearFrom": "2000", "yearTo": "1999"}, "yearFrom"),
        ({"q": "x", "sort": "price"}, "sort"),
    ],
)
def test_each_invalid_parameter_is_400_naming_it(api: Api, query: dict[str, str], field: str) -> None:
    reply = api.call("GET", "/search?" + urllib.parse.urlencode(query))

    assert reply.status == 400, reply.body
    assert reply.json()["error"]["code"] == "BAD_REQUEST"
    assert reply.json()["error"]["message"].startswith(f"{field} ")


def test_the_last_allowed_page_is_answered(api: Api, shelf: dict[str, Any]) -> None:
    """from + size may reach OpenSearch's max_result_window (10000) but not pass it."""
    assert search(api, q=shelf["word"], size=20, **{"from": 9980})["items"] == []


def test_search_parameters_come_from_the_query_string_not_headers(api: Api, shelf: dict[str, Any]) -> None:
    headers = {"size": "0", "sort": "price", "author": "nobody"}
    reply = api.call("GET", "/search?" + urllib.parse.urlencode({"q": shelf["word"]}), headers=headers)

    assert reply.status == 200, reply.body
    assert reply.json()["total"] == 12
