"""Who the operator is: STS GetCallerIdentity once at start.

The answer (account and ARN) goes to the log once, so whoever reads it knows which
principal's policies matter, and to the door, so every refusal names it. Asked before
anything else, a missing or refused credential stops the process with one clear line
instead of surfacing later as a Degraded condition on every resource. GetCallerIdentity
needs no IAM permission (doc: STS API reference, GetCallerIdentity), so a policy can never
be the reason it fails. It is the one call outside the door (aws/client.py): no resource,
no budget, made once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from ic_operator.aws.botocore_model import default_service_client_factory
from ic_operator.aws.refusals import provider_role

log = logging.getLogger("ic_operator")


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str


class CredentialsProblem(Exception):
    """The operator has no credentials, or STS refuses them: it cannot work at all."""


def _role_hint() -> str:
    """The role a credential provider would assume, for the message."""
    role = provider_role()
    return f" (role {role})" if role else ""


def who_am_i(region: str, client: Any = None) -> CallerIdentity | None:
    """The operator's identity; None when STS could not be reached or was unavailable (a
    warning: the calls that follow report for themselves); CredentialsProblem when there
    are no credentials or STS refuses them."""
    sts = client if client is not None else default_service_client_factory("sts", region)
    try:
        answer = sts.get_caller_identity()
    except (
        botocore.exceptions.NoCredentialsError,
        botocore.exceptions.PartialCredentialsError,
    ) as exc:
        raise CredentialsProblem(
            f"no AWS credentials found ({exc}): give the operator an identity "
            "(IRSA, EKS Pod Identity, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        ) from None
    except botocore.exceptions.CredentialRetrievalError as exc:
        raise CredentialsProblem(
            f"the AWS credential provider failed{_role_hint()}: {exc}"
        ) from None
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or code in {"Throttling", "ThrottlingException"}:
            log.warning("could not ask STS who the operator is (%s: %s); going on", code, message)
            return None
        if exc.operation_name != "GetCallerIdentity":
            raise CredentialsProblem(
                f"could not assume the operator's role{_role_hint()}: {exc.operation_name} "
                f"was refused: {code}: {message}"
            ) from None
        raise CredentialsProblem(
            f"AWS STS refused the operator's credentials: {code}: {message}"
        ) from None
    except OSError as exc:  # a file the chain reads (IRSA's token file) missing or unreadable
        if exc.filename is None:
            raise
        raise CredentialsProblem(
            f"the AWS credential provider could not read {exc.filename}{_role_hint()}: "
            f"{exc.strerror}"
        ) from None
    except botocore.exceptions.BotoCoreError as exc:  # endpoint unreachable, timeouts
        log.warning("could not ask STS who the operator is (%s); going on", exc)
        return None
    identity = CallerIdentity(answer["Account"], answer["Arn"])
    log.info("running as %s (account %s)", identity.arn, identity.account)
    return identity
