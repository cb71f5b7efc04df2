"""The Terragrunt configurations, proven without Terragrunt: every file parses; each unit's source exists;
its inputs are declared variables of its module and cover the required ones; every dependency output it reads
and every mock output is a real output of the dependency's module; mocks only serve init/validate/plan; the
graph is acyclic; the root config keeps state in S3 with locking and guards the account."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest

from books_local.terragrunt import Environment, ModuleInterface, TerragruntError

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "prod", "local")
UNITS = {"table", "opensearch", "api", "indexer"}
# live/prod requires the image tag to deploy (get_env without a default); any value serves the checks here.
ENVIRON = {"INDEXER_IMAGE_TAG": "1.2.3"}


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> Environment:
    return Environment.load(ROOT / "live" / request.param, environ=ENVIRON)


def interface(unit_source: Path) -> ModuleInterface:
    return ModuleInterface.load(unit_source)


def test_every_hcl_file_parses() -> None:
    files = [ROOT / "terragrunt.hcl", *sorted((ROOT / "live").rglob("*.hcl"))]
    assert len(files) == 1 + len(ENVIRONMENTS) * (1 + len(UNITS))
    for file in files:
        with file.open() as handle:
            assert hcl2.load(handle), file


def test_each_environment_has_the_four_units(environment: Environment) -> None:
    assert set(environment.units) == UNITS


def test_unit_sources_exist(environment: Environment) -> None:
    for unit in environment.units.values():
        assert unit.source.is_dir(), f"{unit.path}: source {unit.source} does not exist"
        assert list(unit.source.glob("*.tf")), f"{unit.path}: {unit.source} has no .tf files"
        assert unit.source.parent == ROOT / "modules", unit.source


def test_inputs_are_declared_variables_and_cover_required_ones(environment: Environment) -> None:
    for unit in environment.units.values():
        variables = interface(unit.source).variables
        inputs = unit.inputs(command="plan")
        undeclared = sorted(set(inputs) - set(variables))
        assert not undeclared, f"{unit.path}: inputs the module does not declare: {undeclared}"
        missing = sorted(name for name, required in variables.items() if required and name not in inputs)
        assert not missing, f"{unit.path}: required variables not supplied: {missing}"


def test_dependency_outputs_and_mocks_are_real_outputs(environment: Environment) -> None:
    for unit in environment.units.values():
        referenced = unit.referenced_outputs()
        assert {name for name, _ in referenced} <= set(unit.dependencies), unit.path
        for name, dependency in unit.dependencies.items():
            outputs = interface(environment.units[dependency.unit].source).outputs
            read = {output for dep, output in referenced if dep == name}
            assert read, f"{unit.path}: dependency {name!r} is never read"
            assert read <= outputs, f"{unit.path}: {name} has no outputs {sorted(read - outputs)}"
            assert set(dependency.mock_outputs) <= outputs, (
                f"{unit.path}: mock outputs {sorted(set(dependency.mock_outputs) - outputs)} are not outputs"
            )
            assert read <= set(dependency.mock_outputs), f"{unit.path}: {name} mocks miss {read}"


def test_mock_outputs_serve_only_init_validate_and_plan(environment: Environment) -> None:
    for unit in environment.units.values():
        for name, dependency in unit.dependencies.items():
            allowed = dependency.mock_outputs_allowed_terraform_commands
            assert allowed, f"{unit.path}: dependency {name!r} mocks are not limited to any command"
            assert allowed <= {"init", "validate", "plan"}, f"{unit.path}: {name} mocks allowed for {allowed}"
            with pytest.raises(TerragruntError, match="mocks are not allowed"):
                unit.inputs(command="apply")


def test_graph_is_acyclic_with_api_and_indexer_after_table_and_opensearch(environment: Environment) -> None:
    assert environment.waves() == [["opensearch", "table"], ["api", "indexer"]]
    assert environment.graph()["api"] == {"table", "opensearch"}
    assert environment.graph()["indexer"] == {"table", "opensearch"}


def test_a_dependency_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "terragrunt.hcl").write_text("inputs = {}\n")
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / "env" / name).mkdir(parents=True)
        (tmp_path / "env" / name / "terragrunt.hcl").write_text(
            'include "root" {\n  path = find_in_parent_folders("terragrunt.hcl")\n}\n'
            f'dependency "{other}" {{\n  config_path = "../{other}"\n}}\n'
        )
    with pytest.raises(TerragruntError, match="cycle"):
        Environment.load(tmp_path / "env").waves()


def test_unit_inputs_follow_the_environment_sizing() -> None:
    prod = Environment.load(ROOT / "live" / "prod", environ=ENVIRON)
    dev = Environment.load(ROOT / "live" / "dev", environ=ENVIRON)
    assert prod.units["table"].inputs(command="plan")["deletion_protection_enabled"] is True
    assert dev.units["table"].inputs(command="plan")["deletion_protection_enabled"] is False
    search = prod.units["opensearch"].inputs(command="plan")
    assert search["zone_awareness_enabled"] is True
    assert search["instance_count"] == 3
    indexer = prod.units["indexer"].inputs(command="plan")
    assert indexer["image_uri"].endswith("/books-prod-indexer:1.2.3")
    assert indexer.get("create_event_source_mapping", True) is True


def test_prod_refuses_to_run_without_an_image_tag() -> None:
    with pytest.raises(TerragruntError, match="INDEXER_IMAGE_TAG"):
        Environment.load(ROOT / "live" / "prod", environ={})


def test_opensearch_admits_exactly_the_indexer_and_api_roles(environment: Environment) -> None:
    prefix = environment.locals["name_prefix"]
    account = environment.locals["account_id"]
    principals = environment.units["opensearch"].inputs(command="plan")["access_principal_arns"]
    assert principals == [
        f"arn:aws:iam::{account}:role/{prefix}-indexer",
        f"arn:aws:iam::{account}:role/{prefix}-api-*",
    ]
    assert environment.units["indexer"].inputs(command="plan")["function_name"] == f"{prefix}-indexer"
    assert environment.units["api"].inputs(command="plan")["name"] == prefix


def test_root_config_keeps_state_in_s3_with_locking_and_guards_the_account() -> None:
    with (ROOT / "terragrunt.hcl").open() as handle:
        root = hcl2.load(handle)
    locals_ = root["locals"][0]
    s3 = locals_["backends"]["s3"]
    assert s3["encrypt"] is True
    assert s3["dynamodb_table"]
    assert "path_relative_to_include()" in s3["key"]
    remote_state = root["remote_state"][0]
    assert remote_state["generate"]["path"] == "backend.tf"
    provider = root["generate"][0]["provider"]["contents"]
    assert "allowed_account_ids" in provider
    assert "default_tags" in provider
    assert "local.env.region" in provider
    unit = Environment.load(ROOT / "live" / "dev", environ=ENVIRON).units["table"]
    assert unit.root_locals["backends"]["s3"]["key"] == "live/dev/table/terraform.tfstate"
    assert unit.root_locals["emulated"] is False
    local = Environment.load(ROOT / "live" / "local", environ=ENVIRON).units["table"]
    assert local.root_locals["emulated"] is True


def test_units_stay_short() -> None:
    for file in (ROOT / "live").rglob("terragrunt.hcl"):
        assert len(file.read_text().splitlines()) <= 60, f"{file} is long: move values to env.hcl"
