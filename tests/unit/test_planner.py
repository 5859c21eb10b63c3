"""The planner, exhaustively: observed SageMaker states x spec changes -> one action."""

from __future__ import annotations

import pytest

from ic_operator.models import InferenceComponentSpec
from ic_operator.models.status import REJECTED_BY_SAGEMAKER, LastWrite
from ic_operator.names import OWNER_UID_TAG
from ic_operator.reconcile.delete import plan_delete
from ic_operator.reconcile.ownership import tag_changes
from ic_operator.reconcile.plan import plan_apply
from ic_operator.reconcile.status import merge_patch
from ic_operator.reconcile.types import Act, PollPolicy
from tests.unit.planner_fixtures import (
    ARN,
    IMAGE,
    IMAGE2,
    NOW,
    UID,
    deployment,
    describe_of,
    desired_of,
    observed,
    owned_tags,
    raw_spec,
    spec_of,
    status_of,
    with_image,
)

BASE = spec_of()
NEW_IMAGE = with_image(IMAGE2)
MORE_COPIES = spec_of(runtimeConfig={"copyCount": 6})
NEW_IMAGE_MORE_COPIES = with_image(IMAGE2, runtimeConfig={"copyCount": 6})
NEW_TAGS = spec_of(tags={"team": "search", "cost-center": "42"})
EXTERNAL = spec_of(runtimeConfig={"copyCount": 4, "copyCountOwner": "External"})
ONLY_DEPLOYMENT_CONFIG = spec_of(
    deploymentConfig={
        "rollingUpdatePolicy": {
            "maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25},
            "waitIntervalInSeconds": 120,
        }
    }
)
SUCCEEDED = deployment(BASE, "Succeeded")


def settled(spec=BASE, **kw):  # type: ignore[no-untyped-def]
    return describe_of(spec, **kw)


# --------------------------------------------------------------------------- the table
# (name, desired spec, observed component, recorded last deployment, expected action, reason)
TABLE = [
    ("absent -> create", BASE, None, None, Act.CREATE, "Creating"),
    ("creating -> wait", BASE, settled(state="Creating"), None, Act.WAIT, "Creating"),
    ("updating -> wait", NEW_IMAGE, settled(state="Updating"), SUCCEEDED, Act.WAIT, "Updating"),
    ("deleting -> wait", BASE, settled(state="Deleting"), SUCCEEDED, Act.WAIT, "Deleting"),
    ("in sync -> noop", BASE, settled(), SUCCEEDED, Act.NOOP, "InSync"),
    (
        "deploymentConfig only -> noop",
        ONLY_DEPLOYMENT_CONFIG,
        settled(ONLY_DEPLOYMENT_CONFIG),
        deployment(ONLY_DEPLOYMENT_CONFIG, "Succeeded"),
        Act.NOOP,
        "InSync",
    ),
    ("image change -> update", NEW_IMAGE, settled(), SUCCEEDED, Act.UPDATE, "Updating"),
    (
        "copies only -> runtime config",
        MORE_COPIES,
        settled(),
        deployment(MORE_COPIES, "Succeeded"),
        Act.UPDATE_RUNTIME_CONFIG,
        "Scaling",
    ),
    (
        "image + copies -> one update",
        NEW_IMAGE_MORE_COPIES,
        settled(),
        SUCCEEDED,
        Act.UPDATE,
        "Updating",
    ),
    (
        "external copies differ -> noop",
        EXTERNAL,
        settled(EXTERNAL, copies=9),
        deployment(EXTERNAL, "Succeeded"),
        Act.NOOP,
        "InSync",
    ),
    (
        "drift (image changed outside) -> update",
        BASE,
        settled(NEW_IMAGE),
        SUCCEEDED,
        Act.UPDATE,
        "Updating",
    ),
    (
        "drift (copies changed outside) -> scale",
        BASE,
        settled(copies=1),
        SUCCEEDED,
        Act.UPDATE_RUNTIME_CONFIG,
        "Scaling",
    ),
    (
        "rolled back, same spec -> blocked",
        NEW_IMAGE,
        settled(failure="alarm fired"),
        deployment(NEW_IMAGE, "RolledBack", failure="alarm fired"),
        Act.BLOCKED,
        "RolledBack",
    ),
    (
        "rolled back, new spec -> update",
        with_image(IMAGE + "-fixed"),
        settled(failure="alarm fired"),
        deployment(NEW_IMAGE, "RolledBack"),
        Act.UPDATE,
        "Updating",
    ),
    (
        "failed, same spec -> blocked",
        BASE,
        settled(state="Failed", failure="model download failed"),
        deployment(BASE, "Failed"),
        Act.BLOCKED,
        "Failed",
    ),
    (
        "failed, new spec -> delete to recreate",
        NEW_IMAGE,
        settled(state="Failed", failure="model download failed"),
        deployment(BASE, "Failed"),
        Act.DELETE,
        "Recreating",
    ),
    ("status lost, in sync -> noop (no redeploy)", BASE, settled(), None, Act.NOOP, "InSync"),
    ("status lost, differs -> update", NEW_IMAGE, settled(), None, Act.UPDATE, "Updating"),
]


