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
ENVIRONMENTS = ("dev", "prod", "local", "local-orders")
UNITS = {"alarms", "table", "opensearch", "api", "indexer", "image", "dashboard", "bulk-load"}
# The worked example of a single-table design (README.md, "Single-table designs") has no API, no dashboard
# nor the bulk load.
UNITS_OF = {
    name: UNITS - {"api", "dashboard", "bulk-load"} if name == "local-orders" else UNITS
    for name in ENVIRONMENTS
}
# Every get_env has a default: plan and destroy of any unit work with an empty environment.
ENVIRON: dict[str, str] = {}


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> Environment:
    return Environment.load(ROOT / "live" / request.param, environ=ENVIRON)


def interface(unit_source: Path) -> ModuleInterface:
    return ModuleInterface.load(unit_source)


def test_every_hcl_file_parses() -> None:
    files = [ROOT / "terragrunt.hcl", *sorted((ROOT / "live").rglob("*.hcl"))]
    locks = [file for file in files if file.name == ".terraform.lock.hcl"]
    releases = 1  # live/prod/release.hcl: the image prod promotes
    units = sum(len(UNITS_OF[name]) for name in ENVIRONMENTS)
    entities = [ROOT / "live" / "local-orders" / "entities.hcl"]  # the example's ENTITY_CONFIG
    assert len(files) == 1 + len(UNITS) + len(ENVIRONMENTS) + 2 * units + len(entities) + releases
    assert len(locks) == units
    for file in files:
        with file.open() as handle:
            assert hcl2.load(handle), file


def test_each_environment_has_its_units(environment: Environment) -> None:
    assert set(environment.units) == UNITS_OF[environment.path.name]


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


def test_mock_outputs_serve_plans_and_destroy_but_never_apply(environment: Environment) -> None:
    """Mocks stand in only for a dependency without outputs (Terragrunt's dependency block reference); an
    apply must never run on them, a destroy after a failed first apply must get past them."""
    for unit in environment.units.values():
        for name, dependency in unit.dependencies.items():
            allowed = dependency.mock_outputs_allowed_terraform_commands
            assert allowed == {"init", "validate", "plan", "destroy"}, f"{unit.path}: {name} mocks: {allowed}"
            with pytest.raises(TerragruntError, match="mocks are not allowed"):
                unit.inputs(command="apply")


def test_destroy_after_a_failed_first_apply_gets_past_dependencies_without_outputs(
    environment: Environment,
) -> None:
    """`run --all destroy` when only some units were ever applied: every unit still evaluates its inputs
    (with the mocks of the dependencies that have no outputs); before, the first one stopped the run."""
    table = "arn:aws:dynamodb:eu-west-1:111111111111:table/books"
    applied = {
        "table": {
            "table_name": "books",
            "table_arn": table,
            "table_stream_arn": f"{table}/stream/2026-01-01T00:00:00.000",
            "table_hash_key": "id",
        }
    }
    for unit in environment.units.values():
        inputs = unit.inputs(applied, command="destroy")
        if unit.name == "api":
            assert inputs["table_name"] == "books"  # real outputs win over mocks where they exist
            assert inputs["opensearch_domain_endpoint"].startswith("search-mock.")  # never applied: mocks


def test_graph_is_acyclic_with_alarms_first_and_api_and_indexer_last(
    environment: Environment,
) -> None:
    if "api" not in environment.units:  # the orders example: no API, no dashboard
        assert environment.waves() == [["alarms", "table"], ["image", "opensearch"], ["indexer"]]
    else:
        assert environment.waves() == [
            ["alarms", "table"],
            ["image", "opensearch"],
            ["api", "indexer"],
            ["bulk-load"],
            ["dashboard"],
        ]
        assert environment.graph()["bulk-load"] == {"alarms", "table", "opensearch", "image", "indexer"}
        assert environment.graph()["api"] == {"alarms", "table", "opensearch"}
        assert environment.graph()["dashboard"] == {"api", "indexer", "opensearch", "table", "bulk-load"}
    assert environment.graph()["indexer"] == {"alarms", "table", "opensearch", "image"}
    assert environment.graph()["opensearch"] == {"alarms"}
    assert environment.graph()["image"] == {"alarms"}  # scan findings page the alarm topic


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
    assert "/books-prod-indexer@sha256:" in indexer["image_uri"]
    assert indexer["create_ecr_repository"] is False
    assert indexer.get("create_event_source_mapping", True) is True
    assert prod.units["image"].inputs(command="plan")["repository_name"] == "books-prod-indexer"


