"""books_local.terragrunt follows Terragrunt's include rules as live/'s _envcommon pattern uses them: several
labelled includes, ``expose``, ``merge_strategy`` (docs.gruntwork.io, "Even DRYer configuration": shallow by
default, deep merges maps recursively and concatenates lists, the child wins on plain values), dependency
blocks declared in an included file, and real outputs (never mocks) on destroy."""

from __future__ import annotations

from pathlib import Path

import pytest

from books_local.terraform_cli import input_variables, null_inputs
from books_local.terragrunt import Environment, Scope, TerragruntError

ROOT_HCL = 'inputs = {\n  tags = { Project = "books" }\n}\n'
COMMON_HCL = """locals {
  size = 3
}
terraform {
  source = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/modules//m"
}
dependency "other" {
  config_path = "../other"
  mock_outputs = { id = "mock-id" }
  mock_outputs_allowed_terraform_commands = ["plan"]
}
inputs = {
  id       = dependency.other.outputs.id
  size     = local.size
  settings = { a = 1, nested = { x = 1, y = 2 } }
  list     = ["common"]
  tags     = { Layer = "common" }
}
"""


def unit_hcl(strategy: str, own_inputs: str) -> str:
    return (
        'include "root" {\n  path = find_in_parent_folders("terragrunt.hcl")\n}\n'
        'include "envcommon" {\n'
        '  path = "${dirname(find_in_parent_folders("terragrunt.hcl"))}/common/unit.hcl"\n'
        f'  expose = true\n  merge_strategy = "{strategy}"\n}}\n'
        f"inputs = {{\n{own_inputs}\n}}\n"
    )


def make(tmp_path: Path, strategy: str, own_inputs: str) -> Environment:
    (tmp_path / "terragrunt.hcl").write_text(ROOT_HCL)
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "unit.hcl").write_text(COMMON_HCL)
    (tmp_path / "modules" / "m").mkdir(parents=True)
    for name in ("unit", "other"):
        (tmp_path / "env" / name).mkdir(parents=True)
    (tmp_path / "env" / "unit" / "terragrunt.hcl").write_text(unit_hcl(strategy, own_inputs))
    (tmp_path / "env" / "other" / "terragrunt.hcl").write_text(
        'include "root" {\n  path = find_in_parent_folders("terragrunt.hcl")\n}\n'
    )
    return Environment.load(tmp_path / "env", environ={})


OWN = '  size = include.envcommon.locals.size + 1\n  settings = { nested = { y = 20 } }\n  list = ["own"]'


def test_deep_merge_combines_maps_and_lists_and_the_unit_wins(tmp_path: Path) -> None:
    unit = make(tmp_path, "deep", OWN).units["unit"]
    assert unit.inputs({"other": {"id": "real-id"}}) == {
        "id": "real-id",
        "size": 4,
        "settings": {"a": 1, "nested": {"x": 1, "y": 20}},
        "list": ["common", "own"],
        "tags": {"Project": "books", "Layer": "common"},
    }
    assert unit.source == tmp_path / "modules" / "m"
    assert set(unit.dependencies) == {"other"}


def test_shallow_merge_replaces_top_level_keys(tmp_path: Path) -> None:
    inputs = make(tmp_path, "shallow", OWN).units["unit"].inputs({"other": {"id": "real-id"}})
    assert inputs["settings"] == {"nested": {"y": 20}}
    assert inputs["list"] == ["own"]
    assert inputs["tags"] == {"Layer": "common"}


def test_no_merge_only_exposes_the_included_file(tmp_path: Path) -> None:
    environment = make(tmp_path, "no_merge", "  size = include.envcommon.locals.size")
    unit = environment.units["unit"]
    assert unit.inputs() == {"tags": {"Project": "books"}, "size": 3}
    assert unit.dependencies == {}


def test_an_unknown_merge_strategy_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TerragruntError, match="merge_strategy"):
        make(tmp_path, "deepest", "")


def test_included_dependencies_order_the_units(tmp_path: Path) -> None:
    assert make(tmp_path, "deep", "").waves() == [["other"], ["unit"]]


def test_mocks_serve_only_their_commands_and_never_destroy(tmp_path: Path) -> None:
    unit = make(tmp_path, "deep", "").units["unit"]
    assert unit.inputs(command="plan")["id"] == "mock-id"
    for command in ("apply", "destroy"):
        with pytest.raises(TerragruntError, match="mocks are not allowed"):
            unit.inputs(command=command)


def test_the_roots_generate_and_remote_state_blocks_write_provider_and_backend() -> None:
    """The files Terraform runs with are the ones the root terragrunt.hcl generates, not a copy of them."""
    root = Path(__file__).resolve().parents[2]
    environ = {"BOOKS_AWS_ENDPOINT": "http://127.0.0.1:4566", "BOOKS_TF_STATE_DIR": "/state"}
    unit = Environment.load(root / "live" / "local", environ=environ).units["table"]
    files = unit.generated_files()
    assert set(files) == {"provider.tf", "backend.tf"}
    provider = files["provider.tf"]
    assert 'allowed_account_ids = ["123456789012"]' in provider
    assert 'dynamodb = "http://127.0.0.1:4566"' in provider
    assert '"Unit":"live/local/table"' in provider
    assert "%{" not in provider
    assert 'backend "local"' in files["backend.tf"]
    assert '"/state/live/local/table/terraform.tfstate"' in files["backend.tf"]
    dev = Environment.load(root / "live" / "dev", environ={}).units["table"]
    assert dev.remote_state()["backend"] == "s3"
    assert 'backend "s3"' in dev.generated_files()["backend.tf"]
    assert "access_key" not in dev.generated_files()["provider.tf"]


def test_inputs_reach_terraform_as_tf_var_environment_variables_and_nulls_as_a_tfvars_file() -> None:
    """Terragrunt passes inputs as TF_VAR_ variables, strings raw and other types JSON-encoded; an
    environment variable cannot say null, so null inputs go to .terragrunt-null-vars.auto.tfvars.json
    (gruntwork-io/terragrunt#2663)."""
    inputs = {"name": "books", "count": 3, "on": True, "map": {"a": [1]}, "none": None}
    assert input_variables(inputs) == {
        "TF_VAR_name": "books",
        "TF_VAR_count": "3",
        "TF_VAR_on": "true",
        "TF_VAR_map": '{"a": [1]}',
    }
    assert null_inputs(inputs) == {"none": None}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a %{if local.on}yes%{else}no%{endif} b", "a yes b"),
        ("%{if !local.on}yes%{endif}", ""),
        ("[\n  %{~for x in local.xs}\n  ${x},\n  %{~endfor}\n]", "[\n  1,\n  2,\n]"),
        ("%{for k, v in local.m}${k}=${v};%{endfor}", "a=1;b=2;"),
        ("%%{literal} $${literal}", "%{literal} ${literal}"),
    ],
)
def test_template_directives_and_strip_markers(template: str, expected: str) -> None:
    """HCL's template language as the root's generate "provider" block uses it (%{if}, %{for}, ~)."""
    scope = Scope({"local": {"on": True, "xs": [1, 2], "m": {"a": 1, "b": 2}}}, {})
    assert scope.template(template) == expected


def test_an_unclosed_directive_is_an_error() -> None:
    with pytest.raises(TerragruntError, match="not closed"):
        Scope({"local": {"on": True}}, {}).template("%{if local.on}yes")
