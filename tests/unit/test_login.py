"""The in-cluster login: the kubelet's address variables, the projected token's re-reads.

A tmp directory stands in for /var/run/secrets/kubernetes.io/serviceaccount and the
ConnectionInfo is kopf's real class. The kubeconfig fallback outside a pod is what
every e2e test's operator process signs in with.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import kopf
import pytest

from ic_operator.kube import login

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def _jwt(issued: datetime.datetime, lifetime: datetime.timedelta) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"iat": int(issued.timestamp()), "exp": int((issued + lifetime).timestamp())}
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def account(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text(_jwt(NOW, datetime.timedelta(hours=1)) + "\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "namespace").write_text("ic-operator-system\n")
    return tmp_path


def _login(directory: Path, environ: dict[str, str]) -> kopf.ConnectionInfo | None:
    return login.in_cluster(
        settings=kopf.OperatorSettings(), directory=directory, environ=environ, now=NOW
    )


@pytest.mark.parametrize(
    ("environ", "server"),
    [
        ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"},
         "https://10.96.0.1:443"),
        ({"KUBERNETES_SERVICE_HOST": "192.168.1.5", "KUBERNETES_SERVICE_PORT": "6443"},
         "https://192.168.1.5:6443"),
        ({"KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"},
         "https://[fd00:10:96::1]:443"),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "https://10.0.0.1:443"),
        ({}, "https://kubernetes.default.svc"),
    ],
)  # fmt: skip
def test_server_is_the_kubelets_service_address(
    account: Path, environ: dict[str, str], server: str
) -> None:
    info = _login(account, environ)
    assert info is not None
    assert info.server == server


def test_token_ca_and_namespace_come_from_the_account_directory(account: Path) -> None:
    info = _login(account, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert info is not None
    assert info.token == (account / "token").read_text().strip()
    assert info.ca_path == str(account / "ca.crt")
    assert info.default_namespace == "ic-operator-system"
    assert info.scheme is None  # kopf sends "Bearer <token>"


def test_each_login_reads_the_rotated_token(account: Path) -> None:
    """kopf logs in again on 401 and at `expiration`: it must get the kubelet's new file."""
    first = _login(account, {})
    rotated = _jwt(NOW + datetime.timedelta(minutes=48), datetime.timedelta(hours=1))
    (account / "token").write_text(rotated)
    second = _login(account, {})
    assert first is not None and second is not None
    assert first.token != second.token == rotated


def test_expiration_falls_after_the_kubelets_rewrite_and_before_the_token_ends(
    account: Path,
) -> None:
    info = _login(account, {})
    assert info is not None and info.expiration is not None
    rewrite, end = NOW + datetime.timedelta(minutes=48), NOW + datetime.timedelta(hours=1)
    assert rewrite < info.expiration < end


def test_year_long_tokens_are_still_reread_hourly(account: Path) -> None:
    (account / "token").write_text(_jwt(NOW, datetime.timedelta(days=365)))
    info = _login(account, {})
    assert info is not None and info.expiration == NOW + login.MAX_REFRESH


def test_a_token_read_late_is_not_expired_on_arrival(account: Path) -> None:
    """Past its refresh point (kubelet behind): re-read soon, never an already-past time."""
    (account / "token").write_text(
        _jwt(NOW - datetime.timedelta(minutes=58), datetime.timedelta(hours=1))
    )
    info = _login(account, {})
    assert info is not None and info.expiration == NOW + login.MIN_REFRESH


def test_a_token_that_is_not_a_jwt_has_no_expiration(account: Path) -> None:
    (account / "token").write_text("opaque-token")
    info = _login(account, {})
    assert info is not None
    assert info.token == "opaque-token"
    assert info.expiration is None


def test_outside_a_pod_there_is_no_service_account(tmp_path: Path) -> None:
    assert _login(tmp_path, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}) is None
