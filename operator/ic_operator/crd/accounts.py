"""The `AccountMapping` CRD, generated from `ic_operator.models.accounts` as the
`InferenceComponent` CRD is from its models (`ic-operator crd --kind AccountMapping`;
`make crd` writes crds/ and the chart's copy, `make crd-check` keeps them equal).

Cluster-scoped on purpose: only a ClusterRole can grant writing it, so a namespace's own
admins cannot choose their account (docs/accounts.md).
"""

from __future__ import annotations

from ic_operator.crd.schema import Schema, root_schema, wrap_crd
from ic_operator.models.accounts import AccountMappingSpec, AccountMappingStatus
from ic_operator.names import MAPPING_KIND, MAPPING_PLURAL

MAPPING_SHORT_NAME = "smam"

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


def build_mapping_crd() -> Schema:
    schema = root_schema(
        MAPPING_DESCRIPTION, MAPPING_KIND, AccountMappingSpec, AccountMappingStatus
    )
    return wrap_crd(
        MAPPING_KIND,
        MAPPING_PLURAL,
        MAPPING_SHORT_NAME,
        scope="Cluster",
        columns=MAPPING_COLUMNS,
        schema=schema,
    )
