"""A create is Ready on the endpoint listing's word; one routine Describe fills in the rest.

At a thousand creates, a Describe per component before Ready doubled the call budget
creation needs. The listing says when this resource's own Create settled; what it cannot
say (copy counts, resolved image, endpoint ARN) is read by one Describe classed as sweep
work, which never goes ahead of an edit or a create.
"""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator.aws.budget import Purpose
from ic_operator.reconcile.types import Trigger
from ic_sandbox.emulator.describe import resolve_image
from tests.reconciler.harness import IMAGE, Rig, image, run

pytestmark = pytest.mark.filterwarnings("error")

LIST, CREATE, DESCRIBE, ENDPOINT = (
    "ListInferenceComponents",
    "CreateInferenceComponent",
    "DescribeInferenceComponent",
    "DescribeEndpoint",
)
UNKNOWN_TO_A_LISTING = ("copies", "currentCopyCount", "desiredCopyCount", "resolvedImage")


async def ready_from_the_listing(w: Rig) -> None:
    """Create, SageMaker finishes it, one pass: Ready on the listing's word alone."""
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.step()
    assert w.kube.condition("Ready")[0] == "True" and DESCRIBE not in w.sm.ops()
    assert w.status["decision"]["next"] == "Verify"


def test_a_created_component_is_ready_from_the_listing_then_one_sweep_describe_fills_it_in() -> (
    None
):
    async def scenario() -> None:
        w = Rig()
        await w.step(Trigger.START)
        waiting = await w.step()  # still Creating: the listing answers
        assert waiting.outcome == "Wait" and w.kube.condition("Ready")[0] == "False"
        w.sm.settle("llm")
        await w.step()
        # Ready with no Describe of the component at all (the endpoint's, once, before the
        # Create: is it there to take it?)
        assert w.sm.ops() == [LIST, ENDPOINT, CREATE, LIST, LIST]
        assert w.kube.condition("Ready") == ("True", "InSync")
        assert w.kube.condition("Progressing")[0] == "False"
        assert w.kube.condition("Degraded")[0] == "False"
        status = w.status
        assert status["inferenceComponentStatus"] == "InService"
        assert status["lastDeployment"]["outcome"] == "Succeeded"
        assert status["lastWrite"]["confirmed"] is True
        listed = w.sm.components["llm"]["LastModifiedTime"]
        assert status["decision"]["modified"] == listed
        assert status["decision"]["state"] == "InService"
        assert status["decision"]["next"] == "Verify"
        assert not any(key in status for key in UNKNOWN_TO_A_LISTING)  # not invented
        assert w.kube.reasons() == ["Creating", "Deployed"]

        await w.step()  # one Describe, classed as routine sweep work
        assert [(c.operation, c.purpose) for c in w.sm.calls[5:]] == [(DESCRIBE, Purpose.SWEEP)]
        status = w.status
        assert status["copies"] == "4/4"
        assert (status["currentCopyCount"], status["desiredCopyCount"]) == (4, 4)
        assert status["resolvedImage"] == resolve_image(IMAGE)
        assert status["endpointArn"].endswith(":endpoint/llm-endpoint")
        assert status["decision"]["next"] == "Resync"
        assert w.kube.condition("Ready") == ("True", "InSync")
        assert w.kube.reasons() == ["Creating", "Deployed"]  # no second Deployed

        w.sm.calls.clear()
        writes = w.kube.status_writes
        for _ in range(3):
            assert (await w.step(Trigger.TIMER)).outcome == "Unchanged"
        assert w.sm.ops() == [LIST] * 3 and w.kube.status_writes == writes

    run(scenario)


def test_the_confirming_describe_corrects_drift_like_any_settled_pass() -> None:
    async def scenario() -> None:
        w = Rig()
        await ready_from_the_listing(w)
        w.sm.change(
            "llm", Container={"Image": image("hotfix"), "Environment": {"LOG_LEVEL": "info"}}
        )
        await w.step()
        assert w.sm.ops()[-3:] == [DESCRIBE, ENDPOINT, "UpdateInferenceComponent"]
        sent = w.sm.calls[-1].request["Specification"]["Container"]["Image"]
        assert sent != image("hotfix")

    run(scenario)


