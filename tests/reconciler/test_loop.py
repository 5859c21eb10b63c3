"""The reconcile loop against in-memory SageMaker and Kubernetes: every path in seconds.

Each test drives passes one at a time (the clock jumps to each pass's wake time) and
asserts both what the resource says (status, events) and what SageMaker was asked.
"""

from __future__ import annotations

from typing import Any

import pytest

from ic_operator import metrics
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.models import InferenceComponentStatus
from ic_operator.names import OWNER_RESOURCE_TAG, OWNER_UID_TAG
from ic_operator.reconcile.types import Trigger
from tests.reconciler.harness import IMAGE, SETTINGS, UID, Rig, image, run

pytestmark = pytest.mark.filterwarnings("error")


# The manifest's specification as SageMaker holds it when something else created it.
RUNNING: dict[str, Any] = {
    "Container": {"Image": IMAGE, "Environment": {"LOG_LEVEL": "info"}},
    "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
}


def set_image(w: Rig, tag: str) -> None:
    w.kube.edit({"specification": {"container": {"image": image(tag)}}})


def sent_images(w: Rig) -> list[str]:
    return [
        c.request["Specification"]["Container"]["Image"]
        for c in w.sm.accepted("UpdateInferenceComponent")
    ]


async def created(w: Rig) -> None:
    await w.step(Trigger.START)
    w.sm.settle("llm")
    await w.until(w.settled)


# --------------------------------------------------------------------------- create


def test_create_comes_from_the_listing_then_one_describe_confirms_it() -> None:
    async def scenario() -> None:
        w = Rig()
        first = await w.step(Trigger.START)
        # Absence is answered by the endpoint listing: no Describe of the component before
        # the Create, only one of its endpoint (is it there to take the Create?).
        assert w.sm.ops() == [
            "ListInferenceComponents",
            "DescribeEndpoint",
            "CreateInferenceComponent",
        ]
        create = w.sm.calls[2].request
        assert create["RuntimeConfig"] == {"CopyCount": 4}
        assert {t["Key"]: t["Value"] for t in create["Tags"]}[OWNER_UID_TAG] == UID
        assert first.outcome == "Create"
        status = InferenceComponentStatus.parse(w.status)
        assert status.last_write is not None and status.last_write.outcome == "Accepted"
        assert status.decision is not None and status.decision.next == "Poll"
        assert w.kube.condition("Progressing") == ("True", "Creating")
        w.sm.settle("llm")
        await w.until(w.settled)
        assert w.status["copies"] == "4/4" and w.status["inferenceComponentStatus"] == "InService"
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert w.sm.ops("CreateInferenceComponent", "ListTags") == ["CreateInferenceComponent"]
        assert w.kube.reasons() == ["Creating", "Deployed"]

    run(scenario)


def test_settled_resyncs_cost_one_shared_list_and_no_write() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.calls.clear()
        writes = w.kube.status_writes
        for _ in range(5):
            result = await w.step(Trigger.TIMER)
            assert result.outcome == "Unchanged"
        assert w.sm.ops() == ["ListInferenceComponents"] * 5
        assert w.kube.status_writes == writes  # nothing changed: no PATCH

    run(scenario)


# --------------------------------------------------------------------------- update


def test_update_sends_the_full_spec_with_the_deployment_config_and_polls_the_rollout() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.calls.clear()
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        # The first look after an edit is a Describe ahead of routine work, then the write.
        assert [(c.operation, c.purpose) for c in w.sm.calls] == [
            ("DescribeInferenceComponent", Purpose.FIRST_LOOK),
            ("DescribeEndpoint", Purpose.FIRST_LOOK),
            ("UpdateInferenceComponent", None),
        ]
        update = w.sm.calls[2].request
        assert update["DeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"] == {
            "Type": "COPY_COUNT",
            "Value": 1,
        }
        assert update["Specification"]["Container"]["Image"] == image("v2")
        assert "RuntimeConfig" not in update
        w.sm.calls.clear()
        await w.step()  # the listing shows Updating with a new LastModifiedTime: Describe
        await w.step()  # nothing moved since: the listing answers, no Describe
        await w.step()
        assert w.sm.ops("DescribeInferenceComponent") == ["DescribeInferenceComponent"]
        assert w.sm.ops("ListInferenceComponents")
        w.sm.batch("llm")  # a batch lands: LastModifiedTime moves, so one Describe
        await w.step()
        assert w.sm.ops().count("DescribeInferenceComponent") == 2
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert w.status["lastDeployment"]["generation"] == 2
        assert sent_images(w) == []  # since the one update: no second one

    run(scenario)


