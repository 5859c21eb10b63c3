"""kopf's retried API requests are warnings; the request that gives up is still an error;
the lines every healthy wake and probe writes stay out of an INFO log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ic_operator.kube.logfilters import OptionalKindIsInfo, RetriesAreWarnings, RoutineIsDebug


def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_a_retried_request_is_a_warning() -> None:
    retried = record(
        "Request attempt #1/9 failed; will retry: GET https://10.96.0.1:443/apis/x "
        "-> APITooManyRequestsError('storage is (re)initializing')"
    )
    assert RetriesAreWarnings().filter(retried)
    assert (retried.levelno, retried.levelname) == (logging.WARNING, "WARNING")


@pytest.mark.parametrize(
    "message",
    [
        "Request attempt #9/9 failed; escalating: GET https://10.96.0.1:443/apis/x -> boom",
        "Request attempt #1/9 failed; TCP closed; will re-authenticate: GET /apis/x",
        "Handler 'converge' failed with an exception. Will retry.",
    ],
)
def test_other_errors_stay_errors(message: str) -> None:
    kept = record(message)
    assert RetriesAreWarnings().filter(kept)
    assert kept.levelno == logging.ERROR


def named(name: str, message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


WAKE = named("kopf.objects", "Handler 'wake' succeeded.")
PROBE = named(
    "aiohttp.access",
    '127.0.0.1 [02/Dec/2026:04:45:21 +0000] "GET /healthz HTTP/1.1" 200 179 "-" "kube-probe/1.37"',
)


@pytest.fixture
def root_at(request: pytest.FixtureRequest) -> Iterator[None]:
    root = logging.getLogger()
    before = root.level
    root.setLevel(request.param)
    yield
    root.setLevel(before)


@pytest.mark.parametrize("root_at", [logging.INFO], indirect=True)
@pytest.mark.usefixtures("root_at")
def test_routine_lines_stay_out_of_an_info_log() -> None:
    assert not RoutineIsDebug().filter(WAKE)
    assert not RoutineIsDebug().filter(PROBE)
    assert not RoutineIsDebug().filter(named("kopf.objects", "Daemon 'loop' succeeded."))


@pytest.mark.parametrize("root_at", [logging.INFO], indirect=True)
@pytest.mark.usefixtures("root_at")
@pytest.mark.parametrize(
    "kept",
    [
        named("kopf.objects", "Handler 'finalize' succeeded."),
        named("kopf.objects", "Handler 'wake' failed with an exception. Will retry.", 40),
        named("aiohttp.access", '127.0.0.1 "GET /metrics HTTP/1.1" 200 12'),
        named("ic_operator", "starting: namespaces=* region=us-east-1 resync=300.0s"),
    ],
)
def test_everything_else_is_kept(kept: logging.LogRecord) -> None:
    assert RoutineIsDebug().filter(kept)


@pytest.mark.parametrize("root_at", [logging.DEBUG], indirect=True)
@pytest.mark.usefixtures("root_at")
def test_a_debug_log_keeps_the_routine_lines() -> None:
    assert RoutineIsDebug().filter(WAKE)
    assert RoutineIsDebug().filter(PROBE)


ACK_SELECTOR = (
    "Selector(group='sagemaker.services.k8s.aws', version='v1alpha1', any_name='endpoints')"
)
OURS = (
    "Selector(group='sagemaker.ic-operator.io', version='v1alpha1', plural='inferencecomponents')"
)


@pytest.mark.parametrize(
    ("selectors", "level"),
    [
        ([ACK_SELECTOR], logging.INFO),
        ([OURS], logging.WARNING),
        ([OURS, ACK_SELECTOR], logging.WARNING),
    ],
    ids=["ack-only", "ours", "both"],
)
def test_only_a_missing_ack_endpoint_kind_is_info(selectors: list[str], level: int) -> None:
    """kopf's line as it writes it (kopf._core.reactor.observation): ACK's Endpoint CRD is
    optional, ours is not."""
    message = "Unresolved resources cannot be served (try creating their CRDs): " + ", ".join(
        selectors
    )
    record = logging.LogRecord(
        "kopf._core.reactor.observation", logging.WARNING, "", 0, message, None, None
    )
    assert OptionalKindIsInfo().filter(record)
    assert record.levelno == level
