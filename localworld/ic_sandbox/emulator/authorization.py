"""Which IAM action, on which resources, with which context, each call asks for; and the
answer when the caller's identity policies do not allow it.

With `authorize` on (identity_admin.py) the front asks `Authorizer.check` before it runs a
SageMaker, Application Auto Scaling or CloudWatch call. The action is the service's IAM
prefix and the operation's name (doc: each service's Service Authorization Reference,
"SAR", which maps every API operation to the action of the same name). The resources:

- SageMaker: `CreateInferenceComponent` authorizes against the component and its endpoint
  (doc: SAR, inference-component* and endpoint*); a call naming a resource by ARN
  (`AddTags`, `ListTags`, `DeleteTags`) against that ARN; one naming a component,
  endpoint, endpoint config or model against its ARN; `List*` against `*` (doc: SAR gives
  List actions no resource type, so only `Resource: "*"` grants them).
- Application Auto Scaling: the reads against `*` (doc: SAR, no resource type); the
  writes against the scalable target's ARN (doc: SAR, ScalableTarget*), and while none is
  registered for the request's (namespace, resource id, dimension) against
  `scalable-target/*` (inf: the ARN's id is made at registration, so no policy can name it
  before), with `application-autoscaling:service-namespace` and `:scalable-dimension` from
  the request (doc: SAR). `RegisterScalableTarget` of an inference component also checks
  that the caller may `sagemaker:DescribeInferenceComponent` and
  `sagemaker:UpdateInferenceComponentRuntimeConfig` on it (doc: Application Auto Scaling
  User Guide, "Permissions validation"; the action pair its identity-policy examples give
  for inference components).
- A SageMaker `Create*` that carries `Tags` also needs `sagemaker:AddTags` on the new
  resource, with `sagemaker:TaggingAction` naming the create (doc: SAR gives AddTags the
  `sagemaker:TaggingAction` key for exactly this; SageMaker Developer Guide, "Provide
  permissions for tagging SageMaker AI resources").
- CloudWatch: each alarm the call names (`PutMetricAlarm`, `DeleteAlarms`,
  `DescribeAlarms` with `AlarmNames`), else `alarm:*` (inf: AWS documents that a
  narrower-than-`*` DescribeAlarms grant works for metric alarms; which resource an
  unfiltered DescribeAlarms is checked against is not documented).
- `RegisterScalableTarget` for SageMaker, while the account has no
  AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint, also needs
  `iam:CreateServiceLinkedRole` on that role with `iam:AWSServiceName` (doc: Application
  Auto Scaling User Guide, "Service-linked roles"); the role exists from then on.

The context: `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:userid`, `aws:username`
(users), `aws:ResourceAccount` (the emulator's one account, for `*` too: inf),
`aws:RequestedRegion`, and on a create or tag call `aws:RequestTag/K` and `aws:TagKeys`
from its tags (doc: IAM User Guide, "AWS global condition context keys").

The refusal is `AccessDeniedException` (`AccessDenied` in CloudWatch's query vocabulary)
with the message AWS writes: "User: ARN is not authorized to perform: ACTION on resource:
ARN because no identity-based policy allows the ACTION action", or "... with an explicit
deny in an identity-based policy" (obs: AWS's messages since 2021; grades in
docs/emulator.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .iam_policy import Decision, evaluate
from .identity import Principal
from .state import EmulatorState

# X-Amz-Target prefix -> IAM service prefix; STS (query only) authorizes through trust.
IAM_PREFIXES = {
    "SageMaker": "sagemaker",
    "AnyScaleFrontendService": "application-autoscaling",
    "GraniteServiceVersion20100801": "cloudwatch",
}
SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SLR_PATH = (
    f"role/aws-service-role/{SLR_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
# A request field that names a SageMaker resource, and the resource type it names.
_NAMED = (
    ("InferenceComponentName", "inference-component"),
    ("EndpointName", "endpoint"),
    ("EndpointConfigName", "endpoint-config"),
    ("ModelName", "model"),
)
# the calls whose `Tags` are request tags (aws:RequestTag/K, aws:TagKeys)
_TAGGING = frozenset({
    "CreateInferenceComponent", "AddTags", "PutMetricAlarm", "CreateEndpoint",
    "CreateEndpointConfig", "CreateModel", "RegisterScalableTarget", "TagResource",
})  # fmt: skip


# what RegisterScalableTarget checks the caller may do to the component it registers
_VALIDATED_ON_REGISTER = ("DescribeInferenceComponent", "UpdateInferenceComponentRuntimeConfig")


@dataclass(frozen=True)
class Ask:
    """One action on one resource, with its context: what a policy must allow."""

    action: str
    resource: str
    context: dict[str, list[str]]


def access_denied(who: Principal, ask: Ask, decision: Decision) -> ApiError:
    because = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {ask.action} action"
    )
    return ApiError(
        "AccessDeniedException",
        f"User: {who.arn} is not authorized to perform: {ask.action} "
        f"on resource: {ask.resource} {because}",
    )


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _request_tags(body: dict[str, Any]) -> dict[str, list[str]]:
    """`aws:RequestTag/K` and `aws:TagKeys` from a request's `Tags` (SageMaker, CloudWatch:
    a list of Key/Value; Application Auto Scaling: a map)."""
    tags = body.get("Tags")
    pairs: list[tuple[str, str]] = []
    if isinstance(tags, dict):
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    elif isinstance(tags, list):
        pairs = [
            (str(t["Key"]), str(t.get("Value", "")))
            for t in tags
            if isinstance(t, dict) and "Key" in t
        ]
    if not pairs:
        return {}
    context = {f"aws:RequestTag/{k}": [v] for k, v in pairs}
    context["aws:TagKeys"] = [k for k, _ in pairs]
    return context


TargetKey = tuple[str, str, str]  # (namespace, resource id, dimension)


class Authorizer:
    def __init__(self, world: EmulatorState, target_arn: Callable[[TargetKey], str | None]) -> None:
        self.world = world
        self.target_arn = target_arn  # a registered scalable target's ARN

    def _sagemaker_resources(self, name: str, body: dict[str, Any]) -> list[str]:
        arn = self.world.arn
        if name.startswith("List") and name != "ListTags":
            return ["*"]
        if name == "CreateInferenceComponent":
            return [
                arn("inference-component", _text(body, "InferenceComponentName") or ""),
                arn("endpoint", _text(body, "EndpointName") or ""),
            ]
        by_arn = _text(body, "ResourceArn")
        if by_arn is not None:
            return [by_arn]
        for key, kind in _NAMED:
            named = _text(body, key)
            if named is not None:
                return [arn(kind, named)]
        return ["*"]

    def _regional(self, service: str, rest: str) -> str:
        w = self.world
        return f"arn:{w.partition}:{service}:{w.region}:{w.account_id}:{rest}"

    def _alarm_resources(self, body: dict[str, Any]) -> list[str]:
        names = body.get("AlarmNames")
        if _text(body, "AlarmName") is not None:
            names = [body["AlarmName"]]
        if not isinstance(names, list) or not names:
            names = ["*"]
        return [self._regional("cloudwatch", f"alarm:{n}") for n in names]

    def _target_resource(self, name: str, body: dict[str, Any]) -> str:
        if name.startswith("Describe"):
            return "*"
        by_arn = _text(body, "ResourceARN")  # TagResource, ListTagsForResource
        if by_arn is not None:
            return by_arn
        key = (
            _text(body, "ServiceNamespace") or "",
            _text(body, "ResourceId") or "",
            _text(body, "ScalableDimension") or "",
        )
        unregistered = self._regional("application-autoscaling", "scalable-target/*")
        return self.target_arn(key) or unregistered

    @staticmethod
    def _target_context(body: dict[str, Any]) -> dict[str, list[str]]:
        keys = {
            "application-autoscaling:service-namespace": _text(body, "ServiceNamespace"),
            "application-autoscaling:scalable-dimension": _text(body, "ScalableDimension"),
        }
        return {key: [value] for key, value in keys.items() if value is not None}

    def _slr_arn(self) -> str:
        w = self.world
        return f"arn:{w.partition}:iam::{w.account_id}:{SLR_PATH}"

    def asks(self, prefix: str, name: str, body: dict[str, Any], who: Principal) -> list[Ask]:
        """Everything the call needs allowed, in the order AWS would refuse it."""
        service = IAM_PREFIXES[prefix]
        if service == "sagemaker":
            resources = self._sagemaker_resources(name, body)
        elif service == "cloudwatch":
            resources = self._alarm_resources(body)
        else:
            resources = [self._target_resource(name, body)]
        context = self._context(who)
        if service == "application-autoscaling" and not name.startswith("Describe"):
            context.update(self._target_context(body))
        if name in _TAGGING:
            context.update(_request_tags(body))
        asks = [Ask(f"{service}:{name}", r, context) for r in resources]
        if service == "sagemaker" and name.startswith("Create") and _request_tags(body):
            tagging = {**context, "sagemaker:TaggingAction": [name]}
            asks.append(Ask("sagemaker:AddTags", resources[0], tagging))
        component = _text(body, "ResourceId") or ""
        if name == "RegisterScalableTarget" and component.startswith("inference-component/"):
            ic = self.world.arn("inference-component", component.split("/", 1)[1])
            own = self._context(who)
            asks += [Ask(f"sagemaker:{a}", ic, own) for a in _VALIDATED_ON_REGISTER]
        if self._creates_service_linked_role(name, body):
            slr = {**self._context(who), "iam:AWSServiceName": [SLR_SERVICE]}
            asks.append(Ask("iam:CreateServiceLinkedRole", self._slr_arn(), slr))
        return asks

    def _creates_service_linked_role(self, name: str, body: dict[str, Any]) -> bool:
        return (
            name == "RegisterScalableTarget"
            and body.get("ServiceNamespace") == "sagemaker"
            and self._slr_arn() not in self.world.identities.service_linked_roles
        )

    def _context(self, who: Principal) -> dict[str, list[str]]:
        context = {
            "aws:PrincipalAccount": [who.account_id],
            "aws:PrincipalArn": [who.role_arn or who.arn],
            "aws:userid": [who.user_id],
            "aws:ResourceAccount": [self.world.account_id],
            "aws:RequestedRegion": [self.world.region],
        }
        if who.role_arn is None and ":user/" in who.arn:
            context["aws:username"] = [who.arn.rsplit("/", 1)[1]]
        return context

    def check(self, prefix: str, name: str, body: dict[str, Any], who: Principal) -> None:
        """Raise AccessDeniedException unless every ask is allowed (always allowed with
        `authorize` off); a RegisterScalableTarget that passes makes the service-linked role."""
        identities = self.world.identities
        if prefix not in IAM_PREFIXES:
            return
        policies = identities.policies_of(who) if identities.authorize else None
        if policies is not None:  # None: not enforcing, or the root, whom nothing limits
            for ask in self.asks(prefix, name, body, who):
                decision = evaluate(policies, ask.action, ask.resource, ask.context)
                if decision is not Decision.ALLOW:
                    raise access_denied(who, ask, decision)
        if name == "RegisterScalableTarget" and body.get("ServiceNamespace") == "sagemaker":
            identities.service_linked_roles.add(self._slr_arn())
