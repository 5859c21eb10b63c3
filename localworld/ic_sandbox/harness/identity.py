"""Who calls the emulator: real credentials it issued, one principal per kind of caller.

With signature verification on (the sandbox, the demo, the tests and the bench run with
it), a request counts only when it is signed by a credential the emulator issued. So the
harness issues them through the admin API and hands them out: the caller's own clients
(seed, kubectl users, test assertions) sign as the IAM user `ic-sandbox-admin`, and the
operator as a session of the role `ic-operator`, obtained by a real STS AssumeRole of that
user, so the call log tells the operator's calls (`assumed-role/ic-operator/...`) from the
test's. The admin user is allowed everything (an AdministratorAccess-like identity policy),
so a test that turns the emulator's `authorize` switch on still sets up with it; the role
has no identity policy of its own: a test that authorizes the operator gives it its role
(tests/security/test_iam_policy_proof.py). IAM outlives SageMaker: `restore` tells a
restarted emulator the keys it had issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from ic_sandbox.harness.emulator_admin import EmulatorAdmin

ADMIN_USER = "ic-sandbox-admin"
OPERATOR_ROLE = "ic-operator"
# IAM's longest role session (doc: IAM CreateRole, MaxSessionDuration): the operator's
# static session credentials outlast any test, demo or bench run.
SESSION_SECONDS = 43200


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    @classmethod
    def issued(cls, answer: dict[str, Any]) -> AwsCredentials:
        """From the admin API's answer or an STS `Credentials` member."""
        return cls(answer["AccessKeyId"], answer["SecretAccessKey"], answer.get("SessionToken"))

    def env(self) -> dict[str, str]:
        """The standard variables boto3 and the AWS CLI read."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token is not None:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def client_kwargs(self) -> dict[str, str | None]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


# The admin user's one identity policy: every action on every resource (as AWS's managed
# AdministratorAccess policy grants).
ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

# For an emulator in "any credentials" mode (verification off): never valid anywhere.
ANY_CREDENTIALS = AwsCredentials("test", "test")


def operator_trust_policy(admin_arn: str) -> dict[str, Any]:
    """The role `ic-operator` trusts the harness's admin user to assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}
        ],
    }


@dataclass
class EmulatorIdentity:
    """The credentials one emulator issued for the harness, remembered for a restart."""

    admin_api: EmulatorAdmin
    url: str
    region: str
    admin: AwsCredentials = ANY_CREDENTIALS
    admin_arn: str = ""
    issued: list[dict[str, Any]] = field(default_factory=list)  # every admin/STS answer

    @classmethod
    def establish(cls, admin_api: EmulatorAdmin, url: str, region: str) -> EmulatorIdentity:
        """Verification on, the admin user's key (allowed everything), the operator's role."""
        identity = cls(admin_api, url, region)
        admin_api.request("PUT", "identity", {"verify": True})
        admin = {"user": ADMIN_USER, "policies": [ADMINISTRATOR_ACCESS]}
        answer = admin_api.request("POST", "access-keys", admin)
        identity.issued.append({**answer, "policies": admin["policies"]})
        identity.admin, identity.admin_arn = AwsCredentials.issued(answer), answer["Arn"]
        identity.put_operator_role()
        return identity

    def put_operator_role(self) -> None:
        self.admin_api.request(
            "PUT",
            f"roles/{OPERATOR_ROLE}",
            {
                "trust_policy": operator_trust_policy(self.admin_arn),
                "max_session_duration": SESSION_SECONDS,
            },
        )

    def operator(self, session_name: str = OPERATOR_ROLE) -> AwsCredentials:
        """New session credentials of the role `ic-operator`: STS AssumeRole by the admin
        user, as a user's own tooling would get them (the call log shows the AssumeRole)."""
        sts = boto3.client(
            "sts", endpoint_url=self.url, region_name=self.region, **self.admin.client_kwargs()
        )
        account = sts.get_caller_identity()["Account"]
        answer = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{OPERATOR_ROLE}",
            RoleSessionName=session_name,
            DurationSeconds=SESSION_SECONDS,
        )
        credentials = answer["Credentials"]
        self.issued.append(
            {
                **credentials,
                "Expiration": credentials["Expiration"].timestamp(),
                "Arn": answer["AssumedRoleUser"]["Arn"],
                "Account": account,
                "UserId": answer["AssumedRoleUser"]["AssumedRoleId"],
            }
        )
        return AwsCredentials.issued(credentials)

    def restore(self) -> None:
        """After a restart (the emulator forgot everything): verification on again, the
        role, and every credential issued before, with the same keys."""
        self.admin_api.request("PUT", "identity", {"verify": True})
        for answer in self.issued:
            self.admin_api.request("PUT", f"access-keys/{answer['AccessKeyId']}", answer)
        self.put_operator_role()
