"""Fine-grained access control inside the domain: modules/opensearch renders the security roles and role
mappings, scripts/apply_security.py applies them through the security REST API, signed for ``es``.

The configuration comes from a plan of the module itself (Cognito passed in, so every ARN is known at plan
time). The script runs as the apply runs it (``python3``, its environment, curl signing) against
``support.security_api``, a stand-in of the domain's security REST API that verifies every signature with
botocore and refuses what the documented API refuses: no OpenSearch with the security plugin can run here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from books_local.terragrunt import provider_config, terraform_env
from indexer.tombstones import ALIAS_FILTER
from support.security_api import SecurityApi, security_api

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "modules" / "opensearch" / "scripts" / "apply_security.py"
REGION = "eu-west-1"
ACCOUNT = "111111111111"
MASTER = f"arn:aws:iam::{ACCOUNT}:role/deployer"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/books-dev-os-admin-1"
ANALYST = f"arn:aws:iam::{ACCOUNT}:role/books-dev-os-analyst-1"
INDEXER = f"arn:aws:iam::{ACCOUNT}:role/books-dev-indexer"
API_ROLES = f"arn:aws:iam::{ACCOUNT}:role/books-dev-api-*"
KEY, SECRET = "AKIAMASTERUSER000001", "master-secret"


def _terraform(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, env=terraform_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stderr}{done.stdout}"
    return done.stdout


@pytest.fixture(scope="module")
def security_config(infra_moto: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The module's ``security_config`` output for a domain with Dashboards access on."""
    workdir = tmp_path_factory.mktemp("opensearch-fgac")
    shutil.copytree(ROOT / "modules" / "opensearch", workdir, dirs_exist_ok=True)
    (workdir / "provider.tf").write_text(provider_config("us-east-1", infra_moto, {}))
    inputs = {
        "domain_name": "books-dev",
        "dashboards_access": {
            "master_user_arn": MASTER,
            "cognito": {
                "user_pool_id": "eu-west-1_Abc123",
                "identity_pool_id": "eu-west-1:11111111-2222-3333-4444-555555555555",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/cognito-access",
                "admin_role_arn": ADMIN,
                "analyst_role_arn": ANALYST,
            },
        },
        "index_access": {"alias": "books", "writer_role_arns": [INDEXER], "reader_role_arns": [API_ROLES]},
    }
    (workdir / "terraform.tfvars.json").write_text(json.dumps(inputs))
    _terraform(["terraform", "init", "-input=false", "-no-color"], workdir)
    _terraform(["terraform", "plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin"], workdir)
    plan = json.loads(_terraform(["terraform", "show", "-json", "plan.bin"], workdir))
    return plan["planned_values"]["outputs"]["security_config"]["value"]


@pytest.fixture
def domain() -> Any:
    """A domain whose built-in roles are mapped as AWS maps them: the IAM master user on all_access and
    security_manager; kibana_user on its default backend role."""
    api = SecurityApi(region=REGION, secrets={KEY: SECRET})
    api.mappings.update(
        {
            "all_access": {"backend_roles": [MASTER], "hosts": [], "users": []},
            "security_manager": {"backend_roles": [MASTER], "hosts": [], "users": []},
            "kibana_user": {"backend_roles": ["kibanauser"], "hosts": [], "users": []},
        }
    )
    with security_api(api) as running:
        yield running


def run_script(api: SecurityApi, config: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ["PATH"],
        "OPENSEARCH_URL": api.url,
        "AWS_REGION": REGION,
        "SECURITY_CONFIG": json.dumps(config),
        "MASTER_USER_ARN": MASTER,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "SECURITY_FIRST_WAIT_SECONDS": "0.01",
        **env,
    }
    environ = {name: value for name, value in environ.items() if value}
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=environ, capture_output=True, text=True, timeout=120
    )


