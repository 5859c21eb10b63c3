"""Step scaling: the adjustments a policy may hold, and the capacity they ask for.

PutScalingPolicy checks the intervals (application_autoscaling.py); the scaler applies the
step whose `[lower, upper)` interval holds the alarm's breach size (scaler.py).
"""

from __future__ import annotations

import itertools
import math

from .errors import validation
from .protocols import Json


def check_steps(step: Json) -> None:
    """PutScalingPolicy's rules for a StepScaling configuration: intervals that neither
    overlap nor leave gaps."""
    if step.get("AdjustmentType") is None:
        raise validation("AdjustmentType is required for a StepScaling policy.")
    steps = step.get("StepAdjustments") or []
    if not steps:
        raise validation("StepAdjustments must contain at least one step adjustment.")
    spans: list[tuple[float, float]] = []
    for s in steps:
        lo = s.get("MetricIntervalLowerBound")
        hi = s.get("MetricIntervalUpperBound")
        if lo is None and hi is None and len(steps) > 1:
            # one step open at both ends covers the whole line: it must be alone
            raise validation("Only one step adjustment can have both bounds unset (null).")
        low = -math.inf if lo is None else float(lo)
        high = math.inf if hi is None else float(hi)
        if low >= high:
            raise validation("MetricIntervalLowerBound must be less than MetricIntervalUpperBound.")
        spans.append((low, high))
    spans.sort()
    for (_, prev_high), (low, _) in itertools.pairwise(spans):
        if low < prev_high:
            raise validation("Step adjustments must not overlap.")
        if low > prev_high:
            raise validation("Step adjustments must not have gaps between them.")


def step_capacity(step: Json, current: int, value: float | None, threshold: float) -> int:
    """The capacity the step adjustment matching `value - threshold` asks for when the alarm
    invokes the policy (doc [AAS] step scaling)."""
    diff = 0.0 if value is None else value - threshold
    chosen = None
    for s in step.get("StepAdjustments") or []:
        lo = s.get("MetricIntervalLowerBound")
        hi = s.get("MetricIntervalUpperBound")
        if (lo is None or diff >= float(lo)) and (hi is None or diff < float(hi)):
            chosen = s
            break
    if chosen is None:
        return current
    adjustment = int(chosen["ScalingAdjustment"])
    kind = step.get("AdjustmentType")
    if kind == "ExactCapacity":
        return adjustment
    if kind == "PercentChangeInCapacity":
        change = current * adjustment / 100
        rounded = math.ceil(abs(change)) if abs(change) < 1 else math.floor(abs(change))
        magnitude = max(rounded, int(step.get("MinAdjustmentMagnitude") or 0))
        return current + int(math.copysign(magnitude, change)) if change else current
    return current + adjustment
