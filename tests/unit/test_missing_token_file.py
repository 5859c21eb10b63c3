"""IRSA's token file gone (a projected volume not mounted yet, or unmounted): botocore
raises a plain OSError while it refreshes, before any request. The door classifies it
as a credentials failure naming the file, like every other credential failure, instead
of letting an unclassified exception end the pass."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ic_operator.aws.botocore_model import default_client_factory
from ic_operator.aws.client import SageMakerClient
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.aws.identity import CredentialsProblem, who_am_i


def irsa_without_its_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ic-operator")
    token = tmp_path / "serviceaccount" / "token"
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    for service in ("SAGEMAKER", "STS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", "http://127.0.0.1:9")  # never reached
    return token


def test_a_missing_web_identity_token_file_is_a_credentials_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = irsa_without_its_token(tmp_path, monkeypatch)
    client = SageMakerClient(default_region="us-east-1", client_factory=default_client_factory)
    with pytest.raises(SageMakerError) as caught:
        asyncio.run(client.describe("llm"))
    err = caught.value
    assert err.kind is ErrorKind.CREDENTIALS
    assert err.code == "CredentialRetrieval"
    assert str(token) in err.message
    assert err.refusal().endswith(
        "could not get credentials for sagemaker:DescribeInferenceComponent on inference "
        f"component llm: the credential provider could not read {token}: "
        "No such file or directory"
    )


def test_at_start_it_is_a_credentials_problem_naming_the_file_and_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = irsa_without_its_token(tmp_path, monkeypatch)
    with pytest.raises(CredentialsProblem) as caught:
        who_am_i("us-east-1")
    assert str(token) in str(caught.value)
    assert "arn:aws:iam::123456789012:role/ic-operator" in str(caught.value)
