"""What an AWS error means, decided once at the door.

Callers decide on an :class:`ErrorKind` and the :class:`Failure` it amounts to for the
resource, never on error codes or message text, so the knowledge of SageMaker's (and
Application Auto Scaling's and CloudWatch's) error quirks lives here and nowhere else:
:func:`classify` reads the code and message into a kind, and :data:`FAILURES` says what
that kind means for the operation that failed and how long to back off. A new error is
one row in one of these tables.
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
    ACCESS_DENIED = "AccessDenied"  # IAM: the action is denied; report, retry slowly
    # The credentials themselves: expired, revoked, unknown, badly signed, scoped to another
    # region, absent, or a role the credential provider could not assume. Report, retry slowly.
    CREDENTIALS = "Credentials"
    ALREADY_EXISTS = "AlreadyExists"  # name taken
    # A write that may have been applied though its answer says otherwise (a 5xx, a
    # timeout or a closed connection after the request left, or a botocore retry of a
    # write answered "busy"/"already exists"): confirm by reading before sending again.
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    UNKNOWN = "Unknown"


_NOT_FOUND_PREFIXES = ("Could not find inference component", "Could not find endpoint")
# A component write refused because its endpoint is not InService (Creating, Updating...).
_ENDPOINT_BUSY = re.compile(r"because endpoint \S+ is in status", re.IGNORECASE)
_BUSY_PATTERNS = (
    re.compile(r"while it is in state", re.IGNORECASE),
    re.compile(r"in-progress", re.IGNORECASE),
    re.compile(r"_IN_PROGRESS"),
    re.compile(r"is a base inference component for one or more", re.IGNORECASE),
    _ENDPOINT_BUSY,
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
_ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "NotAuthorized"})
# The JSON services' code and the query services' (STS, CloudWatch) for the same refusal.
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "InvalidIdentityToken",  # AssumeRoleWithWebIdentity: the token itself
        "IDPRejectedClaim",
        "NoCredentials",  # botocore found none (the door's code)
        "CredentialRetrieval",  # a credential provider failed (the door's code)
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
    if code in _CREDENTIAL_CODES:
        return ErrorKind.CREDENTIALS
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


class Failure(Enum):
    """What a failed call means for the resource; the value is the condition reason."""

    ENDPOINT_NOT_FOUND = "EndpointNotFound"
    ENDPOINT_NOT_READY = "EndpointNotReady"
    WAITING = "Waiting"  # a transition started or ended under the call: look again soon
    RETRYING = "Retrying"
    INSUFFICIENT_CAPACITY = "InsufficientCapacity"
    ACCESS_DENIED = "AccessDenied"
    CREDENTIALS_REJECTED = "CredentialsRejected"
    INVALID_SPEC = "InvalidSpec"
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    AWS_ERROR = "AWSError"


class OperationClass(Enum):
    """The operations an error means something different for."""

    CREATE = "create"  # CreateInferenceComponent: the endpoint may not be there yet
    SPEC_WRITE = "spec-write"  # sends the spec or the copy count: Invalid rejects the spec
    ANY = "any"


_OPERATION_CLASSES: Final = {
    "CreateInferenceComponent": OperationClass.CREATE,
    "UpdateInferenceComponent": OperationClass.SPEC_WRITE,
    "UpdateInferenceComponentRuntimeConfig": OperationClass.SPEC_WRITE,
}


@dataclass(frozen=True)
class Backoff:
    """How a failure that resolves itself in time is waited out."""

    first: float  # seconds before the first retry
    longest: float  # the cap of the exponential backoff
    # Needs a human to look (capacity, IAM, a missing endpoint): Blocked and Degraded
    # while it lasts. Throttling and 5xx are routine: Progressing, not Degraded.
    degraded: bool


# (kind, operation class) -> what it means for the resource. A row for a class wins
# over the kind's ANY row.
FAILURES: Final[dict[tuple[ErrorKind, OperationClass], Failure]] = {
    # GitOps tools often apply the component before the endpoint exists: wait, slowly.
    (ErrorKind.NOT_FOUND, OperationClass.CREATE): Failure.ENDPOINT_NOT_FOUND,
    # The endpoint exists but cannot host yet: endpoints take minutes, so back off.
    (ErrorKind.BUSY, OperationClass.CREATE): Failure.ENDPOINT_NOT_READY,
    # Most likely our own earlier Create, not yet visible to reads: confirm by reading,
    # as for a Create whose answer was lost.
    (ErrorKind.ALREADY_EXISTS, OperationClass.CREATE): Failure.OUTCOME_UNKNOWN,
    (ErrorKind.INVALID, OperationClass.CREATE): Failure.INVALID_SPEC,
    (ErrorKind.INVALID, OperationClass.SPEC_WRITE): Failure.INVALID_SPEC,
    (ErrorKind.NOT_FOUND, OperationClass.ANY): Failure.WAITING,
    (ErrorKind.BUSY, OperationClass.ANY): Failure.WAITING,
    (ErrorKind.ALREADY_EXISTS, OperationClass.ANY): Failure.WAITING,
    (ErrorKind.OUTCOME_UNKNOWN, OperationClass.ANY): Failure.OUTCOME_UNKNOWN,
    (ErrorKind.RETRYABLE, OperationClass.ANY): Failure.RETRYING,
    (ErrorKind.CAPACITY, OperationClass.ANY): Failure.INSUFFICIENT_CAPACITY,
    (ErrorKind.ACCESS_DENIED, OperationClass.ANY): Failure.ACCESS_DENIED,
    (ErrorKind.CREDENTIALS, OperationClass.ANY): Failure.CREDENTIALS_REJECTED,
    (ErrorKind.INVALID, OperationClass.ANY): Failure.AWS_ERROR,
    (ErrorKind.UNKNOWN, OperationClass.ANY): Failure.AWS_ERROR,
}

# Failures that resolve themselves in time. Waiting, OutcomeUnknown and InvalidSpec are
# not backed off this way (they look again at once, confirm, or wait for the spec).
BACKOFF: Final[dict[Failure, Backoff]] = {
    Failure.ENDPOINT_NOT_FOUND: Backoff(30, 600, degraded=True),
    Failure.ENDPOINT_NOT_READY: Backoff(10, 120, degraded=False),
    Failure.RETRYING: Backoff(2, 120, degraded=False),
    Failure.INSUFFICIENT_CAPACITY: Backoff(30, 600, degraded=True),
    Failure.ACCESS_DENIED: Backoff(60, 900, degraded=True),
    Failure.CREDENTIALS_REJECTED: Backoff(60, 900, degraded=True),
    Failure.AWS_ERROR: Backoff(30, 600, degraded=True),
}


def about_endpoint(err: SageMakerError) -> bool:
    """Was a component write refused because of its endpoint (missing, or not in
    service)? Then the endpoint is described again rather than the write backed off."""
    if err.failure in (Failure.ENDPOINT_NOT_FOUND, Failure.ENDPOINT_NOT_READY):
        return True
    return err.kind is ErrorKind.BUSY and _ENDPOINT_BUSY.search(err.message) is not None


def failure_of(kind: ErrorKind, operation: str) -> Failure:
    """What ``kind`` means for the resource when ``operation`` failed with it."""
    specific = _OPERATION_CLASSES.get(operation, OperationClass.ANY)
    return FAILURES.get((kind, specific)) or FAILURES[(kind, OperationClass.ANY)]


# The refusals that name who was refused what, on which resource (Failure's message).
REFUSALS: Final = frozenset({Failure.ACCESS_DENIED, Failure.CREDENTIALS_REJECTED})


NO_CREDENTIALS = frozenset({"NoCredentials", "CredentialRetrieval"})
"""The door's codes for a call never sent: the credential chain found nothing, or failed
while fetching (a provider's error, IRSA's token file unreadable)."""


@dataclass
class SageMakerError(Exception):
    """A classified SageMaker failure; ``message`` is already redacted.

    ``action`` (IAM's `service:Operation`), ``resource`` and ``principal`` (the operator's
    ARN from GetCallerIdentity at start) are what a refusal is reported with: who was
    refused what, where. ``via``: the credential provider's STS call that failed instead of
    the operation (an AssumeRole... the operator never made itself), and ``role`` the role it
    asked for (AWS's answer to a refused AssumeRoleWithWebIdentity names none, and a user
    must know which trust policy to look at).
    """

    operation: str
    kind: ErrorKind
    code: str
    message: str
    action: str = ""
    resource: str = ""
    principal: str = ""
    via: str = ""
    role: str = ""

    def __str__(self) -> str:
        return f"{self.operation}: {self.code}: {self.message}"

    def refusal(self) -> str:
        """One sentence naming the principal, the action and the resource."""
        who = self.principal or "the operator's AWS identity"
        where = f" on {self.resource}" if self.resource else ""
        if self.via:
            role = f" on role {self.role}" if self.role else ""
            return (
                f"{who} could not get credentials for {self.action}{where}: the credential "
                f"provider's sts:{self.via}{role} was refused: {self.code}: {self.message}"
            )
        if self.code in NO_CREDENTIALS:  # nothing was sent, so nothing was refused
            return f"{who} could not get credentials for {self.action}{where}: {self.message}"
        return f"{who} was refused {self.action}{where}: {self.code}: {self.message}"

    @property
    def failure(self) -> Failure:
        return failure_of(self.kind, self.operation)


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
