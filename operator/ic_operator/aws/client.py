"""The only door to SageMaker (and to Application Auto Scaling and CloudWatch).

Every call goes through :class:`SageMakerClient.call`, which enforces the
operation allow-list that the IAM policy mirrors (the boto3 client is built from a
service model that holds only those operations), takes a token and a slot from the
shared :class:`CallBudget` by :class:`Purpose`, counts calls for metrics, and turns
botocore errors into one :class:`SageMakerError` with an :class:`ErrorKind`.
spec.autoScaling's calls pass the same door with ``service`` set, so they share the
call budget and the error handling; their allow-lists and error table are in
:mod:`ic_operator.aws.operations` (handed in as :class:`ServiceRules`).
Callers decide on kinds, never on error codes or message text, so the knowledge of
SageMaker's error quirks lives here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions

from ic_operator import metrics
from ic_operator.aws.api import LIST_PAGE
from ic_operator.aws.botocore_model import (
    ClientFactory,
    ServiceClientFactory,
    default_client_factory,
    default_service_client_factory,
)
from ic_operator.aws.budget import CallBudget, Purpose, default_purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError, classify, redact
from ic_operator.aws.operations import SAGEMAKER, SAGEMAKER_RULES, WRITE_OPERATIONS, ServiceRules
from ic_operator.aws.refusals import RefusalLog, action_of, provider_role, resource_of
from ic_operator.config import Settings


class SageMakerClient:
    """Async façade over boto3 with the shared call budget and one client per region.

    Every public call method takes ``purpose`` (a :class:`Purpose`); without it a write
    operation is a WRITE and a read is a POLL.

    ``on_write`` runs before a write waits for the budget, so whoever must know that a
    write has begun learns it wherever the write comes from: the operator passes the
    loop's preemption mark (:func:`ic_operator.loop.preemption.commit`: a pass that has
    begun a write is never cut short). The door itself knows nothing of passes.
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
        on_write: Callable[[], None] = lambda: None,
        principal: str = "",
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
        self._on_write = on_write
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # Who the operator is (GetCallerIdentity's ARN at start): refusals name it.
        self.principal = principal
        # The role the credential provider assumes (IRSA's AWS_ROLE_ARN, if set): a refused
        # refresh names it, since STS's own answer does not.
        self.role = provider_role()
        # The account the calls land in, for the metrics' account label (set by whoever
        # knows it: boot from GetCallerIdentity, kube/places from the mapping's role).
        self.account = ""
        self._refusals = RefusalLog()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client_factory: ClientFactory = default_client_factory,
        services: Mapping[str, ServiceRules] | None = None,
        on_write: Callable[[], None] = lambda: None,
        principal: str = "",
    ) -> SageMakerClient:
        """The client the operator runs with: every limit comes from configuration."""
        return cls(
            default_region=settings.region,
            max_concurrency=settings.max_concurrency,
            max_calls_per_second=settings.max_calls_per_second,
            client_factory=client_factory,
            services=services,
            on_write=on_write,
            principal=principal,
        )

    def prepare(self) -> None:
        """Build the default region's SageMaker client now, before the operator serves
        /healthz: building one loads and prunes the service model, which takes a
        noticeable stretch of CPU, and done lazily it blocks the event loop inside the
        first call, the first Create of a fresh install or the first look after a
        restart. A malformed endpoint URL fails here, at start, rather than on every
        call."""
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
        service: str = SAGEMAKER,
    ) -> dict[str, Any]:
        rules = self._rules.get(service)
        if rules is None:
            raise ValueError(f"{service} is not a service the operator may call")
        if operation not in rules.operations:
            raise ValueError(f"{operation} is not an operation the operator may call")
        write = operation in rules.writes
        purpose = Purpose.WRITE if write else _purpose(operation, purpose)
        if write:
            self._on_write()
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
            self._count(operation, purpose, code, region)
            # A ClientError of another operation: the credential provider's own STS call
            # (AssumeRoleWithWebIdentity for IRSA) failed, so ours was never sent.
            via = exc.operation_name if exc.operation_name != operation else ""
            if via:
                kind = ErrorKind.CREDENTIALS
            raise self._error(
                operation, kind, code, message, service=service, request=request, via=via
            ) from None
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ) as exc:
            self._count(operation, purpose, "ConnectionError", region)
            # A write may have reached SageMaker before the connection failed.
            kind = ErrorKind.OUTCOME_UNKNOWN if write and rules.confirms else ErrorKind.RETRYABLE
            raise SageMakerError(operation, kind, "ConnectionError", type(exc).__name__) from None
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
        ) as exc:
            code = (
                "CredentialRetrieval"
                if isinstance(exc, botocore.exceptions.CredentialRetrievalError)
                else "NoCredentials"
            )
            self._count(operation, purpose, code, region)
            raise self._error(
                operation, ErrorKind.CREDENTIALS, code, str(exc), service=service, request=request
            ) from None
        except OSError as exc:
            # A file the credential chain reads while it refreshes (IRSA's token file)
            # is missing or unreadable: botocore lets the plain OSError through.
            if exc.filename is None:
                raise
            self._count(operation, purpose, "CredentialRetrieval", region)
            message = f"the credential provider could not read {exc.filename}: {exc.strerror}"
            raise self._error(
                operation,
                ErrorKind.CREDENTIALS,
                "CredentialRetrieval",
                message,
                service=service,
                request=request,
            ) from None
        self._count(operation, purpose, "OK", region)
        self._refusals.succeeded(action_of(service, operation))
        response.pop("ResponseMetadata", None)
        return response

    def _count(self, operation: str, purpose: Purpose, code: str, region: str | None) -> None:
        metrics.SAGEMAKER_CALLS.labels(
            operation=operation,
            purpose=purpose.label,
            code=code,
            account=self.account,
            region=region or self._default_region,
        ).inc()

    def _error(
        self,
        operation: str,
        kind: ErrorKind,
        code: str,
        message: str,
        *,
        service: str,
        request: Mapping[str, Any],
        via: str = "",
    ) -> SageMakerError:
        """The classified error; a refusal names the principal, action and resource, and
        is logged when it first appears (RefusalLog)."""
        err = SageMakerError(
            operation,
            kind,
            code,
            message,
            action=action_of(service, operation),
            resource=resource_of(request),
            principal=self.principal,
            via=via,
            role=self.role if via else "",
        )
        if kind in (ErrorKind.ACCESS_DENIED, ErrorKind.CREDENTIALS):
            self._refusals.refused(err)
        return err

    # Thin, typed conveniences: the operation names stay visible at call sites.

    async def describe(
        self,
        name: str,
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
    ) -> dict[str, Any] | None:
        """Describe, or None when the component does not exist."""
        return await self._found(
            "DescribeInferenceComponent", {"InferenceComponentName": name}, region, purpose
        )

    async def describe_endpoint(
        self,
        name: str,
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
    ) -> dict[str, Any] | None:
        """DescribeEndpoint, or None when the endpoint does not exist."""
        return await self._found("DescribeEndpoint", {"EndpointName": name}, region, purpose)

    async def _found(
        self,
        operation: str,
        request: dict[str, Any],
        region: str | None,
        purpose: Purpose | None,
    ) -> dict[str, Any] | None:
        """A Describe's answer, None for "does not exist" (SageMaker says so with a
        ValidationException, classified NOT_FOUND at the door)."""
        try:
            return await self.call(operation, request, region=region, purpose=purpose)
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
    ) -> dict[str, str]:
        tags: dict[str, str] = {}
        request: dict[str, Any] = {"ResourceArn": arn, "MaxResults": LIST_PAGE}
        while True:
            response = await self.call("ListTags", request, region=region, purpose=purpose)
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
        request: dict[str, Any] = {"MaxResults": LIST_PAGE}
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


def _purpose(operation: str, purpose: Purpose | None) -> Purpose:
    if operation in WRITE_OPERATIONS:
        return Purpose.WRITE  # a write is a write, whatever the caller thought
    return purpose if purpose is not None else default_purpose(operation)


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
