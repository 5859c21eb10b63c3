"""`ic-operator run` says at start who it is, and stops with one clear line when it cannot
be anyone: the real process against the emulator's STS (no cluster needed: it stops
before it talks to Kubernetes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ic_sandbox.harness.emulator_process import aws_env, without_aws
from ic_sandbox.harness.identity import ANY_CREDENTIALS, AwsCredentials
from tests.fixtures.emulator import RunningEmulator


def start(emulator: RunningEmulator, tmp_path: Path, credentials: dict[str, str]) -> str:
    """Runs `ic-operator run` until it exits; its output. The kubeconfig does not exist:
    the process must stop before it would need it."""
    env = {
        **without_aws(os.environ),
        **aws_env(emulator.url, ANY_CREDENTIALS),
        # Nothing of this machine's AWS setup may answer for the operator.
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env.update(credentials)
    out = subprocess.run(
        [sys.executable, "-m", "ic_operator.cli", "run", "--namespace", "nowhere"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    return out.stdout + out.stderr


def the_one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output  # not a traceback
    return lines[0]


def test_without_any_credentials_it_stops_with_one_clear_line(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    line = the_one_line(start(emulator, tmp_path, {}))
    assert "cannot start: no AWS credentials found" in line
    assert "IRSA, EKS Pod Identity" in line


def test_credentials_sts_does_not_know_stop_it_with_sts_answer(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    stranger = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "x" * 40).env()
    line = the_one_line(start(emulator, tmp_path, stranger))
    assert "cannot start: AWS STS refused the operator's credentials: InvalidClientTokenId" in line


def test_an_expired_session_stops_it_too(emulator: RunningEmulator, tmp_path: Path) -> None:
    # A session of the operator's role that expired (the admin API issues any duration).
    issued = emulator.admin.request(
        "POST", "access-keys", {"role": "ic-operator", "duration_seconds": 0.001}
    )
    line = the_one_line(start(emulator, tmp_path, AwsCredentials.issued(issued).env()))
    assert "cannot start: AWS STS refused the operator's credentials: ExpiredToken" in line


def test_a_region_the_credentials_are_not_scoped_to_stops_it_with_sts_answer(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    # Valid credentials, but the operator signs for another region than the endpoint serves
    # (`--region` against a regional endpoint URL): AWS refuses the signature's scope.
    valid = emulator.operator_credentials("wrong-region").env()
    line = the_one_line(start(emulator, tmp_path, {**valid, "AWS_REGION": "us-west-2"}))
    assert "cannot start: AWS STS refused the operator's credentials: SignatureDoesNotMatch" in line
    assert "Credential should be scoped to a valid region, not 'us-west-2'" in line


def test_a_role_that_cannot_be_assumed_stops_it_naming_the_role(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    # IRSA's variables as the EKS webhook sets them, with a token STS cannot verify.
    token = tmp_path / "token"
    token.write_text("not-a-jwt")
    role = f"arn:aws:iam::{emulator.account_id}:role/ic-operator"
    irsa = {"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}
    line = the_one_line(start(emulator, tmp_path, irsa))
    assert (
        f"cannot start: could not assume the operator's role (role {role}): "
        "AssumeRoleWithWebIdentity was refused: InvalidIdentityToken: "
    ) in line
