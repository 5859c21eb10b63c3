"""Updates: rolling deployments, alarms, rollback, timeouts, blue/green, runtime config."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import (
    IMAGE,
    create_ic,
    describe,
    error_of,
    rolling,
    spec,
    wait_status,
)
from tests.fixtures.emulator import Admin, ic_endpoint, wait_for

NEW_IMAGE = IMAGE.replace("0.29.0", "0.30.0")
IC_ARN = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic"


@pytest.fixture
def endpoint(sm: Any) -> str:
    """Room for rollouts: 4 x ml.g5.12xlarge (16 GPUs) so capacity never interferes here."""
    ic_endpoint(sm, "ep", count=4)
    return "ep"


def image_of(d: dict[str, Any]) -> str:
    image: str = d["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"]
    return image


def currents(admin: Admin, name: str = "ic", since: int = 0) -> list[int]:
    """Distinct consecutive CurrentCopyCount values from the component's history."""
    out: list[int] = []
    for entry in admin.history(name)[since:]:
        if not out or out[-1] != entry["current"]:
            out.append(entry["current"])
    return out


def test_rolling_update_moves_batch_by_batch(sm: Any, admin: Admin, endpoint: str) -> None:
    before = create_ic(sm, copies=4, specification=spec(memory=2048))
    mark = len(admin.history("ic"))
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE, memory=2048),
        DeploymentConfig=rolling(batch=1, wait=20),
    )
    updating = describe(sm)
    assert updating["InferenceComponentStatus"] == "Updating"
    assert updating["LastModifiedTime"] > before["LastModifiedTime"]
    d = wait_status(sm, "ic", "InService")
    # one extra copy per batch, then one old copy retired: 4 5 4 5 4 5 4 5 4
    assert currents(admin, since=mark) == [4, 5, 4, 5, 4, 5, 4, 5, 4]
    assert image_of(d) == NEW_IMAGE
    assert d["RuntimeConfig"]["DesiredCopyCount"] == d["RuntimeConfig"]["CurrentCopyCount"] == 4
    assert d["LastDeploymentConfig"] == rolling(batch=1, wait=20)
    assert "FailureReason" not in d
    states = {e["state"] for e in admin.history("ic")[mark:]}
    assert "UPDATE_IN_PROGRESS" in states


def test_percent_batches_round_down(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=4, specification=spec(memory=2048))
    mark = len(admin.history("ic"))
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE, memory=2048),
        DeploymentConfig=rolling(batch=50, kind="CAPACITY_PERCENT"),
    )
    wait_status(sm, "ic", "InService")
    assert currents(admin, since=mark) == [4, 6, 4, 6, 4]


def test_update_with_new_copy_count(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=2)
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE),
        RuntimeConfig={"CopyCount": 3},
        DeploymentConfig=rolling(batch=1),
    )
    assert describe(sm)["RuntimeConfig"]["DesiredCopyCount"] == 3
    d = wait_status(sm, "ic", "InService")
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 3
    assert image_of(d) == NEW_IMAGE


def test_blue_green_without_deployment_config(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=2)
    mark = len(admin.history("ic"))
    sm.update_inference_component(InferenceComponentName="ic", Specification=spec(NEW_IMAGE))
    d = wait_status(sm, "ic", "InService")
    assert currents(admin, since=mark) == [2, 4, 2]
    assert image_of(d) == NEW_IMAGE
    assert "LastDeploymentConfig" not in d