def calls(w: Rig) -> list[tuple[str, Purpose | None, dict[str, Any]]]:
    """Which listing answers a settled resync (the endpoint's in full, or the region's
    recent changes) depends on what the process has cached, the call and its class not."""
    return [(c.operation, c.purpose, {} if c.operation == LIST else c.request) for c in w.sm.calls]


def test_a_restarted_process_decides_the_same_from_status_alone() -> None:
    async def scenario() -> None:
        kept, dropped = Rig(), Rig(drop_cache=True)
        for w in (kept, dropped):
            await w.step(Trigger.START)
            await w.step()
            w.sm.settle("llm")
            await w.until(w.settled)
            for _ in range(2):
                await w.step(Trigger.TIMER)
        assert DESCRIBE in dropped.sm.ops()
        assert calls(dropped) == calls(kept)
        assert dropped.status == kept.status
        assert dropped.kube.events == kept.kube.events

    run(scenario)


def test_a_restart_while_ready_from_the_listing_makes_the_routine_describe_when_due() -> None:
    async def scenario() -> None:
        w = Rig()
        await ready_from_the_listing(w)
        w.clock.advance(-w.reconciler.poll.minimum)  # back to just after the Ready pass
        w.restart()
        w.sm.calls.clear()
        early = await w.step(Trigger.START)
        assert early.outcome == "NotDue" and w.sm.calls == []
        await w.step()
        assert [(c.operation, c.purpose) for c in w.sm.calls] == [(DESCRIBE, Purpose.SWEEP)]
        assert w.status["copies"] == "4/4"

    run(scenario)


def test_a_lagging_listing_delays_ready_but_never_reports_it_early() -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.lag_reads = 2  # after the Create, two reads still show no component
        await w.step(Trigger.START)
        for _ in range(4):
            await w.step()
            assert w.kube.condition("Ready")[0] == "False"  # SageMaker is still Creating
            assert w.kube.condition("Degraded")[0] == "False"
        # The lag cost Describes (a component once seen is not taken to be gone on the
        # listing's word), one of which saw it Creating: its end is read from the listing.
        described = len(w.sm.ops(DESCRIBE))
        assert described >= 1
        w.sm.settle("llm")
        await w.step()
        assert w.kube.condition("Ready") == ("True", "InSync")
        assert len(w.sm.ops(DESCRIBE)) == described
        await w.until(w.settled)
        assert w.sm.ops(CREATE) == [CREATE]
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert w.kube.reasons() == ["Creating", "Deployed"]

    run(scenario)


def test_a_failed_create_is_described_and_reported() -> None:
    async def scenario() -> None:
        w = Rig()
        await w.step(Trigger.START)
        w.clock.advance(1)
        doc = w.sm.components["llm"]
        doc.update(
            InferenceComponentStatus="Failed",
            FailureReason="the container did not start",
            LastModifiedTime=w.clock.now,
        )
        await w.step()
        assert w.sm.ops() == [LIST, ENDPOINT, CREATE, LIST, DESCRIBE]
        assert w.sm.calls[-1].purpose is Purpose.POLL
        assert w.kube.condition("Ready")[0] == "False"
        assert w.kube.condition("Degraded")[0] == "True"
        assert w.status["lastDeployment"]["outcome"] == "Failed"
        assert w.status["failureReason"] == "the container did not start"

    run(scenario)


def test_an_edit_during_creation_is_judged_from_a_describe() -> None:
    async def scenario() -> None:
        w = Rig()
        await w.step(Trigger.START)
        w.kube.edit({"specification": {"container": {"image": image("v2")}}})
        await w.step(Trigger.CHANGE)  # Creating: the edit waits
        w.sm.settle("llm")
        await w.step()
        # Not this resource's Create alone any more: the listing cannot say it is Ready.
        assert w.sm.ops()[-3:] == [DESCRIBE, ENDPOINT, "UpdateInferenceComponent"]
        assert w.kube.condition("Ready")[0] == "False"
        sent = w.sm.calls[-1].request["Specification"]["Container"]["Image"]
        assert sent == image("v2")

    run(scenario)
