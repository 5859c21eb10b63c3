"""Read lag and lost responses: the faults of an eventually consistent control plane.

Each test drives boto3 over HTTP. The writes go to a world whose deployments, scaling and
deletion take seconds (slow durations, fast create), so that botocore's own retry of a
write whose response was lost reaches SageMaker while the first write is still running,
as it does against AWS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from ic_sandbox.emulator import EmulatorThread
from ic_sandbox.emulator.clock import Durations
from tests.emulator.helpers import rolling, wait_status
from tests.fixtures.emulator import (
    ACCOUNT_ID,
    REGION,
    Admin,
    RunningEmulator,
    ic_endpoint,
    wait_for,
)

ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/"
# Long enough that a test's next read certainly falls inside the window.
LONG_LAG = 60.0
INSTANCE = "ml.m5.4xlarge"  # 16 vCPUs: two instances hold 64 half-core copies
# The operator's botocore retry configuration (ic_operator.aws.client.default_client_factory).
OPERATOR_RETRIES = Config(retries={"mode": "standard", "max_attempts": 4})
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def slow() -> Iterator[RunningEmulator]:
    """Creates in 0.12 s; updates, scaling and deletes take about 5 s each."""
    durations = Durations(batch_provision=5000, copy_terminate=5000, component_delete=5000)
    with EmulatorThread(
        time_scale=0.001, region=REGION, account_id=ACCOUNT_ID, durations=durations
    ) as thread:
        yield RunningEmulator(thread)


@pytest.fixture
def admin(slow: RunningEmulator) -> Admin:
    slow.admin.reset()
    return slow.admin


@pytest.fixture
def sm(slow: RunningEmulator, admin: Admin) -> Any:
    client = slow.client(config=NO_RETRIES)
    ic_endpoint(client, "ep", instance_type=INSTANCE, count=2)
    admin.clear_calls()
    return client


@pytest.fixture
def retrying(slow: RunningEmulator, sm: Any) -> Any:
    return slow.client(config=OPERATOR_RETRIES)


def cpu_spec(image: str) -> dict[str, Any]:
    return {
        "Container": {"Image": image},
        "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 0.5,
            "MinMemoryRequiredInMb": 512,
        },
    }


def create(client: Any, name: str = "ic", image: str = "repo/model:1", copies: int = 2) -> None:
    client.create_inference_component(
        InferenceComponentName=name,
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification=cpu_spec(image),
        RuntimeConfig={"CopyCount": copies},
        Tags=[{"Key": "owner", "Value": "me"}],
    )


def describe(client: Any, name: str = "ic") -> dict[str, Any]:
    result: dict[str, Any] = client.describe_inference_component(InferenceComponentName=name)
    result.pop("ResponseMetadata", None)
    return result


def image_of(document: dict[str, Any]) -> str:
    return str(document["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"])


def listed(client: Any) -> list[str]:
    page = client.list_inference_components(EndpointNameEquals="ep", MaxResults=100)
    return [c["InferenceComponentName"] for c in page["InferenceComponents"]]


def tags(client: Any, name: str = "ic") -> dict[str, str]:
    page = client.list_tags(ResourceArn=ARN + name)
    return {t["Key"]: t["Value"] for t in page["Tags"]}


def error(excinfo: Any) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def update(client: Any, image: str, name: str = "ic", copies: int = 2) -> None:
    client.update_inference_component(
        InferenceComponentName=name,
        Specification=cpu_spec(image),
        RuntimeConfig={"CopyCount": copies},
        DeploymentConfig=rolling(batch=1),
    )


def outcomes(admin: Admin, operation: str) -> list[tuple[str | None, str | None]]:
    """(error, lost) of each call of `operation`: (None, None) accepted and answered."""
    return [(c["error"], c["lost"]) for c in admin.calls(operation)]


# ---------------------------------------------------------------------------- read lag


def test_reads_right_after_a_create_do_not_find_it(sm: Any, admin: Admin) -> None:
    admin.set_faults(read_lag_seconds=LONG_LAG)
    create(sm)
    with pytest.raises(ClientError) as exc:
        describe(sm)
    assert error(exc) == (
        "ValidationException",
        f'Could not find inference component "{ARN}ic".',
    )
    assert listed(sm) == []
    with pytest.raises(ClientError) as exc:
        tags(sm)
    assert error(exc) == ("ValidationException", f"Could not find resource with ARN {ARN}ic.")
    # Writes see the truth: a second create is refused although no read finds the first.
    with pytest.raises(ClientError) as exc:
        create(sm)
    assert error(exc) == (
        "ValidationException",
        f'Cannot create already existing inference component "{ARN}ic".',
    )
    reads = [c for c in admin.calls() if c["operation"] != "CreateInferenceComponent"]
    assert [(c["operation"], c["stale"]) for c in reads] == [
        ("DescribeInferenceComponent", True),
        ("ListInferenceComponents", True),
        ("ListTags", True),
    ]
    admin.set_faults()  # lag off: every read is live again
    assert describe(sm)["InferenceComponentName"] == "ic"
    assert admin.calls()[-1]["stale"] is False
    assert listed(sm) == ["ic"]
    assert tags(sm) == {"owner": "me"}


def test_a_lagging_read_catches_up_by_itself(sm: Any, admin: Admin) -> None:
    admin.set_faults(read_lag_seconds=0.5)
    create(sm)
    found = wait_for(
        lambda: "ic" in listed(sm), timeout=10, interval=0.05, what="the component listed"
    )
    assert found
    assert describe(sm)["InferenceComponentName"] == "ic"


def test_reads_right_after_an_update_show_the_previous_document(sm: Any, admin: Admin) -> None:
    create(sm)
    wait_status(sm, "ic", "InService")
    before = describe(sm)
    admin.set_faults(read_lag_seconds=LONG_LAG)
    update(sm, "repo/model:2")
    stale = describe(sm)
    assert stale == before  # InService, the old image, no LastDeploymentConfig
    assert "LastDeploymentConfig" not in stale
    (summary,) = sm.list_inference_components(EndpointNameEquals="ep")["InferenceComponents"]
    assert summary["InferenceComponentStatus"] == "InService"
    # Writes see the live component, which is Updating.
    with pytest.raises(ClientError) as exc:
        update(sm, "repo/model:3")
    assert error(exc) == (
        "ValidationException",
        f"Cannot update inference component {ARN}ic while it is in state UPDATE_IN_PROGRESS",
    )
    admin.set_faults()
    live = describe(sm)
    assert live["InferenceComponentStatus"] == "Updating"
    assert live["LastModifiedTime"] > before["LastModifiedTime"]


def test_reads_right_after_a_delete_still_find_it(sm: Any, admin: Admin) -> None:
    create(sm)
    wait_status(sm, "ic", "InService")
    admin.set_faults(read_lag_seconds=LONG_LAG)
    sm.delete_inference_component(InferenceComponentName="ic")
    # Still there for reads, InService, even once the deletion has finished for real.
    wait_for(lambda: admin.health()["components"] == 0, timeout=30, what="deletion finished")
    assert describe(sm)["InferenceComponentStatus"] == "InService"
    assert listed(sm) == ["ic"]
    assert tags(sm) == {"owner": "me"}
    with pytest.raises(ClientError) as exc:
        sm.delete_inference_component(InferenceComponentName="ic")
    assert error(exc) == ("ValidationException", f'Could not find inference component "{ARN}ic".')
    admin.set_faults()
    assert listed(sm) == []


def test_reads_serve_the_state_before_every_write_in_the_window(sm: Any, admin: Admin) -> None:
    create(sm)
    wait_status(sm, "ic", "InService")
    admin.set_faults(read_lag_seconds=LONG_LAG)
    sm.add_tags(ResourceArn=ARN + "ic", Tags=[{"Key": "a", "Value": "1"}])
    sm.delete_tags(ResourceArn=ARN + "ic", TagKeys=["owner"])
    assert tags(sm) == {"owner": "me"}
    admin.set_faults()
    assert tags(sm) == {"a": "1"}


def test_read_lag_is_per_operation_and_per_component(sm: Any, admin: Admin) -> None:
    create(sm, "a")
    create(sm, "b")
    wait_status(sm, "a", "InService")
    wait_status(sm, "b", "InService")
    admin.set_faults(
        read_lag_seconds=LONG_LAG, read_lag_operations=["ListTags"], read_lag_components=["a"]
    )
    for name in ("a", "b"):
        sm.add_tags(ResourceArn=ARN + name, Tags=[{"Key": "new", "Value": "1"}])
        update(sm, "repo/model:2", name=name)
    assert tags(sm, "a") == {"owner": "me"}  # lagging: operation and component listed
    assert tags(sm, "b") == {"owner": "me", "new": "1"}  # component not listed
    assert describe(sm, "a")["InferenceComponentStatus"] == "Updating"  # operation not listed
    assert admin.faults()["read_lag_operations"] == ["ListTags"]


# ---------------------------------------------------------------------------- lost responses


@pytest.mark.parametrize(
    ("kind", "seen"),
    [("error", "InternalFailure"), ("drop", "dropped")],
)
def test_a_lost_response_still_applies_the_write(
    sm: Any, admin: Admin, kind: str, seen: str
) -> None:
    admin.set_faults(lost_response=kind, lost_response_code="InternalFailure")
    if kind == "error":
        with pytest.raises(ClientError) as exc:
            create(sm)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert error(exc)[0] == "InternalFailure"
    else:
        with pytest.raises(ConnectionClosedError):
            create(sm)
    assert wait_status(sm, "ic", "InService")["RuntimeConfig"]["CurrentCopyCount"] == 2
    assert outcomes(admin, "CreateInferenceComponent") == [(None, seen)]


@pytest.mark.parametrize("kind", ["error", "drop"])
def test_botocore_retries_a_lost_create_into_already_exists(
    retrying: Any, admin: Admin, kind: str
) -> None:
    admin.set_faults(lost_response=kind, lost_response_count=1)
    with pytest.raises(ClientError) as exc:
        create(retrying)
    assert error(exc) == (
        "ValidationException",
        f'Cannot create already existing inference component "{ARN}ic".',
    )
    assert listed(retrying) == ["ic"]
    lost = "dropped" if kind == "drop" else admin.calls()[0]["lost"]
    assert lost in ("dropped", "InternalFailure", "ServiceUnavailable")
    assert outcomes(admin, "CreateInferenceComponent") == [
        (None, lost),
        ("ValidationException", None),
    ]


@pytest.mark.parametrize("kind", ["error", "drop"])
@pytest.mark.parametrize(
    ("write", "state"),
    [
        ("UpdateInferenceComponent", "UPDATE_IN_PROGRESS"),
        ("UpdateInferenceComponentRuntimeConfig", "UPDATE_RC_IN_PROGRESS"),
        ("DeleteInferenceComponent", "DELETE_IN_PROGRESS"),
    ],
)
def test_botocore_retries_a_lost_write_into_in_progress(
    retrying: Any, admin: Admin, kind: str, write: str, state: str
) -> None:
    create(retrying)
    wait_status(retrying, "ic", "InService")
    admin.clear_calls()
    admin.set_faults(lost_response=kind, lost_response_count=1, lost_response_operations=[write])
    with pytest.raises(ClientError) as exc:
        if write == "UpdateInferenceComponent":
            update(retrying, "repo/model:2")
        elif write == "UpdateInferenceComponentRuntimeConfig":
            retrying.update_inference_component_runtime_config(
                InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3}
            )
        else:
            retrying.delete_inference_component(InferenceComponentName="ic")
    verb = "delete" if write == "DeleteInferenceComponent" else "update"
    assert error(exc) == (
        "ValidationException",
        f"Cannot {verb} inference component {ARN}ic while it is in state {state}",
    )
    (first, retried) = admin.calls(write)
    assert first["error"] is None and first["lost"] is not None
    assert (retried["error"], retried["lost"]) == ("ValidationException", None)
    assert first["request"] == retried["request"]
    assert describe(retrying)["InferenceComponentStatus"] == (
        "Deleting" if verb == "delete" else "Updating"
    )


@pytest.mark.parametrize("kind", ["error", "drop"])
def test_a_retried_add_tags_is_applied_again(retrying: Any, admin: Admin, kind: str) -> None:
    """AddTags is idempotent: botocore's retry succeeds, so SageMaker accepts it twice."""
    create(retrying)
    wait_status(retrying, "ic", "InService")
    admin.set_faults(lost_response=kind, lost_response_count=1)
    retrying.add_tags(ResourceArn=ARN + "ic", Tags=[{"Key": "a", "Value": "1"}])
    assert tags(retrying) == {"owner": "me", "a": "1"}
    assert [c["error"] for c in admin.calls("AddTags")] == [None, None]
    assert [c["lost"] is not None for c in admin.calls("AddTags")] == [True, False]


