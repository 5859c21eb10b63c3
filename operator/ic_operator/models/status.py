"""The `InferenceComponent` status the operator writes.

Parsing is lenient (unknown keys ignored) because the status outlives
operator versions: a newer operator must read what an older one wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ic_operator.models._base import K8sModel
from ic_operator.models.autoscaling_status import AutoScalingStatus
from ic_operator.models.deployment import DeploymentConfig

DeploymentOutcome = Literal["InProgress", "Succeeded", "RolledBack", "Failed"]
WriteOperation = Literal["Create", "Update", "UpdateRuntimeConfig", "Delete"]
NextStep = Literal["Resync", "Poll", "Confirm", "Backoff", "Idle", "Verify"]


class _StatusModel(K8sModel):
    model_config = ConfigDict(extra="ignore")


class Condition(_StatusModel):
    """One aspect of the resource's state, in the Kubernetes condition convention."""

    type: str = Field(
        description="Condition type: Ready, Progressing, Degraded or EndpointResolved.",
    )
    status: Literal["True", "False", "Unknown"] = Field(
        description="True, False or Unknown.",
    )
    reason: str = Field(
        default="",
        description="One CamelCase word that says why, for example RolledBack or InvalidSpec.",
    )
    message: str = Field(
        default="",
        description="Human-readable details, for example SageMaker's failure reason.",
    )
    last_transition_time: str | None = Field(
        default=None,
        description="When the status last changed (RFC 3339).",
    )
    observed_generation: int | None = Field(
        default=None,
        description="metadata.generation of the spec this condition was computed for.",
    )


# How a deployment's failure_reason begins when SageMaker refused the request itself
# (a spec it judged invalid), as against a deployment that ran and failed.
REJECTED_BY_SAGEMAKER = "SageMaker rejected the request: "


class LastDeployment(_StatusModel):
    """The last spec change the operator sent to SageMaker, and how it ended."""

    generation: int = Field(description="metadata.generation that was deployed.")
    spec_hash: str = Field(
        description="Hash of the deployed specification; the same failed spec is not retried.",
    )
    deployment_config: DeploymentConfig | None = Field(
        default=None,
        description="The deploymentConfig the update was sent with.",
    )
    started_at: str | None = Field(default=None, description="When the update was sent (RFC 3339).")
    finished_at: str | None = Field(
        default=None, description="When SageMaker finished it (RFC 3339)."
    )
    outcome: DeploymentOutcome = Field(
        description="InProgress, Succeeded, RolledBack (SageMaker kept the old spec) or Failed.",
    )
    failure_reason: str | None = Field(
        default=None,
        description="SageMaker's FailureReason when the deployment rolled back or failed.",
    )
    previous_failure_reason: str | None = Field(
        default=None,
        description=(
            "SageMaker's FailureReason before this deployment started; a FailureReason equal "
            "to it afterwards is stale, not a new failure."
        ),
    )
    retry_token: str | None = Field(
        default=None,
        description=(
            "Value of the sagemaker.ic-operator.io/retry annotation this deployment was made "
            "under; changing the annotation retries a spec that rolled back."
        ),
    )
    redeploy_token: str | None = Field(
        default=None,
        description=(
            "Value of the sagemaker.ic-operator.io/redeploy annotation this deployment was "
            "made under; a new value redeploys the spec once."
        ),
    )

    @property
    def blocked_reason(self) -> str:
        """The condition reason while this deployment holds its spec back: the same on every
        pass as on the one that met the failure (InvalidSpec for a refused request)."""
        if (self.failure_reason or "").startswith(REJECTED_BY_SAGEMAKER):
            return "InvalidSpec"
        return self.outcome


class LastWrite(_StatusModel):
    """The last write sent to SageMaker and what was known about it when it was sent.

    A read right after a write may show the state from before it, and a write whose
    answer was lost may have been applied: this record lets any process, including
    one restarted since, tell a reading from before the write from one after it.
    """

    operation: WriteOperation = Field(
        description="The write: Create, Update, UpdateRuntimeConfig or Delete."
    )
    generation: int = Field(description="metadata.generation the write was made for.")
    spec_hash: str | None = Field(default=None, description="Hash of the specification sent.")
    sent_at: float = Field(description="When it was sent (epoch seconds).")
    based_on_modified: float | None = Field(
        default=None,
        description=(
            "SageMaker's LastModifiedTime in the reading the write was decided on (epoch "
            "seconds; null: the component was absent). A reading that is not later than "
            "this is from before the write."
        ),
    )
    outcome: Literal["Accepted", "Unknown"] = Field(
        description=(
            "Accepted: SageMaker answered 200. Unknown: the answer was lost (5xx, timeout, "
            "closed connection, a retry refused as busy), so the write may have been applied."
        ),
    )
    confirmed: bool = Field(
        default=False,
        description="A reading later than the write has been seen (it reached SageMaker).",
    )


class Decision(_StatusModel):
    """What the last pass decided, and on which reading: a restarted operator resumes here."""

    next: NextStep = Field(
        description=(
            "Resync (settled: next drift check at the resync interval), Poll (SageMaker is "
            "transitioning), Confirm (waiting for a reading later than the last write), "
            "Backoff (after a failed call), Idle (nothing to do until the spec changes) or "
            "Verify (Ready from the endpoint listing after a create: one routine Describe "
            "fills in the copy counts)."
        ),
    )
    generation: int = Field(description="metadata.generation the decision was made for.")
    retry_token: str | None = Field(
        default=None, description="The retry annotation the decision was made under."
    )
    redeploy_token: str | None = Field(
        default=None, description="The redeploy annotation the decision was made under."
    )
    at: float = Field(description="When it was made (epoch seconds).")
    not_before: float | None = Field(
        default=None,
        description=(
            "Earliest time of the next look at SageMaker (epoch seconds), unless the spec changes."
        ),
    )
    modified: float | None = Field(
        default=None,
        description="SageMaker's LastModifiedTime in the reading it was based on (epoch seconds).",
    )
    state: str | None = Field(
        default=None, description="SageMaker's status in the reading it was based on."
    )
    errors: int = Field(
        default=0, description="Consecutive failed SageMaker calls behind the current backoff."
    )


