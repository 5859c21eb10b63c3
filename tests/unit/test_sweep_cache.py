"""The endpoint listing cache: what it keeps per component, and how its List is classed."""

from __future__ import annotations

import asyncio
from typing import Any

from ic_operator.sagemaker import Purpose, SageMakerClient
from ic_operator.sweep import FIELDS, EndpointSweep


class FakeBoto:
    def __init__(self) -> None:
        self.lists = 0

    def list_inference_components(self, **request: Any) -> dict[str, Any]:
        self.lists += 1
        summary = {
            "InferenceComponentName": "a",
            "InferenceComponentArn": "arn:a",
            "InferenceComponentStatus": "InService",
            "LastModifiedTime": 1.0,
            "EndpointName": "ep",
            "EndpointArn": "arn:ep",
            "VariantName": "AllTraffic",
            "CreationTime": 0.0,
        }
        return {"InferenceComponents": [summary]}


def test_a_listing_keeps_four_fields_and_is_classed_by_the_first_asker() -> None:
    fake = FakeBoto()
    client = SageMakerClient(default_region="us-east-1", client_factory=lambda _r: fake)
    purposes: list[Purpose] = []
    acquire = client.budget.acquire

    async def spy(purpose: Purpose) -> None:
        purposes.append(purpose)
        await acquire(purpose)

    client.budget.acquire = spy  # type: ignore[method-assign]
    sweep = EndpointSweep(client, clock=lambda: 0.0)

    async def go() -> list[Any]:
        return await asyncio.gather(
            sweep.summary(region="r", endpoint="ep", name="a", max_age=1, purpose=Purpose.POLL),
            sweep.summary(region="r", endpoint="ep", name="a", max_age=1),  # shares the List
        )

    first, second = asyncio.run(go())
    assert (
        first
        == second
        == {
            "InferenceComponentName": "a",
            "InferenceComponentArn": "arn:a",
            "InferenceComponentStatus": "InService",
            "LastModifiedTime": 1.0,
        }
    )
    assert set(first) == FIELDS
    assert (fake.lists, purposes) == (1, [Purpose.POLL])
