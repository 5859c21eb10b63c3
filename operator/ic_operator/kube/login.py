"""Sign in to the Kubernetes API from a pod, the way client-go's rest.InClusterConfig does.

kopf's own `login_with_service_account` always dials https://kubernetes.default.svc
and ignores KUBERNETES_SERVICE_HOST/PORT, so a pod without cluster DNS (hostNetwork,
some CNI set-ups, a node whose resolver is not the cluster's) cannot sign in. The
kubelet sets those two variables in every container; they are the address to use.

The token is a projected ServiceAccount token that the kubelet rewrites before it
expires (at 80% of its lifetime). kopf calls the login handlers again when a request
gets 401 and when the credentials' `expiration` passes, so the file is re-read on
every call and `expiration` is set to a point after the kubelet's rewrite and
before the old token's end: the operator switches to the new token without ever
sending an expired one. The token itself is never logged.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path

import kopf

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# When the kubelet rewrites the file (80%) and when the old token ends (100%):
# re-read in between. Tokens kept valid for a year by the API server's
# --service-account-extend-token-expiration are still re-read hourly.
REFRESH_AT = 0.9
MAX_REFRESH = datetime.timedelta(hours=1)
# A token read late (past REFRESH_AT, the kubelet behind) is re-read this soon, not at
# once: kopf drops credentials whose expiration has passed, and would loop.
MIN_REFRESH = datetime.timedelta(minutes=1)


def server_url(environ: Mapping[str, str]) -> str:
    """https://host:port from the kubelet's variables; kopf's DNS name if they are absent."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "") or "443"
    if not host:
        return "https://kubernetes.default.svc"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"https://{host}:{port}"


def refresh_time(token: str, now: datetime.datetime) -> datetime.datetime | None:
    """When to read the token file again, from the JWT's iat/exp; None if not a JWT.

    The claims are read, not verified: the API server verifies the token, this only
    schedules the next read of a file we already trust.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        issued = datetime.datetime.fromtimestamp(float(claims["iat"]), datetime.UTC)
        expires = datetime.datetime.fromtimestamp(float(claims["exp"]), datetime.UTC)
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None
    return max(min(issued + (expires - issued) * REFRESH_AT, now + MAX_REFRESH), now + MIN_REFRESH)


def in_cluster(
    *,
    settings: kopf.OperatorSettings,
    directory: Path = SERVICE_ACCOUNT_DIR,
    environ: Mapping[str, str] = os.environ,
    now: datetime.datetime | None = None,
    **_: object,
) -> kopf.ConnectionInfo | None:
    """A kopf login handler: the pod's ServiceAccount, or None outside a pod."""
    token_file = directory / "token"
    if not token_file.is_file():
        return None
    token = token_file.read_text(encoding="utf-8").strip()
    ca_file = directory / "ca.crt"
    namespace_file = directory / "namespace"
    namespace = (
        namespace_file.read_text(encoding="utf-8").strip() if namespace_file.is_file() else ""
    )
    return kopf.ConnectionInfo(
        server=server_url(environ),
        ca_path=str(ca_file) if ca_file.is_file() else None,
        token=token or None,
        default_namespace=namespace or None,
        trust_env=settings.networking.trust_env,
        expiration=refresh_time(token, now or datetime.datetime.now(datetime.UTC)),
    )
