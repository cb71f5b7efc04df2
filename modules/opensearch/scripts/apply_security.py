"""Applies fine-grained access control roles and role mappings through a domain's security REST API.

Run by modules/opensearch's ``terraform_data.security`` (local-exec) with these environment variables:

- ``OPENSEARCH_URL``: ``https://<domain endpoint>``;
- ``AWS_REGION``: the domain's region;
- ``SECURITY_CONFIG``: ``{"roles": {name: role}, "role_mappings": {name: mapping}}``, the module's
  ``local.security_config``;
- ``MASTER_USER_ARN``: the master user, named when the domain refuses a request.

The security REST API ("Access control API", https://docs.opensearch.org/latest/security/access-control/api/):
``GET``/``PUT /_plugins/_security/api/roles/<role>`` and ``.../rolesmapping/<role>``; a PUT creates or
replaces. Roles named in ``roles`` and their mappings are written exactly as given. Mappings of any other role
(the built-in ``all_access``, ``security_manager``, ``kibana_user``) are read first and only gain the given
backend roles: a PUT replaces the whole mapping ("perform GET requests first so that you can include all
current roles in the PUT requests", "Additional master users" in
https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html), and the master user AWS
mapped there must stay. Nothing unchanged is written again, so a second run sends no PUT.

Requests are signed with Signature Version 4 for the service ``es`` by curl (``--aws-sigv4``, curl 7.75 or
later), with the credentials in ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` when
set, otherwise with the ones the AWS CLI resolves (``aws configure export-credentials``, AWS CLI v2), the
same chain the provider uses. Credentials reach curl through its standard input, never its command line. A
request answered 5xx or not answered (a domain still starting) is tried again, ``SECURITY_ATTEMPTS`` times
(default 8) with waits doubling from ``SECURITY_FIRST_WAIT_SECONDS`` (default 2). Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

API = "/_plugins/_security/api"
MAPPING_FIELDS = ("backend_roles", "and_backend_roles", "hosts", "users", "description")
ROLE_FIELDS = ("cluster_permissions", "index_permissions", "tenant_permissions", "description")


class SecurityError(Exception):
    """A request the domain refused or never answered; the message says what to check."""


class Domain:
    def __init__(self, url: str, region: str, credentials: Mapping[str, str], master_user: str) -> None:
        self.url = url.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.master_user = master_user
        self.attempts = int(os.environ.get("SECURITY_ATTEMPTS", "8"))
        self.first_wait = float(os.environ.get("SECURITY_FIRST_WAIT_SECONDS", "2"))
        self.puts = 0

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``, or None when the domain answers 404."""
        status, body = self._request("GET", path)
        return None if status == 404 else body

    def put(self, path: str, document: Mapping[str, Any]) -> None:
        self._request("PUT", path, document)
        self.puts += 1

    def _request(self, method: str, path: str, document: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        wait = self.first_wait
        for attempt in range(1, self.attempts + 1):
            status, text = self._curl(method, path, document)
            if status not in (0, 500, 502, 503, 504):
                break
            if attempt == self.attempts:
                raise SecurityError(
                    f"{method} {path}: no answer from {self.url} after {self.attempts} attempts "
                    f"(last: {status or 'connection failed'} {text[:200]}); "
                    "is the endpoint reachable from here?"
                )
            time.sleep(wait)
            wait = min(wait * 2, 30)
        if status in (401, 403):
            raise SecurityError(
                f"{method} {path}: the domain refused the request ({status} {text[:300]}). Apply as the "
                f"master user {self.master_user} (dashboards_access.master_user_arn) or as an identity "
                "mapped to security_manager, and make sure the domain's access policy admits it."
            )
        if status == 404 and method == "GET":
            return status, None
        if not 200 <= status < 300:
            raise SecurityError(f"{method} {path}: {status} {text[:500]}")
        return status, json.loads(text) if text.strip() else {}

    def _curl(self, method: str, path: str, document: Mapping[str, Any] | None) -> tuple[int, str]:
        """One signed request; (status, body), status 0 when there was no HTTP answer."""
        config = [
            f'user = "{self.credentials["AccessKeyId"]}:{self.credentials["SecretAccessKey"]}"',
            f'aws-sigv4 = "aws:amz:{self.region}:es"',
        ]
        if self.credentials.get("SessionToken"):
            config.append(f'header = "x-amz-security-token: {self.credentials["SessionToken"]}"')
        with tempfile.NamedTemporaryFile("w", suffix=".json") as body:
            command = ["curl", "--silent", "--show-error", "--max-time", "60", "--config", "-"]
            command += ["--request", method, "--write-out", "\n%{http_code}"]
            if document is not None:
                json.dump(document, body, sort_keys=True)
                body.flush()
                command += ["--header", "Content-Type: application/json", "--data-binary", f"@{body.name}"]
            command.append(self.url + path)
            done = subprocess.run(command, input="\n".join(config) + "\n", capture_output=True, text=True)
        text, _, code = done.stdout.rpartition("\n")
        if done.returncode != 0 or not code.isdigit():
            return 0, done.stderr.strip()
        return int(code), text


def credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment's credentials, or the ones the AWS CLI resolves (profiles, SSO, instance roles)."""
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return {
            "AccessKeyId": environ["AWS_ACCESS_KEY_ID"],
            "SecretAccessKey": environ["AWS_SECRET_ACCESS_KEY"],
            "SessionToken": environ.get("AWS_SESSION_TOKEN", ""),
        }
    try:
        done = subprocess.run(
            ["aws", "configure", "export-credentials", "--format", "process"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SecurityError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or "
            f"install AWS CLI v2 so that `aws configure export-credentials` can resolve them ({exc})"
        ) from exc
    return json.loads(done.stdout)


def apply(domain: Domain, config: Mapping[str, Any], say: Any = print) -> None:
    roles: Mapping[str, Any] = config.get("roles") or {}
    for name, role in roles.items():
        wanted = {field: role[field] for field in ROLE_FIELDS if field in role}
        current = (domain.get(f"{API}/roles/{name}") or {}).get(name)
        if current is None or _normalized(current, ROLE_FIELDS) != _normalized(wanted, ROLE_FIELDS):
            domain.put(f"{API}/roles/{name}", wanted)
            say(f"security: role {name} written")
    for name, mapping in (config.get("role_mappings") or {}).items():
        current = (domain.get(f"{API}/rolesmapping/{name}") or {}).get(name)
        given = sorted(set(mapping.get("backend_roles") or []))
        if name in roles:
            wanted = {"backend_roles": given, "hosts": [], "users": []}
        else:  # a built-in role: keep everything mapped to it, add ours
            kept = {
                field: (current or {}).get(field) for field in MAPPING_FIELDS if (current or {}).get(field)
            }
            wanted = {**kept, "backend_roles": sorted(set(kept.get("backend_roles") or []) | set(given))}
        if current is None or _normalized(current, MAPPING_FIELDS) != _normalized(wanted, MAPPING_FIELDS):
            domain.put(f"{API}/rolesmapping/{name}", wanted)
            mapped = ", ".join(wanted["backend_roles"]) or "no backend roles"
            say(f"security: role mapping {name} written ({mapped})")
    say(f"security: {domain.puts} change(s) applied to {domain.url}")


def _normalized(document: Mapping[str, Any], fields: tuple[str, ...]) -> Any:
    """The fields that decide whether a PUT would change anything, as the API may return them: empty values
    (``"dls": ""``, ``"masked_fields": []``) and the order of names do not count."""
    return _canonical({field: document.get(field) for field in fields})


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: _canonical(item) for key, item in sorted(value.items()) if item not in (None, "", [], {})
        }
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items) if all(isinstance(item, str) for item in items) else items
    return value


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        missing = [
            name for name in ("OPENSEARCH_URL", "AWS_REGION", "SECURITY_CONFIG") if not environ.get(name)
        ]
        if missing:
            raise SecurityError(f"{', '.join(missing)} not set (modules/opensearch passes them)")
        domain = Domain(
            environ["OPENSEARCH_URL"],
            environ["AWS_REGION"],
            credentials(environ),
            environ.get("MASTER_USER_ARN", "(unknown)"),
        )
        apply(domain, json.loads(environ["SECURITY_CONFIG"]))
    except SecurityError as error:
        print(f"apply_security.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
