"""Percentiles and rates: small, pure, unit-tested, so the table's arithmetic is trusted."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default).

    Interpolation rather than nearest rank: with 50 samples, p99 then sits between the
    two largest instead of being the maximum outright, and it is the convention most
    readers will recompute with.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """p50, p99, max and count; an empty sample gives count 0 only."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def per_component_hour(
    counts: Mapping[str, int], *, components: int, window_seconds: float
) -> dict[str, float]:
    """Calls per component per hour for each operation, from a count over a window."""
    if components <= 0 or window_seconds <= 0:
        raise ValueError("components and window must be positive")
    scale = 3600.0 / (components * window_seconds)
    return {op: n * scale for op, n in sorted(counts.items())}


def at_resync(rate: float, *, measured_resync: float, target_resync: float) -> float:
    """A steady-state rate measured at one resync interval, at another one.

    Valid only when every steady-state call is made once per resync pass (no other
    periodic source): the rate then scales with 1 / interval.
    """
    return rate * measured_resync / target_resync


def count_by(items: Iterable[Mapping[str, object]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        value = str(item.get(key))
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
