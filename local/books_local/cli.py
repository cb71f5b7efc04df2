"""The command line: ``python -m books_local up|down|logs|status|stop-indexer|start-indexer|load-orders``.

``BOOKS_STACK=orders`` (``make up STACK=orders``) runs the orders example instead of the books stack.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import time
import urllib.parse
from pathlib import Path

from books_local import api_credentials, orders_load, processes, stack
from books_local.config import STACKS, StackConfig
from books_local.errors import StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m books_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the stack (moto, OpenSearch, Terraform apply, indexer, API)")
    commands.add_parser("down", help="stop everything and remove the state directory")
    status = commands.add_parser("status", help="which processes run, and the pipeline's figures")
    status.add_argument("--json", action="store_true", help="the figures as one JSON object")
    status.add_argument("--watch", type=float, metavar="SECONDS", help="show them again every SECONDS")
    logs = commands.add_parser("logs", help="the tail of every log")
    logs.add_argument("names", nargs="*", help="only these: moto, opensearch, terraform, indexer, api")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.add_argument("-f", "--follow", action="store_true")
    stop = commands.add_parser("stop-indexer", help="stop the stream runner (the API keeps serving)")
    stop.add_argument("--hard", action="store_true", help="SIGKILL, without letting a batch finish")
    commands.add_parser("start-indexer", help="start the stream runner; it resumes from its checkpoints")
    load = commands.add_parser("load-orders", help="write example orders and customers (the orders stack)")
    load.add_argument("--orders", type=int, default=orders_load.DEFAULT_ORDERS, help="how many orders")
    load.add_argument("--customers", type=int, default=orders_load.DEFAULT_CUSTOMERS, help="how many")
    load.add_argument("--seed", type=int, default=orders_load.DEFAULT_SEED, help="same seed, same data")
    for internal in ("_indexer", "_api"):  # the stack's own processes
        command = commands.add_parser(internal)
        command.add_argument("--state-dir", type=Path, required=True)
    arguments = parser.parse_args(argv)

    try:
        return _run(arguments)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(arguments: argparse.Namespace) -> int:
    if arguments.command == "_indexer":
        from books_local import indexer_process

        return indexer_process.main(arguments.state_dir)
    if arguments.command == "_api":
        from books_local import api_process

        return api_process.main(arguments.state_dir)

    if arguments.command == "load-orders":  # always the orders stack, whatever BOOKS_STACK says
        return _load_orders(StackConfig.from_env({**os.environ, "BOOKS_STACK": "orders"}), arguments)
    config = StackConfig.from_env()
    if arguments.command == "up":
        # A SIGTERM (e.g. from `timeout` or CI) unwinds like Ctrl-C, so a half-started stack is stopped.
        signal.signal(signal.SIGTERM, _interrupt)
        started = stack.up(config)
        if not started.already_running and started.api_url is None:
            print(f"\norders example ready in {started.seconds:.1f} s: OpenSearch {started.opensearch_url}")
            print("\nload orders and customers: make load-orders    logs: make logs STACK=orders")
            print("stop: make down STACK=orders")
        elif not started.already_running:
            print(f"\nbooks API ready in {started.seconds:.1f} s: {started.api_url}\n")
            credentials = api_credentials.load(api_credentials.credentials_file(config.state.path))
            print(curl_example(started.api_url, credentials))
            print("\nfigures: make status    logs: make logs    stop: make down")
    elif arguments.command == "down":
        stack.down(config)
    elif arguments.command == "status":
        return _status(config, as_json=arguments.json, watch=arguments.watch)
    elif arguments.command == "logs":
        from books_local import logs

        logs.show(
            config.state, arguments.names, lines=arguments.lines, follow=arguments.follow, out=sys.stdout
        )
    elif arguments.command == "stop-indexer":
        stopped = stack.stop_indexer(config, hard=arguments.hard)
        print("stopped the indexer" if stopped else "the indexer was not running")
    elif arguments.command == "start-indexer":
        stack.start_indexer(config)
        print("the indexer runs (resumed from its checkpoints)")
    return 0


def _status(config: StackConfig, *, as_json: bool, watch: float | None) -> int:
    """Processes, then the pipeline's figures (books_local.pipeline_status) while moto runs."""
    from books_local import pipeline_status

    while True:
        alive = stack.running(config)
        if as_json:
            figures = None
            if "moto" in alive and config.state.stack_file.exists():
                figures = pipeline_status.collect(config, stack.INDEXER in alive).as_json()
            print(json.dumps({"processes": alive, "pipeline": figures}, sort_keys=True))
        else:
            if watch:
                print("\033[2J\033[H", end="")  # clear the terminal between refreshes
            stack.status(config)
            if "moto" in alive and config.state.stack_file.exists():
                print(pipeline_status.render(pipeline_status.collect(config, stack.INDEXER in alive)))
        if not watch:
            return 0 if alive else 3
        time.sleep(watch)


