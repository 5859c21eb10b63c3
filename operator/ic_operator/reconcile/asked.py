"""What the user asks beyond the spec, through annotations: a retry (try again what
failed) and a redeploy (send the spec once more, whatever SageMaker runs). Pure.

They are kept apart because they ask different things: a retry on a component in sync
has nothing to retry, while a redeploy is wanted exactly then (a mutable image tag that
now points elsewhere, as `kubectl rollout restart` for a Deployment).
"""

from __future__ import annotations

from ic_operator.models import LastDeployment
from ic_operator.names import REDEPLOY_ANNOTATION, RETRY_ANNOTATION
from ic_operator.reconcile.types import Desired


def retry_asked(last: LastDeployment | None, desired: Desired) -> bool:
    """A new retry annotation value while the last deployment rolled back or failed: that
    deployment is tried again. On anything else a retry only re-reads (the pass is an
    edit), it sends nothing."""
    return (
        last is not None
        and last.retry_token != desired.retry_token
        and last.outcome in ("RolledBack", "Failed")
    )


def redeploying(last: LastDeployment | None, desired: Desired) -> bool:
    """The last deployment is the redeploy asked now, not yet judged: a reading that
    already shows the desired spec says nothing of it until it is later than the write."""
    return (
        last is not None
        and last.outcome == "InProgress"
        and desired.redeploy_token is not None
        and last.redeploy_token == desired.redeploy_token
    )


def redeploy_asked(last: LastDeployment | None, desired: Desired) -> bool:
    """A redeploy annotation value no deployment was made under yet. With no deployment
    recorded (adopted, or status lost) there is nothing to tell a new value from one
    already served, so none is assumed new: a restart never redeploys."""
    return (
        last is not None
        and desired.redeploy_token is not None
        and last.redeploy_token != desired.redeploy_token
    )


def update_reason(
    diffs: list[str],
    last: LastDeployment | None,
    *,
    spec_moved: bool,
    retry_requested: bool,
    redeploy: bool,
    adopting: bool,
) -> str:
    """The Updating event's message: why this update goes out."""
    if adopting:
        return "adopting an existing component and applying the spec"
    if redeploy and not (diffs or spec_moved):
        return f"redeploying the spec as requested by {REDEPLOY_ANNOTATION}"
    if retry_requested and not spec_moved:
        return f"retrying the spec as requested by {RETRY_ANNOTATION}"
    if spec_moved or last is None:
        return "applying the new spec"
    if last.outcome == "InProgress":
        return "sending the spec again: SageMaker never showed the last update"
    return "correcting drift at " + ", ".join(diffs[:5])
