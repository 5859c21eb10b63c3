"""AWS STS over the query protocol: GetCallerIdentity and AssumeRole.

AssumeRole asks the role's trust policy (trust.py) whether the caller may `sts:AssumeRole`,
with the request's `sts:ExternalId`, `sts:RoleSessionName` and session tags in the condition
context, and, when tags are passed, whether it may also `sts:TagSession` (doc: IAM User
Guide, "Passing session tags in AWS STS"). The session lasts `DurationSeconds` (900 to the
role's MaxSessionDuration; at most an hour when a role session assumes a role, "role
chaining", doc) and its credentials are ones the signature check then accepts.
"""

from __future__ import annotations

from .errors import ApiError
from .identity import CALLER, Credential, Identities, Principal, Role
from .protocols import Handler, Json, Rendered, query_error, render_query
from .trust import Context, Requester
from .web_identity import invalid_token, unverified_issuer

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"

ROLE_CHAINING_LIMIT = 3600
# STS's own codes for the emulator-wide ones, and for a web identity token past its expiry
# (the model's ExpiredTokenException, 400), which is not the expired *session* of a signed
# request (ExpiredToken, 403): both are "expired token", in different places.
STS_CODES = {
    "ValidationException": ("ValidationError", 400),
    "IdentityTokenExpired": ("ExpiredTokenException", 400),
    "InvalidIdentityToken": ("InvalidIdentityToken", 400),
}


def render_sts(err: ApiError) -> Rendered:
    if err.code in STS_CODES:
        return query_error(*STS_CODES[err.code], err.message)
    return render_query(err)


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationError", message)


def access_denied(caller: Principal, action: str, role_arn: str) -> ApiError:
    """AWS's message names the caller, the action and the role (obs)."""
    return ApiError(
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}",
    )


def session_json(credential: Credential) -> Json:
    return {
        "Credentials": {
            "AccessKeyId": credential.access_key_id,
            "SecretAccessKey": credential.secret_access_key,
            "SessionToken": credential.session_token,
            "Expiration": credential.expires,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": credential.principal.user_id,
            "Arn": credential.principal.arn,
        },
    }


class SecurityTokenService:
    def __init__(self, identities: Identities) -> None:
        self.identities = identities
        self.handlers: dict[str, Handler] = {
            "GetCallerIdentity": self.get_caller_identity,
            "AssumeRole": self.assume_role,
            "AssumeRoleWithWebIdentity": self.assume_role_with_web_identity,
        }

    def get_caller_identity(self, body: Json) -> Json:
        caller = CALLER.get()
        return {"UserId": caller.user_id, "Account": caller.account_id, "Arn": caller.arn}

    @staticmethod
    def _requester(caller: Principal) -> Requester:
        arns = {caller.arn} | ({caller.role_arn} if caller.role_arn else set())
        return Requester(caller.account_id, frozenset(arns))

    def role(self, arn: str, caller: Principal, action: str) -> Role:
        role = self.identities.roles.get(arn)
        if role is None:
            raise access_denied(caller, action, arn)
        return role

    def assume_role(self, body: Json) -> Json:
        caller = CALLER.get()
        role = self.role(body["RoleArn"], caller, "sts:AssumeRole")
        tags = {t["Key"]: t["Value"] for t in body.get("Tags", [])}
        context: Context = {
            "sts:rolesessionname": [body["RoleSessionName"]],
            "aws:principalarn": [caller.arn],
            "aws:principalaccount": [caller.account_id],
            **({"sts:externalid": [body["ExternalId"]]} if "ExternalId" in body else {}),
            **{f"aws:requesttag/{k}".lower(): [v] for k, v in tags.items()},
            **({"aws:tagkeys": list(tags)} if tags else {}),
        }
        who = self._requester(caller)
        partition = self.identities.partition
        if not role.trust.allows("sts:AssumeRole", who, context, partition):
            raise access_denied(caller, "sts:AssumeRole", role.arn)
        if tags and not role.trust.allows("sts:TagSession", who, context, partition):
            raise access_denied(caller, "sts:TagSession", role.arn)
        duration = self._duration(body, role, chained=caller.role_arn is not None)
        credential = self.identities.role_session(
            role.account_id, role.name, body["RoleSessionName"], duration, tags
        )
        return session_json(credential)

    def assume_role_with_web_identity(self, body: Json) -> Json:
        """IRSA's exchange: no signature, the token says who calls (web_identity.py)."""
        token = body["WebIdentityToken"]
        issuer = unverified_issuer(token)
        role = self.identities.roles.get(body["RoleArn"])
        if role is None:
            raise ApiError("AccessDenied", f"Not authorized to perform {WEB_IDENTITY}")
        provider = self.identities.providers.get(
            self.identities.provider_arn(role.account_id, issuer)
        )
        if provider is None:
            raise invalid_token(f"No OpenIDConnect provider found in your account for {issuer}")
        claims = provider.claims(token)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        context: Context = {
            f"{provider.host}:sub": [claims["sub"]],
            f"{provider.host}:aud": audiences,
            "sts:rolesessionname": [body["RoleSessionName"]],
        }
        who = Requester(role.account_id, frozenset(), federated=provider.arn)
        if not role.trust.allows(WEB_IDENTITY, who, context, self.identities.partition):
            raise ApiError("AccessDenied", f"Not authorized to perform {WEB_IDENTITY}")
        duration = self._duration(body, role, chained=False)
        credential = self.identities.role_session(
            role.account_id, role.name, body["RoleSessionName"], duration
        )
        return {
            **session_json(credential),
            "SubjectFromWebIdentityToken": claims["sub"],
            "Audience": audiences[0],
            "Provider": provider.issuer,
        }

    def _duration(self, body: Json, role: Role, *, chained: bool) -> float:
        duration: float = body.get("DurationSeconds", self.identities.default_session_seconds)
        if chained and duration > ROLE_CHAINING_LIMIT:
            raise validation_error(
                "The requested DurationSeconds exceeds the 1 hour session limit "
                "for roles assumed by role chaining."
            )
        if duration > role.max_session_duration:
            raise validation_error(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        return duration
