"""bench/quiet.py: the steady window begins only after a whole resync without a write."""

from __future__ import annotations

from collections.abc import Callable

from bench import quiet, report


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def writes_at(
    clock: FakeClock, status: dict[float, float], sagemaker: dict[float, int]
) -> Callable[[], quiet.Writes]:
    """Counters that step up at the given times (seconds after the clock's start)."""
    start = clock.now

    def probe() -> quiet.Writes:
        t = clock.now - start
        return quiet.Writes(
            status=sum(n for at, n in status.items() if at <= t),
            sagemaker=sum(n for at, n in sagemaker.items() if at <= t),
        )

    return probe


def wait(clock: FakeClock, need: float = 20.0, bound: float = 100.0) -> quiet.QuietWait:
    return quiet.QuietWait(need=need, bound=bound, clock=clock, sleep=clock.sleep)


def test_nothing_written_settles_after_exactly_one_resync() -> None:
    clock = FakeClock()
    result = wait(clock).run(writes_at(clock, {}, {}))
    assert result["settled"] is True
    assert result["waited_seconds"] == 20.0
    assert result["status_writes"] == 0 and result["sagemaker_writes"] == 0
    assert result["last_status_write_seconds"] is None


def test_a_burst_with_gaps_shorter_than_a_resync_delays_the_window() -> None:
    # The 10,000 run's aftermath: writes in bursts 14 s apart; a few quiet seconds are
    # not a steady state, a whole resync (20 s) after the last burst is.
    clock = FakeClock()
    status = {3.0: 100.0, 17.0: 50.0, 31.0: 40.0}
    result = wait(clock).run(writes_at(clock, status, {}))
    assert result["settled"] is True
    assert result["status_writes"] == 190.0
    assert result["last_status_write_seconds"] == 31.0
    assert result["waited_seconds"] == 51.0


def test_a_sagemaker_write_restarts_the_quiet_interval_too() -> None:
    clock = FakeClock()
    result = wait(clock).run(writes_at(clock, {}, {12.0: 1}))
    assert result["settled"] is True
    assert result["sagemaker_writes"] == 1
    assert result["last_sagemaker_write_seconds"] == 12.0
    assert result["waited_seconds"] == 32.0


def test_writes_before_the_wait_began_are_not_counted() -> None:
    clock = FakeClock()
    status = {0.0: 500.0}  # already on the counter when the wait starts
    result = wait(clock).run(writes_at(clock, status, {0.0: 7}))
    assert result["settled"] is True
    assert result["waited_seconds"] == 20.0
    assert result["status_writes"] == 0 and result["sagemaker_writes"] == 0


def test_an_operator_that_never_stops_writing_is_reported_not_settled() -> None:
    clock = FakeClock()
    status = {float(t): 1.0 for t in range(1, 200, 5)}
    result = wait(clock, bound=60.0).run(writes_at(clock, status, {}))
    assert result["settled"] is False
    assert 60.0 <= result["waited_seconds"] < 61.0
    assert result["status_writes"] == 12.0  # t = 1, 6, ..., 56
    assert "NOT SETTLED" in quiet.describe(result)


def test_the_table_shows_the_wait_and_a_dash_when_it_never_settled() -> None:
    settled = {"steady": {"quiet": {"settled": True, "waited_seconds": 42.0}}}
    unsettled = {"steady": {"quiet": {"settled": False, "waited_seconds": 100.0}}}
    assert report.figures(settled)["quiet_waited"] == 42.0
    assert report.figures(unsettled)["quiet_waited"] is None
    assert "whole resync without a write" in report.size_table(settled, None)


def test_counters_that_cannot_be_read_count_as_writes() -> None:
    clock = FakeClock()
    readable = writes_at(clock, {}, {})
    start = clock.now

    def probe() -> quiet.Writes | None:
        return None if 5.0 <= clock.now - start < 8.0 else readable()

    result = wait(clock).run(probe)
    assert result["settled"] is True
    assert result["unreadable"] == 3  # at 5, 6 and 7 s
    assert result["last_status_write_seconds"] == 7.0
    assert result["waited_seconds"] == 27.0


def test_an_operator_never_readable_is_not_settled() -> None:
    clock = FakeClock()

    def probe() -> quiet.Writes | None:
        clock.now += 1.0  # each failed read takes its time
        return None

    result = wait(clock, bound=10.0).run(probe)
    assert result["settled"] is False and result["unreadable"] == 6  # reads at 1, 3, ..., 11 s
