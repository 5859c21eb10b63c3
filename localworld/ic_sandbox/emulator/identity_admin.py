"""The identity part of the admin API: the two switches, credentials, roles and policies.

`PUT /_emulator/identity {"verify": true}` turns SigV4 verification on (off by default, so
any credentials do, as before); `{"authorize": true}` evaluates every SageMaker, Application
Auto Scaling and CloudWatch call against the caller's identity policies (authorization.py;
off by default). `POST /_emulator/access-keys` issues a long-term key for an IAM user
(`{"user": NAME, "policies": [DOC, ...]}`, the policies replacing the user's) or session
credentials for a role (`{"role": NAME, "session_name": S, "duration_seconds": N}`, any
positive duration, so tests can expire one quickly); `PUT /_emulator/access-keys/{id}` with
an earlier answer restores that credential (a restarted emulator told what it had issued;
with `policies`, a user's identity policies too; roles are put again with their own call);
`DELETE /_emulator/access-keys/{id}` revokes one, `DELETE /_emulator/identity` every
credential, role, policy and service-linked role (`/_emulator/reset` keeps them, as deleting
resources keeps IAM). `PUT /_emulator/roles/{name} {"trust_policy": DOC,
"max_session_duration": N, "policies": [DOC, ...]}` creates or replaces a role STS lets
principals assume, with its identity policies; `PUT /_emulator/oidc-providers` registers the
issuer AssumeRoleWithWebIdentity trusts. `account_id` defaults to the emulator's account.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .iam_policy import IdentityPolicy
from .identity import Identities
from .trust import TrustPolicy
from .web_identity import STS_AUDIENCE, KeysUnavailable, OidcProvider, issuer_keys

# IAM's bounds for a role's MaxSessionDuration, in seconds (doc: IAM CreateRole)
SESSION_BOUNDS = (3600, 43200)

IDENTITIES_KEY = web.AppKey("identities", Identities)
ACCOUNT_KEY = web.AppKey("account_id", str)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _name(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _strings(body: dict[str, Any], key: str, default: list[str]) -> list[str] | None:
    """`body[key]` (or the default when absent) if it is a list of strings, else None."""
    value = body.get(key, default)
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value if ok else None


def _policies(body: dict[str, Any]) -> list[IdentityPolicy] | None:
    """The `policies` of a request body, None when it has none; ValueError when malformed."""
    value = body.get("policies")
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("policies must be a list of policy documents")
    return [IdentityPolicy.parse(document) for document in value]


_SWITCHES = ("verify", "authorize")


async def get_identity(request: web.Request) -> web.Response:
    identities = request.app[IDENTITIES_KEY]
    return web.json_response(
        {
            "verify": identities.verify,
            "authorize": identities.authorize,
            "credentials": len(identities.credentials),
            "service_linked_roles": sorted(identities.service_linked_roles),
        }
    )


async def put_identity(request: web.Request) -> web.Response:
    body = await _object(request)
    given = {k: v for k, v in (body or {}).items() if k in _SWITCHES}
    if body is None or not given or set(body) - set(_SWITCHES):
        return _bad('body must be {"verify": true|false, "authorize": true|false} (either)')
    if not all(isinstance(v, bool) for v in given.values()):
        return _bad("verify and authorize are true or false")
    identities = request.app[IDENTITIES_KEY]
    identities.verify = given.get("verify", identities.verify)
    identities.authorize = given.get("authorize", identities.authorize)
    return web.json_response({"verify": identities.verify, "authorize": identities.authorize})


async def delete_identity(request: web.Request) -> web.Response:
    request.app[IDENTITIES_KEY].forget()
    return web.json_response({"forgotten": True})


async def post_access_key(request: web.Request) -> web.Response:
    body = await _object(request)
    if body is None:
        return _bad("body must be a JSON object")
    identities = request.app[IDENTITIES_KEY]
    account = _name(body, "account_id") or request.app[ACCOUNT_KEY]
    user, role = _name(body, "user"), _name(body, "role")
    if (user is None) == (role is None):
        return _bad('give exactly one of "user" or "role"')
    try:
        policies = _policies(body)
    except (TypeError, ValueError) as exc:
        return _bad(f"policies: {exc}")
    if user is not None:
        return web.json_response(identities.user_key(account, user, policies).to_json())
    if policies is not None:
        return _bad("a role's policies are set with PUT /_emulator/roles/{name}")
    duration = body.get("duration_seconds", 3600)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
        return _bad("duration_seconds must be a positive number")
    session = _name(body, "session_name") or "emulator-admin"
    assert role is not None
    return web.json_response(identities.role_session(account, role, session, duration).to_json())


async def put_access_key(request: web.Request) -> web.Response:
    body = await _object(request)
    if body is None or body.get("AccessKeyId") != request.match_info["key"]:
        return _bad("body must be the admin API's answer for this access key")
    try:
        credential = request.app[IDENTITIES_KEY].restore(body, _policies(body))
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"not an issued credential: {exc}")
    return web.json_response(credential.to_json())


async def delete_access_key(request: web.Request) -> web.Response:
    if not request.app[IDENTITIES_KEY].revoke(request.match_info["key"]):
        return _bad("no such access key", 404)
    return web.json_response({"revoked": request.match_info["key"]})


async def put_role(request: web.Request) -> web.Response:
    body = await _object(request)
    if body is None:
        return _bad("body must be a JSON object")
    try:
        trust = TrustPolicy.parse(body.get("trust_policy"))
    except (TypeError, ValueError) as exc:
        return _bad(f"trust_policy: {exc}")
    try:
        policies = _policies(body)
    except (TypeError, ValueError) as exc:
        return _bad(f"policies: {exc}")
    longest = body.get("max_session_duration", SESSION_BOUNDS[0])
    if not isinstance(longest, int) or not SESSION_BOUNDS[0] <= longest <= SESSION_BOUNDS[1]:
        return _bad("max_session_duration must be an integer from 3600 to 43200")
    account = _name(body, "account_id") or request.app[ACCOUNT_KEY]
    identities = request.app[IDENTITIES_KEY]
    role = identities.put_role(account, request.match_info["name"], trust, longest, policies)
    return web.json_response(
        {"Arn": role.arn, "RoleName": role.name, "MaxSessionDuration": longest}
    )


async def put_oidc_provider(request: web.Request) -> web.Response:
    """`{"issuer", "discovery_url", "ca_pem", "bearer_token", "client_ids"}`: register (or
    refresh) an OIDC provider, fetching its JWKS now (web_identity.py)."""
    body = await _object(request)
    issuer = _name(body or {}, "issuer")
    if body is None or issuer is None or not issuer.startswith("https://"):
        return _bad('body must name an "issuer" https URL')
    client_ids = _strings(body, "client_ids", [STS_AUDIENCE])
    if client_ids is None:
        return _bad("client_ids must be a list of strings")
    try:
        keys = await issuer_keys(issuer, body)
    except KeysUnavailable as exc:
        return _bad(str(exc), 502)
    identities = request.app[IDENTITIES_KEY]
    account = _name(body, "account_id") or request.app[ACCOUNT_KEY]
    arn = identities.provider_arn(account, issuer)
    identities.providers[arn] = OidcProvider(issuer, arn, client_ids, keys)
    return web.json_response({"Arn": arn, "keys": len(keys.keys)})


def add_routes(app: web.Application, identities: Identities, account_id: str) -> None:
    app[IDENTITIES_KEY] = identities
    app[ACCOUNT_KEY] = account_id
    app.router.add_get("/_emulator/identity", get_identity)
    app.router.add_put("/_emulator/identity", put_identity)
    app.router.add_delete("/_emulator/identity", delete_identity)
    app.router.add_post("/_emulator/access-keys", post_access_key)
    app.router.add_put("/_emulator/access-keys/{key}", put_access_key)
    app.router.add_delete("/_emulator/access-keys/{key}", delete_access_key)
    app.router.add_put("/_emulator/roles/{name}", put_role)
    app.router.add_put("/_emulator/oidc-providers", put_oidc_provider)
