"""schemathesis against the books API from its own OpenAPI document: generated valid (positive) and invalid
(negative) requests for every operation. Whatever is sent:

- the API never answers 5xx;
- every 4xx carries the JSON error shape ``{"error": {"code": str, "message": str}}``;
- every book the API accepts (POST 201, PUT 200) reads back through GET exactly as sent.

Cases come from schemathesis' strategies driven by Hypothesis directly (its lazy pytest loader does not run
under pytest 9). Bounded by ``FUZZ_MAX_EXAMPLES`` per operation and mode (default 50) to stay under 90 s.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

import pytest
import requests
import schemathesis
from fuzz_api import FuzzTarget
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
OPERATIONS = (
    "POST /books",
    "GET /books",
    "GET /books/{id}",
    "PUT /books/{id}",
    "DELETE /books/{id}",
    "GET /search",
)
# Operations whose only input is the id path parameter: every string is a valid id, so there is no invalid
# request to generate (the negative mode has nothing to negate).
NOTHING_TO_NEGATE = {"GET /books/{id}", "DELETE /books/{id}"}
CASES = [
    (label, mode)
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (mode is GenerationMode.NEGATIVE and label in NOTHING_TO_NEGATE)
]
USER_FIELDS = ("title", "author", "description", "year")
SERVER_FIELDS = {"id", "version", "createdAt", "updatedAt"}


def error_shape_problem(response: requests.Response) -> str | None:
    """Why a 4xx body is not ``{"error": {"code": str, "message": str}}``, or None when it is."""
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"no error object: {body!r}"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return f"error.code/message must be strings: {error!r}"
    return None


def read_back_problem(target: FuzzTarget, book_id: str, sent: dict[str, Any]) -> str | None:
    """Why GET /books/{id} does not return the book exactly as sent, or None when it does."""
    answer = requests.get(
        f"{target.url}/books/{urllib.parse.quote(book_id, safe='')}", timeout=30, auth=target.auth
    )
    if answer.status_code != 200:
        return f"GET after the write answered {answer.status_code}: {answer.text[:200]}"
    got = answer.json()
    if got.get("id") != book_id:
        return f"GET returned id {got.get('id')!r}, wanted {book_id!r}"
    for field in USER_FIELDS:
        if got.get(field) != sent.get(field):
            return f"{field}: sent {sent.get(field)!r}, read back {got.get(field)!r}"
    extra = set(got) - SERVER_FIELDS - set(USER_FIELDS)
    if extra:
        return f"fields nobody sent: {sorted(extra)}"
    return None


def check_case(target: FuzzTarget, case: schemathesis.Case) -> None:
    response = case.call(base_url=target.url, timeout=30, auth=target.auth)
    body = json.dumps(case.body, default=str)
    request = f"{case.method} {case.formatted_path} query={case.query} body={body}"
    assert response.status_code < 500, f"{request[:500]} -> {response.status_code}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        problem = error_shape_problem(response)
        assert problem is None, f"{request[:500]} -> {response.status_code} {problem}"
    accepted = (case.method, case.path, response.status_code) in {
        ("POST", "/books", 201),
        ("PUT", "/books/{id}", 200),
    }
    if accepted:
        # schemathesis keeps path parameters percent-encoded (quote_all): the id is their decoded form, which
        # matters since ids hold "=" (and may hold "-" and "_": the API's base64url of the request id).
        book_id = (
            response.json()["id"]
            if case.method == "POST"
            else urllib.parse.unquote(case.path_parameters["id"])
        )
        problem = read_back_problem(target, book_id, case.body)
        assert problem is None, f"{request[:500]} accepted, but {problem}"


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    """The list below is the document's: a new operation must be added to the fuzzing, not skipped."""
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure reproduces
    database=None,
)


@pytest.mark.docker
@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES])
@BOUNDED
@given(data=st.data())
def test_api_never_fails_and_keeps_what_it_accepts(
    data: st.DataObject, label: str, mode: GenerationMode, api_schema: Any, fuzz_target: FuzzTarget
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the document"
    check_case(fuzz_target, data.draw(operation.as_strategy(generation_mode=mode)))


@pytest.fixture(scope="module")
def existing_book(fuzz_target: FuzzTarget) -> str:
    answer = requests.post(
        f"{fuzz_target.url}/books",
        json={"title": "Fuzzed", "author": "F. Uzz"},
        timeout=30,
        auth=fuzz_target.auth,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.mark.docker
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@BOUNDED
@given(data=st.data())
def test_replacing_an_existing_book_never_fails_and_keeps_what_it_accepts(
    data: st.DataObject, mode: GenerationMode, api_schema: Any, fuzz_target: FuzzTarget, existing_book: str
) -> None:
    """Random ids almost never exist, so PUT is also fuzzed on a real book: accepted bodies must read back."""
    operation = api_schema.find_operation_by_label("PUT /books/{id}")
    strategy = operation.as_strategy(generation_mode=mode, path_parameters={"id": existing_book})
    check_case(fuzz_target, data.draw(strategy))
