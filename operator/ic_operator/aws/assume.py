"""Credentials for a mapping's role: `sts:AssumeRole` made with the operator's own identity,
refreshable, one set per (role, namespace) shared by every client that acts for it.

botocore's refreshable credentials do the timing: they refresh in the advisory window
(15 minutes before expiry) under a lock, so however many components and threads use one
role, one AssumeRole runs per refresh and no call goes out with an expired session. The
request names who acts for whom, for CloudTrail and for the team role's trust policy
(docs/accounts.md "Credentials per account"): the session name is the cluster and the
namespace, the session tags the cluster, the namespace and the resource kind, and the
mapping's ExternalId goes with it when set.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.credentials

from ic_operator.aws.botocore_model import shared_session
from ic_operator.names import API_GROUP, KIND

# Session tags (keys as IAM conditions read them: aws:RequestTag/KEY, aws:PrincipalTag/KEY).
CLUSTER_TAG = f"{API_GROUP}/cluster"
NAMESPACE_TAG = f"{API_GROUP}/namespace"
KIND_TAG = f"{API_GROUP}/kind"
# STS: RoleSessionName is 2-64 characters of [\w+=,.@-] (STS API reference).
_SESSION_NAME_LIMIT = 64
_NOT_IN_SESSION_NAME = re.compile(r"[^\w+=,.@-]")

ClientCreator = Callable[..., Any]


@dataclass(frozen=True)
class RoleKey:
    """What one set of credentials is for: the role, its ExternalId, and the namespace it
    acts for ("" for the calls shared by every namespace of the role: the listings)."""

    role_arn: str
    external_id: str | None
    namespace: str


def session_name(cluster: str, namespace: str) -> str:
    """`CLUSTER.NAMESPACE` (or the cluster alone), in STS's alphabet and length."""
    raw = f"{cluster}.{namespace}" if namespace else cluster
    name = _NOT_IN_SESSION_NAME.sub("-", raw)[:_SESSION_NAME_LIMIT]
    return name if len(name) >= 2 else f"{name}-ic-operator"[:_SESSION_NAME_LIMIT]


def assume_role_request(cluster: str, key: RoleKey) -> dict[str, Any]:
    """The AssumeRole arguments besides RoleArn (botocore's fetcher adds it)."""
    tags = [{"Key": CLUSTER_TAG, "Value": cluster}, {"Key": KIND_TAG, "Value": KIND}]
    if key.namespace:
        tags.insert(1, {"Key": NAMESPACE_TAG, "Value": key.namespace})
    request: dict[str, Any] = {
        "RoleSessionName": session_name(cluster, key.namespace),
        "Tags": tags,
    }
    if key.external_id:
        request["ExternalId"] = key.external_id
    return request


class RoleCredentials:
    """Refreshable credentials per `RoleKey`, made on first use and kept for the process.

    ``source`` is the operator's own identity (the standard chain: IRSA, Pod Identity,
    keys); ``client_creator`` makes the STS client AssumeRole is sent with (botocore's
    ``Session.create_client``, its region and endpoint configured)."""

    def __init__(
        self,
        *,
        cluster: str,
        region: str,
        source: botocore.credentials.Credentials | None = None,
        client_creator: ClientCreator | None = None,
    ) -> None:
        self._cluster = cluster
        self._source = source  # the process's shared credentials, resolved when first needed
        self._region = region
        self._creator = client_creator
        self._by_key: dict[RoleKey, botocore.credentials.Credentials] = {}
        self._lock = threading.Lock()

    def get(self, key: RoleKey) -> botocore.credentials.Credentials:
        """The credentials for `key`; nothing is asked of STS until they are first used."""
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                if self._source is None or self._creator is None:
                    session = shared_session()
                    self._source = self._source or session.get_credentials()
                    self._creator = self._creator or functools.partial(
                        session.create_client, region_name=self._region
                    )
                fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
                    self._creator,
                    self._source,
                    key.role_arn,
                    extra_args=assume_role_request(self._cluster, key),
                )
                found = self._by_key[key] = botocore.credentials.DeferredRefreshableCredentials(
                    refresh_using=fetcher.fetch_credentials, method="assume-role"
                )
            return found
