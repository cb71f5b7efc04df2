"""The Step Functions operations moto 5.2.5 lacks that the AWS provider calls around an
``aws_sfn_state_machine`` (ValidateStateMachineDefinition, ListStateMachineVersions), and the transition
checks moto's parser skips.

moto answers 500 (NotImplementedError) to both operations, which the provider retries for as long as its
timeout allows, so an apply of the bulk-load unit would hang. ListStateMachineVersions answers the versions
moto keeps (none unless a state machine was published), newest first, as the API reference describes
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListStateMachineVersions.html).
ValidateStateMachineDefinition Here it answers as the API reference
describes (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html):
``result`` ``OK`` or ``FAIL`` and ``diagnostics`` (``severity``, ``code``, ``message``), judged by the parser
moto's CreateStateMachine uses plus the checks below. That parser rejects some valid ASL (a JSONL
``ItemReader``, ``ItemBatcher``, ``EXPRESS`` children), so this can say FAIL where AWS says OK; tests/asl
validates the definition with AWS's rules.

moto's parser checks syntax only: a ``Next``, ``Default``, ``Catch`` target or ``StartAt`` naming no state
passes it, where AWS refuses the definition (``MISSING_TRANSITION_TARGET``; the Amazon States Language
requires every transition to name a state of the same ``States`` object,
https://states-language.net/spec.html#transition). ValidateStateMachineDefinition and
CreateStateMachine/UpdateStateMachine both check that here, and their refusals carry the error code
``InvalidDefinition`` (moto's own refusal reaches the client with an empty code).
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import JsonRESTError

MESSAGE_LIMIT = 1000


def transition_errors(machine: dict[str, Any], where: str = "") -> list[str]:
    """Every StartAt, Next, Default and Catch target that names no state of its own States object, in this
    machine and in every nested one (a Map's ItemProcessor or Iterator, a Parallel's Branches)."""
    states = machine.get("States") or {}
    errors = []
    if machine.get("StartAt") not in states:
        errors.append(f"{where}StartAt names no state: {machine.get('StartAt')!r}")
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [choice.get("Next") for choice in state.get("Choices") or []]
        targets += [catcher.get("Next") for catcher in state.get("Catch") or []]
        for target in targets:
            if target is not None and target not in states:
                errors.append(f"{where}{name}: MISSING_TRANSITION_TARGET {target!r}")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                errors += transition_errors(state[key], f"{where}{name}.{key}.")
        for number, branch in enumerate(state.get("Branches") or []):
            errors += transition_errors(branch, f"{where}{name}.Branches[{number}].")
    return errors


def problems(definition: str) -> list[str]:
    """What keeps the definition from being created: the parser's error, or transitions to nowhere."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        AmazonStateLanguageParser.parse(definition)
    except Exception as error:  # the parser raises its own errors and plain Python ones alike
        return [str(error)[:MESSAGE_LIMIT]]
    return transition_errors(json.loads(definition))


def validate(definition: str) -> dict[str, Any]:
    diagnostics = [
        {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": message}
        for message in problems(definition)
    ]
    return {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}


class InvalidDefinition(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidDefinition", message)


def install() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    def _validate_definition(definition: str) -> None:
        errors = problems(definition)
        if errors:
            raise InvalidDefinition("; ".join(errors))

    def validate_state_machine_definition(self: Any) -> str:
        return json.dumps(validate(self._get_param("definition") or ""))

    def list_state_machine_versions(self: Any) -> str:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: v.version, reverse=True)
        listed = [
            {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date.timestamp()}
            for version in versions
        ]
        return json.dumps({"stateMachineVersions": listed})

    StepFunctionsParserBackend._validate_definition = staticmethod(_validate_definition)
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