def test_the_script_applies_the_modules_roles_and_mappings_and_keeps_the_master_user(
    security_config: dict[str, Any], domain: SecurityApi
) -> None:
    done = run_script(domain, security_config)
    assert done.returncode == 0, done.stderr
    assert domain.roles == security_config["roles"]
    assert {r.access_key for r in domain.requests} == {KEY}
    mapped = {name: sorted(mapping["backend_roles"]) for name, mapping in domain.mappings.items()}
    assert mapped == {
        "books_writer": [INDEXER],
        "books_reader": [API_ROLES],  # the API role has a name_prefix: backend roles match wildcards
        "books_analyst": [ANALYST],
        "kibana_user": sorted(["kibanauser", ANALYST]),
        "all_access": sorted([MASTER, ADMIN]),
        "security_manager": sorted([MASTER, ADMIN]),
    }


def test_a_second_run_writes_nothing(security_config: dict[str, Any], domain: SecurityApi) -> None:
    assert run_script(domain, security_config).returncode == 0
    before = len(domain.puts())
    again = run_script(domain, security_config)
    assert again.returncode == 0, again.stderr
    assert len(domain.puts()) == before
    assert "0 change(s)" in again.stdout


def test_temporary_credentials_sign_their_session_token(
    security_config: dict[str, Any], domain: SecurityApi
) -> None:
    domain.temporary.add(KEY)
    done = run_script(domain, security_config, AWS_SESSION_TOKEN="FwoGZXIvYXdzEXAMPLE/token+with=chars")
    assert done.returncode == 0, done.stderr
    assert all("x-amz-security-token" in request.signed_headers for request in domain.requests)


@pytest.mark.parametrize(
    "credentials",
    [{"AWS_ACCESS_KEY_ID": "AKIASOMEONEELSE00001"}, {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}],
    ids=["another identity", "a bad signature"],
)
def test_an_identity_the_domain_refuses_fails_the_apply_naming_the_master_user(
    security_config: dict[str, Any], domain: SecurityApi, credentials: dict[str, str]
) -> None:
    done = run_script(domain, security_config, **credentials)
    assert done.returncode == 1
    assert "403" in done.stderr
    assert MASTER in done.stderr
    assert domain.puts() == []


def test_a_domain_that_is_still_starting_is_asked_again(
    security_config: dict[str, Any], domain: SecurityApi
) -> None:
    domain.unavailable_for = 3
    done = run_script(domain, security_config)
    assert done.returncode == 0, done.stderr
    assert domain.roles == security_config["roles"]


def test_without_credentials_the_error_says_where_they_come_from(
    security_config: dict[str, Any], domain: SecurityApi
) -> None:
    done = run_script(domain, security_config, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    if done.returncode == 0:
        pytest.skip("an AWS CLI v2 here resolved credentials of its own")
    assert "AWS_ACCESS_KEY_ID" in done.stderr
    assert "export-credentials" in done.stderr
    assert domain.requests == []


def test_analysts_see_what_the_api_shows(security_config: dict[str, Any]) -> None:
    """Document-level security hides tombstones with the alias's own filter (indexer.tombstones), and
    field-level security the indexer's reserved fields, whatever index an analyst names."""
    (permissions,) = security_config["roles"]["books_analyst"]["index_permissions"]
    assert json.loads(permissions["dls"]) == ALIAS_FILTER
    assert permissions["fls"] == ["~indexer_*"]
    assert permissions["allowed_actions"] == ["read"]
    assert set(permissions["index_patterns"]) == {"books", "books-*"}


def test_the_indexers_role_grants_every_permission_its_readme_lists(security_config: dict[str, Any]) -> None:
    """artifacts/update_indices/README.md lists the index permissions the indexer's requests need with
    fine-grained access control ("Requests it makes"); the writer role must grant each of them."""
    readme = (ROOT / "artifacts" / "update_indices" / "README.md").read_text()
    paragraph = readme[readme.index("With fine-grained access control") :].split("\n\n")[0]
    listed = set(re.findall(r"`(indices:[a-z/_*]+)`", paragraph))
    assert len(listed) >= 10
    (permissions,) = security_config["roles"]["books_writer"]["index_permissions"]
    assert listed <= set(permissions["allowed_actions"])
    assert set(permissions["index_patterns"]) == {"books", "books-*"}
    (reader,) = security_config["roles"]["books_reader"]["index_permissions"]
    assert reader["allowed_actions"] == ["indices:data/read/search*"]
