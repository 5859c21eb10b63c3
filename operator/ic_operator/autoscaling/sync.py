"""spec.autoScaling in a pass: read what Application Auto Scaling and CloudWatch hold,
send the calls the pure plan (:mod:`ic_operator.autoscaling.plan`) asks for, and read
the activities for status.autoScaling.

The reconciler decides *when* (an edit, a copy count that moved, a running scaling
activity, or the autoscaling resync interval); this module only does the I/O, through
the one client door (``service=`` on :meth:`SageMakerApi.call`), so the calls share
SageMaker's budget and error classification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ic_operator.autoscaling import plan as asp
from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.models.autoscaling import AutoScaling
from ic_operator.models.autoscaling_requests import STEP_POLICY_NAME
from ic_operator.models.autoscaling_status import AutoScalingStatus, auto_scaling_status

_LISTS = {
    "DescribeScalableTargets": "ScalableTargets",
    "DescribeScalingPolicies": "ScalingPolicies",
    "DescribeScheduledActions": "ScheduledActions",
    "DescribeAlarms": "MetricAlarms",
}


@dataclass(frozen=True)
class Synced:
    status: AutoScalingStatus
    writes: tuple[asp.Call, ...]  # the write calls sent this pass (empty when in sync)
    new_activity: bool  # the newest activity differs from the one status recorded
    reading: asp.TargetReading  # what AWS holds after the writes (the sweep keeps it)


async def _send(
    client: SageMakerApi, call: asp.Call, region: str, purpose: Purpose
) -> dict[str, Any]:
    return await client.call(
        call.operation, call.request, region=region, purpose=purpose, service=call.service
    )


async def read_all(
    client: SageMakerApi, call: asp.Call, region: str, purpose: Purpose
) -> dict[str, Any]:
    """Every page of one Describe, merged under its list key."""
    key = _LISTS[call.operation]
    items: list[Any] = []
    request = dict(call.request)
    while True:
        page = await client.call(
            call.operation, request, region=region, purpose=purpose, service=call.service
        )
        items.extend(page.get(key) or [])
        token = page.get("NextToken")
        if not token:
            return {key: items}
        request = {**request, "NextToken": token}


async def observe(
    client: SageMakerApi,
    name: str,
    desired: AutoScaling | None,
    region: str,
    purpose: Purpose,
) -> asp.TargetReading:
    targets = await read_all(client, asp.target_read(name), region, purpose)
    observed = asp.observed_from(name, targets=targets)
    policies: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    if observed.target is not None:
        policy_read, action_read = asp.detail_reads(name)
        policies = await read_all(client, policy_read, region, purpose)
        actions = await read_all(client, action_read, region, purpose)
    alarms: dict[str, Any] | None = None
    if asp.alarm_read_needed(desired, (policies or {}).get("ScalingPolicies") or []):
        alarms = await read_all(client, asp.alarm_read(name), region, purpose)
    return asp.observed_from(
        name, targets=targets, policies=policies, scheduled_actions=actions, alarms=alarms
    )


async def apply(
    client: SageMakerApi, calls: Sequence[asp.Call], region: str
) -> tuple[asp.Call, ...]:
    """Send the plan's calls in order. The step policy's PolicyARN feeds the alarm that
    triggers it; a delete of something already gone is done."""
    step_arn: str | None = None
    sent: list[asp.Call] = []
    for planned in calls:
        call = planned
        if planned.needs_step_policy_arn:
            assert step_arn is not None, "the step policy is planned before its alarm"
            call = asp.with_step_policy_arn(planned, step_arn)
        try:
            response = await _send(client, call, region, Purpose.WRITE)
        except SageMakerError as err:
            if err.kind is ErrorKind.NOT_FOUND and call.operation.startswith(("Delete", "Dereg")):
                sent.append(call)
                continue
            raise
        if (
            call.operation == "PutScalingPolicy"
            and call.request.get("PolicyName") == STEP_POLICY_NAME
        ):
            step_arn = str(response.get("PolicyARN"))
        sent.append(call)
    return tuple(sent)


async def sync(
    client: SageMakerApi,
    name: str,
    desired: AutoScaling | None,
    previous: AutoScalingStatus | None,
    region: str,
    *,
    component: Mapping[str, Any] | None,
    purpose: Purpose,
    activities: bool = True,
) -> Synced:
    """Read, correct, and report spec.autoScaling for one existing component.

    ``activities`` False (a routine resync where the copy count has not moved, so no
    activity can have moved it): the last activity recorded is kept, one call fewer."""
    registered = previous.registered if previous is not None else False
    observed = await observe(client, name, desired, region, purpose)
    calls = asp.sync_calls(desired, observed, name, owned=asp.owned(desired, registered))
    sent = await apply(client, calls, region)
    if sent:
        observed = await observe(client, name, desired, region, Purpose.FIRST_LOOK)
    found: list[Mapping[str, Any]] = []
    keep = not activities and not sent and previous is not None
    if observed.target is not None and not keep:
        page = await _send(client, asp.activities_read(name), region, purpose)
        found = list(page.get("ScalingActivities") or [])
    runtime = (component or {}).get("RuntimeConfig") or {}
    status = auto_scaling_status(
        observed.target,
        found,
        desired_copies=runtime.get("DesiredCopyCount"),
        current_copies=runtime.get("CurrentCopyCount"),
        registered_by_operator=desired is not None or registered,
    )
    before = previous.last_activity if previous is not None else None
    if keep and observed.target is not None:
        status = status.model_copy(update={"last_activity": before})
    moved = status.last_activity is not None and status.last_activity != before
    return Synced(status, sent, moved, observed)


async def removal(client: SageMakerApi, name: str, region: str) -> list[asp.Call]:
    """What :func:`remove` would send now (read, not sent: a suspended deletion shows it)."""
    return asp.removal(await observe(client, name, None, region, Purpose.SWEEP), name)


async def remove(client: SageMakerApi, name: str, region: str) -> tuple[asp.Call, ...]:
    """Before DeleteInferenceComponent (deletionPolicy Delete): the alarm, then the target."""
    observed = await observe(client, name, None, region, Purpose.WRITE)
    return await apply(client, asp.removal(observed, name), region)
