"""Who is calling: the credentials the emulator issued, and the principals they belong to.

Long-term access keys are made through the admin API for an IAM user; session credentials
(an access key, a secret and a session token that expires) for an assumed role, by STS or
the admin API. Expiry is wall-clock time, not the scaled clock: clients compare the
`Expiration` they are given with their own clock to decide when to refresh (botocore's
refreshable credentials do), so a scaled expiry would expire credentials the client still
believes fresh. Identities survive `/_emulator/reset`, as IAM survives deleting resources.
"""

from __future__ import annotations

import secrets
import string
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .iam_policy import IdentityPolicy
from .trust import TrustPolicy
from .web_identity import OidcProvider

_KEY_ALPHABET = string.ascii_uppercase + "234567"  # AWS key ids are base32-like
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class Principal:
    """The caller as GetCallerIdentity reports it, and the call log records it."""

    account_id: str
    arn: str
    user_id: str
    role_arn: str | None = None  # for a role session: the role (trust policies name it)

    def to_json(self) -> dict[str, str]:
        return {"account": self.account_id, "arn": self.arn, "user_id": self.user_id}


# The principal of the call being handled, for the handlers that answer with it (STS). Set by
# the front around each handler; handlers are synchronous, so no other call interleaves.
CALLER: ContextVar[Principal] = ContextVar("caller")


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    principal: Principal
    session_token: str | None = None
    expires: float | None = None  # epoch seconds, wall clock; None for long-term keys
    tags: dict[str, str] = field(default_factory=dict)  # session tags

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Arn": self.principal.arn,
            "Account": self.principal.account_id,
            "UserId": self.principal.user_id,
        }
        if self.session_token is not None:
            out["SessionToken"] = self.session_token
            out["Expiration"] = self.expires
        return out


@dataclass
class Role:
    account_id: str
    name: str
    arn: str
    trust: TrustPolicy
    max_session_duration: int = 3600  # seconds; IAM's default (doc)
    policies: list[IdentityPolicy] = field(default_factory=list)  # its identity policies


