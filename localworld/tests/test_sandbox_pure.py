"""Pure helpers of the sandbox and the demo: poll bounds on the emulator's clock, narration."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ic_operator import config as operator_config
from ic_sandbox.demo.story import _describe
from ic_sandbox.harness.identity import ANY_CREDENTIALS
from ic_sandbox.sandbox.components import SandboxOperator, poll_bounds
from ic_sandbox.sandbox.up import add_arguments, sandbox_options


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


def _sandbox_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_operator_flags_reach_the_operator_after_the_sandboxs_own() -> None:
    args = _sandbox_args(
        "--operator-flag=--autoscaling-resync-interval=60",
        "--operator-flag=--resync-interval=5",
    )
    options = sandbox_options(args)
    assert options.operator_flags == (
        "--autoscaling-resync-interval=60",
        "--resync-interval=5",
    )
    operator = SandboxOperator(
        Path("d"),
        Path("k"),
        lambda: "http://127.0.0.1:1",
        lambda: ANY_CREDENTIALS,
        resync_interval=options.resync_interval,
        time_scale=options.time_scale,
        extra_flags=options.operator_flags,
    )
    flags = operator.flags()
    # argparse keeps the last value of a repeated flag: the user's --resync-interval wins.
    assert flags.index("--resync-interval=5") > flags.index("--resync-interval")
    settings = operator_config.from_args(_operator_parser().parse_args(flags))
    assert settings.resync_interval == 5
    assert settings.autoscaling_resync_interval == 60


def test_an_operator_flag_the_operator_does_not_know_stops_the_command_at_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        sandbox_options(_sandbox_args("--operator-flag=--resync-intervall=5"))
    assert "--resync-intervall" in capsys.readouterr().err


def _operator_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    operator_config.add_arguments(parser)
    return parser
