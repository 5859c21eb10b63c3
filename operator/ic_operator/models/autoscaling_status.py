"""`status.autoScaling`: what the autoscaler is doing, in the resource.

Kept apart from status.py so that the status of the copy count's owner can grow
without touching the component's. Built by a pure function from what the Describe
calls return, so the reconciler only passes readings in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ic_operator.models._base import LenientModel

ScalingState = Literal["Steady", "Scaling", "AtZero", "NotRegistered"]

COLD_START_MESSAGE = (
    "no copies are running: requests fail with NoCapacityInvocationFailures until the "
    "scale-out-from-zero alarm adds a copy, which takes several minutes"
)


class ScalingActivity(LenientModel):
    """The latest activity Application Auto Scaling reports (DescribeScalingActivities)."""

    start_time: str | None = Field(default=None, description="When it started (RFC 3339).")
    end_time: str | None = Field(default=None, description="When it ended (RFC 3339).")
    status_code: str = Field(
        description="Pending, InProgress, Successful, Overridden, Unfulfilled or Failed."
    )
    description: str = Field(
        default="", description="What it did, for example 'Setting desired copy count to 3.'"
    )
    cause: str = Field(
        default="", description="Why: the alarm, policy or scheduled action that started it."
    )
    status_message: str | None = Field(
        default=None, description="Application Auto Scaling's explanation of the outcome."
    )


class AutoScalingStatus(LenientModel):
    """The scalable target as registered, the copies, and the last scaling activity."""

    registered: bool = Field(
        default=False,
        description=(
            "The operator registered the scalable target for this resource; only then does "
            "it deregister it when autoScaling is removed or the resource is deleted."
        ),
    )
    min_copies: int | None = Field(default=None, description="MinCapacity as registered.")
    max_copies: int | None = Field(default=None, description="MaxCapacity as registered.")
    range: str | None = Field(default=None, description="min-max copies, for display.")
    desired_copies: int | None = Field(
        default=None, description="Copies the autoscaler asks for (DesiredCopyCount)."
    )
    current_copies: int | None = Field(
        default=None, description="Copies running now (CurrentCopyCount)."
    )
    state: ScalingState = Field(
        default="NotRegistered",
        description=(
            "Steady, Scaling (copies are moving towards the desired count), AtZero (no "
            "copies: the next request starts a cold start) or NotRegistered."
        ),
    )
    message: str | None = Field(
        default=None, description="What the state means for requests right now."
    )
    last_activity: ScalingActivity | None = Field(
        default=None, description="The latest scaling activity and its cause."
    )
    checked_at: float | None = Field(
        default=None,
        description=(
            "When the operator last read this component's autoscaling state on its own "
            "(epoch seconds); a settled component is otherwise checked against the shared "
            "autoscaling listings."
        ),
    )


def _time(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value is not None else None


def last_activity(activities: Sequence[Mapping[str, Any]]) -> ScalingActivity | None:
    """The newest of DescribeScalingActivities' ScalingActivities (newest first on the
    wire, but sorted here so a reordered page cannot mislead)."""
    if not activities:
        return None
    newest = max(activities, key=lambda a: _time(a.get("StartTime")) or "")
    return ScalingActivity(
        start_time=_time(newest.get("StartTime")),
        end_time=_time(newest.get("EndTime")),
        status_code=str(newest.get("StatusCode", "")),
        description=str(newest.get("Description", "")),
        cause=str(newest.get("Cause", "")),
        status_message=newest.get("StatusMessage"),
    )


def scaling_state(
    registered: bool, desired: int | None, current: int | None
) -> tuple[ScalingState, str | None]:
    """The state and its message: ``Scaling`` is the reason the conditions show while
    copies move; ``AtZero`` explains the cold start."""
    if not registered:
        return "NotRegistered", None
    if desired is not None and current is not None and desired != current:
        return "Scaling", f"copies are moving from {current} to {desired}"
    if desired == 0 and (current or 0) == 0:
        return "AtZero", COLD_START_MESSAGE
    return "Steady", None


def auto_scaling_status(
    target: Mapping[str, Any] | None,
    activities: Sequence[Mapping[str, Any]],
    *,
    desired_copies: int | None,
    current_copies: int | None,
    registered_by_operator: bool,
) -> AutoScalingStatus:
    """status.autoScaling from one DescribeScalableTargets entry (None: no target), the
    DescribeScalingActivities entries and the component's copy counts."""
    low = target.get("MinCapacity") if target else None
    high = target.get("MaxCapacity") if target else None
    state, message = scaling_state(target is not None, desired_copies, current_copies)
    return AutoScalingStatus(
        registered=registered_by_operator and target is not None,
        min_copies=low,
        max_copies=high,
        range=f"{low}-{high}" if target else None,
        desired_copies=desired_copies,
        current_copies=current_copies,
        state=state,
        message=message,
        last_activity=last_activity(activities),
    )
