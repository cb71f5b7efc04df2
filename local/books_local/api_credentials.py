"""The access key a consumer of the local API signs its requests with.

On AWS a consumer is an IAM principal allowed ``execute-api:Invoke`` on the API ("Control access to a REST
API with IAM permissions", https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html).
The local stack issues the same: an IAM user on moto with that policy and an access key, written to the
state directory (mode 0600) for ``make up`` to print and for tests to sign with. The local gateway accepts
signatures of these keys only.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from books_local.sigv4 import CallerIdentity

__all__ = ["USER_NAME", "ApiCredentials", "credentials_file", "invoke_policy", "issue", "load", "save"]

USER_NAME = "books-local-consumer"


@dataclass(frozen=True)
class ApiCredentials:
    access_key_id: str
    secret_access_key: str
    region: str
    user_arn: str = ""
    user_id: str = ""

    @property
    def secrets(self) -> dict[str, str]:
        """What the gateway verifies against: access key -> secret."""
        return {self.access_key_id: self.secret_access_key}

    @property
    def identities(self) -> dict[str, CallerIdentity]:
        """Whose key it is, for ``$context.identity`` (userArn, caller, accountId), as API Gateway fills it
        for an AWS_IAM caller. A key saved before these were recorded is named after itself, so two keys never
        share an identity."""
        arn = self.user_arn or f"arn:aws:iam::000000000000:user/{self.access_key_id}"
        account = arn.split(":")[4] or "000000000000"
        return {self.access_key_id: CallerIdentity(arn, self.user_id or self.access_key_id, account)}


def invoke_policy(execution_arn: str) -> dict[str, Any]:
    """The identity policy a consumer needs: execute-api:Invoke on every stage, method and path of the API."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{execution_arn}/*"}],
    }


def issue(moto_endpoint: str, region: str, execution_arn: str, user_name: str = USER_NAME) -> ApiCredentials:
    """Creates (or reuses) the consumer's IAM user on moto, allows it to invoke the API, and issues a key."""
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=region)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=user_name)
    user = iam.get_user(UserName=user_name)["User"]
    iam.put_user_policy(
        UserName=user_name,
        PolicyName="invoke-books-api",
        PolicyDocument=json.dumps(invoke_policy(execution_arn)),
    )
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    return ApiCredentials(key["AccessKeyId"], key["SecretAccessKey"], region, user["Arn"], user["UserId"])


def credentials_file(state_dir: Path) -> Path:
    return state_dir / "api_credentials.json"


def save(path: Path, credentials: ApiCredentials) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(credentials), handle)


def load(path: Path) -> ApiCredentials:
    return ApiCredentials(**json.loads(path.read_text()))
