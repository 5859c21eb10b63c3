"""Every client the operator builds shares one set of credentials: with IRSA or Pod
Identity each botocore session would otherwise fetch (and refresh) its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ic_operator.aws.botocore_model import default_client_factory, default_service_client_factory

# A credential_process that counts its runs: each is one fetch by a credential provider.
_PROCESS = """
import json, pathlib, sys
runs = pathlib.Path(sys.argv[1])
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
print(json.dumps({"Version": 1, "AccessKeyId": "AKIDEXAMPLE" + str(len(runs.read_text())),
                  "SecretAccessKey": "secret", "SessionToken": "token",
                  "Expiration": "2999-01-01T00:00:00Z"}))
"""


def counted_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    script, runs = tmp_path / "process.py", tmp_path / f"runs-{name}"
    script.write_text(_PROCESS)
    config = tmp_path / f"config-{name}"
    config.write_text(f"[default]\ncredential_process = {sys.executable} {script} {runs}\n")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return runs


def access_key(client: object) -> str:
    credentials = client._request_signer._credentials  # type: ignore[attr-defined]
    return str(credentials.get_frozen_credentials().access_key)


def test_sts_sagemaker_autoscaling_and_cloudwatch_fetch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = counted_profile(tmp_path, monkeypatch, "one")
    clients = [
        default_service_client_factory("sts", "us-east-1"),
        default_client_factory("us-east-1"),
        default_client_factory("eu-west-1"),
        default_service_client_factory("application-autoscaling", "us-east-1"),
        default_service_client_factory("cloudwatch", "us-east-1"),
    ]
    assert {access_key(c) for c in clients} == {"AKIDEXAMPLE1"}
    assert json.dumps(runs.read_text()) == '"x"', "one fetch for all five clients"


def test_another_environment_resolves_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = counted_profile(tmp_path, monkeypatch, "first")
    access_key(default_client_factory("us-east-1"))
    second = counted_profile(tmp_path, monkeypatch, "second")
    access_key(default_client_factory("us-east-1"))
    assert (first.read_text(), second.read_text()) == ("x", "x")
