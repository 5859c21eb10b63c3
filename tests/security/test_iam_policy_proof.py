"""docs/iam-policy.json, proven sufficient and minimal against the emulator's IAM.

The operator runs as an assumed role whose only identity policy is the file (the emulator's
`authorize` switch on, so every SageMaker, Application Auto Scaling and CloudWatch call is
evaluated against it, emulator/authorization.py). Sufficient: the whole lifecycle (create,
rolling update, scale, tags, autoscaling with a scheduled action and scale to zero, policy
and schedule changes, delete) passes with no call denied, and every action the file grants
is one the run used. Minimal: for each action the file grants, a run with the file minus
that action shows the step that breaks, the denied call in the emulator's log, and the
resource's report of it (a condition or the autoscaling status naming the action).

The actions come from the file, so an action added to it without a step here fails
`test_every_granted_action_has_a_step` until someone proves it is needed.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ic_operator.models.autoscaling_requests import alarm_name
from ic_sandbox.emulator.authorization import IAM_PREFIXES
from ic_sandbox.harness.identity import AwsCredentials
from tests.e2e.test_autoscaling import scaling, wait_copies, wait_scaling
from tests.emulator.identity_helpers import issue, signed_client
from tests.fixtures.controlplane import Cluster, Kubectl
from tests.fixtures.emulator import ACCOUNT_ID, RunningEmulator, wait_for
from tests.fixtures.operator import OperatorTestbed, image, operator_world, set_image

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

POLICY_PATH = Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json"
ROLE = "sagemaker-ic-operator"
DEPLOYER = f"arn:aws:iam::{ACCOUNT_ID}:user/deployer"
SESSION = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE}/ic-operator"
DENIED = ("AccessDeniedException", "AccessDenied")
# The role's trust policy: the user `deployer` may assume it.
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEPLOYER}, "Action": "sts:AssumeRole"}],
}
NIGHTLY = {
    **scaling(0, 2),
    "scheduledActions": [
        {"scheduledActionName": "mornings", "schedule": "cron(0 8 * * ? *)", "minCopies": 1}
    ],
}


def the_policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_PATH.read_text())
    return document


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def granted() -> list[str]:
    """Every action the file grants, in its order."""
    return [a for s in the_policy()["Statement"] for a in _listed(s["Action"])]


def without(action: str) -> dict[str, Any]:
    """The file minus one action (and minus its statement, if that was its only one)."""
    document = copy.deepcopy(the_policy())
    kept = []
    for statement in document["Statement"]:
        actions = [a for a in _listed(statement["Action"]) if a != action]
        if actions:
            kept.append({**statement, "Action": actions})
    document["Statement"] = kept
    return document


# ---------------------------------------------------------------------------- the role


RunAs = Callable[[dict[str, Any]], OperatorTestbed]


@pytest.fixture
def run_as(
    request: pytest.FixtureRequest,
    control_plane: Cluster,
    kubectl: Kubectl,
    namespace: str,
    crds_installed: None,
    emulator: RunningEmulator,
    sagemaker: Any,
    tmp_path: Path,
) -> Iterator[RunAs]:
    """`run_as(policy)`: the operator, started as a session of the role `ROLE` (assumed
    through STS by the user `deployer`, whom its trust policy names) whose one identity
    policy is `policy`; authorization on from a clean IAM (no service-linked role yet, only
    the harness's own credentials, restored) until the test ends. The endpoint is made by
    the test client, the harness's admin user (allowed everything, harness/identity.py)."""
    admin = emulator.admin
    admin.request("DELETE", "identity")
    assert emulator.identity is not None, "the tests' emulators verify signatures"
    emulator.identity.restore()
    admin.request("PUT", "identity", {"authorize": True})
    worlds: list[Iterator[OperatorTestbed]] = []

    def start(policy: dict[str, Any]) -> OperatorTestbed:
        admin.request("PUT", f"roles/{ROLE}", {"trust_policy": TRUST, "policies": [policy]})
        sts = signed_client(emulator, "sts", issue(emulator, user="deployer"))
        role = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}"
        session = sts.assume_role(RoleArn=role, RoleSessionName="ic-operator")["Credentials"]
        credentials = AwsCredentials.issued(session)
        world = operator_world(
            request, control_plane, kubectl, namespace, emulator, sagemaker, tmp_path, credentials
        )
        worlds.append(world)
        return next(world)

    try:
        yield start
    finally:
        for world in worlds:
            next(world, None)
        admin.request("PUT", "identity", {"authorize": False})
        admin.request("DELETE", "identity")
        emulator.identity.restore()


