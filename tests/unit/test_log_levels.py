"""kopf's retried API requests are warnings; the request that gives up is still an error."""

from __future__ import annotations

import logging

import pytest

from ic_operator.main import RetriesAreWarnings


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
