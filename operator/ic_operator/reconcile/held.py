"""spec.suspend's one read of its own in an apply pass: whether the shared autoscaling
listings show drift the plan shown does not (the rest of a suspended pass is the
ordinary pass with its plan held, :mod:`ic_operator.reconcile.suspend`)."""

from __future__ import annotations

from ic_operator.autoscaling.step import AutoScalingStep
from ic_operator.models import InferenceComponentStatus
from ic_operator.reconcile.suspend import planned
from ic_operator.reconcile.types import Desired


async def scaling_moved_while_held(
    scaling: AutoScalingStep, desired: Desired, status: InferenceComponentStatus, region: str
) -> bool:
    """Suspended, with SageMaker unchanged: do the shared autoscaling listings ask for
    other calls than the plan shown (a target, policy, action or alarm changed by hand)?
    Drift is reported while suspended, autoscaling's too."""
    held = status.pending_plan
    if not desired.spec.suspended or held is None:
        return False
    registered = status.auto_scaling is not None and status.auto_scaling.registered
    spec = desired.spec.auto_scaling
    if spec is None and not registered:
        return False
    listed = await scaling.listed(desired.name, spec, registered, region)
    shown = [call for call in held.calls if call.service != "sagemaker"]
    return [planned(c.operation, c.request, c.service) for c in listed] != shown
