"""Applies the stack's environment (``live/local``, or ``live/local-orders`` with BOOKS_STACK=orders) against
moto with ``books_local.terragrunt`` and returns each unit's outputs.

Terraform's working directories (module copies, state) go to the state directory's ``terraform/``, so
``make down`` removes them with moto's in-memory resources; provider plugins stay cached in ``.cache/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from books_local import terragrunt
from books_local.config import StackConfig
from books_local.errors import StackError


def use_provider_mirror(config: StackConfig) -> None:
    """Point Terraform at the repository's CLI config (``make terraform-config``) when the inherited
    ``TF_CLI_CONFIG_FILE`` names a file that does not exist (Terraform would then try the registry)."""
    current = os.environ.get("TF_CLI_CONFIG_FILE")
    ours = config.root / ".cache" / "terraform.rc"
    if ours.is_file() and (not current or not os.path.isfile(current)):
        os.environ["TF_CLI_CONFIG_FILE"] = str(ours)


def apply(config: StackConfig, say: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    environment = config.root / config.stack.environment
    use_provider_mirror(config)
    if config.image_step:  # the image unit reads both with get_env(), as under Terragrunt
        os.environ["BOOKS_IMAGE_STEP"] = "on"
        os.environ["BOOKS_IMAGE_REGISTRY"] = config.registry
    log = config.state.log("terraform")

    def note(message: str) -> None:
        with log.open("a") as handle:
            handle.write(message.rstrip("\n") + "\n")
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        if first_line:
            say(first_line)

    try:
        return terragrunt.apply(environment, config.moto_endpoint, config.state.terraform, log=note)
    except terragrunt.TerragruntError as error:
        with log.open("a") as handle:
            handle.write(f"{error}\n")
        raise StackError(
            f"applying {config.stack.environment} failed (full output in {log}):\n{error}"
        ) from error
