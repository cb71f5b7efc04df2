"""With ``create = false`` a module creates nothing and every output still evaluates (to null or empty)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from books_local.terragrunt import provider_config

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
module "table" {{
  source = "{root}/modules/table"
  create = false
  name   = "unused"
}}

module "opensearch" {{
  source      = "{root}/modules/opensearch"
  create      = false
  domain_name = "unused"
}}

module "lambda" {{
  source                = "{root}/modules/lambda"
  create                = false
  function_name         = "unused"
  image_uri             = "123456789012.dkr.ecr.us-east-1.amazonaws.com/unused:1"
  table_stream_arn      = "arn:aws:dynamodb:us-east-1:123456789012:table/unused/stream/label"
  opensearch_endpoint   = "search-unused.us-east-1.es.amazonaws.com"
  opensearch_domain_arn = "arn:aws:es:us-east-1:123456789012:domain/unused"
}}

output "table" {{
  value = module.table
}}

output "opensearch" {{
  value = module.opensearch
}}

output "lambda" {{
  value = module.lambda
}}
"""


@pytest.mark.timeout(900)
def test_modules_create_nothing_and_outputs_evaluate(
    tmp_path: Path, infra_moto: str, terraform_env: dict[str, str]
) -> None:
    (tmp_path / "main.tf").write_text(CONFIG.format(root=ROOT))
    (tmp_path / "provider.tf").write_text(provider_config("us-east-1", infra_moto, {}))
    for command in (["init"], ["apply", "-auto-approve"]):
        result = subprocess.run(
            ["terraform", *command, "-input=false", "-no-color"],
            cwd=tmp_path,
            env=terraform_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr + result.stdout
    state = subprocess.run(
        ["terraform", "state", "list"], cwd=tmp_path, env=terraform_env, capture_output=True, text=True
    )
    assert [line for line in state.stdout.splitlines() if ".data." not in line] == []
    outputs = json.loads(
        subprocess.run(
            ["terraform", "output", "-json"], cwd=tmp_path, env=terraform_env, capture_output=True, text=True
        ).stdout
    )
    for module in ("table", "opensearch", "lambda"):
        values = outputs[module]["value"]
        assert values, module
        for name, value in values.items():
            if name == "event_source_mapping":  # settings, known whether or not the mapping exists
                assert value["function_response_types"] == ["ReportBatchItemFailures"]
                assert value["destination_arn"] is None
                continue
            assert value in (None, {}), f"{module}.{name} = {value!r} although nothing was created"
