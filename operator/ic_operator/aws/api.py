"""What a reconcile pass needs from AWS, as a typed protocol.

The pass depends on this shape, not on boto3: production passes
:class:`ic_operator.aws.client.SageMakerClient`; the fast reconciler suite
(tests/reconciler) passes an in-memory fake. (The loop's other door, to Kubernetes,
is :class:`ic_operator.loop.object_loop.Kube`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ic_operator.aws.budget import Purpose

LIST_PAGE = 100
"""The largest page SageMaker's listings return (MaxResults): a listing of N costs
ceil(N / LIST_PAGE) calls."""


class SageMakerApi(Protocol):
    """What the loop needs from SageMaker; errors arrive as ``SageMakerError``."""

    async def call(
        self,
        operation: str,
        request: Mapping[str, Any],
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
        service: str = ...,
    ) -> dict[str, Any]:
        """``service``: "sagemaker" (the default), "application-autoscaling" or
        "cloudwatch" (spec.autoScaling's calls, under the same budget)."""
        ...

    async def describe(
        self, name: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, Any] | None: ...

    async def describe_endpoint(
        self, name: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, Any] | None:
        """DescribeEndpoint, or None when the endpoint does not exist."""
        ...

    async def list_tags(
        self, arn: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, str]: ...

    async def list_components(
        self,
        *,
        endpoint_name: str | None,
        region: str | None = None,
        purpose: Purpose = ...,
        fields: frozenset[str] | None = None,
        modified_after: float | None = None,
    ) -> list[dict[str, Any]]:
        """Summaries on one endpoint (None: the whole region), optionally only those
        modified after an epoch time."""
        ...
