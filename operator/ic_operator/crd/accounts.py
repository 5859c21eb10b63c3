"""The `AccountMapping` CRD, generated from `ic_operator.models.accounts` as the
`InferenceComponent` CRD is from its models (`ic-operator crd --kind AccountMapping`;
`make crd` writes crds/ and the chart's copy, `make crd-check` keeps them equal).

Cluster-scoped on purpose: only a ClusterRole can grant writing it, so a namespace's own
admins cannot choose their account (docs/accounts.md).
"""

from __future__ import annotations

from ic_operator.crd.schema import CATEGORIES, Schema, structural_schema
from ic_operator.models.accounts import AccountMappingSpec, AccountMappingStatus
from ic_operator.names import API_GROUP, API_VERSION, MAPPING_KIND, MAPPING_PLURAL

MAPPING_SHORT_NAME = "smam"
MAPPING_CRD_NAME = f"{MAPPING_PLURAL}.{API_GROUP}"

MAPPING_DESCRIPTION = (
    "Which AWS account (an IAM role the operator assumes) and regions serve which "
    "namespaces' inference components; written by the platform team only."
)

MAPPING_COLUMNS: list[Schema] = [
    {
        "name": "Role",
        "type": "string",
        "jsonPath": ".spec.roleArn",
        "description": "The IAM role assumed for these namespaces",
    },
    {
        "name": "Region",
        "type": "string",
        "jsonPath": ".spec.defaultRegion",
        "description": "The region of a component that does not choose one",
    },
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "description": "Every namespace it selects is served (no conflict, no held component)",
    },
    {
        "name": "Namespaces",
        "type": "string",
        "jsonPath": ".status.namespaces",
        "description": "The namespaces it serves",
        "priority": 1,
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def mapping_openapi_schema() -> Schema:
    """The spec with its CEL rules; the status without (only the operator writes it)."""
    return {
        "description": MAPPING_DESCRIPTION,
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "description": f"Versioned schema of this object: {API_GROUP}/{API_VERSION}.",
                "type": "string",
            },
            "kind": {"description": f"{MAPPING_KIND}.", "type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(AccountMappingSpec),
            "status": structural_schema(AccountMappingStatus, cel=False),
        },
    }


def build_mapping_crd() -> Schema:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": MAPPING_CRD_NAME},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": MAPPING_KIND,
                "listKind": f"{MAPPING_KIND}List",
                "plural": MAPPING_PLURAL,
                "singular": MAPPING_KIND.lower(),
                "shortNames": [MAPPING_SHORT_NAME],
                "categories": CATEGORIES,
            },
            "scope": "Cluster",
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": MAPPING_COLUMNS,
                    "schema": {"openAPIV3Schema": mapping_openapi_schema()},
                }
            ],
        },
    }
