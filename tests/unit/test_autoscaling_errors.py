"""Application Auto Scaling and CloudWatch errors map onto SageMaker's error kinds."""

from __future__ import annotations

import botocore.session
import pytest

from ic_operator.aws.errors import AUTOSCALING_KINDS as _KINDS
from ic_operator.aws.errors import ErrorKind
from ic_operator.aws.errors import classify_autoscaling as classify


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        ("ObjectNotFoundException", "No scalable target registered", 400, ErrorKind.NOT_FOUND),
        ("ConcurrentUpdateException", "pending update", 400, ErrorKind.BUSY),
        ("LimitExceededException", "50 policies", 400, ErrorKind.CAPACITY),
        ("FailedResourceAccessException", "cannot read alarms", 400, ErrorKind.ACCESS_DENIED),
        ("InternalServiceException", "", 500, ErrorKind.RETRYABLE),
        ("ResourceNotFound", "alarm", 404, ErrorKind.NOT_FOUND),
        ("LimitExceeded", "alarm quota", 400, ErrorKind.CAPACITY),
        ("InvalidParameterValue", "Threshold", 400, ErrorKind.INVALID),
        ("ThrottlingException", "Rate exceeded", 400, ErrorKind.RETRYABLE),
        ("Throttling", "Rate exceeded", 400, ErrorKind.RETRYABLE),
        ("AccessDeniedException", "not authorized", 400, ErrorKind.ACCESS_DENIED),
        ("ValidationException", "bad min capacity", 400, ErrorKind.INVALID),
        (
            "ValidationException",
            "Cannot update inference component x while it is in state UPDATE_RC_IN_PROGRESS",
            400,
            ErrorKind.BUSY,
        ),
    ],
)
def test_classify(code: str, message: str, status: int, kind: ErrorKind) -> None:
    assert classify(code, message, status) is kind


def test_every_modeled_error_code_is_known() -> None:
    """A modeled error of either service falls in the table or in SageMaker's
    classification, never in UNKNOWN (the kms/dashboard errors are for calls the
    operator does not make)."""
    session = botocore.session.get_session()
    unused = {"InvalidNextTokenException", "TooManyTagsException", "InvalidNextToken",
              "KmsAccessDeniedException", "KmsKeyDisabledException", "KmsKeyNotFoundException",
              "InvalidFormat", "InvalidParameterInput"}  # fmt: skip
    for service in ("application-autoscaling", "cloudwatch"):
        for shape in session.get_service_model(service).error_shapes:
            code = shape.metadata.get("error", {}).get("code", shape.name)
            if code in unused:
                continue
            assert code in _KINDS or classify(code, "", 400) is not ErrorKind.UNKNOWN, code
