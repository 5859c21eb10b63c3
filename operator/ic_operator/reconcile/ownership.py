"""Whose component it is: the ownership tags the operator writes, and how a pass knows
a component is this resource's without asking for its tags when it can."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from ic_operator.models import InferenceComponentStatus
from ic_operator.names import OWNER_RESOURCE_TAG, OWNER_UID_TAG
from ic_operator.reconcile.types import Desired, Observed

# Tag keys SageMaker reserves: never set by a spec, never removed.
RESERVED_TAG_PREFIX = "aws:"


def owner_tags(desired: Desired) -> dict[str, str]:
    return {OWNER_UID_TAG: desired.uid, OWNER_RESOURCE_TAG: desired.resource}


def desired_tags(desired: Desired) -> dict[str, str]:
    return {**desired.spec.tags, **owner_tags(desired)}


def tags_digest(tags: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(tags.items())).encode()).hexdigest()[:16]


def is_owned(uid: str, observed: Observed, status: InferenceComponentStatus) -> bool | None:
    """True: ours; False: someone else's; None: unknown (tags were not fetched).

    The status ARN is only ever recorded for a component this resource created or
    adopted, so it proves ownership without a ListTags call.
    """
    component = observed.component
    if component is None:
        return None
    arn = component.get("InferenceComponentArn")
    if arn and status.inference_component_arn == arn:
        return True
    if observed.tags is None:
        return None
    return observed.tags.get(OWNER_UID_TAG) == uid


def tag_changes(
    want: Mapping[str, str], have: Mapping[str, str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Tags to set and keys to remove; keys SageMaker reserves are left alone."""
    add = {k: v for k, v in want.items() if have.get(k) != v}
    remove = tuple(
        sorted(k for k in have if k not in want and not k.startswith(RESERVED_TAG_PREFIX))
    )
    return add, remove
