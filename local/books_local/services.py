"""The servers under the stack: moto (every AWS control plane the modules touch), an OpenSearch, and with
BOOKS_IMAGE_STEP=on the CNCF distribution registry that stands in for ECR's."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from books_local import processes
from books_local.config import StackConfig
from books_local.errors import StackError

DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
CONTAINER_FILE = "opensearch.container"


def start_moto(config: StackConfig) -> None:
    """moto through ``books_local.moto_server``: isolated, per-item DynamoDB transactions (POST /books is one:
    ``books_local.moto_transactions``) and the bulk load's fill-ins (``books_local.aws_fill_ins``: the export
    function's handler writes to this stack's OpenSearch and logs to ``logs/<function>.log``)."""
    command = [
        sys.executable,
        "-m",
        "books_local.moto_server",
        "-H",
        config.host,
        "-p",
        str(config.moto_port),
        "--opensearch-url",
        opensearch_url(config),
        "--function-log-dir",
        str(config.state.logs),
    ]
    local = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "MOTO_RECORDER_FILEPATH": str(config.state.path / "moto-recording.jsonl"),
        "PYTHONPATH": os.pathsep.join([local, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    processes.spawn(config.state, "moto", command, env=env)


def opensearch_url(config: StackConfig) -> str:
    """The URL the stack's OpenSearch answers on: OPENSEARCH_URL's, else its own on OPENSEARCH_PORT."""
    return config.opensearch_url or f"http://{config.host}:{config.opensearch_port}"


def wait_for_moto(config: StackConfig, timeout: float = 30) -> None:
    processes.wait_until(
        lambda: processes.http_answers(f"{config.moto_endpoint}/moto-api/"),
        what=f"moto on {config.moto_endpoint}",
        timeout=timeout,
        alive=lambda: processes.running(config.state, "moto") is not None,
        log=config.state.log("moto"),
    )


def osmem_binary() -> Path:
    spec = importlib.util.find_spec("osmem_server")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("the osmem-server package is missing: run `make venv`")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "osmem-server"
    if not os.access(binary, os.X_OK):
        raise StackError(f"{binary} is not executable: reinstall osmem-server (`make clean venv`)")
    return binary


def start_opensearch(config: StackConfig) -> tuple[str, str]:
    """Start the configured OpenSearch; returns (URL, a short description of which one)."""
    if config.opensearch_url is not None:
        return config.opensearch_url, f"OpenSearch at OPENSEARCH_URL={config.opensearch_url}"
    url = opensearch_url(config)
    if config.opensearch_image is not None:
        problem = _docker_problem(config.opensearch_image)
        if problem is None:
            _start_container(config, config.opensearch_image)
            return url, f"OpenSearch container {config.opensearch_image}"
        print(f"  OPENSEARCH_IMAGE={config.opensearch_image} cannot run ({problem}); using the embedded one")
    command = [
        str(osmem_binary()),
        "-addr",
        f"{config.host}:{config.opensearch_port}",
        "-no-ja",
        "-no-stdin-watch",
    ]
    processes.spawn(config.state, "opensearch", command)
    return url, "embedded OpenSearch stand-in (osmem-server)"


def wait_for_opensearch(config: StackConfig, url: str, timeout: float = 120) -> None:
    uses_process = processes.read_pid(config.state, "opensearch") is not None
    processes.wait_until(
        lambda: _cluster_answers(url),
        what=f"OpenSearch on {url}",
        timeout=timeout,
        alive=(lambda: processes.running(config.state, "opensearch") is not None) if uses_process else None,
        log=config.state.log("opensearch"),
    )


def _cluster_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=2) as response:
            return json.load(response).get("status") in ("green", "yellow")
    except (OSError, ValueError):
        return False


def _docker_problem(image: str) -> str | None:
    try:
        if subprocess.run([DOCKER, "info"], capture_output=True, timeout=20).returncode != 0:
            return f"`{DOCKER} info` fails: is the Docker engine running?"
        present = subprocess.run([DOCKER, "image", "inspect", image], capture_output=True, timeout=20)
        if present.returncode != 0:
            pulled = subprocess.run([DOCKER, "pull", "-q", image], capture_output=True, timeout=600)
            if pulled.returncode != 0:
                return f"the image is not present and cannot be pulled: {pulled.stderr.decode().strip()}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None


def _start_container(config: StackConfig, image: str) -> None:
    command = [
        DOCKER,
        "run",
        "--detach",
        "--rm",
        "--publish",
        f"{config.host}:{config.opensearch_port}:9200",
        "--env",
        "discovery.type=single-node",
        "--env",
        "DISABLE_SECURITY_PLUGIN=true",
        "--env",
        "DISABLE_INSTALL_DEMO_CONFIG=true",
        "--env",
        "OPENSEARCH_JAVA_OPTS=-Xms512m -Xmx512m",
        image,
    ]
    started = subprocess.run(command, capture_output=True, text=True)
    if started.returncode != 0:
        raise StackError(f"`docker run {image}` failed: {started.stderr.strip()}")
    (config.state.pids / CONTAINER_FILE).write_text(started.stdout.strip() + "\n")


def stop_opensearch_container(config: StackConfig) -> bool:
    marker = config.state.pids / CONTAINER_FILE
    if not marker.exists():
        return False
    container = marker.read_text().strip()
    subprocess.run([DOCKER, "stop", "--time", "5", container], capture_output=True)
    marker.unlink()
    return True


def start_registry(config: StackConfig, timeout: float = 30) -> None:
    """The CNCF distribution registry (Debian's docker-registry; `tests/images/registry.sh` installs it) on
    loopback, plain HTTP (Docker pushes to 127.0.0.1 without TLS): ECR's stand-in for the image step."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise StackError("BOOKS_IMAGE_STEP=on needs docker-registry: run tests/images/registry.sh (root)")
    settings = config.state.path / "registry.yml"
    settings.write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {config.state.path / 'registry'}\nhttp:\n  addr: {config.registry}\n"
    )
    processes.spawn(config.state, "registry", [binary, "serve", str(settings)])
    processes.wait_until(
        lambda: processes.http_answers(f"http://{config.registry}/v2/"),
        what=f"the registry on {config.registry}",
        timeout=timeout,
        alive=lambda: processes.running(config.state, "registry") is not None,
        log=config.state.log("registry"),
    )
