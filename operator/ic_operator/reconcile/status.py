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

from ic_operator.events import Event
from ic_operator.models import (
    Condition,
    Decision,
    InferenceComponentStatus,
    LastWrite,
    PendingPlan,
)
from ic_operator.models.status import WriteOperation
from ic_operator.reconcile import conditions
from ic_operator.reconcile.execute import Executed
from ic_operator.reconcile.types import ACTIONS, PassContext, Plan, epoch, iso


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


def without_timestamps(status: Mapping[str, Any]) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Reading:
    """What this pass read of the component."""

    component: Mapping[str, Any] | None  # None: absent (or not read)
    # A reading was made this pass (``component`` None meaning absent); False when none
    # was (a spec rejected before any call, or a read that failed).
    read: bool
    # ``component`` is an endpoint listing's summary, which carries the state and
    # LastModifiedTime but not what Describe adds (copy counts, image, endpoint ARN):
    # those keep their recorded values rather than being read as cleared.
    listed: bool = False


NOT_READ = Reading(None, read=False)


def build(
    plan: Plan,
    previous: InferenceComponentStatus,
    ctx: PassContext,
    *,
    reading: Reading,
    executed: Executed | None,
    wake_in: float | None,
) -> InferenceComponentStatus:
    """The status after ``plan``. ``executed``: the plan's call succeeded; ``wake_in``:
    the seconds until the next look the pass decided (recorded as notBefore, so a
    restarted process waits as this one does)."""
    component = reading.component
    update: dict[str, Any] = dict(ctx.identity)
    state = previous.inference_component_status
    modified = previous.decision.modified if previous.decision is not None else None
    if reading.read:
        state = str(component.get("InferenceComponentStatus")) if component else "NotFound"
        modified = epoch(component.get("LastModifiedTime")) if component else None
        if not reading.listed:
            update.update(observed_fields(component or {}))
    meaning = ACTIONS[plan.action]
    record = plan.record
    if executed is not None and meaning.state_after is not None:
        state = meaning.state_after
    write: tuple[WriteOperation, Literal["Accepted", "Unknown"]] | None = None
    if executed is not None and meaning.write is not None:
        write = (meaning.write, "Accepted")
    elif record.sent is not None:
        write = (record.sent, "Unknown")
    if write is not None:
        update["last_write"] = LastWrite(
            operation=write[0],
            generation=ctx.generation,
            spec_hash=record.deployment.spec_hash if record.deployment is not None else None,
            sent_at=ctx.now,
            based_on_modified=modified if component is not None else None,
            outcome=write[1],
        )
    elif record.confirmed and previous.last_write is not None:
        update["last_write"] = previous.last_write.model_copy(update={"confirmed": True})
    arn = executed.arn if executed is not None else None
    if arn is None and component is not None:
        arn = component.get("InferenceComponentArn")
    if record.owned and arn:
        update["inference_component_arn"] = arn
    if record.tags_hash is not None:
        update["tags_hash"] = record.tags_hash
    update["decision"] = Decision(
        next=plan.wake.value,
        generation=ctx.generation,
        retry_token=ctx.retry_token,
        redeploy_token=ctx.redeploy_token,
        at=ctx.now,
        not_before=None if wake_in is None else ctx.now + wake_in,
        modified=modified,
        state=state,
        errors=plan.errors,
    )
    update["inference_component_status"] = state
    update["pending_plan"] = plan.pending
    conds = conditions.merge(
        previous.conditions, conditions.derive(plan), generation=ctx.generation, now=iso(ctx.now)
    )
    new = previous.model_copy(
        update={
            **update,
            "observed_generation": ctx.generation,
            "conditions": conds,
            "last_deployment": record.deployment or previous.last_deployment,
        }
    )
    return new.model_copy(update={"copies": _copies(new)})


def _copies(status: InferenceComponentStatus) -> str | None:
    if status.desired_copy_count is None:
        return None
    return f"{status.current_copy_count or 0}/{status.desired_copy_count}"


def events(
    plan: Plan, previous: InferenceComponentStatus, conds: Sequence[Condition]
) -> tuple[Event, ...]:
    """Events for actions taken and for outcomes newly known; nothing for a quiet pass."""
    out: list[Event] = []
    judged, revised = plan.record.judged, plan.record.revised
    if revised is not None:
        out.append(
            Event(
                "Normal",
                "VerdictRevised",
                f"SageMaker now runs the spec of generation {revised.generation} "
                f"InService; the earlier {revised.outcome} verdict is withdrawn",
            )
        )
    elif judged is not None and judged.outcome == "Succeeded":
        out.append(Event("Normal", "Deployed", f"generation {judged.generation} is InService"))
    elif judged is not None:
        out.append(Event("Warning", judged.outcome, judged.failure_reason or judged.outcome))
    out.extend(suspension_events(plan.pending, previous))
    if ACTIONS[plan.action].sends:
        out.append(Event("Normal", plan.reason, plan.message))
    elif (
        plan.degraded
        and not any(e.type == "Warning" for e in out)  # the judged outcome said it already
        and conditions.changed(previous.conditions, conds, "Degraded")
    ):
        out.append(Event("Warning", plan.reason, plan.message))
    return tuple(out)


def suspension_events(
    pending: PendingPlan | None, previous: InferenceComponentStatus
) -> list[Event]:
    """Suspended and Resumed once each, and a new plan while suspended (drift seen, an
    edit held back): a reviewer follows in `kubectl describe` what resuming will do."""
    before = previous.pending_plan
    if pending is not None and before is None:
        return [Event("Normal", "Suspended", pending.message)]
    if pending is None and before is not None:
        return [
            Event("Normal", "Resumed", f"executing the plan held while suspended: {before.summary}")
        ]
    if pending is not None and before is not None and _plan_of(pending) != _plan_of(before):
        return [Event("Normal", "PlanChanged", pending.message)]
    return []


def _plan_of(pending: PendingPlan) -> tuple[Any, ...]:
    return (pending.calls, pending.differences)
