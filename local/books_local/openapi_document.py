"""The api module's OpenAPI document, rendered by Terraform exactly as it is deployed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["OPENAPI_MODULE", "render_openapi_document"]

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_MODULE = ROOT / "modules" / "api" / "modules" / "openapi"


def render_openapi_document(terraform: str = "terraform", **variables: Any) -> dict[str, Any]:
    """The api module's OpenAPI document for ``variables``, rendered by Terraform exactly as it is deployed.

    Applies modules/api/modules/openapi (no providers, no resources) in a temporary root, about a second.
    Variables are that module's: title, region, table_name, idempotency_table_name (default
    ``<table_name>-idempotency``, as the api module names it), execution_role_arn, opensearch_domain_endpoint,
    opensearch_index, authorization (AWS_IAM, as dev and prod deploy it), limits, ...; all but table_name
    default to local values here.
    """
    values = {
        "title": "books-local",
        "idempotency_table_name": f"{variables.get('table_name', 'books')}-idempotency",
        "region": os.environ.get("AWS_REGION", "us-east-1"),
        "execution_role_arn": "arn:aws:iam::000000000000:role/books-api-local",
        "opensearch_domain_endpoint": "search-books-local.us-east-1.es.amazonaws.com",
        "authorization": "AWS_IAM",
        **variables,
    }
    executable = shutil.which(terraform)
    if executable is None:
        raise FileNotFoundError(f"terraform executable {terraform!r} not found on PATH")
    with tempfile.TemporaryDirectory(prefix="openapi-render-") as workdir:
        root = Path(workdir)
        (root / "main.tf").write_text(
            'variable "values" {\n  type = any\n}\n\n'
            f'module "openapi" {{\n  source = "{OPENAPI_MODULE.as_posix()}"\n'
            + "".join(f"  {name} = var.values.{name}\n" for name in values)
            + '}\n\noutput "document" {\n  value = module.openapi.document\n}\n'
        )
        (root / "values.auto.tfvars.json").write_text(json.dumps({"values": values}))
        environment = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        environment.pop("TF_CLI_ARGS", None)
        for command in (
            ["init", "-backend=false"],
            ["apply", "-auto-approve"],
            ["output", "-raw", "document"],
        ):
            result = subprocess.run(
                [executable, *command], cwd=root, env=environment, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise RuntimeError(f"terraform {command[0]} failed:\n{result.stderr or result.stdout}")
        return json.loads(result.stdout)
