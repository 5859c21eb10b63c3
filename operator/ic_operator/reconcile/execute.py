"""Execute: one plan in, its call(s) out. No decisions here: the plan made them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ic_operator.aws.api import SageMakerApi
from ic_operator.reconcile.types import ACTIONS, Act, Plan


@dataclass(frozen=True)
class Executed:
    arn: str | None  # the component's ARN after the call (Create returns it)


async def execute(
    plan: Plan, client: SageMakerApi, *, region: str, component: Mapping[str, Any] | None
) -> Executed:
    """Send what ``plan`` asks for; raises ``SageMakerError`` (classified) on failure."""
    arn = component.get("InferenceComponentArn") if component else None
    operation = ACTIONS[plan.action].operation
    if operation is not None:
        assert plan.request is not None
        response = await client.call(operation, plan.request, region=region)
        return Executed(response.get("InferenceComponentArn", arn))
    if plan.action is Act.TAG:
        assert arn is not None
        if plan.tags_add:
            tags = [{"Key": k, "Value": v} for k, v in sorted(plan.tags_add.items())]
            await client.call("AddTags", {"ResourceArn": arn, "Tags": tags}, region=region)
        if plan.tags_remove:
            await client.call(
                "DeleteTags",
                {"ResourceArn": arn, "TagKeys": list(plan.tags_remove)},
                region=region,
            )
    return Executed(arn)