def _load_orders(config: StackConfig, arguments: argparse.Namespace) -> int:
    recorded = config.state.read_stack() if config.state.stack_file.exists() else {}
    if recorded.get("stack") != STACKS["orders"].name:
        raise StackError(f"no orders stack runs in {config.state.path}: `make up STACK=orders` first")
    import boto3

    dynamodb = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=recorded["region"]
    ).client("dynamodb", endpoint_url=recorded["moto_endpoint"])
    loaded = orders_load.load(
        dynamodb,
        recorded["outputs"]["table"]["table_name"],
        order_count=arguments.orders,
        customer_count=arguments.customers,
        seed=arguments.seed,
        say=print,
    )
    print(f"wrote {len(loaded.orders)} orders and {len(loaded.customers)} customers ({loaded.rows} rows)")
    if loaded.orders:
        print(orders_searches(recorded["opensearch_url"], loaded))
    return 0


def orders_searches(opensearch_url: str, loaded: orders_load.Loaded) -> str:
    """curl searches that find what was just loaded (the README's "Single-table designs" shows the same)."""
    order, customer = loaded.orders[0], loaded.customers[0]
    by_sku = json.dumps({"query": {"term": {"orderItems.sku.keyword": order.skus[0]}}})
    by_name = json.dumps({"query": {"match": {"name": customer.name}}})
    return "\n".join(
        [
            "search (each write is searchable once the indexer has processed it, within a second or so):",
            f"  # orders with a line item of SKU {order.skus[0]} (among them {order.key})",
            f"  curl -s {opensearch_url}/orders/_search -H 'content-type: application/json' \\",
            f"    -d {shlex.quote(by_sku)}",
            "  # one order, its items, shipments and payment folded in",
            f"  curl -s '{opensearch_url}/orders/_doc/{urllib.parse.quote(order.key)}?pretty'",
            "  # customers, in their own index",
            f"  curl -s {opensearch_url}/customers/_search -H 'content-type: application/json' \\",
            f"    -d {shlex.quote(by_name)}",
        ]
    )


def _interrupt(signum: int, frame: object) -> None:
    # Our children (terraform above all) stop too, so the cleanup does not wait for a whole apply.
    for pid in processes.children(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    raise KeyboardInterrupt


def curl_example(api_url: str, credentials: api_credentials.ApiCredentials) -> str:
    """Signed requests, as every consumer of an AWS_IAM API makes them (curl 7.75+ signs with --aws-sigv4)."""
    book = '{"title": "The Left Hand of Darkness", "author": "Ursula K. Le Guin"}'
    sigv4 = (
        f'--aws-sigv4 "aws:amz:{credentials.region}:execute-api" '
        f"--user {credentials.access_key_id}:{credentials.secret_access_key}"
    )
    return "\n".join(
        [
            "try (the API requires SigV4, as in dev and prod; this key was issued for the local stack):",
            f"  curl -s {sigv4} -X POST {api_url}/books \\\n"
            f"    -H 'content-type: application/json' -d {shlex.quote(book)}",
            f"  curl -s {sigv4} '{api_url}/search?q=left+hnd'",
        ]
    )
