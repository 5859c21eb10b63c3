"""The only door to SageMaker.

Every call goes through :class:`SageMakerClient.call`, which enforces the
operation allow-list that the IAM policy mirrors, caps concurrency, counts calls
for metrics, and turns botocore errors into one :class:`SageMakerError` with an
:class:`ErrorKind`. Callers decide on kinds, never on error codes or message
text, so the knowledge of SageMaker's error quirks lives here and nowhere else.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from ic_operator import metrics
from ic_operator.config import Settings

OPERATIONS: frozenset[str] = frozenset(
    {
        "CreateInferenceComponent",
        "DescribeInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
        "ListInferenceComponents",
        "AddTags",
        "ListTags",
        "DeleteTags",
    }
)
"""Every SageMaker operation the operator may call; docs/iam-policy.json grants exactly these."""

WRITE_OPERATIONS: frozenset[str] = frozenset(
    {
        "CreateInferenceComponent",
        "UpdateInferenceComponent",
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteInferenceComponent",
        "AddTags",
        "DeleteTags",
    }
)


class ErrorKind(Enum):
    """What the caller should do about a failed call."""

    NOT_FOUND = "NotFound"  # the component does not exist
    BUSY = "Busy"  # a transition is running: wait, then look again
    RETRYABLE = "Retryable"  # throttling, 5xx, network: back off and retry
    CAPACITY = "InsufficientCapacity"  # ResourceLimitExceeded: back off, report
    INVALID = "Invalid"  # the request is wrong: report, no retry until the spec changes
    ACCESS_DENIED = "AccessDenied"  # IAM: report, retry slowly
    ALREADY_EXISTS = "AlreadyExists"  # name taken
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


def classify(code: str, message: str, http_status: int | None = None) -> ErrorKind:
    """Map an AWS error to a kind. Pure, so the table is unit-tested exhaustively."""
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


ClientFactory = Callable[[str], Any]


def default_client_factory(region: str) -> Any:
    """A boto3 client using the standard credential chain and AWS_ENDPOINT_URL_SAGEMAKER.

    botocore's standard retry mode already retries throttling and 5xx a few
    times with jittered backoff; what is left over reaches us as RETRYABLE.
    """
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=64,
        user_agent_extra="sagemaker-ic-operator",
    )
    return boto3.session.Session().client("sagemaker", region_name=region, config=config)


class TokenBucket:
    """A shared client-side rate limit with two lanes.

    SageMaker throttles per account, so a thousand components must queue here rather
    than spend the account's budget in a burst. Queueing first come, first served would
    put a user's edit behind every routine poll and drift check; urgent callers (writes,
    and the first look after a spec change) therefore go ahead of routine ones.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._turn = asyncio.Condition()
        self._urgent_waiting = 0

    async def take(self, *, urgent: bool = False) -> None:
        if self.rate <= 0:
            return
        if urgent:
            self._urgent_waiting += 1
        try:
            async with self._turn:
                while not urgent and self._urgent_waiting:
                    await self._turn.wait()
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens < 1:
                    await self._sleep((1 - self._tokens) / self.rate)
                    self._tokens = 1.0
                    self._last = self._clock()
                self._tokens -= 1
        finally:
            if urgent:
                self._urgent_waiting -= 1
                async with self._turn:
                    self._turn.notify_all()


class SageMakerClient:
    """Async façade over boto3 with a shared rate limit, a concurrency cap and one client
    per region."""

    def __init__(
        self,
        *,
        default_region: str,
        max_concurrency: int = 10,
        max_calls_per_second: float = 0.0,
        client_factory: ClientFactory = default_client_factory,
    ) -> None:
        self._bucket = TokenBucket(max_calls_per_second, burst=max(1.0, 2 * max_calls_per_second))
        self._default_region = default_region
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)

    @classmethod
    def from_settings(
        cls, settings: Settings, client_factory: ClientFactory = default_client_factory
    ) -> SageMakerClient:
        """The client the operator runs with: every limit comes from configuration."""
        return cls(
            default_region=settings.region,
            max_concurrency=settings.max_concurrency,
            max_calls_per_second=settings.max_calls_per_second,
            client_factory=client_factory,
        )

    @property
    def limits(self) -> tuple[int, float]:
        """(calls in flight, calls per second); what the operator actually enforces."""
        return self._max_concurrency, self._bucket.rate

    def _client(self, region: str | None) -> Any:
        region = region or self._default_region
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._factory(region)
            return client

    async def call(
        self,
        operation: str,
        request: Mapping[str, Any],
        *,
        region: str | None = None,
        urgent: bool = False,
    ) -> dict[str, Any]:
        if operation not in OPERATIONS:
            raise ValueError(f"{operation} is not an operation the operator may call")
        client = self._client(region)
        method = getattr(client, _snake(operation))
        await self._bucket.take(urgent=urgent or operation in WRITE_OPERATIONS)
        async with self._semaphore:
            try:
                response: dict[str, Any] = await asyncio.to_thread(method, **request)
            except botocore.exceptions.ClientError as exc:
                err = exc.response.get("Error", {})
                code = str(err.get("Code", "Unknown"))
                message = redact(str(err.get("Message", "")))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                metrics.SAGEMAKER_CALLS.labels(operation=operation, code=code).inc()
                raise SageMakerError(
                    operation, classify(code, message, status), code, message
                ) from None
            except (
                botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.ConnectTimeoutError,
            ) as exc:
                metrics.SAGEMAKER_CALLS.labels(operation=operation, code="ConnectionError").inc()
                raise SageMakerError(
                    operation, ErrorKind.RETRYABLE, "ConnectionError", type(exc).__name__
                ) from None
            except (
                botocore.exceptions.NoCredentialsError,
                botocore.exceptions.PartialCredentialsError,
            ) as exc:
                metrics.SAGEMAKER_CALLS.labels(operation=operation, code="NoCredentials").inc()
                raise SageMakerError(
                    operation, ErrorKind.ACCESS_DENIED, "NoCredentials", str(exc)
                ) from None
        metrics.SAGEMAKER_CALLS.labels(operation=operation, code="OK").inc()
        response.pop("ResponseMetadata", None)
        return response

    # Thin, typed conveniences: the operation names stay visible at call sites.

    async def describe(
        self, name: str, *, region: str | None = None, urgent: bool = False
    ) -> dict[str, Any] | None:
        """Describe, or None when the component does not exist."""
        try:
            return await self.call(
                "DescribeInferenceComponent",
                {"InferenceComponentName": name},
                region=region,
                urgent=urgent,
            )
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise

    async def list_tags(
        self, arn: str, *, region: str | None = None, urgent: bool = False
    ) -> dict[str, str]:
        tags: dict[str, str] = {}
        request: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
        while True:
            response = await self.call("ListTags", request, region=region, urgent=urgent)
            for tag in response.get("Tags", []):
                tags[tag["Key"]] = tag.get("Value", "")
            token = response.get("NextToken")
            if not token:
                return tags
            request = {**request, "NextToken": token}

    async def list_components(
        self, *, endpoint_name: str, region: str | None = None
    ) -> list[dict[str, Any]]:
        """Every component on one endpoint (summaries): the cheap drift sweep."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"EndpointNameEquals": endpoint_name, "MaxResults": 100}
        while True:
            response = await self.call("ListInferenceComponents", request, region=region)
            items.extend(response.get("InferenceComponents", []))
            token = response.get("NextToken")
            if not token:
                return items
            request = {**request, "NextToken": token}


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
