"""The reconcile pass's vocabulary: what it wants, what it read, what it decided, and
what one pass leaves behind. Pure data, shared by the planner, the passes and status
building; what each action *means* is the one table :data:`ACTIONS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ic_operator.events import Event
from ic_operator.models import InferenceComponentSpec, InferenceComponentStatus, LastDeployment
from ic_operator.models.status import Decision, PendingPlan, WriteOperation
from ic_operator.reconcile.diffing import observed_specification

TRANSITIONS = frozenset({"Creating", "Updating", "Deleting"})


class Act(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    UPDATE_RUNTIME_CONFIG = "UpdateRuntimeConfig"  # a copy-count-only change
    TAG = "Tag"
    DELETE = "Delete"
    WAIT = "Wait"
    NOOP = "NoOp"
    BLOCKED = "Blocked"
    RELEASE = "Release"  # deletion is finished from the operator's side: drop the finalizer
    SUSPENDED = "Suspended"  # spec.suspend: the plan is shown (status.pendingPlan), not sent


@dataclass(frozen=True)
class Action:
    """What an action means, everywhere it matters. A new action is one row here."""

    # The SageMaker call that carries the plan's request (Tag sends AddTags/DeleteTags
    # from the plan's tag changes; the others send nothing).
    operation: str | None = None
    # The write recorded in status.lastWrite.operation, confirmed by a later reading.
    write: WriteOperation | None = None
    # SageMaker's state once the call is accepted (what the status says until the next
    # reading); None keeps the state read.
    state_after: str | None = None
    # Calls SageMaker: the pass executes the plan and posts a Normal event named by the
    # plan's reason (Creating, Updating, Scaling, Tagging, Deleting or Recreating).
    sends: bool = False
    # Conditions: a deployment or transition is running (Progressing), or SageMaker
    # matches the spec (Ready); neither is Blocked.
    busy: bool = False
    ready: bool = False


ACTIONS: dict[Act, Action] = {
    Act.CREATE: Action("CreateInferenceComponent", "Create", "Creating", sends=True, busy=True),
    Act.UPDATE: Action("UpdateInferenceComponent", "Update", "Updating", sends=True, busy=True),
    Act.UPDATE_RUNTIME_CONFIG: Action(
        "UpdateInferenceComponentRuntimeConfig",
        "UpdateRuntimeConfig",
        "Updating",
        sends=True,
        busy=True,
    ),
    Act.DELETE: Action("DeleteInferenceComponent", "Delete", "Deleting", sends=True, busy=True),
    Act.TAG: Action(sends=True, ready=True),
    Act.WAIT: Action(busy=True),
    Act.NOOP: Action(ready=True),
    Act.BLOCKED: Action(),
    Act.RELEASE: Action(),  # never written: the object is going away
    Act.SUSPENDED: Action(),  # conditions from the held plan (conditions.derive)
}

SENDS = frozenset(act for act, action in ACTIONS.items() if action.sends)


class Wake(StrEnum):
    """When the loop looks at SageMaker next; stored as status.decision.next (whose CRD
    type, ``NextStep``, lists the same values) and read back by :func:`recorded_wake`."""

    RESYNC = "Resync"  # settled: the next drift check, at the resync interval
    POLL = "Poll"  # SageMaker is transitioning: look again after the poll delay
    CONFIRM = "Confirm"  # waiting for a reading later than the last write
    BACKOFF = "Backoff"  # a call failed: not before the backoff ends
    IDLE = "Idle"  # nothing SageMaker can change helps: wait for the spec to change
    # Ready on the listing's word (a Create finished): one routine Describe soon fills in
    # what a listing cannot tell (copy counts, the resolved image, the endpoint's ARN).
    VERIFY = "Verify"


def decided_for(decision: Decision) -> tuple[int, str | None, str | None]:
    """What the user had asked when the decision was made (compare with ``asked``)."""
    return (decision.generation, decision.retry_token, decision.redeploy_token)


def recorded_wake(status: InferenceComponentStatus) -> Wake | None:
    """The wake the last pass decided (status.decision.next), None before the first."""
    return None if status.decision is None else Wake(status.decision.next)


# Wakes whose decision.notBefore a pass respects: woken before it, nothing is due.
TIMED = frozenset({Wake.BACKOFF, Wake.POLL, Wake.CONFIRM, Wake.VERIFY})


@dataclass(frozen=True)
class Strategy:
    """How the operator reads SageMaker; the benchmark injects its naive baseline here.

    ``view`` turns a Describe into a request-shaped specification for drift detection;
    ``listing`` lets a pass answer "nothing moved" from the shared endpoint listing.
    """

    view: Callable[[Mapping[str, Any]], dict[str, Any]] = observed_specification
    listing: bool = True


DEFAULT = Strategy()


@dataclass(frozen=True)
class Desired:
    name: str  # the SageMaker component name
    uid: str
    resource: str  # "namespace/name", for the ownership tag
    generation: int
    retry_token: str | None
    spec: InferenceComponentSpec
    redeploy_token: str | None = None  # the redeploy annotation

    @property
    def asked(self) -> tuple[int, str | None, str | None]:
        """What the user asked, beyond the SageMaker state: a change of any is an edit."""
        return (self.generation, self.retry_token, self.redeploy_token)

    @property
    def endpoint(self) -> str:
        """The hosting endpoint: spec.endpointName, or the name spec.endpointRef resolved
        to (the apply pass builds Desired only once it has one, and puts it in the spec)."""
        if self.spec.endpoint_name is None:
            raise ValueError("Desired built before spec.endpointRef was resolved")
        return self.spec.endpoint_name


@dataclass(frozen=True)
class Observed:
    component: Mapping[str, Any] | None  # DescribeInferenceComponent, None when absent
    tags: Mapping[str, str] | None  # ListTags, None when not fetched this pass
    now: float  # epoch seconds, for poll pacing and timestamps


@dataclass(frozen=True)
class PollPolicy:
    minimum: float = 5.0
    maximum: float = 60.0
    # How long a reading from before the last write is waited out before it is judged
    # (or, for a write whose answer was lost, before the write is sent again).
    confirm_window: float = 60.0
    resync: float = 300.0

    def delay(self, elapsed: float) -> float:
        """Poll faster early in a transition, slower as it drags on; never a hot loop."""
        return min(max(elapsed / 10.0, self.minimum), self.maximum)

    def for_transition(self, component: Mapping[str, Any], now: float) -> float:
        """The delay for a component (or list summary) whose transition began at its
        LastModifiedTime."""
        started = epoch(component.get("LastModifiedTime")) or now
        return self.delay(now - started)


DEFAULT_POLL = PollPolicy()


@dataclass(frozen=True)
class StatusDelta:
    """What a plan records in the status besides the reading it was made on."""

    deployment: LastDeployment | None = None  # the lastDeployment to record
    judged: LastDeployment | None = None  # a deployment whose outcome became known this pass
    revised: LastDeployment | None = None  # a verdict SageMaker contradicted, now withdrawn
    confirmed: bool = False  # this reading is later than status.lastWrite
    owned: bool = True  # the component is this resource's: its ARN is recorded
    # The write this plan may have sent although it is not a write action (its answer
    # was lost): recorded in status.lastWrite with outcome Unknown.
    sent: WriteOperation | None = None
    tags_hash: str | None = None  # the desired tags are known to be in SageMaker


@dataclass(frozen=True)
class Plan:
    action: Act
    reason: str
    message: str
    request: dict[str, Any] | None = None
    wake: Wake = Wake.RESYNC  # when to look next
    delay: float | None = None  # how long for POLL/CONFIRM/BACKOFF/VERIFY (default: poll.minimum)
    errors: int = 0  # consecutive failed calls behind a BACKOFF
    degraded: bool = False
    tags_add: dict[str, str] = field(default_factory=dict)
    tags_remove: tuple[str, ...] = ()
    record: StatusDelta = StatusDelta()
    # Set while spec.suspend is true (status.pendingPlan): what the operator holds back.
    pending: PendingPlan | None = None
    # (reason, message): the autoscaling step failed in a way a human must fix while
    # the plan itself went well; Degraded says so (reconcile.failures.scaling_failed).
    scaling_degraded: tuple[str, str] | None = None

    def wake_in(self, poll: PollPolicy) -> float | None:
        """Seconds until the next look; None: until the spec changes. The one place this
        is decided: the loop sleeps it and status.decision.notBefore records it."""
        if self.wake is Wake.IDLE:
            return None
        if self.wake is Wake.RESYNC:
            return poll.resync
        return self.delay if self.delay is not None else poll.minimum


class Trigger(StrEnum):
    """Why a pass runs (the ``trigger`` label of ic_operator_reconciles_total)."""

    START = "start"  # the loop started: operator start, resume, or a new object
    CHANGE = "change"  # the spec or the retry annotation changed
    TIMER = "timer"  # a resync, or a tick during a long backoff
    POLL = "poll"  # a transition, a confirmation or a backoff came due
    LISTED = "listed"  # another component's List showed this one's transition moving on
    DELETE = "delete"  # the finalizer


# The key under which a transition waits for the endpoint's listing to show it moving:
# (region, endpoint, SageMaker component name).
TransitionKey = tuple[str, str, str]


@dataclass(frozen=True)
class PassContext:
    """What one pass knows of the object and the moment, for every step after parsing."""

    uid: str
    generation: int
    retry_token: str | None
    now: float
    region: str
    identity: Mapping[str, Any] = field(default_factory=dict)  # name and region, for display
    redeploy_token: str | None = None

    @property
    def asked(self) -> tuple[int, str | None, str | None]:
        """As :attr:`Desired.asked`."""
        return (self.generation, self.retry_token, self.redeploy_token)


@dataclass(frozen=True)
class PassResult:
    """What one pass leaves behind; built once, at the end of the pass."""

    status: InferenceComponentStatus | None  # None: nothing to write
    sleep: float | None  # seconds until the next pass; None: until the spec changes
    outcome: str  # for metrics and logs
    events: tuple[Event, ...] = ()
    released: bool = False  # finalizer: deletion is complete from the operator's side
    # A transition the endpoint's listing can show moving on: any List of that endpoint,
    # made for whichever component, wakes this one.
    transition: TransitionKey | None = None
    # (region, endpoint) whose status this one's write waits for: the endpoint watch
    # wakes it when that changes.
    endpoint: tuple[str, str] | None = None


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: Any) -> float | None:
    """SageMaker timestamps arrive as datetimes (boto3) or epoch numbers (raw JSON)."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None
