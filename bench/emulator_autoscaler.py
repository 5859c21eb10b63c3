"""Cost of one autoscaler tick with N autoscaled components (two alarms each).

Run: .venv/bin/python -m bench.emulator_autoscaler [N]
Creates N one-copy components with a target-tracking policy each (min = max = 1, so no
scaling happens), then runs 120 ticks (20 service minutes: the low alarms are in ALARM and
invoking their policies by the end) on the emulator's loop and prints the mean tick time.
"""

from __future__ import annotations

import asyncio
import sys
import time

from ic_sandbox.emulator import EmulatorThread
from ic_sandbox.emulator.scaler import Scaler
from ic_sandbox.harness.emulator_admin import EmulatorAdmin
from ic_sandbox.harness.emulator_process import REGION, ROLE_ARN, aws_client
from ic_sandbox.harness.identity import EmulatorIdentity
from ic_sandbox.polling import poll

TICKS = 120


def main(n: int) -> None:
    with EmulatorThread(time_scale=0.001) as thread:
        admin = EmulatorIdentity.establish(EmulatorAdmin(thread.url), thread.url, REGION).admin
        sm = aws_client(thread.url, "sagemaker", credentials=admin)
        aas = aws_client(thread.url, "application-autoscaling", credentials=admin)
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.p5.48xlarge",
                    "InitialInstanceCount": n // 8 + 1,
                }
            ],
        )
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")
        poll(
            lambda: sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService",
            timeout=30,
            what="endpoint ep InService",
        )
        for i in range(n):
            sm.create_inference_component(
                InferenceComponentName=f"ic{i}",
                EndpointName="ep",
                VariantName="AllTraffic",
                Specification={
                    "Container": {"Image": "repo/image:1"},
                    "ComputeResourceRequirements": {
                        "NumberOfAcceleratorDevicesRequired": 1,
                        "MinMemoryRequiredInMb": 1024,
                    },
                },
                RuntimeConfig={"CopyCount": 1},
            )
            key = {
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"inference-component/ic{i}",
                "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            }
            aas.register_scalable_target(**key, MinCapacity=1, MaxCapacity=1)
            aas.put_scaling_policy(
                PolicyName="p",
                **key,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 10,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                    },
                },
            )
        world = thread.emulator.world
        scaler = next(
            owner
            for hook in world.reset_hooks
            if isinstance(owner := getattr(hook, "__self__", None), Scaler)
        )

        async def measure() -> float:
            start = time.perf_counter()
            for _ in range(TICKS):
                scaler.ticks += 1
                scaler.step()
            return (time.perf_counter() - start) / TICKS

        future = asyncio.run_coroutine_threadsafe(measure(), thread._loop)
        per_tick = future.result(timeout=600)
        alarms = sum(1 for state in world.alarms.values() if state == "ALARM")
        print(f"N={n}: {per_tick * 1000:.2f} ms per tick, {2 * n} alarms, {alarms} in ALARM")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
