"""The servers the tests talk to, as testcontainers.

OpenSearch comes from ``OPENSEARCH_IMAGE`` when set; otherwise the official 2.x image when it can be pulled,
else the locally built ``local/osmem`` stand-in (``tests/images/build.sh``). moto comes from ``MOTO_IMAGE``,
else ``motoserver/moto`` when it can be pulled, else ``local/moto``.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.community.opensearch import OpenSearchContainer
from testcontainers.core.container import DockerContainer

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
OFFICIAL_OPENSEARCH_IMAGE = "opensearchproject/opensearch:2.19.1"


def _pinned(package: str) -> str:
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() == package:
            return version.strip()
    raise LookupError(f"{package} is not pinned in requirements-dev.txt")


OFFICIAL_MOTO_IMAGE = f"motoserver/moto:{_pinned('moto[server]')}"
LOCAL_OPENSEARCH_IMAGE = f"local/osmem:{_pinned('osmem-server')}"
LOCAL_MOTO_IMAGE = f"local/moto:{_pinned('moto[server]')}"


def _available(image: str) -> bool:
    """True when the image is present locally or can be pulled now."""
    if subprocess.run([DOCKER, "image", "inspect", image], capture_output=True).returncode == 0:
        return True
    try:
        return subprocess.run([DOCKER, "pull", "-q", image], capture_output=True, timeout=300).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def choose_image(env_var: str, official: str, local: str) -> str:
    if os.environ.get(env_var):
        return os.environ[env_var]
    return official if _available(official) else local


def opensearch_image() -> str:
    return choose_image("OPENSEARCH_IMAGE", OFFICIAL_OPENSEARCH_IMAGE, LOCAL_OPENSEARCH_IMAGE)


def moto_image() -> str:
    return choose_image("MOTO_IMAGE", OFFICIAL_MOTO_IMAGE, LOCAL_MOTO_IMAGE)


@dataclass(frozen=True)
class Server:
    """A running server: ``url`` for the host, ``internal_url`` for other containers on the bridge."""

    url: str
    internal_url: str
    container: DockerContainer


def _internal_url(container: DockerContainer, port: int) -> str:
    ip = container.get_docker_client().bridge_ip(container.get_wrapped_container().id)
    return f"http://{ip}:{port}"


def start_opensearch() -> Server:
    container = OpenSearchContainer(image=opensearch_image(), security_enabled=False)
    container.start()
    url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(9200)}"
    return Server(url, _internal_url(container, 9200), container)


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError as exc:  # includes HTTPError: any answer means the server is up
            if getattr(exc, "code", None):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s") from exc
            time.sleep(0.2)


def start_moto() -> Server:
    container = DockerContainer(moto_image()).with_exposed_ports(5000)
    container.start()
    url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(5000)}"
    _wait_http(f"{url}/moto-api/")
    return Server(url, _internal_url(container, 5000), container)
