"""ValidateStateMachineDefinition on the local stack's moto (``books_local.aws_fill_ins``), which the AWS
provider calls before it creates a state machine: ``result`` OK or FAIL with ERROR diagnostics, as the API
reference describes it
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from support.fill_in_moto import FillInMoto

ROOT = Path(__file__).resolve().parents[2]


def stepfunctions(endpoint: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )


def bulk_load_definition() -> dict[str, Any]:
    text = (ROOT / "modules" / "bulk-load" / "state_machine.asl.json").read_text()
    for name, value in {
        "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/books",
        "bucket": "books-bulk-load",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:books-bulk-load-export",
        "max_concurrency": "2",
        "export_encryption": "",  # no customer managed key
    }.items():
        text = text.replace("${" + name + "}", value)
    return json.loads(text)


def test_the_bulk_load_definition_validates(stand_in_moto: FillInMoto) -> None:
    answer = stepfunctions(stand_in_moto.endpoint).validate_state_machine_definition(
        definition=json.dumps(bulk_load_definition()), type="STANDARD"
    )
    assert (answer["result"], answer["diagnostics"]) == ("OK", [])


def test_a_broken_definition_fails_with_an_error_diagnostic(stand_in_moto: FillInMoto) -> None:
    broken = bulk_load_definition()
    broken["States"]["Prepare"]["Next"] = "NoSuchState"
    answer = stepfunctions(stand_in_moto.endpoint).validate_state_machine_definition(
        definition=json.dumps(broken)
    )
    assert answer["result"] == "FAIL"
    (diagnostic,) = answer["diagnostics"]
    assert diagnostic["severity"] == "ERROR"
    assert diagnostic["message"]


def test_create_state_machine_refuses_a_transition_to_nowhere(stand_in_moto: FillInMoto) -> None:
    """moto's parser alone accepts it; AWS refuses it (MISSING_TRANSITION_TARGET)."""
    broken = bulk_load_definition()
    broken["States"]["Files"]["ItemProcessor"]["States"]["FileDone"]["Default"] = "Nowhere"
    client = stepfunctions(stand_in_moto.endpoint)
    with pytest.raises(ClientError) as raised:
        client.create_state_machine(
            name="broken", definition=json.dumps(broken), roleArn="arn:aws:iam::123456789012:role/r"
        )
    assert raised.value.response["Error"]["Code"] == "InvalidDefinition"
    assert "Files.ItemProcessor.FileDone: MISSING_TRANSITION_TARGET 'Nowhere'" in str(raised.value)


def test_state_machine_versions_are_listed_newest_first(stand_in_moto: FillInMoto) -> None:
    """ListStateMachineVersions (the provider reads it after creating a state machine): the published
    versions, newest first
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListStateMachineVersions.html)."""
    client = stepfunctions(stand_in_moto.endpoint)
    definition = json.dumps(bulk_load_definition())
    role = "arn:aws:iam::123456789012:role/r"
    plain = client.create_state_machine(name="unversioned", definition=definition, roleArn=role)
    assert (
        client.list_state_machine_versions(stateMachineArn=plain["stateMachineArn"])["stateMachineVersions"]
        == []
    )
    published = client.create_state_machine(
        name="versioned", definition=definition, roleArn=role, publish=True
    )
    client.update_state_machine(
        stateMachineArn=published["stateMachineArn"], definition=definition, publish=True
    )
    versions = client.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])[
        "stateMachineVersions"
    ]
    assert [v["stateMachineVersionArn"] for v in versions] == [
        f"{published['stateMachineArn']}:2",
        f"{published['stateMachineArn']}:1",
    ]
