"""A cache of the Terraform apply of the stack's environment (``live/local``, ``live/local-orders``), so that
``make up`` after the first run is quick.

Applying the units takes Terraform minutes against moto, nearly all of it the AWS provider's start-up and
fixed waits (SQS attribute polling, OpenSearch domain updates); moto itself answers in milliseconds. So the
first ``up`` runs the real apply with moto's request recorder on and keeps the recording and the outputs
under ``.cache/local-stack/<key>``; a later ``up`` replays those recorded API calls into the fresh moto (the
same calls in the same order, with moto's random ids seeded alike) and reuses the outputs.

The key is a digest of everything the apply reads: the environment and ``live/_envcommon``, ``modules/``,
the root ``terragrunt.hcl``, the indexer's sources (the image step), the emulator
(``books_local/terragrunt*.py``), the Terraform and moto versions and the region. Change any of them and the
next ``up`` applies with Terraform again. ``BOOKS_APPLY_CACHE=off`` always applies (the tests do).
A replay is checked (table, stream, function, queue and the bulk load's state machine and bucket exist on
moto) and falls back to a real apply.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3

from books_local.config import StackConfig
from books_local.state import write_json_atomically

SEED = 20240601
CACHE = Path(".cache") / "local-stack"
INPUTS = (  # besides the stack's environment (live/local or live/local-orders)
    "live/_envcommon",
    "modules",
    "terragrunt.hcl",
    "artifacts/update_indices",
    "local/books_local/terragrunt.py",
    "local/books_local/terragrunt_config.py",
    "local/books_local/terragrunt_eval.py",
    "local/books_local/terragrunt_moto.py",
    "local/books_local/terraform_cli.py",
)


def _generated(path: Path) -> bool:
    """Files tools leave next to the sources (other runs' ``terraform init`` in a module, caches)."""
    tool_dirs = (".terraform", ".terragrunt")
    if any(part.startswith(tool_dirs) or part == "__pycache__" for part in path.parts):
        return True
    return ".tfstate" in path.name or path.suffix == ".pyc"


def recording_file(config: StackConfig) -> Path:
    """Where moto writes its recording (``MOTO_RECORDER_FILEPATH`` of the moto process)."""
    return config.state.path / "moto-recording.jsonl"


def key(config: StackConfig) -> str:
    digest = hashlib.sha256()
    for name in (config.stack.environment, *INPUTS):
        root = config.root / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if _generated(path):
                continue
            digest.update(str(path.relative_to(config.root)).encode() + b"\0" + path.read_bytes() + b"\0")
    terraform = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True)
    versions = {
        "terraform": json.loads(terraform.stdout or "{}").get("terraform_version"),
        "moto": metadata.version("moto"),
        "region": config.region,
    }
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return digest.hexdigest()[:24]


def _entry(config: StackConfig, cache_key: str) -> Path:
    return config.root / CACHE / cache_key


def _moto_api(config: StackConfig, path: str, body: bytes = b"") -> None:
    request = urllib.request.Request(f"{config.moto_endpoint}/moto-api/{path}", data=body, method="POST")
    request.add_header("Content-Type", "application/octet-stream")  # a form type would hide the body
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()


def start_recording(config: StackConfig) -> None:
    _moto_api(config, f"seed?a={SEED}")
    _moto_api(config, "recorder/reset-recording")
    _moto_api(config, "recorder/start-recording")


def save(config: StackConfig, cache_key: str, outputs: dict[str, Any]) -> None:
    """Keep the recording of the apply that just succeeded, with its outputs."""
    _moto_api(config, "recorder/stop-recording")
    entry = _entry(config, cache_key)
    partial = entry.with_name(f"{entry.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copyfile(recording_file(config), partial / "recording.jsonl")
    write_json_atomically(partial / "outputs.json", outputs)
    shutil.rmtree(entry, ignore_errors=True)
    try:
        partial.rename(entry)
    except OSError:  # another `up` saved the same apply meanwhile: keep theirs
        shutil.rmtree(partial, ignore_errors=True)


def replay(
    config: StackConfig, cache_key: str, say: Callable[[str], None] = lambda line: None
) -> dict[str, Any] | None:
    """Recreate the applied resources on a fresh moto from the cache; None when there is no usable entry."""
    entry = _entry(config, cache_key)
    if not (entry / "recording.jsonl").is_file() or not (entry / "outputs.json").is_file():
        say(f"no cached apply for this configuration ({cache_key}): the first up takes minutes")
        return None
    outputs: dict[str, Any] = json.loads((entry / "outputs.json").read_text())
    _moto_api(config, f"seed?a={SEED}")
    _moto_api(config, "recorder/upload-recording", (entry / "recording.jsonl").read_bytes())
    _moto_api(config, "recorder/replay-recording")
    try:
        return _checked(config, outputs)
    except Exception as error:
        say(f"the cached apply {cache_key} did not recreate everything ({error}); applying instead")
        _moto_api(config, "reset")
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _checked(config: StackConfig, outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs, after checking that what the local stack uses exists; the stream ARN is read from the
    table (its label is the replay's creation time, not the recorded one)."""
    session = boto3.session.Session(
        region_name=config.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    dynamodb = session.client("dynamodb", endpoint_url=config.moto_endpoint)
    table = dynamodb.describe_table(TableName=outputs["table"]["table_name"])["Table"]
    outputs["table"]["table_stream_arn"] = table["LatestStreamArn"]
    session.client("lambda", endpoint_url=config.moto_endpoint).get_function(
        FunctionName=outputs["indexer"]["function_name"]
    )
    bulk_load = outputs.get("bulk-load")
    if bulk_load:  # the state machine (its ARN names it) and the bucket of exports
        session.client("stepfunctions", endpoint_url=config.moto_endpoint).describe_state_machine(
            stateMachineArn=bulk_load["state_machine_arn"]
        )
        session.client("s3", endpoint_url=config.moto_endpoint).head_bucket(Bucket=bulk_load["bucket_name"])
    destination = outputs["indexer"]["event_source_mapping"].get("destination_arn")
    if destination:
        sqs = session.client("sqs", endpoint_url=config.moto_endpoint)
        sqs.get_queue_url(QueueName=destination.split(":")[-1])
    return outputs
