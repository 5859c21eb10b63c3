"""Write confirmation: whether a reading shows the last write, and waiting until one does.

A reading judges a write only when it is known to be later than the write; until then
the plan waits (``Confirming``), for at most ``PollPolicy.confirm_window``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ic_operator.models import LastWrite
from ic_operator.reconcile.types import TRANSITIONS, Act, Plan, PollPolicy, Wake, epoch


def newer_than_write(component: Mapping[str, Any], write: LastWrite | None) -> bool:
    """Is this reading known to be later than the last write?

    SageMaker stamps LastModifiedTime on every change it makes (the update itself,
    each rolling batch, the rollback), so a reading whose LastModifiedTime is later
    than the one the write was decided on shows the write or something after it. The
    comparison uses SageMaker's clock only, so clock skew cannot fool it. A transition
    (Creating, Updating, Deleting) is also later: writes are only sent to a settled
    component. Equal times mean "not known": the reading may be from before the write.
    """
    if write is None:
        return True
    if component.get("InferenceComponentStatus") in TRANSITIONS:
        return True
    if write.based_on_modified is None:  # the component was absent when it was created
        return True
    modified = epoch(component.get("LastModifiedTime"))
    return modified is not None and modified > write.based_on_modified


def confirming(write: LastWrite, now: float, policy: PollPolicy) -> bool:
    return now < write.sent_at + policy.confirm_window


def recent_create(write: LastWrite, now: float, policy: PollPolicy) -> bool:
    """A Create sent within the confirmation window and not seen since."""
    return write.operation == "Create" and not write.confirmed and confirming(write, now, policy)


def confirm_plan(write: LastWrite, now: float, policy: PollPolicy, what: str) -> Plan:
    left = max(policy.minimum, write.sent_at + policy.confirm_window - now)
    return Plan(
        Act.WAIT,
        "Confirming",
        f"waiting for SageMaker to show the {write.operation} sent for generation "
        f"{write.generation} ({what})",
        delay=min(policy.minimum, left),
        wake=Wake.CONFIRM,
    )
