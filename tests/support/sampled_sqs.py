"""An SQS client whose receives behave as SQS documents them, not as moto serves them.

moto answers every ``ReceiveMessage`` with all the visible messages (up to ``MaxNumberOfMessages``). SQS does
not promise that: "Short poll is the default behavior where a weighted random set of machines is sampled on a
ReceiveMessage call. Therefore, only the messages on the sampled machines are returned. [...] If the number
of messages in the queue is extremely small, you might not receive any messages in a particular
ReceiveMessage response. If this happens, repeat the request."
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). And a
message whose visibility timeout ran out while a consumer worked on it is delivered again, so a receive can
return only messages the consumer has already seen.

``SampledQueue`` wraps a real (moto) client: each receive takes what moto gives and hands back only the first
``sample_sizes[n]`` of them (all, once the plan is used up), putting the others back at once (visibility 0:
from the caller's side they were never received). With ``expire_first``, the messages of the first receive are
made visible again right after it, as if the caller's visibility timeout had run out while it worked on them.
Every other call goes to the real client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SampledQueue:
    def __init__(self, sqs: Any, sample_sizes: Sequence[int], *, expire_first: bool = False) -> None:
        self._sqs = sqs
        self._plan = list(sample_sizes)
        self._expire_first = expire_first
        self.receives: list[list[str]] = []  # message ids handed out per receive

    def receive_message(self, **request: Any) -> dict[str, Any]:
        answer = self._sqs.receive_message(**request)
        messages = answer.get("Messages", [])
        size = self._plan.pop(0) if self._plan else len(messages)
        handed, put_back = messages[:size], messages[size:]
        for message in put_back:
            self._sqs.change_message_visibility(
                QueueUrl=request["QueueUrl"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        if self._expire_first and not self.receives:
            for message in handed:
                self._sqs.change_message_visibility(
                    QueueUrl=request["QueueUrl"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        self.receives.append([message["MessageId"] for message in handed])
        return (
            {**answer, "Messages": handed} if handed else {k: v for k, v in answer.items() if k != "Messages"}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)
