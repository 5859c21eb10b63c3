"""What an AWS error means, decided once at the door.

Callers decide on an :class:`ErrorKind`, never on error codes or message text, so the
knowledge of SageMaker's (and Application Auto Scaling's and CloudWatch's) error quirks
lives here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Final


class ErrorKind(Enum):
    """What the caller should do about a failed call."""

    NOT_FOUND = "NotFound"  # the component does not exist
    BUSY = "Busy"  # a transition is running: wait, then look again
    RETRYABLE = "Retryable"  # throttling, 5xx, network: back off and retry
    CAPACITY = "InsufficientCapacity"  # ResourceLimitExceeded: back off, report
    INVALID = "Invalid"  # the request is wrong: report, no retry until the spec changes
    ACCESS_DENIED = "AccessDenied"  # IAM: report, retry slowly
    ALREADY_EXISTS = "AlreadyExists"  # name taken
    # A write that may have been applied though its answer says otherwise (a 5xx, a
    # timeout or a closed connection after the request left, or a botocore retry of a
    # write answered "busy"/"already exists"): confirm by reading before sending again.
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    UNKNOWN = "Unknown"


_NOT_FOUND_PREFIXES = ("Could not find inference component", "Could not find endpoint")
_BUSY_PATTERNS = (
    re.compile(r"while it is in state", re.IGNORECASE),
    re.compile(r"in-progress", re.IGNORECASE),
    re.compile(r"_IN_PROGRESS"),
    re.compile(r"is a base inference component for one or more", re.IGNORECASE),
    re.compile(r"because endpoint \S+ is in status", re.IGNORECASE),
)
_ALREADY_EXISTS = re.compile(r"already exist", re.IGNORECASE)
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "NotAuthorized",
    }
)


def classify(
    code: str,
    message: str,
    http_status: int | None = None,
    *,
    write: bool = False,
    retried: bool = False,
) -> ErrorKind:
    """Map an AWS error to a kind. Pure, so the table is unit-tested exhaustively.

    ``write``: the call changes SageMaker; ``retried``: botocore sent it more than once.
    A write's 5xx may come after the commit, and a retried write answered "busy" or
    "already exists" is most likely refused because its first attempt landed: both are
    OUTCOME_UNKNOWN, never a plain retry. A throttle is refused at the door: nothing
    happened (botocore's earlier attempts of a throttled call were throttled too, as a
    rule; the rare 5xx-then-throttle sequence is not told apart).
    """
    kind = classify_sagemaker(code, message, http_status)
    if write and (
        (kind is ErrorKind.RETRYABLE and _server_side(code, http_status))
        or (retried and kind in (ErrorKind.BUSY, ErrorKind.ALREADY_EXISTS))
    ):
        return ErrorKind.OUTCOME_UNKNOWN
    return kind


def _server_side(code: str, http_status: int | None) -> bool:
    """A failure after the request reached SageMaker's service (not a throttle at its door)."""
    return (http_status is not None and http_status >= 500) or code in {
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }


def classify_sagemaker(code: str, message: str, http_status: int | None) -> ErrorKind:
    if code == "ValidationException" and message.startswith(_NOT_FOUND_PREFIXES):
        return ErrorKind.NOT_FOUND
    if code == "ResourceNotFound":
        return ErrorKind.NOT_FOUND
    if code in _RETRYABLE_CODES or (http_status is not None and http_status >= 500):
        return ErrorKind.RETRYABLE
    if code in _ACCESS_CODES:
        return ErrorKind.ACCESS_DENIED
    if code == "ResourceLimitExceeded":
        return ErrorKind.CAPACITY
    if code in {"ResourceInUse", "ConflictException"}:
        return ErrorKind.ALREADY_EXISTS if _ALREADY_EXISTS.search(message) else ErrorKind.BUSY
    if code == "ValidationException":
        if any(p.search(message) for p in _BUSY_PATTERNS):
            return ErrorKind.BUSY
        if _ALREADY_EXISTS.search(message):
            return ErrorKind.ALREADY_EXISTS
        return ErrorKind.INVALID
    if http_status == 429:
        return ErrorKind.RETRYABLE
    return ErrorKind.UNKNOWN


# SageMaker's constraint messages echo the offending value ("Value 'x' at 'path' ...").
# For environment entries that value may be a secret, so it never leaves this module.
_ECHOED_VALUE = re.compile(r"Value '(?P<value>.*?)' at '(?P<path>[^']*)'", re.DOTALL)


def redact(message: str) -> str:
    """Remove echoed values of environment entries from an AWS error message."""

    def _sub(m: re.Match[str]) -> str:
        if "environment" in m.group("path").lower():
            return f"Value '***' at '{m.group('path')}'"
        return m.group(0)

    return _ECHOED_VALUE.sub(_sub, message)


@dataclass
class SageMakerError(Exception):
    """A classified SageMaker failure; ``message`` is already redacted."""

    operation: str
    kind: ErrorKind
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.code}: {self.message}"


AUTOSCALING_KINDS: Final = {
    # Application Auto Scaling
    "ObjectNotFoundException": ErrorKind.NOT_FOUND,
    "ResourceNotFoundException": ErrorKind.NOT_FOUND,
    "ConcurrentUpdateException": ErrorKind.BUSY,
    "LimitExceededException": ErrorKind.CAPACITY,
    # Application Auto Scaling could not read the policy's alarms: a permission problem
    # of the caller or its service-linked role.
    "FailedResourceAccessException": ErrorKind.ACCESS_DENIED,
    "InternalServiceException": ErrorKind.RETRYABLE,
    # CloudWatch (wire codes, which differ from the shape names)
    "ResourceNotFound": ErrorKind.NOT_FOUND,
    "ConcurrentModificationException": ErrorKind.BUSY,
    "ResourceConflict": ErrorKind.BUSY,
    "LimitExceeded": ErrorKind.CAPACITY,
    "InternalServiceError": ErrorKind.RETRYABLE,
    "InvalidParameterValue": ErrorKind.INVALID,
    "InvalidParameterCombination": ErrorKind.INVALID,
    "MissingParameter": ErrorKind.INVALID,
    "ValidationError": ErrorKind.INVALID,
}


def classify_autoscaling(code: str, message: str, http_status: int | None = None) -> ErrorKind:
    """The ErrorKind of an Application Auto Scaling or CloudWatch error, so that the
    loop decides on the same kinds as for SageMaker. Codes both services share with
    SageMaker (throttling, access denied, ValidationException with SageMaker's
    "while it is in state" wording, which Application Auto Scaling passes through)
    go to SageMaker's classification."""
    kind = AUTOSCALING_KINDS.get(code)
    return kind if kind is not None else classify(code, message, http_status)
