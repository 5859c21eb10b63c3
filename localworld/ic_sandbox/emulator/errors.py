"""The errors the emulator answers with, in SageMaker's wire vocabulary.

Status codes follow the SageMaker common-errors table (reference §3, doc [CE]): every
client error is 400, even throttling, and only server faults use 5xx.
"""

from __future__ import annotations

STATUS_BY_CODE: dict[str, int] = {
    "ValidationException": 400,
    "SerializationException": 400,
    "UnknownOperationException": 400,
    "ResourceNotFound": 400,
    "ResourceInUse": 400,
    "ResourceLimitExceeded": 400,
    "ConflictException": 400,
    "ThrottlingException": 400,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    # the refusals of an unauthenticated request (identity.py; grades in docs/emulator.md)
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "ExpiredTokenException": 403,
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 400,
    "AccessDenied": 403,  # STS (doc: AssumeRole's errors; status obs)
    "AccessDeniedException": 400,  # identity policies (doc: SageMaker common errors)
}


class ApiError(Exception):
    """An AWS JSON 1.1 error: raised anywhere below the HTTP layer, rendered by the server."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 400)


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def limit(message: str) -> ApiError:
    return ApiError("ResourceLimitExceeded", message)