def test_prod_domain_spreads_an_even_split_over_three_zones_with_dedicated_masters() -> None:
    """CreateDomain rejects a node count that is not a multiple of the zone count, and AWS recommends three
    dedicated master nodes for production domains ("Configuring a multi-AZ domain in Amazon OpenSearch
    Service"; "Dedicated master nodes in Amazon OpenSearch Service")."""
    search = (
        Environment.load(ROOT / "live" / "prod", environ=ENVIRON).units["opensearch"].inputs(command="plan")
    )
    assert search["zone_awareness_enabled"] is True
    assert search["availability_zone_count"] == 3
    assert search["instance_count"] % search["availability_zone_count"] == 0
    assert search["dedicated_master"]["count"] == 3


def test_prod_keeps_a_year_of_logs_as_its_env_hcl_says() -> None:
    prod = Environment.load(ROOT / "live" / "prod", environ=ENVIRON)
    assert "a year of logs" in (ROOT / "live" / "prod" / "env.hcl").read_text()
    assert prod.units["opensearch"].inputs(command="plan")["log_retention_in_days"] == 365
    assert prod.units["indexer"].inputs(command="plan")["log_retention_in_days"] == 365


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_no_environment_replaces_the_accounts_api_gateway_logging_role(name: str) -> None:
    api = Environment.load(ROOT / "live" / name, environ=ENVIRON).units["api"]
    assert api.inputs(command="plan")["create_account_cloudwatch_role"] is False


def test_the_rollback_pin_replaces_the_built_image() -> None:
    pinned = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/books-prod-indexer@sha256:" + "a" * 64
    prod = Environment.load(ROOT / "live" / "prod", environ={"BOOKS_INDEXER_IMAGE_URI": pinned})
    assert prod.units["indexer"].inputs(command="plan")["image_uri"] == pinned


def test_opensearch_admits_exactly_the_indexer_export_function_api_and_operator_roles(
    environment: Environment,
) -> None:
    prefix = environment.locals["name_prefix"]
    account = environment.locals["account_id"]
    inputs = environment.units["opensearch"].inputs(command="plan")
    api = [f"arn:aws:iam::{account}:role/{prefix}-api-*"] if "api" in environment.units else []
    operators = environment.locals.get("roles", {}).get("operators", [])  # who runs python -m indexer.ops
    indexer = f"arn:aws:iam::{account}:role/{prefix}-indexer"
    # the bulk load's export function, where there is one (its module names the role <name>-export); under
    # fine-grained access control it is mapped as an operator (it creates indices and swaps aliases)
    export = (
        [f"arn:aws:iam::{account}:role/{prefix}-bulk-load-export"] if "bulk-load" in environment.units else []
    )
    assert inputs["access_principal_arns"] == [indexer, *export, *api, *operators]
    assert inputs["index_access"]["operator_role_arns"] == [*export, *operators]
    assert environment.units["indexer"].inputs(command="plan")["function_name"] == f"{prefix}-indexer"
    if "api" in environment.units:
        assert environment.units["api"].inputs(command="plan")["name"] == prefix
    if "bulk-load" in environment.units:
        assert environment.units["bulk-load"].inputs(command="plan")["name"] == f"{prefix}-bulk-load"


def test_the_bulk_load_runs_the_indexers_image_and_environment(environment: Environment) -> None:
    """The export handler is the stream indexer's second entry point: the same image (a rollback pin moves
    both) and the same settings, and its MaxConcurrency follows the domain's data nodes (env.hcl)."""
    if "bulk-load" not in environment.units:
        return
    bulk = environment.units["bulk-load"].inputs(command="plan")
    indexer = environment.units["indexer"].inputs(command="plan")
    assert bulk["image_uri"] == indexer["image_uri"]
    assert bulk["architecture"] == indexer["architecture"]
    assert bulk["opensearch_data_node_count"] == environment.locals["opensearch"]["instance_count"]
    assert bulk["alarm_actions"] == indexer["alarm_actions"]
    assert set(bulk["indexer_environment"]) >= {
        "OPENSEARCH_ENDPOINT",
        "OPENSEARCH_INDEX",
        "TABLE_PARTITION_KEY",
    }
    pinned = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/books-prod-indexer@sha256:" + "b" * 64
    prod = Environment.load(ROOT / "live" / "prod", environ={"BOOKS_INDEXER_IMAGE_URI": pinned})
    assert prod.units["bulk-load"].inputs(command="plan")["image_uri"] == pinned


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
        assert len(file.read_text().splitlines()) <= 25, f"{file} is long: move what all share to _envcommon"


def test_every_unit_commits_a_lock_file_for_the_provider_its_module_admits(environment: Environment) -> None:
    """Reproducible builds: each unit pins hashicorp/aws in a committed .terraform.lock.hcl (Terraform's
    "Dependency Lock File" documentation: commit it to version control), at the local mirror's version."""
    mirror = Path("/opt/tf-plugins/registry.terraform.io/hashicorp/aws")
    for unit in environment.units.values():
        lock = unit.path.parent / ".terraform.lock.hcl"
        assert lock.is_file(), f"{unit.path.parent}: no .terraform.lock.hcl"
        with lock.open() as handle:
            providers = hcl2.load(handle)["provider"]
        (entry,) = [block["registry.terraform.io/hashicorp/aws"] for block in providers]
        assert entry["hashes"], lock
        if mirror.is_dir():
            assert entry["version"] in {p.name for p in mirror.iterdir()}, lock


