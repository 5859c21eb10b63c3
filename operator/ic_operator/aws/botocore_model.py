"""botocore's service model and endpoint table, pruned to what the operator calls, and
the boto3 client factories built on them."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.loaders
import botocore.session
import botocore.utils

from ic_operator.aws.operations import OPERATIONS, SAGEMAKER

ClientFactory = Callable[[str], Any]
ServiceClientFactory = Callable[[str, str], Any]  # (boto3 service name, region)


def prune_service_model(model: Mapping[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """SageMaker's botocore service model cut down to ``operations`` and the shapes they
    reach, without documentation.

    The full model describes some 400 operations; parsed, it is the largest fixed cost
    in the operator's memory (bench/README.md), carried for the process's whole life to
    call nine of them.
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
    """botocore's endpoint table (every service in every partition, megabytes parsed)
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

# The environment that decides what botocore's standard chain resolves to.
_CREDENTIAL_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)


class _Resolved(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    METHOD = "shared"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


class _SharedCredentials:
    """One set of credentials for every client the process builds.

    Each client has its own botocore session (SageMaker's loads the pruned model), and a
    session resolves the credential chain for itself: with IRSA or Pod Identity every
    client (STS at start, SageMaker, Application Auto Scaling, CloudWatch, each region)
    would fetch a session of its own and refresh it on its own schedule, a burst of
    AssumeRoleWithWebIdentity or agent calls at start and at every refresh. The first
    session's refreshable credentials are handed to the others instead. Keyed by the
    environment that picks the chain's answer, so a process that changes it (a test)
    resolves again; nothing is kept when nothing was found (the caller reports that).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_environment: dict[tuple[str | None, ...], Any] = {}

    def session(self) -> botocore.session.Session:
        session = botocore.session.get_session()
        key = tuple(os.environ.get(name) for name in _CREDENTIAL_ENVIRONMENT)
        with self._lock:
            credentials = self._by_environment.get(key)
            if credentials is None:
                credentials = session.get_credentials()
                if credentials is None:
                    return session
                self._by_environment[key] = credentials
        return session_with(credentials, session)


_CREDENTIALS = _SharedCredentials()


def shared_session() -> botocore.session.Session:
    """A session signing with the process's one set of credentials (the standard
    chain's, resolved once): a mapping's AssumeRole is made with it (aws/assume.py)."""
    return _CREDENTIALS.session()


def session_with(
    credentials: Any, session: botocore.session.Session | None = None
) -> botocore.session.Session:
    """A botocore session whose clients sign with `credentials` and nothing else (no
    fallback to another source if they fail): the shared ones, or a mapping's role's."""
    session = session or botocore.session.get_session()
    resolver = botocore.credentials.CredentialResolver(providers=[_Resolved(credentials)])
    session.register_component("credential_provider", resolver)
    return session


def epoch_timestamp(value: Any) -> datetime.datetime:
    """botocore's timestamp parser for the epoch seconds the JSON APIs send, in UTC.

    botocore's own asks the platform's local time zone for every timestamp: two thirds
    of the time it takes to parse a ListInferenceComponents page of 100 (5.5 ms -> 1.8
    ms), held under the GIL while the event loop waits. The instant is the same; any
    other form still goes to botocore's parser."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    parsed: datetime.datetime = botocore.utils.parse_timestamp(value)
    return parsed


def default_client_factory(region: str, *, session: botocore.session.Session | None = None) -> Any:
    """A boto3 client using the standard credential chain and AWS_ENDPOINT_URL_SAGEMAKER,
    built from the pruned service model (it can make only the allowed calls).

    botocore's standard retry mode already retries throttling and 5xx a few
    times with jittered backoff; what is left over reaches us as RETRYABLE.
    """
    return default_service_client_factory(SAGEMAKER, region, pool=64, session=session)


def default_service_client_factory(
    service: str,
    region: str,
    *,
    pool: int = 16,
    session: botocore.session.Session | None = None,
) -> Any:
    """A boto3 client of ``service`` configured the same way (the endpoint comes from
    AWS_ENDPOINT_URL_<SERVICE>, e.g. ..._APPLICATION_AUTO_SCALING). ``session``: one whose
    credentials are a mapping's role (aws/assume.py); by default the standard chain."""
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=pool,
        user_agent_extra="sagemaker-ic-operator",
    )
    session = session or _CREDENTIALS.session()
    parsers = session.get_component("response_parser_factory")
    parsers.set_parser_defaults(timestamp_parser=epoch_timestamp)
    if service == SAGEMAKER:
        # the pruned service model: the client can make only the allowed calls
        session.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=session).client(
        service, region_name=region, config=config
    )
