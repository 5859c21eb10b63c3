"""The only door to SageMaker (and to Application Auto Scaling and CloudWatch).

Every call goes through :class:`SageMakerClient.call`, which enforces the
operation allow-list that the IAM policy mirrors (the boto3 client is built from a
service model that holds only those operations), takes a token and a slot from the
shared :class:`CallBudget` by :class:`Purpose`, counts calls for metrics, and turns
botocore errors into one :class:`SageMakerError` with an :class:`ErrorKind`.
spec.autoScaling's calls pass the same door with ``service`` set, so they share the
call budget and the error handling; their allow-lists and error table are in
:mod:`ic_operator.aws.autoscaling_operations` (handed in as :class:`ServiceRules`).
Callers decide on kinds, never on error codes or message text, so the knowledge of
SageMaker's error quirks lives here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions
import botocore.loaders
import botocore.session

from ic_operator import metrics
from ic_operator.config import Settings
from ic_operator.loop import preemption

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
    # A write that may have been applied though its answer says otherwise (a 5xx, a
    # timeout or a closed connection after the request left, or a botocore retry of a
    # write answered "busy"/"already exists"): confirm by reading before sending again.
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    UNKNOWN = "Unknown"


T = TypeVar("T")

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
    kind = _classify(code, message, http_status)
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


def _classify(code: str, message: str, http_status: int | None) -> ErrorKind:
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
ServiceClientFactory = Callable[[str, str], Any]  # (boto3 service name, region)
SAGEMAKER = "sagemaker"


def prune_service_model(model: Mapping[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """SageMaker's botocore service model cut down to ``operations`` and the shapes they
    reach, without documentation.

    The full model describes some 400 operations; parsed, it is about 16 MB of Python
    objects that the operator would carry for its whole life to call nine of them (the
    largest single allocation site in a tracemalloc snapshot of the benchmark).
    """
    ops = {name: _undocumented(model["operations"][name]) for name in sorted(operations)}
    shapes = model["shapes"]
    kept: dict[str, Any] = {}
    todo = [
        ref["shape"]
        for op in ops.values()
        for ref in (op.get("input"), op.get("output"), *op.get("errors", ()))
        if ref is not None
    ]
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        shape = kept[name] = _undocumented(shapes[name])
        todo.extend(member["shape"] for member in shape.get("members", {}).values())
        todo.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
    return {
        **{k: v for k, v in model.items() if k != "documentation"},
        "operations": ops,
        "shapes": kept,
    }


def _undocumented(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _undocumented(v) for k, v in node.items() if k != "documentation"}
    if isinstance(node, list):
        return [_undocumented(v) for v in node]
    return node


ENDPOINT_PREFIX = "api.sagemaker"  # the service model's endpointPrefix


def prune_endpoints(endpoints: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """botocore's endpoint table (every service in every partition, about 7 MB parsed)
    cut down to the one service the client resolves."""
    partitions = [
        {**part, "services": {k: v for k, v in part["services"].items() if k == prefix}}
        for part in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


class _PrunedLoader(botocore.loaders.Loader):  # type: ignore[misc]  # botocore is untyped
    """A botocore loader that serves SageMaker's service model pruned to OPERATIONS and
    the endpoint table pruned to SageMaker.

    The full files are read by a throwaway loader, so no cache keeps them alive."""

    def __init__(self) -> None:
        super().__init__()
        self._pruned: dict[str | None, dict[str, Any]] = {}
        self._endpoints: tuple[dict[str, Any], str] | None = None
        self._pruning = threading.Lock()

    def load_data_with_path(self, name: str) -> Any:
        if name != "endpoints":
            return super().load_data_with_path(name)
        with self._pruning:
            if self._endpoints is None:
                data, path = botocore.loaders.Loader().load_data_with_path(name)
                self._endpoints = prune_endpoints(data, ENDPOINT_PREFIX), path
            return self._endpoints

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        if (service_name, type_name) != ("sagemaker", "service-2"):
            return super().load_service_model(service_name, type_name, api_version)
        with self._pruning:
            if api_version not in self._pruned:
                full = botocore.loaders.Loader().load_service_model(
                    service_name, type_name, api_version
                )
                self._pruned[api_version] = prune_service_model(full, OPERATIONS)
            return self._pruned[api_version]


_LOADER = _PrunedLoader()


def default_client_factory(region: str) -> Any:
    """A boto3 client using the standard credential chain and AWS_ENDPOINT_URL_SAGEMAKER,
    built from the pruned service model (it can make only the allowed calls).

    botocore's standard retry mode already retries throttling and 5xx a few
    times with jittered backoff; what is left over reaches us as RETRYABLE.
    """
    return default_service_client_factory(SAGEMAKER, region, pool=64)


def default_service_client_factory(service: str, region: str, *, pool: int = 16) -> Any:
    """A boto3 client of ``service`` configured the same way (the endpoint comes from
    AWS_ENDPOINT_URL_<SERVICE>, e.g. ..._APPLICATION_AUTO_SCALING)."""
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=pool,
        user_agent_extra="sagemaker-ic-operator",
    )
    session = botocore.session.get_session()
    if service == SAGEMAKER:
        # the pruned service model: the client can make only the allowed calls
        session.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=session).client(
        service, region_name=region, config=config
    )


@dataclass(frozen=True)
class ServiceRules:
    """What the door needs to know of a service besides SageMaker."""

    operations: frozenset[str]  # the allow-list (the IAM policy mirrors it)
    writes: frozenset[str]  # spend the budget's write lane
    classify: Callable[[str, str, int | None], ErrorKind]
    # SageMaker's writes may land though their answer is lost, and are confirmed by
    # reading; autoscaling's puts and deletes are idempotent, so a retry is enough.
    confirms: bool = False


SAGEMAKER_RULES = ServiceRules(OPERATIONS, WRITE_OPERATIONS, _classify, confirms=True)


class Purpose(IntEnum):
    """Why a call is made. Lower values take the next token first.

    The order is the order of who is waiting on the answer: a user who just edited a
    spec waits on the write and on the look that precedes it; nobody waits on a
    transition poll beyond its own poll interval; nobody waits on a drift sweep.
    """

    WRITE = 0  # a change to SageMaker (Create, Update, Delete, tags)
    FIRST_LOOK = 1  # the read that precedes a write: the first look after an edit
    POLL = 2  # following a transition that is known to be running
    SWEEP = 3  # drift detection and resync: nothing is known to have changed

    @property
    def label(self) -> str:
        return self.name.lower()


def default_purpose(operation: str) -> Purpose:
    """What an unclassified call is: a write, or routine polling."""
    return Purpose.WRITE if operation in WRITE_OPERATIONS else Purpose.POLL


@dataclass(eq=False)
class _Waiter:
    purpose: Purpose
    seq: int  # arrival order across every class
    since: float  # clock() on arrival
    granted: asyncio.Future[None]


class CallBudget:
    """The shared SageMaker call budget: a token bucket and a concurrency cap, handed out
    by purpose.

    SageMaker throttles per account, so a thousand components must queue here rather
    than spend the account's budget in a burst. Whenever a token and a free slot are
    available, the longest-waiting caller of the most urgent :class:`Purpose` gets them:
    an edit's write, or the look that precedes it, takes the next token however many
    polls and sweeps are queued (strict priority, decided when the token is due, not
    when the caller arrived).

    Anti-starvation: once ``fairness`` grants in a row have passed over an older
    waiter of a less urgent class, the next grant goes to the oldest waiter of any
    class. Routine work therefore keeps at least 1 / (fairness + 1) of the budget
    (about one call per second at the default 20 calls/s and fairness 20) even under
    a flood of edits, and an edit is delayed by at most one such grant (50 ms at
    20 calls/s).

    The cap on calls in flight is part of the same hand-out, so a slow SageMaker
    cannot make an edit queue behind routine calls at a semaphore either.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        concurrency: int = 0,
        fairness: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate  # tokens per second; 0 = unlimited
        self.burst = burst if burst is not None else max(1.0, rate)
        self.concurrency = concurrency  # calls in flight; 0 = unlimited
        self.fairness = fairness
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._queues: dict[Purpose, deque[_Waiter]] = {p: deque() for p in Purpose}
        self._arrivals = itertools.count()
        self._in_flight = 0
        self._passed_over = 0
        self._pump: asyncio.Task[None] | None = None
        metrics.SAGEMAKER_BUDGET_RATE.set(rate)
        metrics.SAGEMAKER_BUDGET_CONCURRENCY.set(concurrency)

    def waiting(self, purpose: Purpose) -> int:
        return len(self._queues[purpose])

    async def run_in_thread(self, purpose: Purpose, call: Callable[[], T]) -> T:
        """``call`` in a worker thread, holding one token and one slot.

        A caller cancelled mid-call (a pass cut short by an edit) returns at once, but
        the thread cannot be stopped: its slot stays taken until the call really ends.
        Freed at the cancel, it let more calls run at once than ``concurrency``."""
        await self.acquire(purpose)
        running = asyncio.ensure_future(asyncio.to_thread(call))
        try:
            result = await asyncio.shield(running)
        except asyncio.CancelledError:
            running.add_done_callback(self._release_after)  # at once if it has ended
            raise
        except BaseException:
            self.release()
            raise
        self.release()
        return result

    def _release_after(self, finished: asyncio.Future[Any]) -> None:
        if not finished.cancelled():
            finished.exception()  # retrieved: nobody awaits a call whose caller left
        self.release()

    async def acquire(self, purpose: Purpose) -> None:
        waiter = _Waiter(
            purpose, next(self._arrivals), self._clock(), asyncio.get_running_loop().create_future()
        )
        self._queues[purpose].append(waiter)
        self._dispatch()
        self._publish_depth(purpose)
        try:
            await waiter.granted  # returns at once when granted above
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self.release()  # granted, then cancelled before it could run
            else:
                with contextlib.suppress(ValueError):  # or _dispatch already dropped it
                    self._queues[purpose].remove(waiter)
                self._publish_depth(purpose)
            raise

    def release(self) -> None:
        self._in_flight -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Grant as many waiters as tokens and slots allow; wake up when the next token is."""
        while True:
            for queue in self._queues.values():  # cancelled waiters leave from the head
                while queue and queue[0].granted.done():
                    queue.popleft()
            if not any(self._queues.values()):
                return
            if self.concurrency and self._in_flight >= self.concurrency:
                return  # release() dispatches again
            wait = self._take_token()
            if wait:
                if self._pump is None or self._pump.done():
                    self._pump = asyncio.get_running_loop().create_task(self._wake(wait))
                return
            self._grant(self._next())

    async def _wake(self, delay: float) -> None:
        await self._sleep(delay)
        self._pump = None
        self._dispatch()

    def _take_token(self) -> float:
        """0 when a token was taken, else the seconds until the next one."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1 - 1e-9:  # a float refill of exactly one token may fall short
            self._tokens = max(0.0, self._tokens - 1)
            return 0.0
        return (1 - self._tokens) / self.rate

    def _next(self) -> _Waiter:
        heads = [q[0] for q in self._queues.values() if q]  # in Purpose order
        oldest = min(heads, key=lambda w: w.seq)
        chosen = heads[0]
        if chosen is not oldest:
            if self._passed_over >= self.fairness:
                chosen = oldest
                self._passed_over = 0
            else:
                self._passed_over += 1
        else:
            self._passed_over = 0
        self._queues[chosen.purpose].popleft()
        return chosen

    def _grant(self, waiter: _Waiter) -> None:
        self._in_flight += 1
        waiter.granted.set_result(None)
        label = waiter.purpose.label
        metrics.SAGEMAKER_WAIT.labels(purpose=label).observe(self._clock() - waiter.since)
        self._publish_depth(waiter.purpose)

    def _publish_depth(self, purpose: Purpose) -> None:
        metrics.SAGEMAKER_QUEUE.labels(purpose=purpose.label).set(len(self._queues[purpose]))


