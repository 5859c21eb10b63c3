"""Status building: the status and events one pass leaves behind.

Everything a restarted process needs to decide as this one would is written here:
the reading a decision was based on (LastModifiedTime and state), what happens
next and not before when, the backoff's error count, and the last write with its
outcome (``Unknown`` when its answer was lost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ic_operator.models import Condition, Decision, InferenceComponentStatus, LastWrite
from ic_operator.reconcile import conditions
from ic_operator.reconcile.execute import Executed
from ic_operator.reconcile.plan import WRITES, Act, Plan, PollPolicy, Wake, epoch, iso


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch that turns ``old`` into ``new``.

    Keys of ``old`` missing from ``new`` become null, so a cleared field (an old
    failureReason, say) really disappears instead of lingering in the object.
    """
    patch: dict[str, Any] = dict(new)
    for key, value in old.items():
        if key not in new:
            patch[key] = None
        elif isinstance(value, Mapping) and isinstance(new[key], Mapping):
            patch[key] = merge_patch(value, new[key])
    return patch


def material(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without the decision's timestamps: a pass that only moved them (another
    poll of the same rollout) is not worth a write to the API server."""
    out = dict(status)
    decision = out.get("decision")
    if isinstance(decision, Mapping):
        out["decision"] = {k: v for k, v in decision.items() if k not in ("at", "notBefore")}
    return out


def observed_fields(component: Mapping[str, Any]) -> dict[str, Any]:
    """Status fields read from a Describe; what SageMaker no longer reports is cleared."""
    runtime = component.get("RuntimeConfig") or {}
    spec = component.get("Specification") or {}
    deployed = (spec.get("Container") or {}).get("DeployedImage") or {}
    return {
        "endpoint_arn": component.get("EndpointArn"),
        "failure_reason": component.get("FailureReason"),
        "desired_copy_count": runtime.get("DesiredCopyCount"),
        "current_copy_count": runtime.get("CurrentCopyCount"),
        "resolved_image": deployed.get("ResolvedImage"),
    }


_AFTER_WRITE = {Act.CREATE: "Creating", Act.UPDATE: "Updating", Act.SCALE: "Updating"}


def build(
    plan: Plan,
    previous: InferenceComponentStatus,
    *,
    generation: int,
    retry_token: str | None,
    now: float,
    poll: PollPolicy,
    component: Mapping[str, Any] | None,
    read: bool,
    executed: Executed | None = None,
    write_outcome: Literal["Accepted", "Unknown"] | None = None,
    tags_digest: str | None = None,
    identity: Mapping[str, Any] | None = None,
    listed: bool = False,
) -> InferenceComponentStatus:
    """The status after ``plan``.

    ``read``: ``component`` is a reading of this pass (None meaning absent); False when
    no reading was made (a spec rejected before any call, or a read that failed).
    ``executed``: the plan's call succeeded; ``write_outcome`` says whether a write was
    sent and how it ended. ``tags_digest``: the desired tags are now known to be in
    SageMaker. ``identity``: the component's name and region, for display. ``listed``:
    ``component`` is an endpoint listing's summary, which carries the state and
    LastModifiedTime but not what Describe adds (copy counts, image, endpoint ARN):
    those keep their recorded values rather than being read as cleared.
    """
    update: dict[str, Any] = dict(identity or {})
    state = previous.inference_component_status
    modified = previous.decision.modified if previous.decision is not None else None
    if read:
        state = str(component.get("InferenceComponentStatus")) if component else "NotFound"
        modified = epoch(component.get("LastModifiedTime")) if component else None
        if not listed:
            update.update(observed_fields(component or {}))
    if executed is not None and plan.action in _AFTER_WRITE:
        state = _AFTER_WRITE[plan.action]
    operation = plan.sent or WRITES.get(plan.action)
    if write_outcome is not None and operation is not None:
        update["last_write"] = LastWrite(
            operation=operation,
            generation=generation,
            spec_hash=plan.deployment.spec_hash if plan.deployment is not None else None,
            sent_at=now,
            based_on_modified=modified if component is not None else None,
            outcome=write_outcome,
        )
    elif plan.confirmed and previous.last_write is not None:
        update["last_write"] = previous.last_write.model_copy(update={"confirmed": True})
    arn = executed.arn if executed is not None else None
    if arn is None and component is not None:
        arn = component.get("InferenceComponentArn")
    if plan.owned and arn:
        update["inference_component_arn"] = arn
    if tags_digest is not None:
        update["tags_hash"] = tags_digest
    delay = plan.delay
    if plan.wake is Wake.RESYNC:
        delay = poll.resync
    update["decision"] = Decision(
        next=plan.wake.value,
        generation=generation,
        retry_token=retry_token,
        at=now,
        not_before=None if plan.wake is Wake.IDLE or delay is None else now + delay,
        modified=modified,
        state=state,
        errors=plan.errors,
    )
    update["inference_component_status"] = state
    conds = conditions.merge(
        previous.conditions, conditions.derive(plan), generation=generation, now=iso(now)
    )
    new = previous.model_copy(
        update={
            **update,
            "observed_generation": generation,
            "conditions": conds,
            "last_deployment": plan.deployment or previous.last_deployment,
        }
    )
    return new.model_copy(update={"copies": _copies(new)})


def _copies(status: InferenceComponentStatus) -> str | None:
    if status.desired_copy_count is None:
        return None
    return f"{status.current_copy_count or 0}/{status.desired_copy_count}"


def events(
    plan: Plan, previous: InferenceComponentStatus, conds: Sequence[Condition]
) -> list[Event]:
    """Events for actions taken and for outcomes newly known; nothing for a quiet pass."""
    out: list[Event] = []
    judged = plan.judged
    if plan.revised is not None:
        out.append(
            Event(
                "Normal",
                "VerdictRevised",
                f"SageMaker now runs the spec of generation {plan.revised.generation} "
                f"InService; the earlier {plan.revised.outcome} verdict is withdrawn",
            )
        )
    elif judged is not None and judged.outcome == "Succeeded":
        out.append(Event("Normal", "Deployed", f"generation {judged.generation} is InService"))
    elif judged is not None:
        out.append(Event("Warning", judged.outcome, judged.failure_reason or judged.outcome))
    action_events = {
        Act.CREATE: "Creating",
        Act.UPDATE: "Updating",
        Act.SCALE: "Scaling",
        Act.TAG: "Tagging",
        Act.DELETE: plan.reason,
    }
    if plan.action in action_events:
        out.append(Event("Normal", action_events[plan.action], plan.message))
    elif (
        plan.degraded
        and not any(e.type == "Warning" for e in out)  # the judged outcome said it already
        and conditions.changed(previous.conditions, conds, "Degraded")
    ):
        out.append(Event("Warning", plan.reason, plan.message))
    return out
