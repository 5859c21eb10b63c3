"""Capacity: instances x per-instance resources bound the copies, including a rollout's batch."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import (
    IMAGE,
    create_ic,
    describe,
    error_of,
    gone,
    rolling,
    spec,
    wait_status,
)
from tests.fixtures.emulator import ic_endpoint


def limit_error(excinfo: Any) -> None:
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ResourceLimitExceeded", 400)
    assert "Insufficient capacity on variant AllTraffic" in message


def test_create_beyond_accelerators(sm: Any, endpoint: str) -> None:
    # one ml.g5.12xlarge has 4 GPUs
    create_ic(sm, "a", copies=3)
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as exc:
        create_ic(sm, "b", copies=2)
    limit_error(exc)
    create_ic(sm, "b", copies=1)
    with pytest.raises(ClientError) as rc:
        sm.update_inference_component_runtime_config(
            InferenceComponentName="a", DesiredRuntimeConfig={"CopyCount": 4}
        )
    limit_error(rc)
    assert describe(sm, "a")["InferenceComponentStatus"] == "InService"


def test_copies_do_not_span_instances(sm: Any) -> None:
    ic_endpoint(sm, "ep", count=2)  # 2 x (4 GPUs, 48 vCPU, 192 GiB)
    create_ic(sm, "three", copies=2, specification=spec(gpus=3))
    # 2 GPUs free in total, but one on each instance: a 2-GPU copy does not fit
    with pytest.raises(ClientError) as exc:
        create_ic(sm, "two", copies=1, specification=spec(gpus=2))
    limit_error(exc)
    create_ic(sm, "one", copies=2, specification=spec(gpus=1))


def test_memory_and_cpu_bound(sm: Any) -> None:
    ic_endpoint(sm, "ep", instance_type="ml.m5.xlarge", count=2)  # 4 vCPU, 16 GiB each
    cpu_heavy = {
        "Container": {"Image": IMAGE},
        "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 3,
            "MinMemoryRequiredInMb": 1024,
        },
    }
    create_ic(sm, "cpu", copies=2, specification=cpu_heavy)
    with pytest.raises(ClientError) as cpu:
        create_ic(sm, "cpu2", copies=1, specification=cpu_heavy)
    limit_error(cpu)
    memory_heavy = {
        "Container": {"Image": IMAGE},
        "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 10 * 1024},
    }
    create_ic(sm, "mem", copies=1, specification=memory_heavy)
    with pytest.raises(ClientError) as mem:
        create_ic(sm, "mem2", copies=2, specification=memory_heavy)
    limit_error(mem)


def test_gpu_copy_on_cpu_instance_never_fits(sm: Any) -> None:
    ic_endpoint(sm, "ep", instance_type="ml.c5.xlarge")
    with pytest.raises(ClientError) as exc:
        create_ic(sm, copies=1)
    limit_error(exc)


def test_rolling_update_needs_room_for_one_batch(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=3)
    # 3 old + 1 new batch = 4 GPUs: fits; 3 + 2 does not
    with pytest.raises(ClientError) as too_big:
        sm.update_inference_component(
            InferenceComponentName="ic",
            Specification=spec(IMAGE + "-2"),
            RuntimeConfig={"CopyCount": 4},
            DeploymentConfig=rolling(batch=2),
        )
    limit_error(too_big)
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification=spec(IMAGE + "-2"),
        DeploymentConfig=rolling(batch=1),
    )
    # while the rollout holds its extra batch, nobody else gets the 4th GPU
    with pytest.raises(ClientError) as squeezed:
        create_ic(sm, "other", copies=1, wait=False)
    limit_error(squeezed)
    wait_status(sm, "ic", "InService")
    create_ic(sm, "other", copies=1)


def test_blue_green_needs_room_for_the_whole_new_fleet(sm: Any, endpoint: str) -> None:
    create_ic(sm, copies=3)
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component(InferenceComponentName="ic", Specification=spec(IMAGE + "-2"))
    limit_error(exc)
    assert describe(sm)["InferenceComponentStatus"] == "InService"


def test_deleted_components_free_capacity(sm: Any, endpoint: str) -> None:
    create_ic(sm, "a", copies=4)
    sm.delete_inference_component(InferenceComponentName="a")
    # a deleting component still holds its copies
    with pytest.raises(ClientError) as exc:
        create_ic(sm, "b", copies=4, wait=False)
    limit_error(exc)
    gone(sm, "a")
    create_ic(sm, "b", copies=4)
