"""Pure helpers of the sandbox and the demo: poll bounds on the emulator's clock, narration."""

from __future__ import annotations

import pytest

from ic_sandbox.demo.story import _describe
from ic_sandbox.sandbox.components import poll_bounds


@pytest.mark.parametrize(
    ("scale", "bounds"),
    [
        (0.02, (0.25, 1.2)),
        (0.001, (0.25, 1.0)),
        (0.5, (2.5, 30.0)),
        (1.0, (5.0, 60.0)),
        (3.0, (5.0, 60.0)),
    ],
)
def test_poll_bounds_follow_the_clock_within_floors_and_the_operator_defaults(
    scale: float, bounds: tuple[float, float]
) -> None:
    assert poll_bounds(scale) == pytest.approx(bounds)


def entry(status: str, current: int | None, desired: int | None) -> dict[str, object]:
    return {"status": status, "current": current, "desired": desired}


def test_history_entries_read_as_changes() -> None:
    up = _describe(entry("Updating", 4, 4), entry("Updating", 5, 4))
    assert up == "Updating, +1 new copy up: 5 running, 4 desired"
    down = _describe(entry("Updating", 5, 4), entry("Updating", 4, 4))
    assert down == "Updating, -1 copy retired: 4 running, 4 desired"
    assert _describe(entry("Updating", 4, 4), entry("InService", 4, 4)) == (
        "InService: 4 running, 4 desired"
    )
    assert _describe(None, entry("Creating", 0, 2)) == "Creating: 0 running, 2 desired"