class SageMakerClient:
    """Async façade over boto3 with the shared call budget and one client per region.

    Every public call method takes ``purpose`` (a :class:`Purpose`); without it a write
    operation is a WRITE and a read is a POLL. ``urgent=True`` is the older spelling of
    ``purpose=Purpose.FIRST_LOOK``, kept until every caller passes a purpose.
    """

    def __init__(
        self,
        *,
        default_region: str,
        max_concurrency: int = 10,
        max_calls_per_second: float = 0.0,
        client_factory: ClientFactory = default_client_factory,
        budget: CallBudget | None = None,
        service_client_factory: ServiceClientFactory = default_service_client_factory,
        services: Mapping[str, ServiceRules] | None = None,
    ) -> None:
        self.budget = budget or CallBudget(
            max_calls_per_second,
            burst=max(1.0, 2 * max_calls_per_second),
            concurrency=max_concurrency,
        )
        self._default_region = default_region
        self._factory = client_factory
        self._service_factory = service_client_factory
        self._rules = {**(services or {}), SAGEMAKER: SAGEMAKER_RULES}
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client_factory: ClientFactory = default_client_factory,
        services: Mapping[str, ServiceRules] | None = None,
    ) -> SageMakerClient:
        """The client the operator runs with: every limit comes from configuration."""
        return cls(
            default_region=settings.region,
            max_concurrency=settings.max_concurrency,
            max_calls_per_second=settings.max_calls_per_second,
            client_factory=client_factory,
            services=services,
        )

    @property
    def limits(self) -> tuple[int, float]:
        """(calls in flight, calls per second); what the operator actually enforces."""
        return self.budget.concurrency, self.budget.rate

    def prepare(self) -> None:
        """Build the default region's SageMaker client now, before the operator serves
        /healthz: building one loads and prunes the service model (0.1-0.2 s of CPU,
        measured), and done lazily it blocks the event loop inside the first call, the
        first Create of a fresh install or the first look after a restart. A malformed
        endpoint URL fails here, at start, rather than on every call."""
        self._client(None)

    def _client(self, region: str | None, service: str = SAGEMAKER) -> Any:
        region = region or self._default_region
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                client = self._clients[(service, region)] = (
                    self._factory(region)
                    if service == SAGEMAKER
                    else self._service_factory(service, region)
                )
            return client

    async def call(
        self,
        operation: str,
        request: Mapping[str, Any],
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
        urgent: bool = False,
        service: str = SAGEMAKER,
    ) -> dict[str, Any]:
        rules = self._rules.get(service)
        if rules is None:
            raise ValueError(f"{service} is not a service the operator may call")
        if operation not in rules.operations:
            raise ValueError(f"{operation} is not an operation the operator may call")
        write = operation in rules.writes
        purpose = Purpose.WRITE if write else _purpose(operation, purpose, urgent)
        if write:
            preemption.commit()  # a pass that has decided to write runs to its end
        client = self._client(region, service)
        method = getattr(client, _snake(operation))
        try:
            response: dict[str, Any] = await self.budget.run_in_thread(
                purpose, functools.partial(method, **request)
            )
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", "Unknown"))
            message = redact(str(err.get("Message", "")))
            meta = exc.response.get("ResponseMetadata", {})
            kind = (
                classify(
                    code,
                    message,
                    meta.get("HTTPStatusCode"),
                    write=write,
                    retried=bool(meta.get("RetryAttempts")),
                )
                if rules.confirms
                else rules.classify(code, message, meta.get("HTTPStatusCode"))
            )
            _count(operation, purpose, code)
            raise SageMakerError(operation, kind, code, message) from None
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ) as exc:
            _count(operation, purpose, "ConnectionError")
            # A write may have reached SageMaker before the connection failed.
            kind = ErrorKind.OUTCOME_UNKNOWN if write and rules.confirms else ErrorKind.RETRYABLE
            raise SageMakerError(operation, kind, "ConnectionError", type(exc).__name__) from None
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
        ) as exc:
            _count(operation, purpose, "NoCredentials")
            raise SageMakerError(
                operation, ErrorKind.ACCESS_DENIED, "NoCredentials", str(exc)
            ) from None
        _count(operation, purpose, "OK")
        response.pop("ResponseMetadata", None)
        return response

    # Thin, typed conveniences: the operation names stay visible at call sites.

    async def describe(
        self,
        name: str,
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
        urgent: bool = False,
    ) -> dict[str, Any] | None:
        """Describe, or None when the component does not exist."""
        try:
            return await self.call(
                "DescribeInferenceComponent",
                {"InferenceComponentName": name},
                region=region,
                purpose=purpose,
                urgent=urgent,
            )
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return None
            raise

    async def list_tags(
        self,
        arn: str,
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
        urgent: bool = False,
    ) -> dict[str, str]:
        tags: dict[str, str] = {}
        request: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
        while True:
            response = await self.call(
                "ListTags", request, region=region, purpose=purpose, urgent=urgent
            )
            for tag in response.get("Tags", []):
                tags[tag["Key"]] = tag.get("Value", "")
            token = response.get("NextToken")
            if not token:
                return tags
            request = {**request, "NextToken": token}

    async def list_components(
        self,
        *,
        endpoint_name: str | None,
        region: str | None = None,
        purpose: Purpose = Purpose.SWEEP,
        fields: frozenset[str] | None = None,
        modified_after: float | None = None,
    ) -> list[dict[str, Any]]:
        """Component summaries: every one on ``endpoint_name`` (None: every endpoint in
        the region), only those modified after ``modified_after`` (epoch seconds) if set.

        With ``fields``, each summary keeps only those keys, so a caller that caches
        listings does not hold every page SageMaker returned.
        """
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"MaxResults": 100}
        if endpoint_name is not None:
            request["EndpointNameEquals"] = endpoint_name
        if modified_after is not None:
            request["LastModifiedTimeAfter"] = dt.datetime.fromtimestamp(modified_after, dt.UTC)
        while True:
            response = await self.call(
                "ListInferenceComponents", request, region=region, purpose=purpose
            )
            page = response.get("InferenceComponents", [])
            if fields is not None:
                page = [{k: v for k, v in item.items() if k in fields} for item in page]
            items.extend(page)
            token = response.get("NextToken")
            if not token:
                return items
            request = {**request, "NextToken": token}


def _purpose(operation: str, purpose: Purpose | None, urgent: bool) -> Purpose:
    if operation in WRITE_OPERATIONS:
        return Purpose.WRITE  # a write is a write, whatever the caller thought
    if purpose is not None:
        return purpose
    return Purpose.FIRST_LOOK if urgent else default_purpose(operation)


def _count(operation: str, purpose: Purpose, code: str) -> None:
    metrics.SAGEMAKER_CALLS.labels(operation=operation, purpose=purpose.label, code=code).inc()


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