def test_a_rollout_alone_on_a_large_endpoint_is_polled_by_its_own_describe() -> None:
    """A hundred-component listing read for one rollout costs the same call as a Describe
    and far more parsing (reconcile/sweep.py): the rollout is followed by Describes."""

    async def scenario() -> None:
        w = Rig()
        for i in range(40):  # neighbours on the same endpoint, settled
            w.sm.put(f"other-{i}", RUNNING)
        await created(w)
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)
        w.sm.calls.clear()
        for _ in range(3):
            await w.step()
        w.sm.batch("llm")
        await w.step()
        assert w.sm.ops() and set(w.sm.ops()) == {"DescribeInferenceComponent"}
        assert {c.purpose for c in w.sm.calls} == {Purpose.POLL}
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.status["lastDeployment"]["outcome"] == "Succeeded"
        assert sent_images(w) == []  # since the one update: no second one

    run(scenario)


def test_copy_count_change_scales_without_redeploying() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.kube.edit({"runtimeConfig": {"copyCount": 6}})
        await w.step(Trigger.CHANGE)
        w.sm.settle("llm")
        await w.until(w.ready)
        scales = w.sm.accepted("UpdateInferenceComponentRuntimeConfig")
        assert [c.request["DesiredRuntimeConfig"] for c in scales] == [{"CopyCount": 6}]
        assert w.sm.accepted("UpdateInferenceComponent") == []
        assert w.status["copies"] == "6/6"

    run(scenario)


def test_rollback_is_judged_once_and_the_spec_is_not_sent_again() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.sm.rollback_next = "Alarm llm-5xx fired"
        set_image(w, "bad")
        await w.step(Trigger.CHANGE)
        w.sm.settle("llm")
        await w.until(lambda: w.kube.condition("Degraded") == ("True", "RolledBack"))
        assert w.status["lastDeployment"]["outcome"] == "RolledBack"
        assert w.status["lastDeployment"]["failureReason"] == "Alarm llm-5xx fired"
        for _ in range(4):
            await w.step(Trigger.TIMER)
        assert sent_images(w) == [image("bad")]
        warnings = [(t, r) for t, r, _ in w.kube.events if t == "Warning"]
        assert warnings == [("Warning", "RolledBack")]
        # A retry annotation sends it once more.
        w.kube.edit(annotations={"sagemaker.ic-operator.io/retry": "1"})
        await w.step(Trigger.CHANGE)
        assert sent_images(w) == [image("bad"), image("bad")]

    run(scenario)


def test_edits_during_a_rollout_coalesce_into_one_follow_up() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        set_image(w, "v1")
        await w.step(Trigger.CHANGE)
        for n in range(2, 12):
            set_image(w, f"v{n}")
            await w.step(Trigger.CHANGE)  # Updating: every edit waits
        assert sent_images(w) == [image("v1")]
        w.sm.settle("llm")
        await w.step()
        assert sent_images(w) == [image("v1"), image("v11")]
        w.sm.settle("llm")
        await w.until(w.ready)
        assert w.status["lastDeployment"]["generation"] == 12

    run(scenario)


# --------------------------------------------------------------------------- drift


