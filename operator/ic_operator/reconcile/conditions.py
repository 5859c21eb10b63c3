"""Conditions a person and Argo CD can read: Ready, Progressing, Degraded.

Derived from the plan alone, so that the same situation always reads the same,
and ``lastTransitionTime`` only moves when a condition's status really changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ic_operator.models import Condition
from ic_operator.reconcile.types import ACTIONS, Act, Plan


def derive(plan: Plan) -> dict[str, tuple[str, str, str]]:
    """type -> (status, reason, message)."""
    ok = ("False", "AsExpected", "")
    degraded = ("True", plan.reason, plan.message) if plan.degraded else ok
    if not plan.degraded and plan.scaling_degraded is not None:
        degraded = ("True", *plan.scaling_degraded)
    meaning = ACTIONS[plan.action]
    if plan.action is Act.SUSPENDED and plan.pending is not None:
        # Ready only when nothing is held back; never Progressing: nothing will move
        # until the resource is resumed (Argo CD's health shows Suspended).
        ready = "False" if plan.pending.calls or plan.pending.differences else "True"
        return {
            "Ready": (ready, plan.reason, plan.message),
            "Progressing": ("False", plan.reason, plan.message),
            "Degraded": degraded,
        }
    if meaning.ready:
        return {
            "Ready": ("True", "InSync", plan.message),
            "Progressing": ("False", "Complete", "no deployment is running"),
            "Degraded": degraded,
        }
    if meaning.busy:
        return {
            "Ready": ("False", plan.reason, plan.message),
            "Progressing": ("True", plan.reason, plan.message),
            "Degraded": degraded,
        }
    # Blocked (and Release, which is never written: the object is going away)
    return {
        "Ready": ("False", plan.reason, plan.message),
        "Progressing": ("False", "Blocked", plan.message),
        "Degraded": degraded,
    }


def merge(
    previous: Sequence[Condition],
    derived: dict[str, tuple[str, str, str]],
    *,
    generation: int,
    now: str,
) -> list[Condition]:
    """New condition list, one per derived type in its order; keeps lastTransitionTime
    when a condition's status is unchanged."""
    before = {c.type: c for c in previous}
    out: list[Condition] = []
    for ctype, (status, reason, message) in derived.items():
        old = before.get(ctype)
        since = old.last_transition_time if old is not None and old.status == status else now
        out.append(
            Condition(
                type=ctype,
                status=status,
                reason=reason,
                message=message[:1024],
                last_transition_time=since,
                observed_generation=generation,
            )
        )
    return out


def changed(previous: Sequence[Condition], current: Sequence[Condition], ctype: str) -> bool:
    """Did this condition's status or reason change? Used to post events once, not every pass."""
    before = {c.type: (c.status, c.reason, c.message) for c in previous}
    after = {c.type: (c.status, c.reason, c.message) for c in current}
    return before.get(ctype) != after.get(ctype)
