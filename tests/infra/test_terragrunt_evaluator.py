"""books_local.terragrunt evaluates the parts of Terragrunt's language this repository uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from books_local.terragrunt import Environment, Scope, TerragruntError, read_terragrunt_config


def scope(**names: object) -> Scope:
    return Scope(names, {"upper": str.upper, "merge": lambda *m: {k: v for d in m for k, v in d.items()}})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${1 + 2 * 3}", 7),
        ('${local.env == "prod" ? 3 : 1}', 1),
        ("${!local.flag && true}", True),
        ("plain text", "plain text"),
        ('${local.name}-${upper("x")}', "books-X"),
        ('${merge({a = 1}, {b = "two"})}', {"a": 1, "b": "two"}),
        ('${local.map["k"]}', "v"),
        ("${local.list[1]}", "b"),
        ('${try(local.map.missing, "fallback")}', "fallback"),
        ("${can(local.map.missing)}", False),
        ('${"nested ${local.name} string"}', "nested books string"),
        ("$${literal}", "${literal}"),
        ("${[for item in local.list : upper(item)]}", ["A", "B"]),
        ('${[for i, item in local.list : "${i}=${item}" if item != "a"]}', ["1=b"]),
        ("${[for key, value in local.map : value]}", ["v"]),
        ("${[for e in local.entities : e.index]}", ["orders", "customers"]),
    ],
)
def test_expressions(template: str, expected: object) -> None:
    names = {
        "local": {
            "env": "dev",
            "flag": False,
            "name": "books",
            "map": {"k": "v"},
            "list": ["a", "b"],
            "entities": [{"name": "order", "index": "orders"}, {"name": "customer", "index": "customers"}],
        }
    }
    assert scope(**names).template(template) == expected


def test_unknown_names_and_functions_are_errors() -> None:
    with pytest.raises(TerragruntError, match="unknown name"):
        scope().template("${nothing.here}")
    with pytest.raises(TerragruntError, match="not supported"):
        scope().template("${sha256(1)}")


def test_locals_refer_to_each_other_and_cycles_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.hcl").write_text('locals {\n  b = "${local.a}-b"\n  a = "a"\n}\n')
    assert read_terragrunt_config(tmp_path / "a.hcl")["locals"] == {"a": "a", "b": "a-b"}
    (tmp_path / "c.hcl").write_text("locals {\n  a = local.b\n  b = local.a\n}\n")
    with pytest.raises(TerragruntError, match="refers to itself"):
        read_terragrunt_config(tmp_path / "c.hcl")


def test_included_root_is_evaluated_from_the_unit(tmp_path: Path) -> None:
    (tmp_path / "terragrunt.hcl").write_text(
        'locals {\n  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals\n}\n'
        "inputs = {\n  where = path_relative_to_include()\n  region = local.env.region\n}\n"
    )
    (tmp_path / "live" / "x" / "unit").mkdir(parents=True)
    (tmp_path / "live" / "x" / "env.hcl").write_text('locals {\n  region = get_env("REGION", "r1")\n}\n')
    (tmp_path / "live" / "x" / "unit" / "terragrunt.hcl").write_text(
        'include "root" {\n  path   = find_in_parent_folders("terragrunt.hcl")\n  expose = true\n}\n'
        'terraform {\n  source = "${get_parent_terragrunt_dir("root")}/modules//m"\n}\n'
        'inputs = {\n  region = "${include.root.locals.env.region}-own"\n}\n'
    )
    unit = Environment.load(tmp_path / "live" / "x", environ={"REGION": "r2"}).units["unit"]
    assert unit.inputs() == {"where": "live/x/unit", "region": "r2-own"}
    assert unit.source == tmp_path / "modules" / "m"
    assert unit.source_root == tmp_path / "modules"
