"""An OpenSearch stand-in that restarts like a node: documents survive, in-memory delete tombstones do not.

OpenSearch persists indexed documents (with their versions) in Lucene and its translog, but keeps the
versions of deleted documents only in the in-memory version map, for ``index.gc_deletes`` (60 s by default),
so a node restart or a blue/green deployment forgets them (OpenSearch's ``IndexSettings.
INDEX_GC_DELETES_SETTING``, default 60 s; the Elasticsearch reference it inherits, "Delete API: Versioning",
https://www.elastic.co/guide/en/elasticsearch/reference/7.10/docs-delete.html#delete-versioning). A late
upsert with an older external version is then accepted, and a deleted document comes back.

The stand-in (``osmem-server``) keeps everything in memory, so ``restart`` does what a node keeps across a
restart and nothing more: it reads every index's settings, mappings, aliases (with their filters) and every
document with its version, kills the process, starts a new one on the same port and writes them back with
``version_type=external``. Deleted documents' versions are not carried over.

Sequence numbers: OpenSearch stores each document's ``_seq_no``/``_primary_term`` with it and keeps numbering
above them after a restart (a recovered primary even gets a new, higher primary term), so a conditional write
(``if_seq_no``) prepared before the restart still means what it meant. The new stand-in process would number
from 0 again, and a condition read before the restart could then match another state of the document by
coincidence. So the restart first moves the new process's numbering past every number the old one gave (read
with a probe write just before the kill): every condition read before it then fails and is read again,
stricter than OpenSearch (where an unchanged document keeps its number), never kinder. Call it inside
``FaultProxy.outage()`` so no write lands between the read and the kill (a real node acknowledges a write
only once it is durable).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from osmem_server import resolve_binary

from books_local.ports import free_port

# Settings a new index cannot be created with (they describe the old one).
READ_ONLY_SETTINGS = {"uuid", "creation_date", "provided_name", "version", "creation_date_string"}
PAGE = 1000
PROBE = "restartable-search-seq-no-probe"  # a document id no test writes


class RestartableSearch:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.restarts = 0
        self.restored_documents = 0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RestartableSearch:
        self._launch()
        return self

    def __exit__(self, *exc: object) -> None:
        self._kill()

    def restart(self) -> None:
        """Restart the node: same port, same documents and versions, no memory of deletes."""
        state = self._snapshot()
        self._kill()
        self._launch()
        self._restore(state)
        self.restarts += 1

    # -- process ---------------------------------------------------------------------------------------
    def _launch(self) -> None:
        command = [resolve_binary(), "-addr", f"127.0.0.1:{self.port}", "-no-ja", "-no-stdin-watch"]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/")
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"osmem-server did not start; see {self.log}") from None
                time.sleep(0.05)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    # -- what a node keeps -------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        indices = self._call("GET", "/_all")
        state: dict[str, Any] = {}
        for name, description in indices.items():
            settings = {
                key: value
                for key, value in description.get("settings", {}).get("index", {}).items()
                if key not in READ_ONLY_SETTINGS
            }
            state[name] = {
                "settings": {"index": settings},
                "mappings": description.get("mappings", {}),
                "aliases": description.get("aliases", {}),
                "documents": self._documents(name),
                "next_seq_no": self._next_seq_no(name),
            }
        return state

    def _next_seq_no(self, index: str) -> int:
        """The sequence number the index would give its next write (a probe written, then deleted)."""
        written = self._call("PUT", f"/{index}/_doc/{PROBE}", {"probe": True})
        self._call("DELETE", f"/{index}/_doc/{PROBE}")
        return int(written["_seq_no"]) + 2

    def _documents(self, index: str) -> list[tuple[str, int, dict[str, Any]]]:
        self._call("POST", f"/{index}/_refresh")
        documents: list[tuple[str, int, dict[str, Any]]] = []
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": PAGE,
                "version": True,
                "stored_fields": ["*"],  # fields kept out of _source (store: true) survive a restart too
                "_source": True,
                "sort": [{"_id": "asc"}],
            }
            if after is not None:
                body["search_after"] = after
            hits = self._call("POST", f"/{index}/_search", body)["hits"]["hits"]
            for hit in hits:
                stored = {
                    name: values[0] if len(values) == 1 else values
                    for name, values in hit.get("fields", {}).items()
                }
                documents.append((hit["_id"], hit["_version"], {**hit["_source"], **stored}))
            if len(hits) < PAGE:
                return documents
            after = hits[-1]["sort"]

    def _restore(self, state: dict[str, Any]) -> None:
        for name, index in state.items():
            body = {"settings": index["settings"], "mappings": index["mappings"], "aliases": index["aliases"]}
            self._call("PUT", f"/{name}", body)
            self._advance_seq_no(name, index["next_seq_no"])
            lines: list[str] = []
            for doc_id, version, source in index["documents"]:
                meta = {"_index": name, "_id": doc_id, "version": version, "version_type": "external"}
                lines += [json.dumps({"index": meta}), json.dumps(source)]
            for start in range(0, len(lines), 2 * PAGE):
                chunk = "\n".join(lines[start : start + 2 * PAGE]) + "\n"
                answer = self._call("POST", "/_bulk?refresh=true", chunk, content_type="application/x-ndjson")
                assert not answer.get("errors"), f"restoring {name} failed: {answer}"
            self.restored_documents += len(index["documents"])

    def _advance_seq_no(self, index: str, floor: int) -> None:
        """Spend sequence numbers in the new process until its next one is at least ``floor``."""
        line = json.dumps({"index": {"_id": PROBE}}) + "\n" + json.dumps({"probe": True}) + "\n"
        for start in range(0, floor, PAGE):
            chunk = line * min(PAGE, floor - start)
            self._call("POST", f"/{index}/_bulk", chunk, content_type="application/x-ndjson")
        self._call("DELETE", f"/{index}/_doc/{PROBE}")

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        data = json.dumps(body).encode() if body is not None and not isinstance(body, str) else None
        if isinstance(body, str):
            data = body.encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("content-type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None
