"""SigV4 verification: recompute a request's signature with botocore's own signer.

The request is rebuilt from what the client signed (its method, path, query, the headers it
lists in `SignedHeaders`, and the body) and handed to `botocore.auth.SigV4Auth` with the
secret the emulator issued for the access key, at the timestamp the client signed at. Using
the client library's signer means a mismatch is a real one, never a bug in a second
implementation. Errors are raised in the JSON services' vocabulary (identity.py).
"""

from __future__ import annotations

import calendar
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .errors import ApiError
from .identity import (
    Credential,
    Identities,
    bad_signature,
    expired_token,
    incomplete_signature,
    missing_token,
    unknown_key,
)

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Signed:
    """One request as its signer saw it."""

    method: str
    path_qs: str  # the raw path and query string, as sent
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(header: str) -> Authorization:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete_signature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    parts = dict(item.strip().partition("=")[::2] for item in rest.split(",") if "=" in item)
    missing = [key for key in ("Credential", "SignedHeaders", "Signature") if key not in parts]
    if missing:
        raise incomplete_signature(
            f"Authorization header requires '{missing[0]}' parameter. Authorization={header}"
        )
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise incomplete_signature(
            f"Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{parts['Credential']}'"
        )
    return Authorization(
        scope[0],
        scope[1],
        scope[2],
        scope[3],
        parts["SignedHeaders"].split(";"),
        parts["Signature"],
    )


def _epoch(amz_date: str) -> float:
    return float(calendar.timegm(time.strptime(amz_date, SIGV4_TIMESTAMP)))


def _stamp(moment: float) -> str:
    return time.strftime(SIGV4_TIMESTAMP, time.gmtime(moment))


def _check_time(amz_date: str, skew_minutes: int) -> None:
    """AWS's skew refusal: the code of a bad signature, with the times in the message."""
    now = time.time()
    try:
        signed_at = _epoch(amz_date)
    except ValueError as exc:
        raise incomplete_signature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ) from exc
    window = skew_minutes * 60
    if signed_at < now - window:
        raise ApiError(
            bad_signature().code,
            f"Signature expired: {amz_date} is now earlier than {_stamp(now - window)} "
            f"({_stamp(now)} - {skew_minutes} min.)",
        )
    if signed_at > now + window:
        raise ApiError(
            bad_signature().code,
            f"Signature not yet current: {amz_date} is still later than {_stamp(now + window)} "
            f"({_stamp(now)} + {skew_minutes} min.)",
        )


def verify(
    identities: Identities,
    request: Signed,
    *,
    signing_name: str | None,
    region: str,
    skew_minutes: int,
) -> Credential:
    """The credential that signed `request`, or the ApiError AWS would answer with."""
    header = request.headers.get("Authorization")
    if not header:
        raise missing_token()
    auth = parse_authorization(header)
    credential = identities.credentials.get(auth.access_key_id)
    if credential is None:
        raise unknown_key()
    amz_date = request.headers.get("X-Amz-Date", "")
    _check_time(amz_date, skew_minutes)
    if credential.session_token is not None:
        if request.headers.get("X-Amz-Security-Token") != credential.session_token:
            raise unknown_key()
        if credential.expires is not None and time.time() >= credential.expires:
            raise expired_token()
    if signing_name is not None and auth.service != signing_name:
        raise incomplete_signature(
            f"Credential should be scoped to correct service: '{signing_name}'. "
        )
    if auth.region != region:
        raise wrong_region(auth.region)
    if auth.date != amz_date[:8]:
        raise bad_signature()
    expected = _signature(request, auth, credential, amz_date)
    if not hmac.compare_digest(expected, auth.signature):
        raise bad_signature()
    return credential


def wrong_region(given: str) -> ApiError:
    return ApiError(
        bad_signature().code, f"Credential should be scoped to a valid region, not '{given}'. "
    )


def _signature(request: Signed, auth: Authorization, credential: Credential, amz_date: str) -> str:
    """botocore's signature over the headers the client said it signed."""
    wanted = {name.lower() for name in auth.signed_headers}
    headers = {k: v for k, v in request.headers.items() if k.lower() in wanted}
    aws = AWSRequest(
        method=request.method,
        url=f"http://{request.headers.get('Host', '')}{request.path_qs}",
        headers=headers,
        data=request.body,
    )
    aws.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(
            credential.access_key_id, credential.secret_access_key, credential.session_token
        ),
        auth.service,
        auth.region,
    )
    canonical = signer.canonical_request(aws)
    signature: str = signer.signature(signer.string_to_sign(aws, canonical), aws)
    return signature