class PlannedCall(_StatusModel):
    """One AWS call the operator would make if the resource were not suspended."""

    operation: str = Field(description="The API operation, for example UpdateInferenceComponent.")
    service: str = Field(
        default="sagemaker",
        description="The service: sagemaker, application-autoscaling or cloudwatch.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The request, flattened to dotted paths (Specification.Container.Image) with their "
            "values; environment variable values are never shown, long requests are cut short."
        ),
    )


class FieldDifference(_StatusModel):
    """One field where the spec and SageMaker differ."""

    field: str = Field(description="The field's path, for example specification.container.image.")
    spec: str | None = Field(
        default=None,
        description="The spec's value (strings as they are, others as JSON); null: absent.",
    )
    observed: str | None = Field(
        default=None,
        description="SageMaker's value, in the same form; null: absent or not reported.",
    )


class PendingPlan(_StatusModel):
    """What the operator holds back while spec.suspend is true: what resuming will do."""

    suspended_since: str = Field(description="When the operator first saw the suspension.")
    summary: str = Field(
        default="",
        description="The calls in one line (the Pending column of kubectl get -o wide).",
    )
    message: str = Field(default="", description="What the operator sees and holds back.")
    calls: list[PlannedCall] = Field(
        default_factory=list,
        description=(
            "The calls resuming makes, in order (empty: SageMaker matches the spec). A call "
            "that depends on the answer of the one before is listed with what is known now."
        ),
    )
    differences: list[FieldDifference] = Field(
        default_factory=list,
        description="The fields where the spec and SageMaker differ (drift included).",
    )


class AccountStatus(_StatusModel):
    """Where the component lives: recorded when the operator first acts for it and never
    changed after (docs/accounts.md, "Fixed at creation")."""

    account_id: str = Field(
        default="",
        description="The AWS account; empty: the operator's own, not known at start.",
    )
    region: str = Field(description="The AWS Region.")
    mapping: str = Field(
        default="",
        description="The AccountMapping whose role acts for it; empty: the operator's identity.",
    )


class InferenceComponentStatus(_StatusModel):
    """Observed state of the inference component, as the operator last saw it."""

    observed_generation: int | None = Field(
        default=None,
        description="metadata.generation of the spec the operator last acted on.",
    )
    inference_component_name: str | None = Field(
        default=None, description="Name of the inference component in SageMaker."
    )
    inference_component_arn: str | None = Field(
        default=None, description="ARN of the inference component."
    )
    endpoint_arn: str | None = Field(default=None, description="ARN of the hosting endpoint.")
    endpoint_name: str | None = Field(
        default=None,
        description=(
            "The SageMaker endpoint spec.endpointRef resolved to; kept once resolved (a later "
            "change of the ACK Endpoint's endpointName is reported, not followed)."
        ),
    )
    region: str | None = Field(default=None, description="AWS Region of the component.")
    account: AccountStatus | None = Field(
        default=None,
        description=(
            "The account and region the component lives in, fixed when the operator first "
            "acted for it: a later mapping or namespace change is reported, never followed."
        ),
    )
    inference_component_status: str | None = Field(
        default=None,
        description=(
            "SageMaker's status: Creating, InService, Updating, Failed, Deleting or NotFound."
        ),
    )
    failure_reason: str | None = Field(
        default=None, description="SageMaker's FailureReason, when it reports one."
    )
    desired_copy_count: int | None = Field(
        default=None, description="Copies SageMaker is asked to run (DesiredCopyCount)."
    )
    current_copy_count: int | None = Field(
        default=None, description="Copies running now (CurrentCopyCount)."
    )
    copies: str | None = Field(default=None, description="current/desired copy count, for display.")
    resolved_image: str | None = Field(
        default=None, description="The image digest SageMaker resolved the requested image to."
    )
    tags_hash: str | None = Field(
        default=None,
        description="Hash of the tags last written to SageMaker; tags are re-read when it differs.",
    )
    last_deployment: LastDeployment | None = Field(
        default=None, description="The last spec change sent to SageMaker and its outcome."
    )
    last_write: LastWrite | None = Field(
        default=None,
        description="The last write sent to SageMaker (see lastDeployment for its outcome).",
    )
    decision: Decision | None = Field(
        default=None, description="What the operator decided last, and when it looks again."
    )
    auto_scaling: AutoScalingStatus | None = Field(
        default=None, description="What Application Auto Scaling is doing (with spec.autoScaling)."
    )
    pending_plan: PendingPlan | None = Field(
        default=None,
        description=(
            "Only while spec.suspend is true: the calls the operator holds back and the "
            "fields that differ."
        ),
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description=(
            "Ready, Progressing and Degraded, one entry per type; EndpointResolved with "
            "spec.endpointRef."
        ),
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )

    @classmethod
    def parse(cls, status: Mapping[str, Any]) -> InferenceComponentStatus:
        """Read a stored status; unknown keys are ignored."""
        return cls.model_validate(dict(status))
