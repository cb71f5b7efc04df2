"""What the local stack fills in where moto 5.2.5 falls short of AWS for the bulk load, in one place.

Loaded into the moto server process by ``books_local.moto_server`` (the launcher the local stack and the tests
use instead of plain ``moto.server``); each part is as strict as AWS and cites what it follows:

* ``dynamodb_export``: ExportTableToPointInTime/DescribeExport/ListExports write and describe an export as
  AWS documents it (manifests, several hashed data files, a well-formed ARN, IN_PROGRESS before COMPLETED,
  a snapshot at the request, ClientToken idempotency);
* ``lambda_images``: invoking an image function whose ``ImageConfig.Command`` is ``export_function.handler``
  runs that handler from the image's task root in a warm worker process with the function's environment,
  a countdown context, and Lambda's answers for errors, timeouts, payload quotas and reserved concurrency;
* ``distributed_map``: a Map Run fails with ``States.ExceedToleratedFailureThreshold`` when failed children
  exceed the tolerated threshold (0 by default), and DescribeMapRun's counts know the items from the start;
* ``step_functions_api``: ValidateStateMachineDefinition and ListStateMachineVersions (the AWS provider
  calls both around a state machine; moto does not implement them and the provider would retry their 500s
  for many minutes), and transition targets checked on create as AWS checks them;
* Step Functions executes definitions (moto's ``execute_state_machine`` configuration, switched on before
  any state machine is created: moto keeps machines made without it in another backend).

Not filled in, and listed in local/README.md ("What differs from AWS"): the ASL features moto's parser
rejects (``ToleratedFailurePercentage``, JSONL ``ItemReader``, ``ItemBatcher``, ``EXPRESS`` children; the
definition uses none of them and ``tests/asl`` validates it with AWS's rules), ``RedriveExecution``, the
ResultWriter's result files (moto writes only ``manifest.json``), IAM evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from books_local.aws_fill_ins.dynamodb_export import ExportSettings
from books_local.aws_fill_ins.lambda_images import TASK_ROOT, ImageFunctionSettings

__all__ = ["FillInSettings", "install"]


@dataclass(frozen=True)
class FillInSettings:
    moto_endpoint: str
    opensearch_url: str | None = None
    task_roots: tuple[Path, ...] = (TASK_ROOT,)
    function_log_dir: Path | None = None
    export: ExportSettings = field(default_factory=ExportSettings)


def install(settings: FillInSettings) -> None:
    """Installs every fill-in into this (the moto server's) process."""
    from moto.core.config import default_user_config

    from books_local.aws_fill_ins import (
        distributed_map,
        dynamodb_export,
        lambda_images,
        step_functions_api,
    )

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    dynamodb_export.install(settings.export)
    lambda_images.install(
        ImageFunctionSettings(
            moto_endpoint=settings.moto_endpoint,
            opensearch_url=settings.opensearch_url,
            task_roots=settings.task_roots,
            log_dir=settings.function_log_dir,
        )
    )
    distributed_map.install()
    step_functions_api.install()
