"""The SageMaker endpoints examples/ expect, created in the emulator through boto3.

The operator manages inference components only; the endpoint that hosts them is
someone else's job (Terraform, CloudFormation). In the sandbox that someone is this
module. Capacity is sized so every example can be applied together and still roll
out with its surge batch, and the demo can scale up on top.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ic_sandbox.harness.emulator_process import ROLE_ARN, aws_client
from ic_sandbox.harness.identity import AwsCredentials


@dataclass(frozen=True)
class SeedEndpoint:
    name: str
    instance_type: str
    instance_count: int
    used_by: str


# llm-shared-endpoint: basic (2 x 1 GPU), rolling-update (4 + a batch of 1), the adapter's
# base (1) and room to scale: 16 A10G GPUs. cpu-shared-endpoint: autoscaled (2 x 2 vCPU).
# llm-mixed-fleet: multi-instance's entry for ml.g5.2xlarge (1 GPU each, 3 copies, and a
# blue/green update needs the whole new fleet beside the old one).
ENDPOINTS: tuple[SeedEndpoint, ...] = (
    SeedEndpoint("llm-shared-endpoint", "ml.g5.12xlarge", 4, "basic, rolling-update, adapter"),
    SeedEndpoint("cpu-shared-endpoint", "ml.m5.4xlarge", 2, "autoscaled"),
    SeedEndpoint("llm-mixed-fleet", "ml.g5.2xlarge", 6, "multi-instance"),
)


def seed_endpoints(
    endpoint_url: str, credentials: AwsCredentials, *, timeout: float = 60.0
) -> list[str]:
    """Create every endpoint (configs first) as ``credentials``, then wait until all are
    InService."""
    sm = aws_client(endpoint_url, credentials=credentials)
    for endpoint in ENDPOINTS:
        config = f"{endpoint.name}-config"
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ExecutionRoleArn=ROLE_ARN,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": endpoint.instance_type,
                    "InitialInstanceCount": endpoint.instance_count,
                }
            ],
            Tags=[{"Key": "created-by", "Value": "ic-operator-sandbox"}],
        )
        sm.create_endpoint(EndpointName=endpoint.name, EndpointConfigName=config)
    deadline = time.monotonic() + timeout
    waiting = {e.name for e in ENDPOINTS}
    while waiting:
        for name in sorted(waiting):
            status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
            if status == "InService":
                waiting.discard(name)
            elif status == "Failed":
                raise RuntimeError(f"seed endpoint {name} failed in the emulator")
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(
                f"timed out after {timeout:.0f}s waiting for endpoints {sorted(waiting)} InService"
            )
        if waiting:
            time.sleep(0.2)
    return [e.name for e in ENDPOINTS]
