"""Application Auto Scaling (AWS JSON 1.1, target prefix AnyScaleFrontendService).

Scalable targets, scaling policies, scheduled actions and scaling activities for the one
kind of target the emulator can scale: `sagemaker` / `inference-component/NAME` /
`sagemaker:inference-component:DesiredCopyCount` (doc [AAS]). The handlers only store and
check; scaler.py applies the policies on the scaled clock and records activities here. A
target tracking policy creates its CloudWatch alarms through target_tracking.py, as AWS does;
step_scaling.py checks step adjustments. The records live in scaling_records.py, schedule
expressions in schedules.py.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable

from .clock import epoch
from .cloudwatch import CloudWatch
from .errors import ApiError, validation
from .protocols import Handler, Json, offset_page
from .scaling_records import (
    DIMENSION,
    NAMESPACE,
    RESOURCE_PREFIX,
    SERVICE_LINKED_ROLE,
    Activity,
    Key,
    NotFound,
    Policy,
    Scheduled,
    Target,
    key_text,
)
from .schedules import parse_schedule
from .state import EmulatorState
from .step_scaling import check_steps
from .target_tracking import check_tracking, tracking_alarms


def _page(items: list[Json], req: Json, member: str) -> Json:
    """One page of `items` under `member`; MaxResults defaults to 50 (doc)."""
    limit = int(req.get("MaxResults") or 50)
    if not 1 <= limit <= 50:
        raise validation("MaxResults must be between 1 and 50.")
    page, token = offset_page(
        items,
        req.get("NextToken"),
        limit,
        ApiError("InvalidNextTokenException", "Invalid token"),
    )
    out: Json = {member: page}
    if token is not None:
        out["NextToken"] = token
    return out


class ApplicationAutoScaling:
    def __init__(self, world: EmulatorState, cloudwatch: CloudWatch) -> None:
        self.world = world
        self.cloudwatch = cloudwatch
        self.targets: dict[Key, Target] = {}
        self.policies: dict[tuple[Key, str], Policy] = {}
        self.policy_by_arn: dict[str, Policy] = {}  # alarms name policies by ARN
        self.scheduled: dict[tuple[Key, str], Scheduled] = {}
        self.activities: list[Activity] = []
        # called after every change the simulation must notice (set by scaler.Scaler)
        self.wake: Callable[[], None] = lambda: None
        world.reset_hooks.append(self._forget)
        self.handlers: dict[str, Handler] = {
            "RegisterScalableTarget": self.register_scalable_target,
            "DeregisterScalableTarget": self.deregister_scalable_target,
            "DescribeScalableTargets": self.describe_scalable_targets,
            "PutScalingPolicy": self.put_scaling_policy,
            "DeleteScalingPolicy": self.delete_scaling_policy,
            "DescribeScalingPolicies": self.describe_scaling_policies,
            "PutScheduledAction": self.put_scheduled_action,
            "DeleteScheduledAction": self.delete_scheduled_action,
            "DescribeScheduledActions": self.describe_scheduled_actions,
            "DescribeScalingActivities": self.describe_scaling_activities,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def _forget(self) -> None:
        self.targets.clear()
        self.policies.clear()
        self.policy_by_arn.clear()
        self.scheduled.clear()
        self.activities.clear()

    def _arn(self, service: str, rest: str) -> str:
        w = self.world
        return f"arn:{w.partition}:{service}:{w.region}:{w.account_id}:{rest}"

    # ---- helpers -------------------------------------------------------------------------
    def _key(self, req: Json) -> Key:
        """The (namespace, resource id, dimension) of a write request, checked for support."""
        ns, rid, dim = req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"]
        if ns == NAMESPACE and rid.startswith(RESOURCE_PREFIX) and dim == DIMENSION:
            return (ns, rid, dim)
        if ns == NAMESPACE and rid.startswith("endpoint/") and dim.startswith("sagemaker:variant:"):
            raise validation(
                "The emulator scales inference components only (resource ID "
                "inference-component/NAME); endpoint variants have fixed instance counts."
            )
        raise validation("Unsupported service namespace, resource type or scalable dimension")

    def target_arn(self, key: Key) -> str | None:
        """The registered target's ARN, which IAM authorizes its writes against."""
        target = self.targets.get(key)
        return target.arn if target is not None else None

    def _target(self, key: Key) -> Target:
        target = self.targets.get(key)
        if target is None:
            raise NotFound(f"No scalable target registered for {key_text(key)}")
        return target

    def record(self, key: Key, description: str, cause: str) -> Activity:
        activity = Activity(
            activity_id=str(uuid.uuid4()),
            key=key,
            description=description,
            cause=cause,
            start=self.world.clock.now(),
        )
        self.activities.append(activity)
        return activity

    # ---- scalable targets ------------------------------------------------------------------
    def register_scalable_target(self, req: Json) -> Json:
        key = self._key(req)
        name = key[1][len(RESOURCE_PREFIX) :]
        old = self.targets.get(key)
        lo, hi = req.get("MinCapacity"), req.get("MaxCapacity")
        if old is None:
            if name not in self.world.components:
                raise validation(
                    f"The inference component {name} does not exist. Create it before "
                    "registering it as a scalable target."
                )
            if lo is None or hi is None:
                raise validation(
                    "MinCapacity and MaxCapacity are required to register a new scalable target."
                )
        new_min = int(lo) if lo is not None else old.min if old else 0
        new_max = int(hi) if hi is not None else old.max if old else 0
        if new_min < 0:
            raise validation("Minimum capacity cannot be less than 0")
        if new_min > new_max:
            raise validation("Minimum capacity cannot be greater than maximum capacity")
        if old is None:
            target_id = uuid.uuid4().hex
            target = Target(
                key=key,
                arn=self._arn("application-autoscaling", f"scalable-target/{target_id}"),
                min=new_min,
                max=new_max,
                role_arn=req.get("RoleARN")
                or f"arn:{self.world.partition}:iam::{self.world.account_id}:{SERVICE_LINKED_ROLE}",
                created=self.world.clock.now(),
                tags=dict(req.get("Tags") or {}),
            )
            self.targets[key] = target
        else:
            target = old
            target.min, target.max = new_min, new_max
            if req.get("RoleARN"):
                target.role_arn = req["RoleARN"]
            if req.get("Tags"):
                target.tags.update(req["Tags"])
        if req.get("SuspendedState") is not None:
            target.suspended.update(req["SuspendedState"])
        # registering moves a copy count outside the new bounds into them (doc [AAS])
        ic = self.world.components.get(name)
        if ic is not None and not new_min <= ic.desired <= new_max:
            target.pending_bound = (
                f"minimum capacity was set to {new_min}"
                if ic.desired < new_min
                else f"maximum capacity was set to {new_max}"
            )
        self.wake()
        return {"ScalableTargetARN": target.arn}

    def deregister_scalable_target(self, req: Json) -> Json:
        key = (req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"])
        if key not in self.targets:
            raise NotFound(f"No scalable target found for {key_text(key)}")
        # deregistering deletes the target's policies (and their alarms) and scheduled actions
        for pkey in [k for k in self.policies if k[0] == key]:
            self._drop_policy(self.policies.pop(pkey))
        for skey in [k for k in self.scheduled if k[0] == key]:
            del self.scheduled[skey]
        del self.targets[key]
        return {}

    def _matches(self, key: Key, req: Json, ids: list[str] | None = None) -> bool:
        if key[0] != req["ServiceNamespace"]:
            return False
        if ids is not None and key[1] not in ids:
            return False
        if req.get("ResourceId") is not None and key[1] != req["ResourceId"]:
            return False
        return req.get("ScalableDimension") is None or key[2] == req["ScalableDimension"]

    def describe_scalable_targets(self, req: Json) -> Json:
        ids = req.get("ResourceIds")
        items = [
            t.describe()
            for t in sorted(self.targets.values(), key=lambda t: t.key)
            if self._matches(t.key, req, ids)
        ]
        return _page(items, req, "ScalableTargets")

    # ---- scaling policies --------------------------------------------------------------------
    def put_scaling_policy(self, req: Json) -> Json:
        key = self._key(req)
        self._target(key)
        name = req["PolicyName"]
        old = self.policies.get((key, name))
        policy_type = req.get("PolicyType") or (old.policy_type if old else None)
        if policy_type is None:
            raise validation("PolicyType is required to create a scaling policy.")
        if policy_type == "PredictiveScaling":
            raise validation(
                f"PredictiveScaling policies are not supported for scalable dimension {DIMENSION}."
            )
        step = req.get("StepScalingPolicyConfiguration")
        tracking = req.get("TargetTrackingScalingPolicyConfiguration")
        if policy_type == "StepScaling":
            if step is None:
                raise validation(
                    "StepScalingPolicyConfiguration is required for a StepScaling policy."
                )
            if tracking is not None:
                raise validation(
                    "TargetTrackingScalingPolicyConfiguration is not allowed for a StepScaling "
                    "policy."
                )
            check_steps(step)
        else:
            if tracking is None:
                raise validation(
                    "TargetTrackingScalingPolicyConfiguration is required for a "
                    "TargetTrackingScaling policy."
                )
            if step is not None:
                raise validation(
                    "StepScalingPolicyConfiguration is not allowed for a TargetTrackingScaling "
                    "policy."
                )
            check_tracking(tracking)
        if old is not None and old.policy_type != policy_type:
            raise validation(
                f"Cannot change the policy type of scaling policy {name} from "
                f"{old.policy_type} to {policy_type}."
            )
        if old is None:
            policy_id = str(uuid.uuid4())
            policy = Policy(
                name=name,
                arn=self._arn(
                    "autoscaling",
                    f"scalingPolicy:{policy_id}:resource/{key[0]}/{key[1]}:policyName/{name}",
                ),
                key=key,
                policy_type=policy_type,
                created=self.world.clock.now(),
            )
            self.policies[(key, name)] = policy
            self.policy_by_arn[policy.arn] = policy
        else:
            policy = old
        policy.step = copy.deepcopy(step)
        policy.target_tracking = copy.deepcopy(tracking)
        if tracking is not None:
            tracking_alarms(self.cloudwatch, policy, tracking)
        self.wake()
        out: Json = {"PolicyARN": policy.arn}
        if policy.alarms:
            out["Alarms"] = copy.deepcopy(policy.alarms)
        return out

    def _drop_policy(self, policy: Policy) -> None:
        """Deleting a target tracking policy deletes the alarms it created (doc [AAS])."""
        self.policy_by_arn.pop(policy.arn, None)
        if policy.target_tracking is not None:
            self.cloudwatch.delete([a["AlarmName"] for a in policy.alarms])

    def delete_scaling_policy(self, req: Json) -> Json:
        key = (req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"])
        policy = self.policies.pop((key, req["PolicyName"]), None)
        if policy is None:
            raise NotFound(
                f"No scaling policy found for {key_text(key)}, policy name: {req['PolicyName']}"
            )
        self._drop_policy(policy)
        return {}

    def _named(
        self, records: Iterable[Policy | Scheduled], req: Json, names_key: str
    ) -> list[Json]:
        """Policies or scheduled actions matching the request's filters, in a stable order."""
        names = req.get(names_key)
        return [
            r.describe()
            for r in sorted(records, key=lambda r: (r.key, r.name))
            if self._matches(r.key, req) and (names is None or r.name in names)
        ]

    def describe_scaling_policies(self, req: Json) -> Json:
        items = self._named(self.policies.values(), req, "PolicyNames")
        return _page(items, req, "ScalingPolicies")

    # ---- scheduled actions -------------------------------------------------------------------
    def put_scheduled_action(self, req: Json) -> Json:
        key = self._key(req)
        self._target(key)
        name = req["ScheduledActionName"]
        old = self.scheduled.get((key, name))
        schedule = req.get("Schedule") or (old.schedule if old else None)
        if schedule is None:
            raise validation("Schedule is required to create a scheduled action.")
        _, due_wall, every = parse_schedule(schedule)
        now = self.world.clock.now()
        action = req.get("ScalableTargetAction")
        if action is None:
            action = old.action if old else {}
        lo, hi = action.get("MinCapacity"), action.get("MaxCapacity")
        if lo is not None and hi is not None and int(lo) > int(hi):
            raise validation("Minimum capacity cannot be greater than maximum capacity")
        rec = old or Scheduled(
            name=name,
            arn=self._arn(
                "autoscaling",
                f"scheduledAction:{uuid.uuid4()}:resource/{key[0]}/{key[1]}"
                f":scheduledActionName/{name}",
            ),
            key=key,
            schedule=schedule,
            created=now,
        )
        rec.schedule = schedule
        rec.action = copy.deepcopy(action)
        rec.timezone = req.get("Timezone", rec.timezone)
        rec.start = epoch(req["StartTime"]) if req.get("StartTime") is not None else rec.start
        rec.end = epoch(req["EndTime"]) if req.get("EndTime") is not None else rec.end
        rec.due_wall = due_wall
        rec.every = every
        rec.due_service = None  # the scaler counts `every` from its next tick
        self.scheduled[(key, name)] = rec
        self.wake()
        return {}

    def delete_scheduled_action(self, req: Json) -> Json:
        key = (req["ServiceNamespace"], req["ResourceId"], req["ScalableDimension"])
        if self.scheduled.pop((key, req["ScheduledActionName"]), None) is None:
            raise NotFound(
                f"No scheduled action found for {key_text(key)}, scheduled action name: "
                f"{req['ScheduledActionName']}"
            )
        return {}

    def describe_scheduled_actions(self, req: Json) -> Json:
        items = self._named(self.scheduled.values(), req, "ScheduledActionNames")
        return _page(items, req, "ScheduledActions")

    # ---- tags (on scalable targets, the only taggable resource: doc) ------------------------
    def _tagged(self, arn: str) -> Target:
        for target in self.targets.values():
            if target.arn == arn:
                return target
        raise ApiError("ResourceNotFoundException", f"No scalable target found for ARN {arn}")

    def tag_resource(self, req: Json) -> Json:
        target = self._tagged(req["ResourceARN"])
        merged = {**target.tags, **req["Tags"]}
        if len(merged) > 50:
            raise ApiError("TooManyTagsException", "A scalable target can have at most 50 tags.")
        target.tags = merged
        return {}

    def untag_resource(self, req: Json) -> Json:
        target = self._tagged(req["ResourceARN"])
        for key in req["TagKeys"]:
            target.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, req: Json) -> Json:
        return {"Tags": dict(self._tagged(req["ResourceARN"]).tags)}

    # ---- activities --------------------------------------------------------------------------
    def describe_scaling_activities(self, req: Json) -> Json:
        """Newest first (doc: the most recent activity is listed first)."""
        items = [a.describe() for a in reversed(self.activities) if self._matches(a.key, req)]
        return _page(items, req, "ScalingActivities")
