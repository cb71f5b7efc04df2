"""Which stack runs, where it lives and listens, from environment variables (every one documented in
local/README.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from books_local.errors import StackError
from books_local.ports import HOST, port_from_env
from books_local.state import StateDir

ROOT = Path(__file__).resolve().parents[2]

OFF = ("off", "0", "false", "no")
DEFAULT_API_PORT = 8080
DEFAULT_MOTO_PORT = 4566
DEFAULT_OPENSEARCH_PORT = 9200
DEFAULT_REGISTRY_PORT = 5001


@dataclass(frozen=True)
class Stack:
    """One local stack (BOOKS_STACK): the environment under live/ it applies, whether it has an API, and its
    defaults, which differ per stack so that both can run side by side."""

    name: str
    environment: str  # relative to the repository: the units books_local.terragrunt applies
    api: bool  # whether it has an api unit (and so an API process)
    state_dir: str
    moto_port: int
    opensearch_port: int


STACKS = {
    "books": Stack("books", "live/local", True, ".state", DEFAULT_MOTO_PORT, DEFAULT_OPENSEARCH_PORT),
    # The worked example of a single-table design (README.md, "Single-table designs"): no API.
    "orders": Stack("orders", "live/local-orders", False, ".state-orders", 4567, 9201),
}


def stack_from_env(environ: Mapping[str, str]) -> Stack:
    name = (environ.get("BOOKS_STACK") or "books").strip().lower()
    if name not in STACKS:
        raise StackError(f"BOOKS_STACK={name!r} is not a stack: use {' or '.join(STACKS)}")
    return STACKS[name]


@dataclass(frozen=True)
class StackConfig:
    root: Path
    state: StateDir
    api_port: int
    moto_port: int
    opensearch_port: int
    opensearch_url: str | None  # OPENSEARCH_URL: use this OpenSearch, start none
    opensearch_image: str | None  # OPENSEARCH_IMAGE: run this image in Docker instead of the embedded one
    apply_cache: bool = True  # BOOKS_APPLY_CACHE=off: always apply with Terraform (apply_cache.py)
    image_step: bool = False  # BOOKS_IMAGE_STEP=on: build and push the indexer's image (needs Docker)
    registry_port: int = DEFAULT_REGISTRY_PORT  # BOOKS_REGISTRY_PORT: the registry standing in for ECR's
    region: str = "us-east-1"
    host: str = HOST
    stack: Stack = STACKS["books"]  # BOOKS_STACK: books (live/local) or orders (live/local-orders)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StackConfig:
        stack = stack_from_env(environ)
        state_dir = Path(environ.get("BOOKS_STATE_DIR") or ROOT / stack.state_dir).resolve()
        return cls(
            root=ROOT,
            state=StateDir(state_dir),
            api_port=port_from_env(environ, "BOOKS_API_PORT", DEFAULT_API_PORT),
            moto_port=port_from_env(environ, "MOTO_PORT", stack.moto_port),
            opensearch_port=port_from_env(environ, "OPENSEARCH_PORT", stack.opensearch_port),
            opensearch_url=(environ.get("OPENSEARCH_URL") or "").rstrip("/") or None,
            opensearch_image=environ.get("OPENSEARCH_IMAGE") or None,
            apply_cache=environ.get("BOOKS_APPLY_CACHE", "on").strip().lower() not in OFF,
            image_step=environ.get("BOOKS_IMAGE_STEP", "off").strip().lower() == "on",
            registry_port=port_from_env(environ, "BOOKS_REGISTRY_PORT", DEFAULT_REGISTRY_PORT),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            stack=stack,
        )

    @property
    def moto_endpoint(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def registry(self) -> str:
        return f"{self.host}:{self.registry_port}"

    def ports_to_open(self) -> dict[str, int]:
        """The ports this configuration will listen on, by the variable that moves each."""
        ports = {"BOOKS_API_PORT": self.api_port} if self.stack.api else {}
        ports["MOTO_PORT"] = self.moto_port
        if self.opensearch_url is None:
            ports["OPENSEARCH_PORT"] = self.opensearch_port
        if self.image_step:
            ports["BOOKS_REGISTRY_PORT"] = self.registry_port
        return ports


def aws_environment(config: StackConfig, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Environment for anything that talks to moto: fake credentials only, never a real account's."""
    env = dict(base)
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_REGION=config.region,
        AWS_DEFAULT_REGION=config.region,
        AWS_ENDPOINT_URL=config.moto_endpoint,
    )
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        env.pop(name, None)
    return env