def test_lost_responses_count_per_operation_and_component(sm: Any, admin: Admin) -> None:
    admin.set_faults(
        lost_response="error",
        lost_response_code="ServiceUnavailable",
        lost_response_count=1,
        lost_response_components=["a", "b"],
    )
    for name in ("a", "b"):
        with pytest.raises(ClientError) as exc:
            create(sm, name)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    create(sm, "other")  # not a listed component: answered
    wait_status(sm, "a", "InService")
    with pytest.raises(ClientError):  # another operation on "a": its first response is lost
        sm.add_tags(ResourceArn=ARN + "a", Tags=[{"Key": "k", "Value": "1"}])
    sm.add_tags(ResourceArn=ARN + "a", Tags=[{"Key": "k", "Value": "2"}])  # count spent
    writes = [
        (c["operation"], c["lost"])
        for c in admin.calls()
        if c["operation"] != "DescribeInferenceComponent"
    ]
    assert writes == [
        ("CreateInferenceComponent", "ServiceUnavailable"),
        ("CreateInferenceComponent", "ServiceUnavailable"),
        ("CreateInferenceComponent", None),
        ("AddTags", "ServiceUnavailable"),
        ("AddTags", None),
    ]
    assert all(c["error"] is None for c in admin.calls())
    assert sorted(listed(sm)) == ["a", "b", "other"]
    assert tags(sm, "a") == {"owner": "me", "k": "2"}
    assert admin.faults()["lost_so_far"] == [
        {"operation": "AddTags", "component": "a", "lost": 1},
        {"operation": "CreateInferenceComponent", "component": "a", "lost": 1},
        {"operation": "CreateInferenceComponent", "component": "b", "lost": 1},
    ]