def test_alarm_rolls_back_and_failure_reason_persists(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=4, specification=spec(memory=2048))
    admin.set_alarm("ic-5xx", "OK")
    mark = len(admin.history("ic"))
    config = rolling(batch=1, wait=600, alarms=["ic-5xx"])
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE, memory=2048),
        DeploymentConfig=config,
    )
    wait_for(lambda: describe(sm)["RuntimeConfig"]["CurrentCopyCount"] == 5, what="first batch")
    admin.set_alarm("ic-5xx", "ALARM")
    d = wait_status(sm, "ic", "InService")
    assert image_of(d) == IMAGE
    assert "CloudWatch alarm ic-5xx entered the ALARM state" in d["FailureReason"]
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 4
    assert d["LastDeploymentConfig"] == config
    assert currents(admin, since=mark) == [4, 5, 4]
    # a later successful update keeps the old FailureReason (obs [ACK e2e])
    admin.set_alarm("ic-5xx", "OK")
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE, memory=2048),
        DeploymentConfig=rolling(batch=2, alarms=["ic-5xx"]),
    )
    after = wait_status(sm, "ic", "InService")
    assert image_of(after) == NEW_IMAGE
    assert after["FailureReason"] == d["FailureReason"]


def test_alarm_already_firing_stops_the_first_batch(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=2)
    admin.set_alarm("latency", "ALARM")
    mark = len(admin.history("ic"))
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE),
        DeploymentConfig=rolling(batch=1, wait=10, alarms=["latency"]),
    )
    d = wait_status(sm, "ic", "InService")
    assert image_of(d) == IMAGE
    assert "latency" in d["FailureReason"]
    assert currents(admin, since=mark) == [2]


def test_rollback_batches(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=4, specification=spec(memory=2048))
    admin.set_alarm("a", "OK")
    mark = len(admin.history("ic"))
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE, memory=2048),
        DeploymentConfig=rolling(
            batch=2, wait=300, alarms=["a"], rollback={"Type": "COPY_COUNT", "Value": 1}
        ),
    )
    wait_for(lambda: describe(sm)["RuntimeConfig"]["CurrentCopyCount"] == 4, what="batch 1 done")
    wait_for(lambda: currents(admin, since=mark)[-3:] == [6, 4, 6], what="second batch baking")
    admin.set_alarm("a", "ALARM")
    wait_status(sm, "ic", "InService")
    # forward: 4 6 4 6 (2 old, 4 new); rollback one copy at a time:
    # restore 1 old (7), drop 1 new (6), restore (7), drop (6), drop (5), drop (4)
    assert currents(admin, since=mark) == [4, 6, 4, 6, 7, 6, 7, 6, 5, 4]


def test_timeout_rolls_back(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=2)
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE),
        DeploymentConfig=rolling(batch=1, wait=3600, timeout=600),
    )
    d = wait_status(sm, "ic", "InService")
    assert image_of(d) == IMAGE
    assert "MaximumExecutionTimeoutInSeconds" in d["FailureReason"]


def test_failing_image_rolls_back_update(sm: Any, admin: Admin, endpoint: str) -> None:
    create_ic(sm, copies=2)
    admin.set_faults(failing_images=[NEW_IMAGE])
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE),
        DeploymentConfig=rolling(batch=1),
    )
    d = wait_status(sm, "ic", "InService")
    assert image_of(d) == IMAGE
    assert f"image {NEW_IMAGE} failed the health check" in d["FailureReason"]
    # blue/green update with the failing image also rolls back
    sm.update_inference_component(InferenceComponentName="ic", Specification=spec(NEW_IMAGE))
    assert image_of(wait_status(sm, "ic", "InService")) == IMAGE


def test_failing_image_fails_create(sm: Any, admin: Admin, endpoint: str) -> None:
    admin.set_faults(failing_images=[IMAGE])
    create_ic(sm, wait=False)
    d = wait_status(sm, "ic", "Failed")
    assert "failed to pass the health check" in d["FailureReason"]
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 0
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component(InferenceComponentName="ic", RuntimeConfig={"CopyCount": 2})
    assert (
        error_of(exc)[1]
        == f"Cannot update inference component {IC_ARN} while it is in state FAILED"
    )
    sm.delete_inference_component(InferenceComponentName="ic")


