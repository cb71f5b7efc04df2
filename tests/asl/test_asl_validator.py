"""The bulk-load state machine's definition, as Terraform renders it, checked against the Amazon States
Language by npm's ``asl-validator`` (pinned in package.json/package-lock.json here).

moto's parser cannot judge the features a Distributed Map may use (it rejects ``InputType: JSONL``,
``ItemBatcher`` and ``EXPRESS`` children, which AWS accepts), so the local stack's execution of the
definition proves what it does, and this validator proves it is one AWS accepts. Each broken variant below
breaks one rule of the Amazon States Language specification (https://states-language.net/spec.html) or of
the Map state's distributed mode ("Using Map state in Distributed mode",
https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html), so the validator is seen
to refuse what AWS refuses.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VERSION = "4.0.0"
EXAMPLE = {
    "table_arn": "arn:aws:dynamodb:eu-west-1:222222222222:table/books-prod",
    "bucket": "books-prod-bulk-load-222222222222-eu-west-1",
    "function_arn": "arn:aws:lambda:eu-west-1:222222222222:function:books-prod-bulk-load-export",
    "max_concurrency": 6,
}
KMS_KEY = "arn:aws:kms:eu-west-1:222222222222:key/0d5a7c2e-1111-4222-8333-944455556666"
RENDER = """locals {{
  kms_key_arn = {kms_key_arn}
}}

output "definition" {{
  value = templatefile("{template}", merge({variables}, {{ export_encryption = {export_encryption} }}))
}}
"""


def _export_encryption() -> str:
    """main.tf's own expression for the Export task's encryption fields, on the render's key."""
    main = (ROOT / "modules" / "bulk-load" / "main.tf").read_text()
    match = re.search(r"^\s*export_encryption\s*=\s*(.+)$", main, re.MULTILINE)
    assert match, "main.tf renders the definition with export_encryption"
    return match.group(1).replace("var.kms_key_arn", "local.kms_key_arn")


@pytest.fixture(scope="module")
def validator() -> Path:
    """The pinned asl-validator, installed with `npm ci` when missing (what `make asl` does)."""
    binary = HERE / "node_modules" / ".bin" / "asl-validator"
    installed = HERE / "node_modules" / ".installed"
    lock = HERE / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600)
        installed.touch()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == VERSION
    return binary


@pytest.fixture(scope="module")
def definition(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]) -> dict[str, Any]:
    """state_machine.asl.json rendered by Terraform's templatefile() with live/prod-like values, as the
    module renders it."""
    return render(tmp_path_factory, terraform_env, None)


@pytest.fixture(scope="module")
def kms_definition(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]) -> dict[str, Any]:
    """The same, for a bucket with a customer managed key (the module's kms_key_arn)."""
    return render(tmp_path_factory, terraform_env, KMS_KEY)


