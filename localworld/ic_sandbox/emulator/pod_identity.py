"""EKS Pod Identity: the node agent's credentials endpoint, and EKS Auth behind it.

On EKS a pod with an associated service account gets `AWS_CONTAINER_CREDENTIALS_FULL_URI=
http://169.254.170.23/v1/credentials` and a projected token (audience
`pods.eks.amazonaws.com`) whose path is `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`; the SDK
GETs the URI with the token as `Authorization`; the agent (a DaemonSet on the node) passes
it to EKS Auth `AssumeRoleForPodIdentity`, which verifies it, finds the association of the
token's namespace and service account, and assumes its role as the service principal
`pods.eks.amazonaws.com` with session tags (doc: EKS User Guide, "Pod Identity"; the agent's
source, github.com/aws/eks-pod-identity-agent). The emulator is both: `GET /v1/credentials`
on its own listener answers as the agent does; the node suite routes 169.254.170.23:80 to
it (ic_sandbox.node.network.NodeNetwork.forward).

The cluster (its name, and the issuer whose keys sign its tokens, fetched like an OIDC
provider's: web_identity.py) and the associations are set through the admin API:
`PUT /_emulator/pod-identity`, `PUT /_emulator/pod-identity-associations`. Every answer,
given or refused, is recorded in the call log as `EKSAuth.AssumeRoleForPodIdentity`
(never the token, never the secret).
"""

from __future__ import annotations

import datetime
import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError
from .identity import Credential, Identities
from .identity_admin import _bad, _name, _object, _strings
from .state import EmulatorState
from .trust import Context, Requester
from .web_identity import KeysUnavailable, OidcProvider, issuer_keys

POD_AUDIENCE = "pods.eks.amazonaws.com"  # the token's audience and the service principal
AGENT_HOSTS = ("169.254.170.23", "fd00:ec2::23")  # where the agent listens (its source)
# EKS Auth's codes and HTTP statuses (the eks-auth service model), as the agent relays them.
STATUS = {
    "InvalidTokenException": 400,
    "ExpiredTokenException": 400,
    "AccessDeniedException": 400,
    "ResourceNotFoundException": 404,
}
TOKEN_CODES = {  # what web_identity.py raises -> EKS Auth's code
    "InvalidIdentityToken": "InvalidTokenException",
    "IdentityTokenExpired": "ExpiredTokenException",
}
SESSION_NAME_LIMIT = 64  # STS's RoleSessionName length (doc)


