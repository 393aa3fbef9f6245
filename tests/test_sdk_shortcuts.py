"""workbook.sdk_shortcuts skips only work that changes nothing: a payload codec is still
applied to every activation and completion, and a workflow in the sandbox runs as before."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter, PayloadCodec
import temporalio.bridge.worker as bridge_worker

from workbook import sdk_shortcuts


class Upper(PayloadCodec):
    """Turns every payload's data upper case on the way out, lower case on the way in."""

    async def encode(self, payloads):
        return [Payload(metadata=p.metadata, data=p.data.upper()) for p in payloads]

    async def decode(self, payloads):
        return [Payload(metadata=p.metadata, data=p.data.lower()) for p in payloads]


def a_completion() -> WorkflowActivationCompletion:
    completion = WorkflowActivationCompletion(run_id="run")
    command = completion.successful.commands.add()
    command.complete_workflow_execution.result.CopyFrom(Payload(metadata={"encoding": b"json/plain"}, data=b'"booked"'))
    return completion


def an_activation() -> WorkflowActivation:
    activation = WorkflowActivation(run_id="run")
    job = activation.jobs.add()
    job.resolve_activity.result.completed.result.CopyFrom(Payload(metadata={"encoding": b"json/plain"}, data=b'"HELD"'))
    return activation


async def test_a_payload_codec_is_still_applied():
    sdk_shortcuts.install()
    assert getattr(bridge_worker.encode_completion, "_skips_identity", False)  # installed
    completion, activation = a_completion(), an_activation()
    with_codec = DataConverter(payload_codec=Upper())
    await bridge_worker.encode_completion(completion, with_codec, encode_headers=False, storage_concurrency_limit=1)
    await bridge_worker.decode_activation(activation, with_codec, decode_headers=False, storage_concurrency_limit=1)
    assert completion.successful.commands[0].complete_workflow_execution.result.data == b'"BOOKED"'
    assert activation.jobs[0].resolve_activity.result.completed.result.data == b'"held"'


async def test_without_a_codec_nothing_changes():
    sdk_shortcuts.install()
    completion, activation = a_completion(), an_activation()
    await bridge_worker.encode_completion(completion, DataConverter(), encode_headers=False, storage_concurrency_limit=1)
    await bridge_worker.decode_activation(activation, DataConverter(), decode_headers=False, storage_concurrency_limit=1)
    assert completion == a_completion() and activation == an_activation()
