"""Terraform's environment for rendering the definition (the provider mirror's CLI config)."""

from __future__ import annotations

import pytest

from books_local import terragrunt


@pytest.fixture(scope="session")
def terraform_env() -> dict[str, str]:
    return terragrunt.terraform_env()
