"""Request builders and waits shared by the emulator tests."""

from __future__ import annotations

from typing import Any

from tests.fixtures.emulator import wait_for

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"


def spec(image: str = IMAGE, gpus: float = 1, memory: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "Container": {"Image": image},
        "ComputeResourceRequirements": {
            "NumberOfAcceleratorDevicesRequired": gpus,
            "MinMemoryRequiredInMb": memory,
        },
        **extra,
    }


def create_ic(
    sm: Any,
    name: str = "ic",
    *,
    endpoint: str = "ep",
    copies: int = 1,
    specification: dict[str, Any] | None = None,
    wait: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification=specification or spec(),
        RuntimeConfig={"CopyCount": copies},
        **extra,
    )
    if wait:
        return wait_status(sm, name, "InService")
    result: dict[str, Any] = sm.describe_inference_component(InferenceComponentName=name)
    return result


def describe(sm: Any, name: str = "ic") -> dict[str, Any]:
    result: dict[str, Any] = sm.describe_inference_component(InferenceComponentName=name)
    return result


def wait_status(sm: Any, name: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        d = describe(sm, name)
        return d if d["InferenceComponentStatus"] == status else None

    return wait_for(probe, timeout=timeout, interval=0.005, what=f"{name} {status}")


def gone(sm: Any, name: str, timeout: float = 30.0) -> None:
    def probe() -> bool:
        found = sm.list_inference_components(NameContains=name)["InferenceComponents"]
        return not any(i["InferenceComponentName"] == name for i in found)

    wait_for(probe, timeout=timeout, interval=0.005, what=f"{name} deleted")


def rolling(
    batch: int = 1,
    wait: int = 0,
    *,
    kind: str = "COPY_COUNT",
    alarms: list[str] | None = None,
    timeout: int | None = None,
    rollback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "MaximumBatchSize": {"Type": kind, "Value": batch},
        "WaitIntervalInSeconds": wait,
    }
    if timeout is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = timeout
    if rollback is not None:
        policy["RollbackMaximumBatchSize"] = rollback
    config: dict[str, Any] = {"RollingUpdatePolicy": policy}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def error_of(excinfo: Any) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]