@pytest.mark.parametrize("name", [name for name in ENVIRONMENTS if "api" in UNITS_OF[name]])
def test_the_api_unit_outputs_its_url_and_a_signed_example_request(name: str) -> None:
    environment = Environment.load(ROOT / "live" / name, environ=ENVIRON)
    generated = environment.units["api"].generated_files()["deploy_outputs.tf"]
    outputs = hcl2.loads(generated)["output"]
    names = {name for block in outputs for name in block}
    assert names == {"books_url", "example_request"}
    assert f"--aws-sigv4 'aws:amz:{environment.locals['region']}:execute-api'" in generated
    assert "aws_api_gateway_stage.this.invoke_url" in generated
    assert "$${" not in generated  # Terraform, not Terragrunt, interpolates the stage URL


def test_the_prod_domain_is_kept_by_destroy_and_nothing_else_is_protected() -> None:
    """A Terraform lifecycle block cannot take a variable ("The lifecycle Meta-Argument": only literal
    values), so the module cannot switch prevent_destroy per environment without a second resource block;
    live/prod's opensearch unit sets Terragrunt's unit-level prevent_destroy instead."""
    for name in ENVIRONMENTS:
        environment = Environment.load(ROOT / "live" / name, environ=ENVIRON)
        protected = {unit for unit, config in environment.units.items() if config.prevent_destroy}
        assert protected == ({"opensearch"} if name == "prod" else set()), name
    prod = Environment.load(ROOT / "live" / "prod", environ=ENVIRON)
    assert prod.kept_by_destroy(set(prod.units)) == {
        "opensearch": "prevent_destroy = true",
        "alarms": "a unit with prevent_destroy depends on it",
    }
    assert prod.kept_by_destroy({"api", "indexer"}) == {}


def test_the_orders_example_keys_its_table_by_pk_and_sk_and_its_indexer_reads_them() -> None:
    """live/local-orders (README.md, "Single-table designs"): the table's PK/SK come from its env.hcl, the
    indexer gets the same names (the table's outputs; for plan, the mocks) and the example's entities; the
    books environments keep the key `id` and no sort key."""
    orders = Environment.load(ROOT / "live" / "local-orders", environ=ENVIRON)
    table = orders.units["table"].inputs(command="plan")
    indexer = orders.units["indexer"].inputs(command="plan")
    assert (table["hash_key"], table["range_key"]) == ("PK", "SK")
    assert (indexer["table_partition_key"], indexer["table_sort_key"]) == ("PK", "SK")
    assert [entity["index"] for entity in indexer["entities"]] == ["orders", "customers"]
    for name in ("dev", "prod", "local"):
        books = Environment.load(ROOT / "live" / name, environ=ENVIRON)
        assert books.units["table"].inputs(command="plan")["hash_key"] == "id"
        assert books.units["table"].inputs(command="plan")["range_key"] is None
        assert "entities" not in books.units["indexer"].inputs(command="plan")


def test_a_table_without_a_sort_key_gives_the_indexer_none_although_terraform_stores_no_null_output() -> None:
    """Terraform removes an output whose value is null from the state, so `terraform output` (and Terragrunt's
    dependency outputs) lack it (hashicorp/terraform#34080, a maintainer's answer): the books table's
    table_range_key is absent after an apply, not null, and the indexer unit must read it with try()."""
    applied = {
        "alarms": {"alarm_actions": ["arn:aws:sns:us-east-1:123456789012:alarms"]},
        "table": {"table_stream_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/b/stream/l"},
        "opensearch": {"domain_endpoint": "search-b", "domain_arn": "arn:aws:es:us-east-1:1:domain/b"},
        "image": {"image_uri": "1.dkr.ecr.us-east-1.amazonaws.com/b@sha256:0", "architecture": "x86_64"},
    }
    books = Environment.load(ROOT / "live" / "local", environ=ENVIRON).units["indexer"]
    inputs = books.inputs({**applied, "table": {**applied["table"], "table_hash_key": "id"}}, "apply")
    assert inputs["table_sort_key"] is None
    orders = Environment.load(ROOT / "live" / "local-orders", environ=ENVIRON).units["indexer"]
    table = {**applied["table"], "table_hash_key": "PK", "table_range_key": "SK"}
    assert orders.inputs({**applied, "table": table}, "apply")["table_sort_key"] == "SK"