def test_drift_is_corrected_on_the_next_resync_but_external_copies_are_left_alone() -> None:
    async def scenario() -> None:
        w = Rig(runtimeConfig={"copyCount": 4, "copyCountOwner": "External"})
        await created(w)
        w.sm.change(
            "llm", Container={"Image": image("hotfix"), "Environment": {"LOG_LEVEL": "info"}}
        )
        w.sm.components["llm"]["RuntimeConfig"]["DesiredCopyCount"] = 7
        await w.step(Trigger.TIMER)
        assert sent_images(w) == [IMAGE]
        assert w.sm.accepted("UpdateInferenceComponentRuntimeConfig") == []
        assert "RuntimeConfig" not in w.sm.accepted("UpdateInferenceComponent")[0].request

    run(scenario)


def test_between_full_listings_resyncs_read_the_region_changes_and_a_deletion_is_found() -> None:
    """Settled resyncs cost one region-wide listing of recent changes; the endpoint is
    listed in full once per full-listing interval, which is what finds a component
    deleted behind the operator's back (a change listing cannot show a deletion)."""

    async def scenario() -> None:
        w = Rig()
        await created(w)
        start = w.clock.now
        w.sm.components.pop("llm")  # deleted out of band, e.g. from the console
        w.sm.calls.clear()
        while not w.sm.ops("CreateInferenceComponent"):
            await w.step(Trigger.TIMER)
            assert (
                w.clock.now - start <= SETTINGS.full_listing_interval + 2 * SETTINGS.resync_interval
            )
        lists = [c.request for c in w.sm.calls if c.operation == "ListInferenceComponents"]
        full = [r for r in lists if "EndpointNameEquals" in r]
        recent = [r for r in lists if "EndpointNameEquals" not in r]
        assert recent and all("LastModifiedTimeAfter" in r for r in recent)
        assert len(full) == 1  # the one that found it gone
        assert w.sm.ops("DescribeInferenceComponent")[:1] == ["DescribeInferenceComponent"]

    run(scenario)


# --------------------------------------------------------------------------- ownership


def test_a_component_created_before_a_crash_is_recognised_by_its_owner_tag() -> None:
    async def scenario() -> None:
        w = Rig()
        owner = {OWNER_UID_TAG: UID, "team": "search", OWNER_RESOURCE_TAG: "team-a/llm"}
        w.sm.put("llm", RUNNING, owner_tags=owner)
        await w.until(w.ready)
        assert w.sm.ops("CreateInferenceComponent", "UpdateInferenceComponent") == []
        assert "ListTags" in w.sm.ops()
        assert w.status["inferenceComponentArn"].endswith("/llm")

    run(scenario)


def test_a_foreign_component_is_reported_then_adopted_on_request() -> None:
    async def scenario() -> None:
        w = Rig()
        arn = w.sm.put("llm", RUNNING, owner_tags={"team": "legacy"})
        await w.step(Trigger.START)
        assert w.kube.condition("Degraded") == ("True", "AlreadyExists")
        assert w.sm.writes() == []
        w.kube.edit({"adoptionPolicy": "IfExists"})
        await w.until(w.ready)
        assert [c.operation for c in w.sm.writes()] == ["AddTags"]
        assert w.sm.tags[arn][OWNER_UID_TAG] == UID
        assert w.sm.accepted("UpdateInferenceComponent") == []

    run(scenario)


# --------------------------------------------------------------------------- backoffs


def test_capacity_backoff_keeps_away_from_sagemaker_until_due_and_an_edit_goes_at_once() -> None:
    async def scenario() -> None:
        w = Rig()
        w.sm.fail["CreateInferenceComponent"] = SageMakerError(
            "CreateInferenceComponent",
            ErrorKind.CAPACITY,
            "ResourceLimitExceeded",
            "Insufficient capacity",
        )
        first = await w.step(Trigger.START)
        assert w.kube.condition("Degraded") == ("True", "InsufficientCapacity")
        decision = w.status["decision"]
        assert (decision["next"], decision["errors"]) == ("Backoff", 1)
        assert first.sleep is not None and first.sleep >= 24  # 30 s, jittered 0.8-1.2
        w.clock.advance(-first.sleep)  # back to just after the failure
        w.sm.calls.clear()
        for _ in range(3):
            early = await w.step(Trigger.TIMER)
            assert early.outcome == "NotDue"
            w.clock.advance(-(early.sleep or 0) + 2)  # a tick every 2 s, still in the backoff
        assert w.sm.calls == []
        w.kube.edit({"runtimeConfig": {"copyCount": 2}})
        await w.step(Trigger.CHANGE)
        assert w.sm.ops("CreateInferenceComponent") == ["CreateInferenceComponent"]
        assert w.status["decision"]["errors"] == 0

    run(scenario)