def test_lost_response_rate_is_seeded(sm: Any, admin: Admin) -> None:
    def run() -> list[bool]:
        admin.reset()
        ic_endpoint(sm, "ep", instance_type=INSTANCE, count=2)
        admin.set_faults(lost_response="error", lost_response_rate=0.5, seed=3)
        for i in range(16):
            with contextlib.suppress(ClientError):
                create(sm, f"ic-{i}")
        return [c["lost"] is not None for c in admin.calls("CreateInferenceComponent")]

    first = run()
    assert 0 < sum(first) < 16
    assert run() == first
    assert len(listed(sm)) == 16  # every create applied


def test_faults_reject_bad_settings(slow: RunningEmulator, admin: Admin) -> None:
    bad: list[dict[str, Any]] = [
        {"lost_response": "vanish"},
        {"lost_response": "error", "lost_response_code": "Teapot"},
        {"lost_response_rate": 1.5},
        {"lost_response_count": -1},
        {"read_lag_seconds": -1},
        {"read_lag_operations": ["DescribeEndpoint"]},
        {"lost_response_operations": ["DescribeInferenceComponent"]},
    ]
    for settings in bad:
        with pytest.raises(Exception) as exc:
            admin.set_faults(**settings)
        assert "400" in str(exc.value), settings
    assert admin.faults()["lost_response"] is None