class AgentError(Exception):
    """A refusal, as the agent writes it: plain text with EKS Auth's status."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or f"HTTP {status}"  # for the call log


def eks_auth_error(code: str, message: str) -> AgentError:
    """The agent's text for an EKS Auth error: `(Code): message, fault: client` (its
    HandleCredentialFetchingError; the request id prefix is left out)."""
    return AgentError(STATUS[code], f"({code}): {message}, fault: client", code)


@dataclass(frozen=True)
class Association:
    namespace: str
    service_account: str
    role_arn: str
    association_id: str
    disable_session_tags: bool = False


@dataclass
class PodIdentity:
    """The cluster the agent serves, its associations, and the credentials they get."""

    world: EmulatorState
    cluster_name: str | None = None
    provider: OidcProvider | None = None
    target_hosts: tuple[str, ...] = AGENT_HOSTS
    associations: dict[tuple[str, str], Association] = field(default_factory=dict)

    @property
    def identities(self) -> Identities:
        return self.world.identities

    @property
    def cluster_arn(self) -> str:
        w, partition = self.world, self.identities.partition
        return f"arn:{partition}:eks:{w.region}:{w.account_id}:cluster/{self.cluster_name}"

    def credentials(self, host: str, authorization: str) -> dict[str, Any]:
        """The agent's answer to one `GET /v1/credentials`, or the AgentError it refuses
        with; recorded in the call log either way."""
        record: dict[str, Any] = {"clusterName": self.cluster_name}
        error: str | None = None
        assumed: Credential | None = None
        try:
            assumed = self._assume(host, authorization, record)
        except AgentError as exc:
            error = exc.code
            raise
        finally:
            self.world.calls.append(
                {
                    "service": "EKSAuth",
                    "operation": "AssumeRoleForPodIdentity",
                    "request": record,
                    "error": error,
                    "lost": None,
                    "stale": False,
                    "principal": None,  # the token says who calls; nothing is signed
                    "assumed": assumed.principal.to_json() if assumed else None,
                    "at": self.world.clock.now(),
                }
            )
        assert assumed is not None and assumed.expires is not None
        expires = datetime.datetime.fromtimestamp(assumed.expires, datetime.UTC)
        return {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "Token": assumed.session_token,
            "AccountId": assumed.principal.account_id,
            "Expiration": expires.isoformat().replace("+00:00", "Z"),
        }

    def _assume(self, host: str, authorization: str, record: dict[str, Any]) -> Credential:
        if _bare_host(host) not in self.target_hosts:
            raise AgentError(
                403,
                "Access Denied. Called agent through invalid address, please use either "
                f"[{' '.join(self.target_hosts)}] address not {_bare_host(host)}",
            )
        if not authorization:
            raise AgentError(400, "Service account token cannot be empty")
        if self.provider is None or self.cluster_name is None:
            raise eks_auth_error("ResourceNotFoundException", "No cluster is registered")
        try:
            claims = self.provider.claims(authorization)
        except ApiError as exc:
            code = TOKEN_CODES.get(exc.code, "InvalidTokenException")
            raise eks_auth_error(code, exc.message) from exc
        bound = claims.get("kubernetes.io") or {}
        namespace = bound.get("namespace", "")
        account = (bound.get("serviceaccount") or {}).get("name", "")
        pod = bound.get("pod") or {}
        record.update(namespace=namespace, serviceAccount=account, podName=pod.get("name"))
        if not pod.get("name"):
            # inf: EKS Auth takes only a pod's projected token (its docs name pod tags)
            raise eks_auth_error("InvalidTokenException", "The token is not bound to a pod")
        association = self.associations.get((namespace, account))
        if association is None:
            raise eks_auth_error(
                "ResourceNotFoundException",
                f"No Pod Identity Association for the service account {namespace}/{account}",
            )
        record["associationId"] = association.association_id
        return self._session(association, pod)

    def _session(self, association: Association, pod: dict[str, Any]) -> Credential:
        role = self.identities.roles.get(association.role_arn)
        tags = {} if association.disable_session_tags else self._tags(association, pod)
        session = f"eks-{self.cluster_name}-{pod['name']}-{uuid.uuid4()}"[:SESSION_NAME_LIMIT]
        context: Context = {
            "sts:rolesessionname": [session],
            **{f"aws:requesttag/{k}": [v] for k, v in tags.items()},
            **({"aws:tagkeys": list(tags)} if tags else {}),
        }
        for action in ["sts:AssumeRole"] + (["sts:TagSession"] if tags else []):
            who = Requester(role.account_id if role else "", frozenset(), service=POD_AUDIENCE)
            partition = self.identities.partition
            if role is None or not role.trust.allows(action, who, context, partition):
                raise eks_auth_error(
                    "AccessDeniedException",
                    f"{POD_AUDIENCE} is not authorized to perform: {action} on resource: "
                    f"{association.role_arn}",
                )
        assert role is not None  # the loop refused a missing role
        return self.identities.role_session(
            role.account_id, role.name, session, self.identities.default_session_seconds, tags
        )

    def _tags(self, association: Association, pod: dict[str, Any]) -> dict[str, str]:
        """The six session tags EKS Pod Identity adds (doc: EKS User Guide, "List of session
        tags added by EKS Pod Identity")."""
        return {
            "eks-cluster-arn": self.cluster_arn,
            "eks-cluster-name": str(self.cluster_name),
            "kubernetes-namespace": association.namespace,
            "kubernetes-service-account": association.service_account,
            "kubernetes-pod-name": pod["name"],
            "kubernetes-pod-uid": pod.get("uid", ""),
        }


def _bare_host(host: str) -> str:
    """The Host header without its port or IPv6 brackets."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.rpartition(":")[0] if ":" in host else host


POD_IDENTITY_KEY = web.AppKey("pod_identity", PodIdentity)


async def get_credentials(request: web.Request) -> web.Response:
    """The agent's `GET /v1/credentials`."""
    agent = request.app[POD_IDENTITY_KEY]
    try:
        answer = agent.credentials(request.host, request.headers.get("Authorization", ""))
    except AgentError as exc:
        return web.Response(text=exc.message + "\n", status=exc.status)
    return web.json_response(answer)


async def put_cluster(request: web.Request) -> web.Response:
    """`{"cluster_name", "issuer", "discovery_url", "ca_pem", "bearer_token",
    "target_hosts"}`: the cluster the agent serves and the issuer of its tokens (keys fetched
    now, as for `PUT /_emulator/oidc-providers`); `target_hosts` replaces the addresses the
    agent answers on (169.254.170.23 and fd00:ec2::23), e.g. for a test that calls the
    emulator's own address."""
    body = await _object(request) or {}
    cluster, issuer = _name(body, "cluster_name"), _name(body, "issuer")
    if cluster is None or issuer is None or not issuer.startswith("https://"):
        return _bad('body must name a "cluster_name" and an "issuer" https URL')
    hosts = _strings(body, "target_hosts", list(AGENT_HOSTS))
    if hosts is None:
        return _bad("target_hosts must be a list of strings")
    try:
        keys = await issuer_keys(issuer, body)
    except KeysUnavailable as exc:
        return _bad(str(exc), 502)
    agent = request.app[POD_IDENTITY_KEY]
    agent.cluster_name = cluster
    agent.provider = OidcProvider(issuer, issuer, [POD_AUDIENCE], keys)
    agent.target_hosts = tuple(hosts)
    return web.json_response({"cluster_arn": agent.cluster_arn, "keys": len(keys.keys)})


async def put_association(request: web.Request) -> web.Response:
    """`{"namespace", "service_account", "role_arn", "disable_session_tags"}`: create or
    replace the association of one service account (at most one each, as in EKS)."""
    body = await _object(request) or {}
    namespace, account = _name(body, "namespace"), _name(body, "service_account")
    role_arn = _name(body, "role_arn")
    if namespace is None or account is None or role_arn is None:
        return _bad('body must name "namespace", "service_account" and "role_arn"')
    association = Association(
        namespace,
        account,
        role_arn,
        "a-" + uuid.uuid4().hex[:17],
        bool(body.get("disable_session_tags", False)),
    )
    request.app[POD_IDENTITY_KEY].associations[(namespace, account)] = association
    return web.json_response({"associationId": association.association_id})


async def put_session_duration(request: web.Request) -> web.Response:
    """`{"seconds": N}`: how long sessions last when nothing names a duration (STS without
    DurationSeconds, Pod Identity); 3600 as on AWS until changed. Not an AWS setting: it lets
    a test see a client refresh its credentials in minutes (docs/emulator.md)."""
    body = await _object(request) or {}
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        return _bad('body must be {"seconds": a positive number}')
    request.app[POD_IDENTITY_KEY].identities.default_session_seconds = seconds
    return web.json_response({"seconds": seconds})


def add_routes(app: web.Application, world: EmulatorState) -> None:
    app[POD_IDENTITY_KEY] = PodIdentity(world)
    app.router.add_get("/v1/credentials", get_credentials)
    app.router.add_put("/_emulator/pod-identity", put_cluster)
    app.router.add_put("/_emulator/pod-identity-associations", put_association)
    app.router.add_put("/_emulator/session-duration", put_session_duration)