def test_throttling_retries_with_a_growing_backoff_recorded_in_status() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        set_image(w, "v2")
        sleeps = []
        for _ in range(3):
            w.sm.fail["DescribeInferenceComponent"] = SageMakerError(
                "DescribeInferenceComponent",
                ErrorKind.RETRYABLE,
                "ThrottlingException",
                "Rate exceeded",
            )
            # describe() bypasses call(); fail the read through the client surface instead.
            original = w.sm.describe

            async def throttled(*a: Any, **k: Any) -> Any:
                raise w.sm.fail.pop("DescribeInferenceComponent")

            w.sm.describe = throttled  # type: ignore[method-assign]
            result = await w.step(Trigger.POLL)
            w.sm.describe = original  # type: ignore[method-assign]
            sleeps.append(result.sleep)
            assert w.kube.condition("Progressing") == ("True", "Retrying")
            assert w.kube.condition("Degraded")[0] == "False"
        assert w.status["decision"]["errors"] == 3
        assert sleeps[0] < sleeps[1] < sleeps[2]
        await w.until(lambda: bool(sent_images(w)))
        assert sent_images(w) == [image("v2")]

    run(scenario)


# --------------------------------------------------------------------------- deletion


def test_delete_waits_out_a_rollout_then_sends_one_delete_and_releases_when_gone() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        set_image(w, "v2")
        await w.step(Trigger.CHANGE)  # Updating
        w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        waiting = await w.finalize()
        assert waiting.outcome == "Wait" and not waiting.released
        w.sm.settle("llm")
        deleting = await w.finalize()
        assert deleting.outcome == "Delete"
        assert w.status["inferenceComponentStatus"] == "Deleting"
        again = await w.finalize()
        assert not again.released
        w.sm.settle("llm")
        done = await w.finalize()
        assert done.released
        assert len(w.sm.accepted("DeleteInferenceComponent")) == 1

    run(scenario)


def test_retain_releases_without_a_call() -> None:
    async def scenario() -> None:
        w = Rig(deletionPolicy="Retain")
        await created(w)
        w.sm.calls.clear()
        w.kube.body["metadata"]["deletionTimestamp"] = "2027-01-01T00:00:00Z"
        done = await w.finalize()
        assert done.released and w.sm.calls == []
        assert "llm" in w.sm.components

    run(scenario)


# --------------------------------------------------------------------------- invalid


def test_an_invalid_spec_is_reported_without_any_call_and_waits_for_an_edit() -> None:
    async def scenario() -> None:
        w = Rig(runtimeConfig={"copyCount": 4, "copyCountOwner": "Nobody"})
        result = await w.step(Trigger.START)
        assert w.sm.calls == [] and result.sleep is None
        assert w.kube.condition("Degraded") == ("True", "InvalidSpec")
        assert w.status["decision"]["next"] == "Idle"

    run(scenario)


def test_a_restart_over_settled_components_reports_them_ready_from_one_listing() -> None:
    async def scenario() -> None:
        w = Rig()
        await created(w)
        w.restart()
        w.sm.calls.clear()
        metrics.COMPONENT_TABLE.forget(UID)
        result = await w.step(Trigger.START)
        assert result.outcome == "Unchanged"
        assert w.sm.ops() == ["ListInferenceComponents"]
        ready = [
            sample.value
            for family in metrics.COMPONENTS.collect()
            for sample in family.samples
            if sample.labels["status"] == "InService" and sample.labels["ready"] == "True"
        ]
        assert sum(ready) >= 1  # in whichever account and region it lives

    run(scenario)
