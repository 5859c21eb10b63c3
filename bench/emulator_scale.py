"""Scale check: N creates then N describes from C concurrent clients over loopback.

Run: .venv/bin/python -m bench.emulator_scale [N] [C]
The emulator runs as its own process (the harness's `ic-sandbox emulator`), so client work does not
share its event loop. Prints throughput and latency percentiles for the first and last
tenth of each phase: flat numbers mean no per-request cost grows with the world's size.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from ic_sandbox.harness.emulator_process import ROLE_ARN, EmulatorProcess

HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


async def call(session: aiohttp.ClientSession, url: str, op: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    async with session.post(
        url, data=json.dumps(body), headers={**HEADERS, "X-Amz-Target": f"SageMaker.{op}"}
    ) as resp:
        payload = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{op}: {resp.status} {payload[:200]!r}")
    return time.perf_counter() - started


async def phase(
    url: str, op: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = [0.0] * len(bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                latencies[i] = await call(session, url, op, bodies[i])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def summary(name: str, elapsed: float, latencies: list[float]) -> str:
    tenth = max(1, len(latencies) // 10)

    def pct(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000

    first, last = latencies[:tenth], latencies[-tenth:]
    return (
        f"{name}: {len(latencies)} calls in {elapsed:.2f}s = {len(latencies) / elapsed:.0f}/s; "
        f"first tenth p50 {pct(first, 0.5):.1f} ms p99 {pct(first, 0.99):.1f} ms; "
        f"last tenth p50 {pct(last, 0.5):.1f} ms p99 {pct(last, 0.99):.1f} ms; "
        f"mean {statistics.mean(latencies) * 1000:.1f} ms"
    )


async def main(url: str, n: int, concurrency: int) -> None:
    async with aiohttp.ClientSession() as session:
        await call(
            session,
            url,
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "big",
                "ExecutionRoleArn": ROLE_ARN,
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "InstanceType": "ml.m5.24xlarge",
                        "InitialInstanceCount": 20,
                    }
                ],
            },
        )
        await call(
            session, url, "CreateEndpoint", {"EndpointName": "big", "EndpointConfigName": "big"}
        )
        while True:
            async with session.post(
                url,
                data=json.dumps({"EndpointName": "big"}),
                headers={**HEADERS, "X-Amz-Target": "SageMaker.DescribeEndpoint"},
            ) as resp:
                if (await resp.json(content_type=None))["EndpointStatus"] == "InService":
                    break
            await asyncio.sleep(0.1)
    creates = [
        {
            "InferenceComponentName": f"ic-{i}",
            "EndpointName": "big",
            "VariantName": "AllTraffic",
            "Specification": {
                "Container": {"Image": f"repo/model:{i}"},
                "ComputeResourceRequirements": {
                    "NumberOfCpuCoresRequired": 0.25,
                    "MinMemoryRequiredInMb": 128,
                },
            },
            "RuntimeConfig": {"CopyCount": 1},
        }
        for i in range(n)
    ]
    describes = [{"InferenceComponentName": f"ic-{i}"} for i in range(n)]
    elapsed, lat = await phase(url, "CreateInferenceComponent", creates, concurrency)
    print(summary("create", elapsed, lat))
    elapsed, lat = await phase(url, "DescribeInferenceComponent", describes, concurrency)
    print(summary("describe", elapsed, lat))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="emulator-scale-") as logs:
        # Unsigned raw requests: this measures the emulator's own handling, in the "any
        # credentials" mode (signature checks would add botocore's signer on both sides).
        emulator = EmulatorProcess(
            Path(logs) / "emulator.log", time_scale=0.01, verify_signatures=False
        ).start()
        try:
            asyncio.run(
                main(
                    emulator.url,
                    int(sys.argv[1]) if len(sys.argv) > 1 else 5000,
                    int(sys.argv[2]) if len(sys.argv) > 2 else 200,
                )
            )
        finally:
            emulator.stop()