def operator_calls(world: OperatorTestbed) -> list[dict[str, Any]]:
    """The operator's calls that identity policies authorize (not its STS GetCallerIdentity
    at start, which no policy can deny)."""
    return [
        c
        for c in world.emulator.admin.calls()
        if (c["principal"] or {}).get("arn") == SESSION and c["service"] in IAM_PREFIXES
    ]


def iam_action(call: dict[str, Any]) -> str:
    return f"{IAM_PREFIXES[call['service']]}:{call['operation']}"


def denials(world: OperatorTestbed) -> list[str]:
    return [iam_action(c) for c in operator_calls(world) if c["error"] in DENIED]


def tags_of(world: OperatorTestbed, name: str) -> dict[str, str]:
    arn = world.describe(name)["InferenceComponentArn"]
    return {t["Key"]: t["Value"] for t in world.sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def delete(world: OperatorTestbed, name: str, *, wait: bool = True) -> None:
    world.kubectl(
        "delete", "smic", name, "-n", world.namespace, f"--wait={str(wait).lower()}", timeout=90
    )


# ---------------------------------------------------------------------------- sufficient


def test_the_policy_suffices_for_the_whole_lifecycle(run_as: RunAs) -> None:
    world = run_as(the_policy())
    # create, with tags
    world.apply(world.manifest("chat", copies=2))
    world.wait_settled("chat")
    # rolling update
    set_image(world, "chat", image("0.30.0-cpu-full"))
    world.wait_ready("chat", generation=2, timeout=90)
    # scale
    world.patch("chat", {"spec": {"runtimeConfig": {"copyCount": 3}}})
    wait_for(lambda: (world.get("chat") or {})["status"].get("copies") == "3/3", timeout=60,
             what="copies 3/3")  # fmt: skip
    # tags: one added, one removed
    world.patch("chat", {"spec": {"tags": {"team": None, "owner": "ml"}}})
    wait_for(lambda: "team" not in tags_of(world, "chat") and tags_of(world, "chat").get("owner"),
             timeout=60, what="tags synced")  # fmt: skip
    # autoscaling with a scheduled action, to zero and back
    world.apply(world.manifest("nightly", copies=1, autoScaling=NIGHTLY))
    world.wait_ready("nightly")
    wait_scaling(world, "nightly", registered=True)
    world.emulator.admin.load("nightly", "invocationsPerCopy", total=0)
    wait_copies(world, "nightly", 0)
    assert world.emulator.admin.requests("nightly", 3) == {"served": 0, "failed": 3}
    world.emulator.admin.load("nightly", "invocationsPerCopy", total=5)
    wait_scaling(world, "nightly", desiredCopies=1, currentCopies=1, state="Steady")
    # the policy renamed, the schedule dropped, minCopies 1 (the scale-out alarm goes)
    renamed = scaling(1, 2)
    renamed["policies"][0]["policyName"] = "per-copy"
    world.patch("nightly", {"spec": {"autoScaling": {**renamed, "scheduledActions": None}}})
    world.wait_ready("nightly", generation=2)
    wait_scaling(world, "nightly", registered=True, minCopies=1)
    # delete both
    delete(world, "nightly")
    delete(world, "chat")

    assert denials(world) == []
    used = {iam_action(c) for c in operator_calls(world) if c["error"] is None}
    assert used == set(granted()) - {"iam:CreateServiceLinkedRole"}, sorted(set(granted()) ^ used)
    # the first registration made the service-linked role, on the role's authority
    roles = world.emulator.admin.request("GET", "identity")["service_linked_roles"]
    assert [r.rsplit("/", 1)[1] for r in roles] == [
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    ]


# ---------------------------------------------------------------------------- minimal


def ready(world: OperatorTestbed, name: str, **spec: Any) -> None:
    world.apply(world.manifest(name, copies=1, **spec))
    world.wait_settled(name)


def registered(world: OperatorTestbed, name: str, scaling_spec: dict[str, Any]) -> None:
    world.apply(world.manifest(name, copies=1, autoScaling=scaling_spec))
    world.wait_ready(name)
    wait_scaling(world, name, registered=True)


def _create(world: OperatorTestbed) -> str:
    world.apply(world.manifest("x", copies=1))
    return "x"


def _retag(world: OperatorTestbed) -> str:
    ready(world, "x")
    world.patch("x", {"spec": {"tags": {"team": None}}})
    return "x"


def _new_image(world: OperatorTestbed) -> str:
    ready(world, "x")
    set_image(world, "x", image("0.30.0-cpu-full"))
    return "x"


def _more_copies(world: OperatorTestbed) -> str:
    ready(world, "x")
    world.patch("x", {"spec": {"runtimeConfig": {"copyCount": 2}}})
    return "x"


def _delete(world: OperatorTestbed) -> str:
    ready(world, "x")
    delete(world, "x", wait=False)
    return "x"


def _autoscaled(world: OperatorTestbed) -> str:
    world.apply(world.manifest("x", copies=1, autoScaling=NIGHTLY))
    return "x"


def _unscaled(world: OperatorTestbed) -> str:
    registered(world, "x", scaling(1, 2))
    world.patch("x", {"spec": {"autoScaling": None}})
    return "x"


def _policy_renamed(world: OperatorTestbed) -> str:
    registered(world, "x", scaling(1, 2))
    renamed = scaling(1, 2)
    renamed["policies"][0]["policyName"] = "per-copy"
    world.patch("x", {"spec": {"autoScaling": renamed}})
    return "x"


def _schedule_dropped(world: OperatorTestbed) -> str:
    registered(world, "x", {**scaling(1, 2), "scheduledActions": NIGHTLY["scheduledActions"]})
    world.patch("x", {"spec": {"autoScaling": {"scheduledActions": None}}})
    return "x"


def _zero_floor_raised(world: OperatorTestbed) -> str:
    registered(world, "x", scaling(0, 2))
    world.patch("x", {"spec": {"autoScaling": {"minCopies": 1}}})
    return "x"


@dataclass(frozen=True)
class Step:
    """What to do so that the operator needs the action, and the call AWS refuses."""

    run: Callable[[OperatorTestbed], str]  # returns the resource that must report it
    refused: str  # the IAM action of the denied call (the one the operator made)


STEPS: dict[str, Step] = {
    "sagemaker:CreateInferenceComponent": Step(_create, "sagemaker:CreateInferenceComponent"),
    # tags sent with a create are AddTags too (sagemaker:TaggingAction)
    "sagemaker:AddTags": Step(_create, "sagemaker:CreateInferenceComponent"),
    "sagemaker:DeleteTags": Step(_retag, "sagemaker:DeleteTags"),
    "sagemaker:DescribeInferenceComponent": Step(_create, "sagemaker:DescribeInferenceComponent"),
    "sagemaker:UpdateInferenceComponent": Step(_new_image, "sagemaker:UpdateInferenceComponent"),
    "sagemaker:UpdateInferenceComponentRuntimeConfig": Step(
        _more_copies, "sagemaker:UpdateInferenceComponentRuntimeConfig"
    ),
    "sagemaker:DeleteInferenceComponent": Step(_delete, "sagemaker:DeleteInferenceComponent"),
    # read before a tag sync (and to recognise an own component after a crash)
    "sagemaker:ListTags": Step(_retag, "sagemaker:ListTags"),
    "sagemaker:ListInferenceComponents": Step(_create, "sagemaker:ListInferenceComponents"),
    # the endpoint's readiness, read before the first write (endpoints.md)
    "sagemaker:DescribeEndpoint": Step(_create, "sagemaker:DescribeEndpoint"),
    "application-autoscaling:RegisterScalableTarget": Step(
        _autoscaled, "application-autoscaling:RegisterScalableTarget"
    ),
    "application-autoscaling:DeregisterScalableTarget": Step(
        _unscaled, "application-autoscaling:DeregisterScalableTarget"
    ),
    "application-autoscaling:PutScalingPolicy": Step(
        _autoscaled, "application-autoscaling:PutScalingPolicy"
    ),
    "application-autoscaling:DeleteScalingPolicy": Step(
        _policy_renamed, "application-autoscaling:DeleteScalingPolicy"
    ),
    "application-autoscaling:PutScheduledAction": Step(
        _autoscaled, "application-autoscaling:PutScheduledAction"
    ),
    "application-autoscaling:DeleteScheduledAction": Step(
        _schedule_dropped, "application-autoscaling:DeleteScheduledAction"
    ),
    "application-autoscaling:DescribeScalableTargets": Step(
        _autoscaled, "application-autoscaling:DescribeScalableTargets"
    ),
    "application-autoscaling:DescribeScalingPolicies": Step(
        _autoscaled, "application-autoscaling:DescribeScalingPolicies"
    ),
    "application-autoscaling:DescribeScheduledActions": Step(
        _autoscaled, "application-autoscaling:DescribeScheduledActions"
    ),
    "application-autoscaling:DescribeScalingActivities": Step(
        _autoscaled, "application-autoscaling:DescribeScalingActivities"
    ),
    "cloudwatch:PutMetricAlarm": Step(_autoscaled, "cloudwatch:PutMetricAlarm"),
    "cloudwatch:DescribeAlarms": Step(_autoscaled, "cloudwatch:DescribeAlarms"),
    "cloudwatch:DeleteAlarms": Step(_zero_floor_raised, "cloudwatch:DeleteAlarms"),
    # the first registration in the account makes the service-linked role
    "iam:CreateServiceLinkedRole": Step(
        _autoscaled, "application-autoscaling:RegisterScalableTarget"
    ),
}


def test_every_granted_action_has_a_step() -> None:
    assert set(granted()) == set(STEPS)


def reports(world: OperatorTestbed, name: str, action: str) -> str | None:
    """What the resource says of the denial, when it names the action: a condition's
    reason and message (SageMaker's calls: `Ready=False AccessDenied`; autoscaling's:
    `Degraded=True AutoScalingAccessDenied`, the autoscaling status keeping its last good
    reading), or a Warning event's (`AutoScalingFailed`)."""
    status = (world.get(name) or {}).get("status") or {}
    said = [
        f"{c['type']}={c['status']} {c.get('reason')}: {c.get('message')}"
        for c in status.get("conditions", [])
    ]
    said += [
        f"event {e['type']} {e['reason']}: {e['message']}"
        for e in world.events(name)
        if e["type"] == "Warning"
    ]
    return next((line for line in said if action in line), None)


@pytest.mark.parametrize("action", granted())
def test_each_action_is_needed(run_as: RunAs, action: str) -> None:
    step = STEPS[action]
    world = run_as(without(action))
    name = step.run(world)
    wait_for(lambda: step.refused in denials(world), timeout=90, what=f"{step.refused} denied")
    said = wait_for(lambda: reports(world, name, action), timeout=60, what=f"{name} names {action}")
    print(f"{action}: {said}")
    assert "AccessDenied" in said


# ------------------------------------------------------- an autoscaling write refused

# What each refused write names as its resource (the request's ResourceId or AlarmName).
SCALING_WRITES = {
    "application-autoscaling:RegisterScalableTarget": "inference-component/x",
    "application-autoscaling:PutScalingPolicy": "inference-component/x",
    "cloudwatch:PutMetricAlarm": f"alarm {alarm_name('x')}",
}


def condition(world: OperatorTestbed, name: str, ctype: str) -> dict[str, Any]:
    status = (world.get(name) or {}).get("status") or {}
    return next((c for c in status.get("conditions", []) if c["type"] == ctype), {})


@pytest.mark.parametrize("action", SCALING_WRITES)
def test_a_refused_autoscaling_write_degrades_the_component_named_and_once(
    run_as: RunAs, action: str
) -> None:
    """The component itself is fine (InService, Ready); its autoscaling is not, and a user
    reads who was refused what on which resource in Degraded, not only in an event."""
    world = run_as(without(action))
    world.apply(world.manifest("x", copies=1, autoScaling=NIGHTLY))
    world.wait_condition("x", "Degraded", "True", reason="AutoScalingAccessDenied", timeout=90)
    message = condition(world, "x", "Degraded")["message"]
    code = "AccessDenied" if action.startswith("cloudwatch:") else "AccessDeniedException"
    assert message.startswith(
        f"{SESSION} was refused {action} on {SCALING_WRITES[action]}: {code}: "
        f"User: {SESSION} is not authorized to perform: {action} on resource: "
    ), message
    assert "The operator retries every 1 s" in message  # the tests' --poll-max
    assert condition(world, "x", "Ready")["status"] == "True"
    # Retried once per pass, never in a loop: a pass at most every poll maximum (1 s).
    wait_for(lambda: denials(world).count(action) >= 4, timeout=30, what="three retries")
    refused = [c["at"] for c in operator_calls(world) if iam_action(c) == action and c["error"]]
    gaps = [b - a for a, b in itertools.pairwise(refused)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert world.calls("DeleteInferenceComponent", "x") == []
    assert world.operator.logs().count(f"was refused {action}") == 1, "said once"

    # Allowed again: the next sync goes through and Degraded clears.
    world.emulator.admin.request(
        "PUT", f"roles/{ROLE}", {"trust_policy": TRUST, "policies": [the_policy()]}
    )
    world.wait_condition("x", "Degraded", "False", reason="AsExpected", timeout=60)
    wait_scaling(world, "x", registered=True)
    assert world.operator.logs().count(f"{action} is allowed again") == 1