@pytest.mark.parametrize(
    ("desired_spec", "component", "last", "action", "reason"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_plan_table(desired_spec, component, last, action, reason):  # type: ignore[no-untyped-def]
    status = status_of(arn=ARN, last=last)
    result = plan_apply(desired_of(desired_spec), observed(component), status)
    assert (result.action, result.reason) == (action, reason), result.message


def test_in_sync_despite_service_defaults_and_float_forms():
    component = settled(extras=True)
    assert component["Specification"]["DataCacheConfig"] == {"EnableCaching": True}
    assert (
        plan_apply(desired_of(BASE), observed(component), status_of(last=SUCCEEDED)).action
        is Act.NOOP
    )


def test_update_carries_full_spec_and_deployment_config():
    result = plan_apply(desired_of(NEW_IMAGE), observed(settled()), status_of(last=SUCCEEDED))
    assert result.request is not None
    assert result.request["Specification"]["Container"]["Image"] == IMAGE2
    assert result.request["Specification"]["Container"]["Environment"] == {"MAX_TOKENS": "4096"}
    assert result.request["DeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"] == {
        "Type": "COPY_COUNT",
        "Value": 1,
    }
    assert result.request["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "llm-5xx"}]
    }
    assert "RuntimeConfig" not in result.request
    assert result.record.deployment is not None and result.record.deployment.outcome == "InProgress"


def test_update_with_copies_sends_runtime_config_in_the_same_call():
    result = plan_apply(
        desired_of(NEW_IMAGE_MORE_COPIES), observed(settled()), status_of(last=SUCCEEDED)
    )
    assert result.request is not None and result.request["RuntimeConfig"] == {"CopyCount": 6}


def test_scale_request_is_runtime_config_only():
    result = plan_apply(desired_of(MORE_COPIES), observed(settled()), status_of(last=SUCCEEDED))
    assert result.request == {
        "InferenceComponentName": "llm",
        "DesiredRuntimeConfig": {"CopyCount": 6},
    }


def test_external_copy_count_is_never_in_an_update():
    spec = with_image(IMAGE2, runtimeConfig={"copyCount": 4, "copyCountOwner": "External"})
    result = plan_apply(desired_of(spec), observed(settled(copies=9)), status_of(last=SUCCEEDED))
    assert result.action is Act.UPDATE
    assert result.request is not None and "RuntimeConfig" not in result.request


def test_create_request_carries_owner_tags_and_copy_count():
    result = plan_apply(desired_of(BASE), observed(None), status_of(arn=None))
    assert result.request is not None
    tags = {t["Key"]: t["Value"] for t in result.request["Tags"]}
    assert tags[OWNER_UID_TAG] == UID and tags["team"] == "search"
    assert result.request["RuntimeConfig"] == {"CopyCount": 4}
    assert "DeploymentConfig" not in result.request


def test_create_with_zero_copies_is_blocked_without_a_call():
    spec = spec_of(runtimeConfig={"copyCount": 0})
    result = plan_apply(desired_of(spec), observed(None), status_of(arn=None))
    assert (result.action, result.reason, result.request) == (Act.BLOCKED, "InvalidSpec", None)


def test_component_vanished_is_recreated():
    result = plan_apply(desired_of(BASE), observed(None), status_of(last=SUCCEEDED))
    assert result.action is Act.CREATE and "again" in result.message


def test_create_rejected_before_is_not_retried_with_the_same_spec():
    result = plan_apply(
        desired_of(BASE), observed(None), status_of(arn=None, last=deployment(BASE, "Failed"))
    )
    assert result.action is Act.BLOCKED
    retried = plan_apply(
        desired_of(BASE, retry="1"),
        observed(None),
        status_of(arn=None, last=deployment(BASE, "Failed")),
    )
    assert retried.action is Act.CREATE


def test_a_spec_sagemaker_refused_keeps_its_reason_on_every_later_pass():
    """The pass that meets the refusal says InvalidSpec; so must the next ones, or a user
    (or a test) polling between two passes reads a different reason each time."""
    refused = deployment(BASE, "Failed", failure=f"{REJECTED_BY_SAGEMAKER}Could not find model")
    result = plan_apply(desired_of(BASE), observed(None), status_of(arn=None, last=refused))
    assert (result.action, result.reason) == (Act.BLOCKED, "InvalidSpec")
    ran = deployment(BASE, "Failed", failure="model download failed")
    result = plan_apply(desired_of(BASE), observed(None), status_of(arn=None, last=ran))
    assert (result.action, result.reason) == (Act.BLOCKED, "Failed")


# --------------------------------------------------------------------------- rollback judgement


def test_in_progress_update_back_with_old_spec_is_rolled_back():
    last = deployment(NEW_IMAGE, "InProgress", previous_failure=None)
    result = plan_apply(
        desired_of(NEW_IMAGE),
        observed(settled(failure="Alarm llm-5xx fired")),
        status_of(last=last),
    )
    assert result.action is Act.BLOCKED and result.degraded
    assert result.record.judged is not None and result.record.judged.outcome == "RolledBack"
    assert result.record.judged.failure_reason == "Alarm llm-5xx fired"
    assert result.record.deployment is not None and result.record.deployment.outcome == "RolledBack"


def test_stale_failure_reason_is_not_a_new_failure():
    """FailureReason outlives its cause (ACK's bug): the update succeeded."""
    last = deployment(NEW_IMAGE, "InProgress", previous_failure="old alarm")
    component = settled(NEW_IMAGE, failure="old alarm")
    result = plan_apply(desired_of(NEW_IMAGE), observed(component), status_of(last=last))
    assert result.action is Act.NOOP
    assert result.record.judged is not None and result.record.judged.outcome == "Succeeded"
    assert not result.degraded


def test_rolled_back_without_reason_is_still_detected_by_spec():
    last = deployment(NEW_IMAGE, "InProgress")
    result = plan_apply(desired_of(NEW_IMAGE), observed(settled(BASE)), status_of(last=last))
    assert result.record.judged is not None and result.record.judged.outcome == "RolledBack"
    assert "specification.container.image" in (result.record.judged.failure_reason or "")


def test_rolled_back_then_retry_annotation_redeploys_once():
    last = deployment(NEW_IMAGE, "RolledBack", failure="alarm")
    blocked = plan_apply(
        desired_of(NEW_IMAGE), observed(settled(failure="alarm")), status_of(last=last)
    )
    assert blocked.action is Act.BLOCKED
    retried = plan_apply(
        desired_of(NEW_IMAGE, retry="try-2"),
        observed(settled(failure="alarm")),
        status_of(last=last),
    )
    assert retried.action is Act.UPDATE
    assert (
        retried.record.deployment is not None and retried.record.deployment.retry_token == "try-2"
    )


def test_retry_annotation_on_a_component_in_sync_sends_nothing():
    """A retry retries what failed; with nothing failed it has nothing to send."""
    result = plan_apply(
        desired_of(ONLY_DEPLOYMENT_CONFIG, retry="1"),
        observed(settled(ONLY_DEPLOYMENT_CONFIG)),
        status_of(last=deployment(ONLY_DEPLOYMENT_CONFIG, "Succeeded")),
    )
    assert (result.action, result.reason) == (Act.NOOP, "InSync")


def test_redeploy_annotation_sends_the_spec_once_with_its_deployment_config():
    result = plan_apply(
        desired_of(ONLY_DEPLOYMENT_CONFIG, redeploy="2027-01-15T09:00:00Z"),
        observed(settled(ONLY_DEPLOYMENT_CONFIG)),
        status_of(last=deployment(ONLY_DEPLOYMENT_CONFIG, "Succeeded")),
    )
    assert result.action is Act.UPDATE and "redeploy" in result.message
    assert result.request is not None
    assert result.request["DeploymentConfig"] == ONLY_DEPLOYMENT_CONFIG.deployment_config.to_aws()  # type: ignore[union-attr]
    recorded = result.record.deployment
    assert recorded is not None and recorded.outcome == "InProgress"
    assert recorded.redeploy_token == "2027-01-15T09:00:00Z"


def test_a_redeploy_value_already_served_sends_nothing():
    served = deployment(ONLY_DEPLOYMENT_CONFIG, "Succeeded", redeploy="r1")
    result = plan_apply(
        desired_of(ONLY_DEPLOYMENT_CONFIG, redeploy="r1"),
        observed(settled(ONLY_DEPLOYMENT_CONFIG)),
        status_of(last=served),
    )
    assert result.action is Act.NOOP


def test_a_redeploy_is_not_assumed_when_no_deployment_is_recorded():
    """Status lost or an adoption: nothing tells the value from one already served."""
    result = plan_apply(
        desired_of(BASE, redeploy="r1"),
        observed(settled(), tags=owned_tags(BASE)),
        status_of(),
    )
    assert result.action is Act.NOOP
    assert result.record.deployment is not None
    assert result.record.deployment.redeploy_token == "r1"


def test_a_redeploy_is_judged_only_on_a_reading_later_than_its_write():
    """The reading shows the desired spec already: only a later one says the redeploy
    finished."""
    last = deployment(BASE, "InProgress", redeploy="r1")
    write = LastWrite(
        operation="Update",
        generation=1,
        sent_at=NOW - 1,
        based_on_modified=NOW - 30,
        outcome="Accepted",
    )
    status = status_of(last=last).model_copy(update={"last_write": write})
    result = plan_apply(desired_of(BASE, redeploy="r1"), observed(settled()), status)
    assert result.action is not Act.UPDATE
    assert result.record.judged is None


def test_rolled_back_spec_can_still_scale():
    spec = with_image(IMAGE2, runtimeConfig={"copyCount": 6})
    last = deployment(spec, "RolledBack", failure="alarm")
    result = plan_apply(desired_of(spec), observed(settled(failure="alarm")), status_of(last=last))
    assert result.action is Act.UPDATE_RUNTIME_CONFIG


def test_edits_during_update_become_one_follow_up_with_the_latest_spec():
    """Generation 1 rolled out while the user edited to generation 3: judge, then update once."""
    in_flight = deployment(NEW_IMAGE, "InProgress")
    latest = with_image(IMAGE + "-gen3")
    waiting = plan_apply(
        desired_of(latest),
        observed(settled(NEW_IMAGE, state="Updating")),
        status_of(last=in_flight),
    )
    assert waiting.action is Act.WAIT
    result = plan_apply(desired_of(latest), observed(settled(NEW_IMAGE)), status_of(last=in_flight))
    assert result.action is Act.UPDATE
    assert result.request is not None
    assert result.request["Specification"]["Container"]["Image"] == IMAGE + "-gen3"
    assert result.record.judged is not None and result.record.judged.outcome == "Succeeded"


# --------------------------------------------------------------------------- ownership


def test_unknown_ownership_requires_tags():
    with pytest.raises(ValueError, match="ownership"):
        plan_apply(desired_of(BASE), observed(settled()), status_of(arn=None))


def test_own_component_after_crash_is_recognised_by_tag():
    result = plan_apply(
        desired_of(BASE), observed(settled(state="Creating"), owned_tags(BASE)), status_of(arn=None)
    )
    assert result.action is Act.WAIT and result.record.owned


def test_foreign_component_is_not_adopted_by_default():
    result = plan_apply(
        desired_of(BASE), observed(settled(), {"team": "other"}), status_of(arn=None)
    )
    assert (result.action, result.reason, result.record.owned) == (
        Act.BLOCKED,
        "AlreadyExists",
        False,
    )
    assert result.degraded


def test_foreign_component_is_adopted_with_if_exists():
    spec = spec_of(adoptionPolicy="IfExists")
    result = plan_apply(
        desired_of(spec), observed(settled(spec), {"team": "search"}), status_of(arn=None)
    )
    assert result.action is Act.TAG
    assert result.tags_add[OWNER_UID_TAG] == UID


# --------------------------------------------------------------------------- tags


def test_tag_changes_set_and_remove_but_leave_aws_tags():
    add, remove = tag_changes({"a": "1", "b": "2"}, {"a": "1", "b": "x", "c": "3", "aws:cf": "s"})
    assert add == {"b": "2"} and remove == ("c",)


def test_tags_are_synced_when_fetched():
    result = plan_apply(
        desired_of(NEW_TAGS),
        observed(settled(NEW_TAGS), owned_tags(BASE)),
        status_of(last=deployment(NEW_TAGS, "Succeeded")),
    )
    assert result.action is Act.TAG and result.tags_add == {"cost-center": "42"}


# --------------------------------------------------------------------------- pacing and deletion


def test_poll_delay_grows_with_elapsed_time_within_bounds():
    policy = PollPolicy(5, 60)
    assert [policy.delay(e) for e in (0, 100, 300, 10_000)] == [5, 10, 30, 60]


def test_wait_delay_follows_transition_age():
    component = settled(state="Updating", modified=NOW - 300)
    result = plan_apply(
        desired_of(BASE), observed(component), status_of(last=SUCCEEDED), PollPolicy(5, 60)
    )
    assert result.delay == 30


@pytest.mark.parametrize(
    ("policy", "component", "owned", "action", "reason"),
    [
        ("Retain", settled(), True, Act.RELEASE, "Retained"),
        ("Delete", None, None, Act.RELEASE, "Deleted"),
        ("Delete", settled(), False, Act.RELEASE, "NotOwned"),
        ("Delete", settled(state="Updating"), True, Act.WAIT, "Deleting"),
        ("Delete", settled(state="Creating"), True, Act.WAIT, "Deleting"),
        ("Delete", settled(), True, Act.DELETE, "Deleting"),
        ("Delete", settled(state="Failed"), True, Act.DELETE, "Deleting"),
    ],
)
def test_plan_delete(policy, component, owned, action, reason):  # type: ignore[no-untyped-def]
    result = plan_delete("llm", policy, observed(component), owned)
    assert (result.action, result.reason) == (action, reason)


def test_adapter_create_has_no_variant_or_copy_count():
    raw = raw_spec(
        variantName=None,
        runtimeConfig=None,
        deploymentConfig=None,
        specification={
            "baseInferenceComponentName": "llm-base",
            "container": {"artifactUrl": "s3://bucket/adapters/a.tar.gz"},
        },
    )
    spec = InferenceComponentSpec.parse(raw)
    result = plan_apply(desired_of(spec), observed(None), status_of(arn=None))
    assert result.action is Act.CREATE and result.request is not None
    assert "VariantName" not in result.request and "RuntimeConfig" not in result.request


def test_merge_patch_nulls_cleared_fields_at_every_depth():
    old = {"failureReason": "x", "lastDeployment": {"outcome": "RolledBack", "failureReason": "a"}}
    new = {"lastDeployment": {"outcome": "InProgress"}, "copies": "1/1"}
    assert merge_patch(old, new) == {
        "failureReason": None,
        "lastDeployment": {"outcome": "InProgress", "failureReason": None},
        "copies": "1/1",
    }


def test_component_on_another_endpoint_is_never_touched_even_with_adoption():
    spec = spec_of(adoptionPolicy="IfExists")
    elsewhere = {**settled(spec), "EndpointName": "team-b-endpoint"}
    result = plan_apply(desired_of(spec), observed(elsewhere), status_of(arn=None))
    assert (result.action, result.reason, result.record.owned) == (
        Act.BLOCKED,
        "EndpointMismatch",
        False,
    )
    assert result.request is None and not result.tags_add


def test_delete_leaves_a_component_on_another_endpoint():
    elsewhere = {**settled(), "EndpointName": "team-b-endpoint"}
    result = plan_delete("llm", "Delete", observed(elsewhere), True, endpoint="llm-endpoint")
    assert (result.action, result.reason) == (Act.RELEASE, "NotOwned")
    same = plan_delete("llm", "Delete", observed(settled()), True, endpoint="llm-endpoint")
    assert same.action is Act.DELETE
