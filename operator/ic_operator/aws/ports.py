"""The two doors the reconcile loop talks through, as typed protocols.

The loop depends on these shapes, not on boto3 or kopf: production passes
:class:`ic_operator.aws.client.SageMakerClient` and
:class:`ic_operator.kube.status_client.KopfKube`;
the fast reconciler suite (tests/reconciler) passes in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ic_operator.aws.budget import Purpose


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


class Kube(Protocol):
    """Writing an InferenceComponent's status and posting its events."""

    async def patch_status(
        self, body: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """Merge-patch the status subresource; the object as stored afterwards, or None
        when the object is gone."""
        ...

    def post_event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...
