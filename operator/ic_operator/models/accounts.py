"""The `AccountMapping` resource: which AWS account (an IAM role) and regions serve which
namespaces, written by the platform team only (docs/accounts.md).

Cluster-scoped, so no namespace's users can write it; a namespace is chosen by name
and by labels, never by anything on the component. Like the `InferenceComponent`,
the CRD is generated from these models and every rule is one `Rule` (CEL at apply,
the same check when the operator parses a mapping).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from ic_operator.models._base import K8sModel, LenientModel, Rule
from ic_operator.models.patterns import REGION_PATTERN, NamespaceName
from ic_operator.models.status import Condition

# An IAM role's ARN (any partition); the account is its fifth field.
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
# STS's ExternalId: 2-1224 characters of [\w+=,.@:/-] (STS API reference).
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]+$"
# A label key: an optional DNS-subdomain prefix and a name of 1-63 characters.
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

Region = Annotated[str, StringConstraints(max_length=32, pattern=REGION_PATTERN)]
# List items need a description of their own in a structural schema.
RegionItem = Annotated[Region, Field(description="An AWS Region, for example eu-west-1.")]
NamespaceItem = Annotated[NamespaceName, Field(description="A namespace's name.")]
Named = Annotated[str, Field(description="A name.")]
LabelKey = Annotated[str, StringConstraints(max_length=317, pattern=LABEL_KEY_PATTERN)]
LabelValue = Annotated[str, StringConstraints(max_length=63, pattern=LABEL_VALUE_PATTERN)]


def account_of(role_arn: str) -> str:
    """The account a role lives in: the ARN's fifth field."""
    return role_arn.split(":")[4]


# --- the rules (CEL at apply, the same check when the operator parses) ---------------

VALUES_FOR_SET_OPERATORS: Rule[LabelSelectorRequirement] = Rule(
    "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
    "values must be non-empty for In and NotIn, and absent for Exists and DoesNotExist",
    holds=lambda r: (r.operator in ("In", "NotIn")) == bool(r.values),
)

SELECTOR_NOT_EMPTY: Rule[NamespaceSelector] = Rule(
    "(has(self.names) && size(self.names) > 0) || "
    "(has(self.matchLabels) && size(self.matchLabels) > 0) || "
    "(has(self.matchExpressions) && size(self.matchExpressions) > 0)",
    "namespaceSelector must name namespaces or select them by labels: an empty selector "
    "would map every namespace",
    holds=lambda s: bool(s.names or s.match_labels or s.match_expressions),
)

ROLE_ARN_IMMUTABLE: Rule[AccountMappingSpec] = Rule(
    "self.roleArn == oldSelf.roleArn",
    "roleArn is immutable: map the namespaces to another account with a new AccountMapping",
    holds=None,
)
DEFAULT_REGION_ALLOWED: Rule[AccountMappingSpec] = Rule(
    "!has(self.allowedRegions) || self.defaultRegion in self.allowedRegions",
    "allowedRegions must include defaultRegion",
    holds=lambda s: s.allowed_regions is None or s.default_region in s.allowed_regions,
    detail=lambda s: f"{s.default_region} is not in {s.allowed_regions}",
)


