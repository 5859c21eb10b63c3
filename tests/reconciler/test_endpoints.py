"""The endpoint under the component: its writes wait for it, say why, and go when it is
InService (issue 18). The real loop, planner and status over in-memory SageMaker."""

from __future__ import annotations

import pytest

from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.names import RETRY_ANNOTATION
from ic_operator.reconcile.types import Trigger
from tests.reconciler.harness import Rig, image, run

pytestmark = pytest.mark.filterwarnings("error")

CREATE, UPDATE = "CreateInferenceComponent", "UpdateInferenceComponent"
ENDPOINT = ("us-east-1", "llm-endpoint")


async def created(w: Rig) -> None:
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(w.settled)


@pytest.mark.parametrize("state", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_a_create_waits_for_an_endpoint_in_a_transition_then_goes(state: str) -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.set_endpoint("llm-endpoint", state)
        w.clock.advance(252)
        for _ in range(3):
            result = await w.step()
            assert result.outcome == "Wait" and result.endpoint == ENDPOINT
        assert w.sm.ops(CREATE) == []
        assert w.kube.condition("Progressing")[:2] == ("True", "WaitingForEndpoint")
        assert w.kube.condition("Degraded")[0] == "False"
        message = w.kube.body["status"]["conditions"][1]["message"]
        assert message.startswith(f"endpoint llm-endpoint is {state} (")
        assert w.status["decision"]["next"] == "Poll"
        assert "lastWrite" not in w.status and "lastDeployment" not in w.status

        w.sm.set_endpoint("llm-endpoint", "InService")
        result = await w.step()
        assert result.outcome == "Create" and result.endpoint is None
        assert len(w.sm.ops(CREATE)) == 1

    run(scenario)


def test_the_message_carries_the_endpoints_age() -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.set_endpoint("llm-endpoint", "Creating")
        w.clock.advance(252)
        await w.step()
        progressing = next(c for c in w.status["conditions"] if c["type"] == "Progressing")
        assert progressing["message"] == (
            "endpoint llm-endpoint is Creating (4m12s); creating the inference component "
            "waits until it is InService"
        )

    run(scenario)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (None, "EndpointNotFound"),
        ("Failed", "EndpointFailed"),
        ("OutOfService", "EndpointOutOfService"),
        ("Deleting", "EndpointDeleting"),
        ("UpdateRollbackFailed", "EndpointUpdateRollbackFailed"),
    ],
)
def test_a_broken_or_missing_endpoint_is_degraded_without_a_create_loop(
    state: str | None, reason: str
) -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.set_endpoint("llm-endpoint", state, FailureReason="no capacity for ml.g5.12xlarge")
        for _ in range(5):
            await w.step()
        assert w.sm.ops(CREATE) == []
        assert w.kube.condition("Degraded")[:2] == ("True", reason)
        assert w.kube.condition("Ready")[:2] == ("False", reason)
        degraded = next(c for c in w.status["conditions"] if c["type"] == "Degraded")
        if state == "Failed":
            assert "no capacity for ml.g5.12xlarge" in degraded["message"]
        # An endpoint of that name is back: the component is created as its spec says.
        w.sm.set_endpoint("llm-endpoint", "InService")
        result = await w.step()
        assert result.outcome == "Create"
        assert len(w.sm.ops(CREATE)) == 1

    run(scenario)


def test_an_update_waits_while_the_endpoint_updates_and_reads_go_on() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.set_endpoint("llm-endpoint", "Updating")
        w.kube.edit({"specification": {"container": {"image": image("v2")}}})
        w.sm.calls.clear()
        result = await w.step(Trigger.CHANGE)
        assert result.outcome == "Wait"
        assert w.sm.ops() == ["DescribeInferenceComponent", "DescribeEndpoint"]
        assert w.kube.condition("Progressing")[:2] == ("True", "WaitingForEndpoint")
        assert w.kube.condition("Ready")[0] == "False"
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"  # the old one stands
        await w.step()
        assert w.sm.ops(UPDATE) == []
        w.sm.set_endpoint("llm-endpoint", "InService")
        result = await w.step()
        assert result.outcome == "Update"
        (update,) = w.sm.accepted(UPDATE)
        assert update.request["Specification"]["Container"]["Image"] == image("v2")

    run(scenario)


def test_a_write_refused_for_the_endpoint_describes_it_again_instead_of_backing_off() -> None:
    async def scenario() -> None:
        w = Rig()
        await w.reconciler.endpoints.view(*ENDPOINT, purpose=Purpose.POLL)  # InService, cached
        w.sm.set_endpoint("llm-endpoint", "Updating")
        w.sm.fail[CREATE] = SageMakerError(
            CREATE,
            ErrorKind.BUSY,
            "ValidationException",
            "Cannot create inference component llm because endpoint llm-endpoint is in "
            "status Updating.",
        )
        result = await w.step(Trigger.START)
        assert w.sm.ops()[-2:] == [CREATE, "DescribeEndpoint"]
        assert result.outcome == "Wait" and result.endpoint == ENDPOINT
        assert w.kube.condition("Progressing")[:2] == ("True", "WaitingForEndpoint")
        assert w.status["decision"]["errors"] == 0  # not a backoff

    run(scenario)


def test_one_describe_of_the_endpoint_answers_many_writes() -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.set_endpoint("llm-endpoint", "Creating")
        watch = w.reconciler.endpoints
        views = [await watch.view(*ENDPOINT, purpose=Purpose.POLL) for _ in range(10)]
        assert {v.status for v in views} == {"Creating"}
        assert w.sm.ops("DescribeEndpoint") == ["DescribeEndpoint"]
        w.clock.advance(w.settings.poll_min)  # the cache is as young as the poll's minimum
        await watch.view(*ENDPOINT, purpose=Purpose.POLL)
        assert len(w.sm.ops("DescribeEndpoint")) == 2

    run(scenario)


def test_a_retained_component_whose_endpoint_was_recreated_is_reported_not_recreated() -> None:
    async def scenario() -> None:
        w = Rig(deletionPolicy="Retain")
        await created(w)
        # Out of band: the component and its endpoint deleted, the endpoint created again.
        del w.sm.components["llm"]
        w.clock.advance(600)
        w.sm.set_endpoint("llm-endpoint", "InService", CreationTime=w.clock.now)
        w.clock.advance(1)
        await w.step(Trigger.TIMER)
        await w.step()
        assert w.sm.ops(CREATE) == [CREATE]  # the first one only
        assert w.kube.condition("Degraded")[:2] == ("True", "EndpointReplaced")
        w.kube.edit(annotations={RETRY_ANNOTATION: "1"})
        result = await w.step(Trigger.CHANGE)
        assert result.outcome == "Create"

    run(scenario)


def test_a_deleted_component_whose_endpoint_is_gone_is_released_at_once() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        del w.sm.components["llm"]
        w.sm.set_endpoint("llm-endpoint", None)
        result = await w.finalize()
        assert result.released
        assert w.sm.ops("DeleteInferenceComponent") == []

    run(scenario)