@dataclass
class Identities:
    """Every credential the emulator issued, by access key id, the policies of users and
    roles, and the two switches: verify signatures, authorize against the policies."""

    partition: str
    verify: bool = False
    authorize: bool = False
    credentials: dict[str, Credential] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)  # principal ARN -> unique id
    roles: dict[str, Role] = field(default_factory=dict)  # by ARN
    providers: dict[str, OidcProvider] = field(default_factory=dict)  # by ARN
    # What a session lasts when its request names no duration: STS's 3600 (doc). The admin
    # API shortens it (`PUT /_emulator/session-duration`, pod_identity.py) so a client's
    # refresh is seen in minutes rather than an hour.
    default_session_seconds: float = 3600
    user_policies: dict[str, list[IdentityPolicy]] = field(default_factory=dict)  # by ARN
    service_linked_roles: set[str] = field(default_factory=set)  # ARNs that exist

    def root(self, account_id: str) -> Principal:
        """Whom an unverified call is attributed to when its key is not one we issued."""
        return Principal(account_id, f"arn:{self.partition}:iam::{account_id}:root", account_id)

    def _unique_id(self, arn: str, prefix: str) -> str:
        return self.user_ids.setdefault(arn, prefix + _random(_KEY_ALPHABET, 17))

    def user_key(
        self, account_id: str, user: str, policies: list[IdentityPolicy] | None = None
    ) -> Credential:
        """A new long-term access key for the IAM user `user` (created on first use); given
        `policies`, they replace the user's identity policies."""
        arn = f"arn:{self.partition}:iam::{account_id}:user/{user}"
        if policies is not None:
            self.user_policies[arn] = policies
        principal = Principal(account_id, arn, self._unique_id(arn, "AIDA"))
        return self._store(Credential("AKIA" + _random(_KEY_ALPHABET, 16), _secret(), principal))

    def put_role(
        self,
        account_id: str,
        name: str,
        trust: TrustPolicy,
        max_session_duration: int = 3600,
        policies: list[IdentityPolicy] | None = None,
    ) -> Role:
        arn = f"arn:{self.partition}:iam::{account_id}:role/{name}"
        self._unique_id(arn, "AROA")
        role = Role(account_id, name, arn, trust, max_session_duration, list(policies or []))
        self.roles[arn] = role
        return role

    def provider_arn(self, account_id: str, issuer: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:oidc-provider/{issuer.removeprefix('https://')}"

    def role_session(
        self,
        account_id: str,
        role: str,
        session: str,
        duration_seconds: float,
        tags: dict[str, str] | None = None,
    ) -> Credential:
        """Session credentials for `role` as session `session`, valid for the duration."""
        role_arn = f"arn:{self.partition}:iam::{account_id}:role/{role}"
        principal = Principal(
            account_id,
            f"arn:{self.partition}:sts::{account_id}:assumed-role/{role}/{session}",
            f"{self._unique_id(role_arn, 'AROA')}:{session}",
            role_arn,
        )
        return self._store(
            Credential(
                "ASIA" + _random(_KEY_ALPHABET, 16),
                _secret(),
                principal,
                session_token=_random(_SECRET_ALPHABET, 356),
                expires=time.time() + duration_seconds,
                tags=dict(tags or {}),
            )
        )

    def policies_of(self, principal: Principal) -> list[IdentityPolicy] | None:
        """The identity policies that bind `principal`; None for the account's root, which
        no identity policy limits (doc: IAM User Guide, "AWS account root user")."""
        if principal.arn == self.root(principal.account_id).arn:
            return None
        if principal.role_arn is not None:
            role = self.roles.get(principal.role_arn)
            return list(role.policies) if role is not None else []
        return list(self.user_policies.get(principal.arn, []))

    def restore(
        self, issued: dict[str, Any], policies: list[IdentityPolicy] | None = None
    ) -> Credential:
        """A credential this emulator (or an earlier run of it) issued, from its admin
        answer: a restarted emulator is told the keys that were valid before, as
        SageMaker's restart would not touch IAM; given `policies`, they replace the user's
        (a role's are set with its role). Raises KeyError/TypeError/ValueError on a bad
        answer."""
        arn = str(issued["Arn"])
        role_arn = None
        if ":assumed-role/" in arn:
            prefix, _, rest = arn.partition(":assumed-role/")
            role_arn = prefix.replace(":sts::", ":iam::") + ":role/" + rest.split("/")[0]
        if policies is not None:
            if role_arn is not None:
                raise ValueError("a role's policies are set with PUT /_emulator/roles/{name}")
            self.user_policies[arn] = policies
        principal = Principal(str(issued["Account"]), arn, str(issued["UserId"]), role_arn)
        self.user_ids.setdefault(arn, principal.user_id.split(":")[0])
        token, expires = issued.get("SessionToken"), issued.get("Expiration")
        return self._store(
            Credential(
                str(issued["AccessKeyId"]),
                str(issued["SecretAccessKey"]),
                principal,
                session_token=None if token is None else str(token),
                expires=None if expires is None else float(expires),
            )
        )

    def _store(self, credential: Credential) -> Credential:
        self.credentials[credential.access_key_id] = credential
        return credential

    def forget(self) -> None:
        """Every credential, role, policy and service-linked role gone (the switches stay
        as they are)."""
        self.credentials.clear()
        self.user_ids.clear()
        self.roles.clear()
        self.providers.clear()
        self.user_policies.clear()
        self.service_linked_roles.clear()

    def revoke(self, access_key_id: str) -> bool:
        return self.credentials.pop(access_key_id, None) is not None


def _secret() -> str:
    return _random(_SECRET_ALPHABET, 40)


# The refusals, in the JSON services' vocabulary; the query services (STS) and CloudWatch's
# query-compatible errors translate them (QUERY_AUTH_ERRORS). Grades in docs/emulator.md.
def unknown_key() -> ApiError:
    return ApiError(
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )


def bad_signature() -> ApiError:
    return ApiError(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details.",
    )


def expired_token() -> ApiError:
    return ApiError(
        "ExpiredTokenException", "The security token included in the request is expired"
    )


def missing_token() -> ApiError:
    return ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")


def incomplete_signature(message: str) -> ApiError:
    return ApiError("IncompleteSignatureException", message)


# JSON code -> (query code, HTTP status) for STS and CloudWatch's x-amzn-query-error.
QUERY_AUTH_ERRORS: dict[str, tuple[str, int]] = {
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "ExpiredTokenException": ("ExpiredToken", 403),
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
}
