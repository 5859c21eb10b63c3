"""AssumeRoleWithWebIdentity: OIDC providers and the tokens they sign (IRSA on EKS).

A provider is registered through the admin API with its issuer URL, where to fetch its
discovery document (a Kubernetes API server serves `/.well-known/openid-configuration`,
whose `issuer` need not resolve from here: the local control plane's is
`https://kubernetes.default.svc.cluster.local`), the CA that signs that server's
certificate, and optionally a bearer token: by default only service accounts may read the
discovery endpoints (the `system:service-account-issuer-discovery` ClusterRole is bound to
`system:serviceaccounts`), so anonymous access needs a binding the caller chooses. The
JWKS is fetched at registration and kept; a token signed by a key it lacks is refused
until the provider is registered again (AWS refetches; inf: the emulator's simplification).

Tokens are verified with PyJWT: signature (RS256 as EKS signs, ES256 as the local control
plane's P-256 key does), `iss`, `exp`, `nbf` and an audience among the provider's client
ids (`sts.amazonaws.com` by default). The role's trust policy then decides with the
provider as `Federated` principal and `<issuer-host>:sub` / `:aud` as condition keys
(doc: IAM User Guide, "Available keys for AWS web identity federation").
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from .errors import ApiError

ALGORITHMS = ["RS256", "ES256"]
STS_AUDIENCE = "sts.amazonaws.com"


def invalid_token(message: str) -> ApiError:
    return ApiError("InvalidIdentityToken", message)


@dataclass
class OidcProvider:
    issuer: str
    arn: str
    client_ids: list[str]
    keys: jwt.PyJWKSet

    @property
    def host(self) -> str:
        """The issuer without its scheme: the provider ARN's tail and the condition keys'
        prefix."""
        return self.issuer.removeprefix("https://")

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`, or the STS error for what is wrong with it."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next(k for k in self.keys.keys if kid is None or k.key_id == kid)
        except (jwt.PyJWTError, StopIteration) as exc:
            raise invalid_token(
                "Couldn't retrieve verification key from your identity provider"
            ) from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.client_ids,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(
                "IdentityTokenExpired",
                "Token expired: current date/time must be before the expiration date/time",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise invalid_token("Incorrect token audience") from exc
        except jwt.PyJWTError as exc:
            raise invalid_token(f"The web identity token is not valid: {exc}") from exc
        return claims


def unverified_issuer(token: str) -> str:
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise invalid_token("The web identity token is not a JWT") from exc
    if not isinstance(issuer, str):
        raise invalid_token("The web identity token has no issuer")
    return issuer


async def fetch_keys(
    issuer: str, discovery_url: str, ca_pem: str | None, bearer_token: str | None
) -> jwt.PyJWKSet:
    """The issuer's JWKS, by way of its discovery document (which must name the issuer)."""
    context: ssl.SSLContext | bool = ssl.create_default_context(cadata=ca_pem) if ca_pem else True
    headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        base = discovery_url.rstrip("/")
        async with session.get(f"{base}/.well-known/openid-configuration", ssl=context) as r:
            r.raise_for_status()
            discovery = await r.json(content_type=None)
        if discovery.get("issuer") != issuer:
            raise ValueError(f"discovery names issuer {discovery.get('issuer')!r}, not {issuer!r}")
        async with session.get(discovery["jwks_uri"], ssl=context) as r:
            r.raise_for_status()
            return jwt.PyJWKSet.from_dict(await r.json(content_type=None))


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched; the message says why."""


async def issuer_keys(issuer: str, where: dict[str, Any]) -> jwt.PyJWKSet:
    """The JWKS of `issuer`, fetched as an admin request body says (`discovery_url`,
    defaulting to the issuer; `ca_pem`; `bearer_token`): for OIDC providers (IRSA) and the
    Pod Identity cluster alike."""

    def text(key: str) -> str | None:
        value = where.get(key)
        return value if isinstance(value, str) and value else None

    try:
        return await fetch_keys(
            issuer, text("discovery_url") or issuer, text("ca_pem"), text("bearer_token")
        )
    except (OSError, ValueError, KeyError, aiohttp.ClientError) as exc:
        raise KeysUnavailable(f"could not fetch the issuer's keys: {exc}") from exc
