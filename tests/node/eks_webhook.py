"""What the EKS pod identity webhook adds to a pod, for a cluster that has no webhook.

On EKS a mutating webhook (github.com/aws/amazon-eks-pod-identity-webhook) adds the
environment and the projected token a pod needs for IRSA (its ServiceAccount carries
`eks.amazonaws.com/role-arn`) or for EKS Pod Identity (an association exists for it). The
local control plane has no such webhook, so the node tests pass the same additions through
the chart's `extraEnv`, `extraVolumes` and `extraVolumeMounts`: the pod the kubelet runs has
the spec an EKS pod would have. Names, paths, audiences and the 24 h token lifetime are the
webhook's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
POD_IDENTITY_TOKEN_DIR = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
POD_IDENTITY_URI = "http://169.254.170.23/v1/credentials"
TOKEN_SECONDS = 86400


@dataclass(frozen=True)
class Mutation:
    env: list[dict[str, str]]
    volumes: list[dict[str, Any]]
    mounts: list[dict[str, Any]]

    def helm_values(self, extra_env: list[dict[str, str]]) -> dict[str, Any]:
        """The chart values that render this mutation (plus the test's own variables)."""
        return {
            "extraEnv": self.env + extra_env,
            "extraVolumes": self.volumes,
            "extraVolumeMounts": self.mounts,
        }


def _projected(name: str, audience: str, path: str, directory: str) -> tuple[Any, Any]:
    volume = {
        "name": name,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": audience,
                        "expirationSeconds": TOKEN_SECONDS,
                        "path": path,
                    }
                }
            ]
        },
    }
    return volume, {"name": name, "mountPath": directory, "readOnly": True}


def _region(region: str) -> list[dict[str, str]]:
    return [
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_DEFAULT_REGION", "value": region},
        {"name": "AWS_REGION", "value": region},
    ]


def irsa(role_arn: str, region: str) -> Mutation:
    volume, mount = _projected("aws-iam-token", "sts.amazonaws.com", "token", IRSA_TOKEN_DIR)
    env = [
        *_region(region),
        {"name": "AWS_ROLE_ARN", "value": role_arn},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{IRSA_TOKEN_DIR}/token"},
    ]
    return Mutation(env, [volume], [mount])


def pod_identity(region: str) -> Mutation:
    name = "eks-pod-identity-token"
    volume, mount = _projected(name, "pods.eks.amazonaws.com", name, POD_IDENTITY_TOKEN_DIR)
    env = [
        *_region(region),
        {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": POD_IDENTITY_URI},
        {
            "name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "value": f"{POD_IDENTITY_TOKEN_DIR}/{name}",
        },
    ]
    return Mutation(env, [volume], [mount])
