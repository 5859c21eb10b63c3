"""Error classification and redaction: the single table every caller relies on."""

from __future__ import annotations

import pytest

from ic_operator.aws.errors import ErrorKind, classify, redact
from ic_operator.aws.operations import OPERATIONS

CASES = [
    ("ValidationException", 'Could not find inference component "llm".', 400, ErrorKind.NOT_FOUND),
    ("ValidationException", 'Could not find endpoint "ep".', 400, ErrorKind.NOT_FOUND),
    ("ResourceNotFound", "nope", 400, ErrorKind.NOT_FOUND),
    ("ThrottlingException", "Rate exceeded", 400, ErrorKind.RETRYABLE),
    ("InternalFailure", "boom", 500, ErrorKind.RETRYABLE),
    ("ServiceUnavailable", "later", 503, ErrorKind.RETRYABLE),
    ("SomethingNew", "?", 502, ErrorKind.RETRYABLE),
    ("SomethingNew", "?", 429, ErrorKind.RETRYABLE),
    ("ResourceLimitExceeded", "quota", 400, ErrorKind.CAPACITY),
    ("AccessDeniedException", "no", 400, ErrorKind.ACCESS_DENIED),
    ("AccessDenied", "no", 403, ErrorKind.ACCESS_DENIED),
    # The credentials, not a policy: each service's spelling (JSON and query protocols).
    ("ExpiredTokenException", "old", 400, ErrorKind.CREDENTIALS),
    ("ExpiredToken", "old", 403, ErrorKind.CREDENTIALS),
    ("UnrecognizedClientException", "invalid", 400, ErrorKind.CREDENTIALS),
    ("InvalidClientTokenId", "invalid", 403, ErrorKind.CREDENTIALS),
    ("InvalidSignatureException", "mismatch", 400, ErrorKind.CREDENTIALS),
    ("SignatureDoesNotMatch", "mismatch", 403, ErrorKind.CREDENTIALS),
    ("InvalidIdentityToken", "bad token", 400, ErrorKind.CREDENTIALS),
    (
        "ValidationException",
        "Cannot update inference component arn:... while it is in state UPDATE_RC_IN_PROGRESS",
        400,
        ErrorKind.BUSY,
    ),
    (
        "ValidationException",
        "Inference component llm is in DELETE_IN_PROGRESS",
        400,
        ErrorKind.BUSY,
    ),
    (
        "ValidationException",
        "llm is a base inference component for one or more associated components",
        400,
        ErrorKind.BUSY,
    ),
    (
        "ValidationException",
        "Cannot create inference component arn:aws:sagemaker:us-east-1:1:inference-component/ic"
        " because endpoint arn:aws:sagemaker:us-east-1:1:endpoint/ep is in status Creating.",
        400,
        ErrorKind.BUSY,
    ),
    (
        "ValidationException",
        "Cannot create already existing inference component",
        400,
        ErrorKind.ALREADY_EXISTS,
    ),
    ("ResourceInUse", "Inference component llm already exists", 400, ErrorKind.ALREADY_EXISTS),
    ("ResourceInUse", "in use", 400, ErrorKind.BUSY),
    (
        "ValidationException",
        "1 validation error detected: Value '0' at 'runtimeConfig.copyCount' failed",
        400,
        ErrorKind.INVALID,
    ),
    ("Weird", "?", 400, ErrorKind.UNKNOWN),
]


@pytest.mark.parametrize(("code", "message", "status", "kind"), CASES)
def test_classify(code: str, message: str, status: int, kind: ErrorKind) -> None:
    assert classify(code, message, status) is kind


def test_redact_hides_environment_values_only():
    message = (
        "2 validation errors detected: Value 'hunter2' at "
        "'specification.container.environment' failed to satisfy constraint: x; "
        "Value 'bad image' at 'specification.container.image' failed to satisfy constraint: y"
    )
    out = redact(message)
    assert "hunter2" not in out
    assert "Value '***' at 'specification.container.environment'" in out
    assert "Value 'bad image' at 'specification.container.image'" in out


def test_operations_are_the_iam_surface():
    assert "CreateInferenceComponent" in OPERATIONS
    assert all(op[0].isupper() and " " not in op for op in OPERATIONS)


WRITE_CASES = [
    # (code, message, http, retried, kind): what a failed *write* means
    ("InternalFailure", "boom", 500, False, ErrorKind.OUTCOME_UNKNOWN),  # may be after commit
    ("ServiceUnavailable", "later", 503, False, ErrorKind.OUTCOME_UNKNOWN),
    ("ThrottlingException", "Rate exceeded", 400, False, ErrorKind.RETRYABLE),  # at the door
    ("ThrottlingException", "Rate exceeded", 400, True, ErrorKind.RETRYABLE),
    (
        "ValidationException",
        "Cannot update inference component arn:... while it is in state UPDATING",
        400,
        True,
        ErrorKind.OUTCOME_UNKNOWN,  # botocore's retry of a write that landed
    ),
    (
        "ValidationException",
        "Cannot update inference component arn:... while it is in state UPDATING",
        400,
        False,
        ErrorKind.BUSY,
    ),
    ("ResourceInUse", "already exists", 400, True, ErrorKind.OUTCOME_UNKNOWN),
    ("ResourceInUse", "already exists", 400, False, ErrorKind.ALREADY_EXISTS),
    ("ValidationException", "bad image", 400, True, ErrorKind.INVALID),
]


@pytest.mark.parametrize(("code", "message", "status", "retried", "kind"), WRITE_CASES)
def test_write_outcome_unknown(
    code: str, message: str, status: int, retried: bool, kind: ErrorKind
) -> None:
    assert classify(code, message, status, write=True, retried=retried) is kind
    # A read never has an unknown outcome: it changed nothing.
    assert classify(code, message, status, retried=retried) is not ErrorKind.OUTCOME_UNKNOWN
