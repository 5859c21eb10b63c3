"""The AWS JSON services the front serves, each keyed by its X-Amz-Target prefix.

SageMaker and Application Auto Scaling speak AWS JSON 1.1. CloudWatch's model lists
`smithy-rpc-v2-cbor` first, but botocore picks the first protocol of its own priority list
that the service supports, which is `json` (AWS JSON 1.0): boto3 1.44.5 and the AWS CLI
1.46.2 (its vendored botocore 1.43.62) both send `X-Amz-Target:
GraniteServiceVersion20100801.<Operation>` with `Content-Type: application/x-amz-json-1.0`
and `x-amzn-query-mode: true` (obs: captured with a local stub server). Because CloudWatch
is "awsQueryCompatible", its errors carry the old query error code in the
`x-amzn-query-error: <Code>;Sender` header, which botocore reports as the error code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import botocore.session
from botocore.model import OperationModel, ServiceModel

from .errors import ApiError
from .identity import QUERY_AUTH_ERRORS

Json = dict[str, Any]
Handler = Callable[[Json], Json]

UNREADABLE = object()  # a request body that did not decode
JSON_10 = "application/x-amz-json-1.0"
JSON_11 = "application/x-amz-json-1.1"


def load_model(name: str) -> ServiceModel:
    model: ServiceModel = botocore.session.get_session().get_service_model(name)
    return model


T = TypeVar("T")


def offset_page(
    items: list[T], token: str | None, limit: int, invalid: ApiError
) -> tuple[list[T], str | None]:
    """A page of `items` and the opaque token of the next one (None on the last page)."""
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as exc:
            raise invalid from exc
    end = start + limit
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


@dataclass
class Rendered:
    body: Json
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def render_json11(err: ApiError) -> Rendered:
    return Rendered({"__type": err.code, "message": err.message}, err.status)


# CloudWatch's error codes as botocore reports them (the query code) -> (shape, HTTP status).
# The shapes and statuses are the model's; ValidationError and the throttling/internal codes
# are CloudWatch's documented common errors (inf for the JSON `__type` spelling).
CLOUDWATCH_ERRORS: dict[str, tuple[str, int]] = {
    "ValidationError": ("ValidationError", 400),
    "InvalidParameterValue": ("InvalidParameterValueException", 400),
    "InvalidParameterCombination": ("InvalidParameterCombinationException", 400),
    "MissingParameter": ("MissingRequiredParameterException", 400),
    "LimitExceeded": ("LimitExceededFault", 400),
    "ResourceNotFound": ("ResourceNotFound", 404),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
    "InvalidNextToken": ("InvalidNextToken", 400),
    "AccessDenied": ("AccessDenied", 403),  # identity policies (obs; docs/emulator.md)
    "InvalidFormat": ("InvalidFormatFault", 400),
    "Throttling": ("ThrottlingException", 400),
    "InternalServiceError": ("InternalServiceFault", 500),
    "ServiceUnavailable": ("ServiceUnavailableException", 503),
}

# the emulator-wide codes (model validation, injected faults) in CloudWatch's vocabulary
_CLOUDWATCH_ALIASES = {
    "ValidationException": "ValidationError",
    "ThrottlingException": "Throttling",
    "InternalFailure": "InternalServiceError",
    "AccessDeniedException": "AccessDenied",
}


def render_cloudwatch(err: ApiError) -> Rendered:
    if err.code == "SerializationException":
        return Rendered({"__type": err.code, "message": err.message}, 400)
    if err.code in QUERY_AUTH_ERRORS:
        return render_query(err)
    code = _CLOUDWATCH_ALIASES.get(err.code, err.code)
    shape, status = CLOUDWATCH_ERRORS.get(code, (code, 400))
    fault = "Receiver" if status >= 500 else "Sender"
    return Rendered(
        {"__type": f"com.amazonaws.cloudwatch#{shape}", "message": err.message},
        status,
        {"x-amzn-query-error": f"{code};{fault}"},
    )


def render_query(err: ApiError) -> Rendered:
    """An error of a query-protocol service (STS), or one a query-compatible service answers
    in its query vocabulary: the code travels in `x-amzn-query-error` (query.py reads it)."""
    code, status = QUERY_AUTH_ERRORS.get(err.code, (err.code, err.status))
    return query_error(code, status, err.message)


def query_error(code: str, status: int, message: str) -> Rendered:
    fault = "Receiver" if status >= 500 else "Sender"
    return Rendered(
        {"__type": code, "message": message}, status, {"x-amzn-query-error": f"{code};{fault}"}
    )


@dataclass
class JsonService:
    """One service behind `POST /`: its model, handlers and wire details."""

    prefix: str
    model: ServiceModel
    handlers: dict[str, Handler]
    content_type: str = JSON_11
    render_error: Callable[[ApiError], Rendered] = render_json11
    _operations: dict[str, OperationModel] = field(default_factory=dict)

    @property
    def signing_name(self) -> str:
        """The service name in a SigV4 credential scope (`monitoring` for CloudWatch)."""
        metadata = self.model.metadata
        return str(metadata.get("signingName") or metadata["endpointPrefix"])

    def operation(self, name: str) -> OperationModel | None:
        op = self._operations.get(name)
        if op is None and name in self.handlers:
            op = self.model.operation_model(name)
            self._operations[name] = op
        return op


@dataclass
class Outcome:
    """One call after validation, faults and its handler, for a codec to put on the wire."""

    service: JsonService | None
    operation: OperationModel | None
    result: dict[str, Any]
    error: ApiError | None
    # A component write applied but answered with this error code, or DROPPED.
    lost: str | None = None

    @property
    def known(self) -> bool:
        """The call named an implemented operation, so errors take that service's form."""
        return self.operation is not None


class Dispatch(Protocol):
    """How a codec hands a decoded call to the front (`Front.call`), whatever its encoding:
    `shown` is the operation as the call log shows it, `encoding` names the wire format in a
    SerializationException."""

    async def __call__(
        self, prefix: str, name: str, body: Any, shown: str, encoding: str
    ) -> Outcome: ...