class LabelSelectorRequirement(K8sModel):
    """One expression over a namespace's labels, as in a Kubernetes label selector."""

    rules: ClassVar[tuple[Rule[LabelSelectorRequirement], ...]] = (VALUES_FOR_SET_OPERATORS,)

    key: LabelKey = Field(description="The label key the expression is about.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In, NotIn (values required), Exists or DoesNotExist (values must be empty).",
    )
    values: list[Annotated[LabelValue, Field(description="A label value.")]] | None = Field(
        default=None,
        max_length=64,
        description="The values for In and NotIn.",
    )

    def holds(self, labels: dict[str, str]) -> bool:
        """Whether a namespace with `labels` satisfies the expression."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        inside = self.key in labels and labels[self.key] in (self.values or [])
        return inside if self.operator == "In" else not inside


class NamespaceSelector(K8sModel):
    """Which namespaces a mapping serves: those matching every part that is set."""

    rules: ClassVar[tuple[Rule[NamespaceSelector], ...]] = (SELECTOR_NOT_EMPTY,)

    names: list[NamespaceItem] | None = Field(
        default=None,
        max_length=256,
        description="Namespaces by name; a namespace must be one of them.",
    )
    match_labels: dict[LabelKey, LabelValue] | None = Field(
        default=None,
        max_length=64,
        description="Labels a namespace must carry, every one with this value.",
    )
    match_expressions: list[LabelSelectorRequirement] | None = Field(
        default=None,
        max_length=32,
        description="Expressions over a namespace's labels; every one must hold.",
    )

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        """Whether the namespace `name` with `labels` is selected (every set part holds)."""
        if self.names is not None and name not in self.names:
            return False
        if any(labels.get(k) != v for k, v in (self.match_labels or {}).items()):
            return False
        return all(e.holds(labels) for e in self.match_expressions or [])


class AccountMappingSpec(K8sModel):
    """The account (one IAM role), its regions and its call budget, and the namespaces
    whose inference components live there."""

    rules: ClassVar[tuple[Rule[AccountMappingSpec], ...]] = (
        ROLE_ARN_IMMUTABLE,
        DEFAULT_REGION_ALLOWED,
    )

    role_arn: Annotated[str, StringConstraints(max_length=2048, pattern=ROLE_ARN_PATTERN)] = Field(
        description=(
            "The IAM role the operator assumes for these namespaces; its account is where "
            "their inference components live. Immutable: another account is another mapping."
        ),
    )
    external_id: (
        Annotated[
            str, StringConstraints(min_length=2, max_length=1224, pattern=EXTERNAL_ID_PATTERN)
        ]
        | None
    ) = Field(
        default=None,
        description="The ExternalId the role's trust policy requires, if it requires one.",
    )
    default_region: Region = Field(
        description="The region of a component that does not set spec.region.",
    )
    allowed_regions: list[RegionItem] | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description=(
            "The regions a component may choose with spec.region; default: defaultRegion only. "
            "Must include defaultRegion."
        ),
    )
    calls_per_second: float | None = Field(
        default=None,
        ge=0.1,
        le=1000,
        description=(
            "This account's AWS call budget in each region; default: the operator's "
            "--max-calls-per-second."
        ),
    )
    namespace_selector: NamespaceSelector = Field(
        description="The namespaces this mapping serves: by name, by labels, or both.",
    )

    @property
    def account_id(self) -> str:
        return account_of(self.role_arn)

    def regions(self) -> list[str]:
        """The regions a component of these namespaces may live in."""
        return list(self.allowed_regions or [self.default_region])


class MappingConflict(K8sModel):
    """A namespace more than one mapping selects: none of them serves it."""

    namespace: str = Field(description="The namespace.")
    mappings: list[Named] = Field(description="Every mapping that selects it, by name.")


class HeldComponent(LenientModel):
    """A component a change of mappings or Namespace labels would move: kept where it was
    created (its Degraded/AccountChanged says so too)."""

    component: str = Field(description="The component, NAMESPACE/NAME.")
    would_move: Literal["account", "region"] = Field(
        description="What following the change would change: its account or only its region."
    )


class AccountMappingStatus(LenientModel):
    """What the operator found: the namespaces the mapping serves, and what it refuses."""

    observed_generation: int | None = Field(
        default=None, description="The generation of the spec this status describes."
    )
    namespaces: list[Named] = Field(
        default_factory=list, description="The namespaces this mapping serves now, by name."
    )
    conflicts: list[MappingConflict] = Field(
        default_factory=list,
        description=(
            "Namespaces this mapping and another both select: their components make no AWS "
            "call (Degraded/AccountConflict) until one mapping stops selecting them."
        ),
    )
    held: list[HeldComponent] = Field(
        default_factory=list,
        description=(
            "Components created under this mapping that their namespace's mapping now would "
            "move, or created elsewhere and now mapped here: reported, not moved "
            "(Degraded/AccountChanged), until the change is undone or they are re-created."
        ),
    )
    conditions: list[Condition] = Field(
        default_factory=list, description="Ready: the mapping serves every namespace it selects."
    )