@pytest.mark.parametrize(
    ("setup", "state"),
    [
        ("creating", "CREATE_IN_PROGRESS"),
        ("updating", "UPDATE_IN_PROGRESS"),
        ("rc", "UPDATE_RC_IN_PROGRESS"),
        ("deleting", "DELETE_IN_PROGRESS"),
    ],
)
def test_calls_during_transitions_are_rejected(
    sm: Any, admin: Admin, endpoint: str, setup: str, state: str
) -> None:
    if setup == "creating":
        create_ic(sm, wait=False)
    else:
        create_ic(sm, copies=2)
    if setup == "updating":
        sm.update_inference_component(
            InferenceComponentName="ic",
            Specification=spec(NEW_IMAGE),
            DeploymentConfig=rolling(batch=1, wait=3600),
        )
    elif setup == "rc":
        sm.update_inference_component_runtime_config(
            InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3}
        )
    elif setup == "deleting":
        sm.delete_inference_component(InferenceComponentName="ic")
    expected = f"Cannot update inference component {IC_ARN} while it is in state {state}"
    for call in (
        lambda: sm.update_inference_component(
            InferenceComponentName="ic", RuntimeConfig={"CopyCount": 1}
        ),
        lambda: sm.update_inference_component_runtime_config(
            InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1}
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("ValidationException", expected, 400)


def test_runtime_config_update(sm: Any, admin: Admin, endpoint: str) -> None:
    created = create_ic(sm, copies=1)
    arn = sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3}
    )["InferenceComponentArn"]
    assert arn == IC_ARN
    d = describe(sm)
    assert d["InferenceComponentStatus"] == "Updating"
    assert d["RuntimeConfig"]["DesiredCopyCount"] == 3
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 1
    assert d["LastModifiedTime"] > created["LastModifiedTime"]
    assert admin.history("ic")[-1]["state"] == "UPDATE_RC_IN_PROGRESS"
    d = wait_status(sm, "ic", "InService")
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 3
    assert "LastDeploymentConfig" not in d
    # scale to zero is allowed after creation (obs [STD][ZERO])
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    d = wait_status(sm, "ic", "InService")
    assert d["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}


def test_copy_count_through_update(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=1)
    sm.update_inference_component(InferenceComponentName="ic", RuntimeConfig={"CopyCount": 2})
    d = wait_status(sm, "ic", "InService")
    assert d["RuntimeConfig"]["CurrentCopyCount"] == 2
    assert image_of(d) == IMAGE


def test_update_rules(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=4, specification=spec(memory=2048))

    def update_error(**kwargs: Any) -> str:
        with pytest.raises(ClientError) as exc:
            sm.update_inference_component(InferenceComponentName="ic", **kwargs)
        code, message, status = error_of(exc)
        assert (code, status) == ("ValidationException", 400)
        return message

    assert "At least one of Specification, Specifications or RuntimeConfig" in update_error(
        DeploymentConfig=rolling(batch=1)
    )
    assert "not both" in update_error(Specification=spec(), Specifications=[spec()])
    for bad in (
        rolling(batch=3),
        rolling(batch=60, kind="CAPACITY_PERCENT"),
        rolling(batch=4, kind="CAPACITY_PERCENT"),
    ):
        assert "must be between 5% and 50%" in update_error(
            Specification=spec(), DeploymentConfig=bad
        )
    assert update_error(Specification=spec(ModelName="absent")).startswith("Could not find model")
    assert "BaseInferenceComponentName cannot be changed" in update_error(
        Specification={**spec(), "BaseInferenceComponentName": "other"}
    )


def test_single_copy_can_roll(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=1)
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(NEW_IMAGE),
        DeploymentConfig=rolling(batch=1),
    )
    assert image_of(wait_status(sm, "ic", "InService")) == NEW_IMAGE


def test_out_of_band_client_is_just_another_client(
    sm: Any, fast_emulator: Any, endpoint: str
) -> None:
    create_ic(sm, copies=1)
    other = fast_emulator.client()
    other.update_inference_component(InferenceComponentName="ic", Specification=spec(NEW_IMAGE))
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component(InferenceComponentName="ic", RuntimeConfig={"CopyCount": 2})
    assert "UPDATE_IN_PROGRESS" in error_of(exc)[1]
    assert image_of(wait_status(sm, "ic", "InService")) == NEW_IMAGE