def render(
    tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str], kms_key_arn: str | None
) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("asl-render")
    template = ROOT / "modules" / "bulk-load" / "state_machine.asl.json"
    variables = "{" + ", ".join(f"{name} = {json.dumps(value)}" for name, value in EXAMPLE.items()) + "}"
    (workdir / "main.tf").write_text(
        RENDER.format(
            template=template,
            variables=variables,
            kms_key_arn="null" if kms_key_arn is None else json.dumps(kms_key_arn),
            export_encryption=_export_encryption(),
        )
    )
    for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        result = subprocess.run(
            ["terraform", *command, "-no-color"],
            cwd=workdir,
            env=terraform_env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr + result.stdout
    shown = subprocess.run(
        ["terraform", "output", "-raw", "definition"],
        cwd=workdir,
        env=terraform_env,
        capture_output=True,
        text=True,
    )
    return json.loads(shown.stdout)


def check(validator: Path, definition: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    path.write_text(json.dumps(definition, indent=2))
    return subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, timeout=60
    )


def test_the_rendered_definition_is_valid(
    validator: Path, definition: dict[str, Any], tmp_path: Path
) -> None:
    result = check(validator, definition, tmp_path / "definition.json")
    assert result.returncode == 0, result.stdout + result.stderr
    files = definition["States"]["Files"]
    assert files["MaxConcurrency"] == EXAMPLE["max_concurrency"]  # a number, not the template's text
    assert files["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def test_a_file_or_slice_that_keeps_failing_fails_its_lambda_task_so_a_redrive_runs_it_again(
    validator: Path, definition: dict[str, Any], tmp_path: Path
) -> None:
    """ "When you redrive an execution, it continues the failed execution from the unsuccessful step"
    (RedriveExecution, https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html).
    A Fail state after a successful task would make the Fail state the unsuccessful step, and the redrive
    would fail again without running the task: so the file child has no Fail state, the function raises
    ItemsFailed (or ExportTooOld), and those errors are not retried (a person fixes the cause first)."""
    child = definition["States"]["Files"]["ItemProcessor"]["States"]
    assert [name for name, state in child.items() if state["Type"] == "Fail"] == []
    choices = child["FileDone"]["Choices"]
    assert [c["StringEquals"] for c in choices] == ["done"]
    first = child["LoadFile"]["Retry"][0]
    assert first == {"ErrorEquals": ["ItemsFailed", "ExportTooOld"], "MaxAttempts": 0}
    prepare = definition["States"]["Prepare"]
    assert prepare["Retry"][0] == {"ErrorEquals": ["ExportTooOld"], "MaxAttempts": 0}
    # The same for a slice whose repairs keep failing (slice_children.STUCK_PASSES): no Fail state after it.
    maps = [state for state in definition["States"].values() if state["Type"] == "Map"]
    slices = next(m["ItemProcessor"]["States"] for m in maps if "CheckSlice" in m["ItemProcessor"]["States"])
    assert [name for name, state in slices.items() if state["Type"] == "Fail"] == []
    assert [c["StringEquals"] for c in slices["SliceDone"]["Choices"]] == ["done"]
    assert slices["CheckSlice"]["Retry"][0] == {"ErrorEquals": ["ItemsFailed"], "MaxAttempts": 0}
    assert prepare["Parameters"]["Payload"]["allow_old_export.$"] == "$.allow_old_export"


def test_the_export_writes_with_the_buckets_customer_managed_key(
    validator: Path, definition: dict[str, Any], kms_definition: dict[str, Any], tmp_path: Path
) -> None:
    """ExportTableToPointInTime takes "S3SseAlgorithm" (AES256 | KMS) and "S3SseKmsKeyId" ("The ID of the
    KMS managed key used to encrypt the S3 bucket where export data will be stored",
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ExportTableToPointInTime.html): with
    the module's kms_key_arn the export uses that key; without it, neither field (the bucket's SSE-S3)."""
    result = check(validator, kms_definition, tmp_path / "kms.json")
    assert result.returncode == 0, result.stdout + result.stderr
    parameters = kms_definition["States"]["Export"]["Parameters"]
    assert (parameters["S3SseAlgorithm"], parameters["S3SseKmsKeyId"]) == ("KMS", KMS_KEY)
    assert "S3SseAlgorithm" not in definition["States"]["Export"]["Parameters"]


def test_the_validator_knows_distributed_map_features_moto_cannot_parse(
    validator: Path, definition: dict[str, Any], tmp_path: Path
) -> None:
    """A JSONL ItemReader, an ItemBatcher and a tolerated failure percentage are valid ASL ("ItemReader
    (Map)", "ItemBatcher (Map)", "Tolerated failure threshold for Distributed Map state" in the Step
    Functions developer guide): the validator judges the Distributed Map, not a subset of it."""
    variant = copy.deepcopy(definition)
    files = variant["States"]["Files"]
    files["ItemReader"]["ReaderConfig"] = {"InputType": "JSONL"}
    files["ItemBatcher"] = {"MaxItemsPerBatch": 10}
    files["ToleratedFailurePercentage"] = 5
    result = check(validator, variant, tmp_path / "variant.json")
    assert result.returncode == 0, result.stdout + result.stderr


def _without_item_processor(d: dict[str, Any]) -> None:
    del d["States"]["Files"]["ItemProcessor"]


def _next_to_nowhere(d: dict[str, Any]) -> None:
    d["States"]["Prepare"]["Next"] = "NoSuchState"


def _unknown_state_type(d: dict[str, Any]) -> None:
    d["States"]["WaitForExport"]["Type"] = "Sleep"


def _choice_without_choices(d: dict[str, Any]) -> None:
    d["States"]["ExportDone"]["Choices"] = []


def _start_at_nowhere(d: dict[str, Any]) -> None:
    d["States"]["Files"]["ItemProcessor"]["StartAt"] = "Missing"


def _concurrency_as_text(d: dict[str, Any]) -> None:
    d["States"]["Files"]["MaxConcurrency"] = "${max_concurrency}"  # an unrendered template


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "a Map with neither ItemProcessor nor Iterator": _without_item_processor,
    "a Next naming no state": _next_to_nowhere,
    "an unknown state type": _unknown_state_type,
    "a Choice state without choices": _choice_without_choices,
    "a child workflow starting at no state": _start_at_nowhere,
    "MaxConcurrency left as template text": _concurrency_as_text,
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_definition_is_refused(
    validator: Path, definition: dict[str, Any], tmp_path: Path, breakage: str
) -> None:
    broken = copy.deepcopy(definition)
    BROKEN[breakage](broken)
    result = check(validator, broken, tmp_path / "broken.json")
    assert result.returncode != 0, f"{breakage} was accepted:\n{result.stdout}"
    assert "is invalid" in result.stdout + result.stderr
