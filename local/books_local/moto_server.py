"""The moto server the local stack and the tests run: ``moto.server`` with, installed first, DynamoDB
transactions made isolated and cheap (``books_local.moto_transactions``) and the bulk load's fill-ins
(``books_local.aws_fill_ins``).

``python -m books_local.moto_server -H 127.0.0.1 -p 4566 [--opensearch-url URL] [--task-root DIR ...]
[--function-log-dir DIR] [--export-partitions N] [--export-in-progress-polls N]``
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from books_local import moto_transactions
from books_local.aws_fill_ins import FillInSettings, install
from books_local.aws_fill_ins.dynamodb_export import (
    DEFAULT_IN_PROGRESS_POLLS,
    DEFAULT_PARTITIONS,
    ExportSettings,
)
from books_local.aws_fill_ins.lambda_images import TASK_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m books_local.moto_server", description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--opensearch-url", help="the OpenSearch the export handler writes to (no SigV4)")
    parser.add_argument(
        "--task-root",
        action="append",
        type=Path,
        help=f"where routed handlers are imported from, first wins (default {TASK_ROOT})",
    )
    parser.add_argument(
        "--function-log-dir", type=Path, help="<dir>/<function>.log gets each handler's output"
    )
    parser.add_argument(
        "--export-partitions", type=int, default=DEFAULT_PARTITIONS, help="data files per export"
    )
    parser.add_argument(
        "--export-in-progress-polls",
        type=int,
        default=DEFAULT_IN_PROGRESS_POLLS,
        help="DescribeExport answers IN_PROGRESS this many times first",
    )
    args = parser.parse_args(argv)
    if args.export_partitions < 1 or args.export_in_progress_polls < 0:
        parser.error("--export-partitions must be at least 1 and --export-in-progress-polls at least 0")
    os.environ["MOTO_PORT"] = str(args.port)  # moto's Step Functions call this server back on it
    moto_transactions.install()
    install(
        FillInSettings(
            moto_endpoint=f"http://{args.host}:{args.port}",
            opensearch_url=args.opensearch_url,
            task_roots=tuple(args.task_root or [TASK_ROOT]),
            function_log_dir=args.function_log_dir,
            export=ExportSettings(args.export_partitions, args.export_in_progress_polls),
        )
    )
    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
