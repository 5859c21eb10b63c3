"""Walk botocore's SageMaker service model and hold the pydantic models to it.

Every request member of the operations the operator sends must exist in the
spec with the same type and constraints (lengths, patterns, numeric bounds,
enums, required). A botocore upgrade that adds, removes or changes a member
fails here, loudly, instead of being silently dropped. Deliberate differences
are listed below with the reason for each; nothing else may differ.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape, StructureShape
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ic_operator.crd.schema import inline_schema
from ic_operator.models import (
    INSTANCE_TYPES,
    Alarm,
    InferenceComponentSpec,
    MetricsEndpoint,
    ScalingPolicy,
    ScheduledAction,
    patterns,
)

OPERATIONS = (
    "CreateInferenceComponent",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
)

# Request member -> spec field. InferenceComponentName and DesiredRuntimeConfig are
# required by the operations but optional in the spec: the name defaults to
# metadata.name, and UpdateInferenceComponentRuntimeConfig is sent only when
# runtimeConfig is set.
TOP_LEVEL = {
    "InferenceComponentName": "inferenceComponentName",
    "EndpointName": "endpointName",
    "VariantName": "variantName",
    "Specification": "specification",
    "Specifications": "specifications",
    "RuntimeConfig": "runtimeConfig",
    "DesiredRuntimeConfig": "runtimeConfig",
    "DeploymentConfig": "deploymentConfig",
    "Tags": "tags",
}
# EndpointName: spec.endpointName or spec.endpointRef, exactly one (rules.ONE_ENDPOINT_FORM).
OPTIONAL_IN_SPEC = {"InferenceComponentName", "DesiredRuntimeConfig", "EndpointName"}

# Fields that belong to the operator, not to any AWS request: (parent shape, field).
OPERATOR_ONLY = {
    ("InferenceComponentSpec", "region"),
    ("InferenceComponentSpec", "deletionPolicy"),
    ("InferenceComponentSpec", "adoptionPolicy"),
    ("InferenceComponentSpec", "suspend"),
    # Resolved by the operator to the request's EndpointName (reconcile/endpoint_ref.py).
    ("InferenceComponentSpec", "endpointRef"),
    ("InferenceComponentRuntimeConfig", "copyCountOwner"),
    # Carried by the Application Auto Scaling requests, walked by aas_walk below.
    ("InferenceComponentSpec", "autoScaling"),
}

# Patterns: ours are botocore's anchored as ^...$, except these, which use a
# lookahead that pydantic (Rust regex), Kubernetes (Go RE2) and CEL reject.
PATTERN_TRANSLATIONS = {
    # "(?!\s*$).+": one line that is not blank. ".*\S.*" says the same without the
    # lookahead: a non-space somewhere, no newline anywhere.
    r"(?!\s*$).+": r"^.*\S.*$",
    # "/(?!.*\.\.)[...]+": a '/' then allowed characters, with no '..' anywhere.
    # The character class stays in the pattern; "no '..'" is rules.NO_PARENT_SEGMENTS
    # (the operator's check and the CEL rule "!self.contains('..')" in the CRD).
    r"/(?!.*\.\.)[a-zA-Z0-9/_.\-]+": r"^/[a-zA-Z0-9/_.\-]+$",
    # Application Auto Scaling's XML text: a surrogate pair stands for the supplementary
    # planes, which RE2 and Rust write as code points \x{10000}-\x{10FFFF}.
    "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*": (
        patterns.XML_TEXT_PATTERN
    ),
    # Java's \p{Print} is printable ASCII; RE2 has no \p{Print}.
    r"\p{Print}+": patterns.POLICY_NAME_PATTERN,
    # "No leading/trailing space, no control character, no ':', '/' or '|'", said
    # with a lookahead; ours says it with edge and inner character classes.
    "(?!((^[ ]+.*)|(.*([\\u0000-\\u001f]|[\\u007f-\\u009f]|[:/|])+.*)|(.*[ ]+$))).+": (
        patterns.SCHEDULED_ACTION_NAME_PATTERN
    ),
}

# Constraints deliberately stricter than botocore's, from the service's documentation
# (reference §1.2, §1.3): (parent shape, member) -> {schema keyword: our value}.
TIGHTENED: dict[tuple[str, str], dict[str, Any]] = {
    # "We support up to 16 entries in the map" (botocore allows 100).
    ("InferenceComponentContainerSpecification", "Environment"): {"maxProperties": 16},
    # Documented valid values: 10, 30, 60, 120, 180, 240, 300 (botocore: any integer).
    ("MetricsEndpoint", "MetricPublishFrequencyInSeconds"): {
        "enum": [10, 30, 60, 120, 180, 240, 300]
    },
    # AWS allows 50 tags; two are the operator's ownership tags.
    ("CreateInferenceComponentInput", "Tags"): {"maxProperties": 48},
    # An alarm entry without a name means nothing; botocore leaves AlarmName optional.
    ("Alarm", "AlarmName"): {"required": True},
    # Only the two per-copy metrics of inference components apply to this target.
    ("PredefinedMetricSpecification", "PredefinedMetricType"): {
        "enum": list(patterns.INFERENCE_COMPONENT_METRICS)
    },
    # A negative cooldown means nothing (botocore: any integer).
    ("TargetTrackingScalingPolicyConfiguration", "ScaleOutCooldown"): {"minimum": 0},
    ("TargetTrackingScalingPolicyConfiguration", "ScaleInCooldown"): {"minimum": 0},
    # Copies: at least 0, and a target that allows none at all is no target.
    ("RegisterScalableTargetRequest", "MinCapacity"): {"minimum": 0},
    ("RegisterScalableTargetRequest", "MaxCapacity"): {"minimum": 1},
    ("ScalableTargetAction", "MinCapacity"): {"minimum": 0},
    ("ScalableTargetAction", "MaxCapacity"): {"minimum": 1},
}

# Members of mirrored structures left out on purpose: (shape, member) -> why.
OMITTED = {
    # ResourceLabel identifies a load balancer target group for ALBRequestCountPerTarget;
    # the inference-component metrics take none.
    ("PredefinedMetricSpecification", "ResourceLabel"): "no resource label for IC metrics",
}

TYPES = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "structure": "object",
    "list": "array",
    "map": "object",
    "timestamp": "string",
}


def service_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


class Walk:
    """Compare one botocore shape with one node of the models' JSON schema."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def expect(self, path: str, node: dict[str, Any], key: str, want: Any) -> None:
        have = node.get(key)
        if have != want:
            self.fail(path, f"{key} is {have!r}, botocore says {want!r}")

    def scalar(self, shape: Shape, node: dict[str, Any], path: str, tight: dict[str, Any]) -> None:
        meta = shape.metadata
        if "const" in node:  # pydantic's spelling of a one-value Literal
            node = {**node, "enum": [node["const"]]}
        if shape.type_name == "string":
            low = meta.get("min", 0)
            self.expect(path, node, "minLength", low or None)
            self.expect(path, node, "maxLength", meta.get("max"))
            if "pattern" in meta:
                want = PATTERN_TRANSLATIONS.get(meta["pattern"], f"^{meta['pattern']}$")
                self.expect(path, node, "pattern", want)
            elif "pattern" in node:
                self.fail(path, f"pattern {node['pattern']!r} that botocore does not have")
            want_enum = shape.enum or None
            self.expect(path, node, "enum", tight.get("enum", want_enum))
        elif shape.type_name in ("integer", "long", "float", "double"):
            self.expect(path, node, "minimum", tight.get("minimum", meta.get("min")))
            self.expect(path, node, "maximum", meta.get("max"))
            self.expect(path, node, "enum", tight.get("enum"))
        elif shape.type_name == "timestamp":
            self.expect(path, node, "format", "date-time")

    def compare(
        self, shape: Shape, node: dict[str, Any], path: str, tight: dict[str, Any] | None = None
    ) -> None:
        tight = tight or {}
        want_type = TYPES[shape.type_name]
        if node.get("type") != want_type:
            self.fail(path, f"type is {node.get('type')!r}, botocore says {want_type!r}")
            return
        if shape.type_name == "structure":
            assert isinstance(shape, StructureShape)
            self.structure(shape, node, path)
        elif shape.type_name == "list":
            self.expect(path, node, "minItems", shape.metadata.get("min") or None)
            self.expect(path, node, "maxItems", shape.metadata.get("max"))
            self.compare(shape.member, node.get("items", {}), f"{path}[]")
        elif shape.type_name == "map":
            self.expect(path, node, "minProperties", shape.metadata.get("min") or None)
            self.expect(
                path, node, "maxProperties", tight.get("maxProperties", shape.metadata.get("max"))
            )
            self.map_entries(shape.key, shape.value, node, path)
        else:
            self.scalar(shape, node, path, tight)

    def map_entries(self, key: Shape, value: Shape, node: dict[str, Any], path: str) -> None:
        """Map keys: the pattern is the patternProperties key, lengths are propertyNames."""
        patterns = node.get("patternProperties", {})
        key_node = {"type": "string", **node.get("propertyNames", {})}
        if patterns:
            (key_node["pattern"], value_node) = next(iter(patterns.items()))
        else:
            value_node = node.get("additionalProperties", {})
        self.scalar(key, key_node, f"{path}(key)", {})
        self.compare(value, value_node, f"{path}(value)")

    def structure(self, shape: StructureShape, node: dict[str, Any], path: str) -> None:
        props = node.get("properties", {})
        required = set(node.get("required", []))
        for name, member in shape.members.items():
            field = camel(name)
            where = f"{path}.{name}"
            if (shape.name, name) in OMITTED:
                if field in props:
                    self.fail(where, "listed as omitted but present in the models")
                continue
            if field not in props:
                self.fail(where, f"request member missing from the models (no field {field!r})")
                continue
            tight = TIGHTENED.get((shape.name, name), {})
            want_required = name in shape.required_members or tight.get("required", False)
            if want_required != (field in required):
                self.fail(where, f"required is {field in required}, expected {want_required}")
            self.compare(member, props[field], where, tight)
        known = {camel(n) for n in shape.members}
        for field in props:
            if field not in known and (shape.name, field) not in OPERATOR_ONLY:
                self.fail(f"{path}.{field}", "field in the models that botocore does not have")


def spec_walk() -> Walk:
    """Compare every request member of the three operations with the spec schema."""
    model = service_model()
    spec = inline_schema(InferenceComponentSpec)
    props, required = spec["properties"], set(spec.get("required", []))
    walk = Walk()
    seen_fields: set[str] = set()
    for op in OPERATIONS:
        shape = model.operation_model(op).input_shape
        for name, member in shape.members.items():
            where = f"{op}.{name}"
            if name not in TOP_LEVEL:
                walk.fail(where, "request member not mapped to a spec field")
                continue
            field = TOP_LEVEL[name]
            seen_fields.add(field)
            if field not in props:
                walk.fail(where, f"request member missing from the models (no field {field!r})")
                continue
            want_required = name in shape.required_members and name not in OPTIONAL_IN_SPEC
            if want_required != (field in required):
                walk.fail(where, f"required is {field in required}, expected {want_required}")
            if name == "Tags":
                tags(walk, member, props[field], where)
            else:
                walk.compare(member, props[field], where)
    for field in props:
        if field not in seen_fields and ("InferenceComponentSpec", field) not in OPERATOR_ONLY:
            walk.fail(f"spec.{field}", "field in the models that no request carries")
    return walk


def tags(walk: Walk, shape: Shape, node: dict[str, Any], path: str) -> None:
    """Tags are a list of {Key, Value} on the wire and a map in the spec."""
    tight = TIGHTENED[("CreateInferenceComponentInput", "Tags")]
    walk.expect(path, node, "type", "object")
    walk.expect(path, node, "maxProperties", tight["maxProperties"])
    tag = shape.member
    walk.map_entries(tag.members["Key"], tag.members["Value"], node, path)


# --- Application Auto Scaling: spec.autoScaling ---------------------------------------

# Request member -> path in spec.autoScaling ("[]" descends into a list's items), or
# None for members the operator sets itself, each with its reason.
AAS_REQUESTS: dict[str, dict[str, str | None]] = {
    "RegisterScalableTarget": {
        # The target's identity is the component's: sagemaker, inference-component/NAME,
        # sagemaker:inference-component:DesiredCopyCount.
        "ServiceNamespace": None,
        "ResourceId": None,
        "ScalableDimension": None,
        "MinCapacity": "minCopies",
        "MaxCapacity": "maxCopies",
        # Left out: Application Auto Scaling then uses its SageMaker service-linked role.
        "RoleARN": None,
        # Left out so that a pause set by hand (DynamicScalingInSuspended...) stands.
        "SuspendedState": None,
        # Scalable-target tags are not part of the resource.
        "Tags": None,
    },
    "PutScalingPolicy": {
        "PolicyName": "policies[].policyName",
        "ServiceNamespace": None,
        "ResourceId": None,
        "ScalableDimension": None,
        # TargetTrackingScaling for the user's policies; StepScaling for the operator's
        # scale-out-from-zero policy, whose configuration is fixed (SageMaker's guide).
        "PolicyType": None,
        "StepScalingPolicyConfiguration": None,
        "TargetTrackingScalingPolicyConfiguration": "policies[].targetTracking",
        # Predictive scaling does not apply to inference components.
        "PredictiveScalingPolicyConfiguration": None,
    },
    "PutScheduledAction": {
        "ServiceNamespace": None,
        "ResourceId": None,
        "ScalableDimension": None,
        "ScheduledActionName": "scheduledActions[].scheduledActionName",
        "Schedule": "scheduledActions[].schedule",
        "Timezone": "scheduledActions[].timezone",
        "StartTime": "scheduledActions[].startTime",
        "EndTime": "scheduledActions[].endTime",
        "ScalableTargetAction": "scheduledActions[]",
    },
}
# ScalableTargetAction's members sit on the scheduled action under spec names.
RENAMED = {
    ("ScalableTargetAction", "MinCapacity"): "minCopies",
    ("ScalableTargetAction", "MaxCapacity"): "maxCopies",
}
# Required in the spec though optional on the wire: both bounds are needed when a
# target is first registered, every user policy is a target-tracking one, and a
# scheduled action without a schedule does nothing.
REQUIRED_IN_SPEC = {
    ("RegisterScalableTarget", "MinCapacity"),
    ("RegisterScalableTarget", "MaxCapacity"),
    ("PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration"),
    ("PutScheduledAction", "Schedule"),
}


@functools.cache
def aas_service_model() -> Any:
    return botocore.session.get_session().get_service_model("application-autoscaling")


def _node(root: dict[str, Any], dotted: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(parent node, node, field name) for a path like ``policies[].targetTracking``."""
    parent, node, field = root, root, ""
    for part in dotted.split("."):
        field = part.removesuffix("[]")
        parent = node
        node = node["properties"][field]
        if part.endswith("[]"):
            parent, node = node["items"], node["items"]
    return parent, node, field


def aas_walk(scaling: dict[str, Any]) -> Walk:
    """Compare the request members of the mirrored autoscaling calls with spec.autoScaling."""
    model = aas_service_model()
    walk = Walk()
    seen: set[str] = set()
    for op, members in AAS_REQUESTS.items():
        shape = model.operation_model(op).input_shape
        if set(shape.members) != set(members):
            walk.fail(op, f"members are {sorted(shape.members)}, mapped {sorted(members)}")
        for name, target in members.items():
            if target is None or name not in shape.members:
                continue
            where = f"{op}.{name}"
            member = shape.members[name]
            seen.add(target.split(".")[0].removesuffix("[]"))
            try:
                parent, node, field = _node(scaling, target)
            except KeyError:
                walk.fail(where, f"missing from the models (no {target!r})")
                continue
            if name == "ScalableTargetAction":
                assert isinstance(member, StructureShape)
                for sub, sub_shape in member.members.items():
                    spec_name = RENAMED[(member.name, sub)]
                    tight = TIGHTENED.get((member.name, sub), {})
                    walk.compare(sub_shape, node["properties"][spec_name], f"{where}.{sub}", tight)
                continue
            tight = TIGHTENED.get((shape.name, name), {})
            want = name in shape.required_members or (op, name) in REQUIRED_IN_SPEC
            if want != (field in set(parent.get("required", []))):
                walk.fail(where, f"required is {not want}, expected {want}")
            walk.compare(member, node, where, tight)
    for field in scaling["properties"]:
        if field not in seen:
            walk.fail(f"spec.autoScaling.{field}", "field in the models that no request carries")
    return walk


def test_auto_scaling_mirrors_application_auto_scaling() -> None:
    walk = aas_walk(inline_schema(InferenceComponentSpec)["properties"]["autoScaling"])
    assert walk.problems == [], "autoScaling differs from botocore:\n  " + "\n  ".join(
        walk.problems
    )


def test_auto_scaling_walk_detects_a_change() -> None:
    """The walk must be able to fail: drop a member and loosen a bound."""
    scaling = inline_schema(InferenceComponentSpec)["properties"]["autoScaling"]
    tracking = scaling["properties"]["policies"]["items"]["properties"]["targetTracking"]
    del tracking["properties"]["disableScaleIn"]
    del scaling["properties"]["minCopies"]["minimum"]
    walk = aas_walk(scaling)
    assert walk.problems == [
        "RegisterScalableTarget.MinCapacity: minimum is None, botocore says 0",
        "PutScalingPolicy.TargetTrackingScalingPolicyConfiguration.DisableScaleIn: request "
        "member missing from the models (no field 'disableScaleIn')",
    ]


def test_every_request_member_is_mirrored_with_its_constraints() -> None:
    walk = spec_walk()
    assert walk.problems == [], "models differ from botocore:\n  " + "\n  ".join(walk.problems)


def test_instance_types_equal_botocore() -> None:
    botocore_values = service_model().shape_for("ProductionVariantInstanceType").enum
    assert list(INSTANCE_TYPES) == botocore_values, (
        "regenerate with: .venv/bin/python tools/gen_instance_types.py"
    )


def test_walk_detects_a_missing_member_and_a_changed_constraint() -> None:
    """The walk itself must be able to fail: feed it a schema with a member removed
    and a bound changed, and expect both to be reported."""
    model = service_model()
    shape = model.shape_for("InferenceComponentSpecification")
    node = inline_schema(InferenceComponentSpec)["properties"]["specification"]
    del node["properties"]["schedulingConfig"]
    node["properties"]["startupParameters"]["properties"]["modelDataDownloadTimeoutInSeconds"][
        "maximum"
    ] = 7200
    walk = Walk()
    walk.compare(shape, node, "Specification")
    assert walk.problems == [
        "Specification.StartupParameters.ModelDataDownloadTimeoutInSeconds: maximum is 7200, "
        "botocore says 3600",
        "Specification.SchedulingConfig: request member missing from the models "
        "(no field 'schedulingConfig')",
    ]


# --- the two translated patterns accept exactly what botocore's accept -----------------

# Python's re understands the lookahead, so it is the oracle. It treats \x1c-\x1f as
# whitespace; Rust, Go and Java do not, so those four are left out of the alphabet.
ALARM_ALPHABET = st.sampled_from([*string.printable.replace("\x0c", ""), "\x0c", "é", "\u00a0"])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALARM_ALPHABET, min_size=0, max_size=8))
def test_alarm_name_pattern_matches_botocore(name: str) -> None:
    botocore_ok = 1 <= len(name) <= 255 and re.fullmatch(r"(?!\s*$).+", name) is not None
    try:
        Alarm(alarm_name=name)
        ours = True
    except ValidationError:
        ours = False
    assert ours == botocore_ok


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("/._-aZ9 %"), min_size=0, max_size=10))
def test_metrics_path_pattern_matches_botocore(path: str) -> None:
    botocore_ok = len(path) <= 256 and (
        re.fullmatch(r"/(?!.*\.\.)[a-zA-Z0-9/_.\-]+", path) is not None
    )
    try:
        MetricsEndpoint(metrics_endpoint_path=path)
        ours = True
    except ValidationError:
        ours = False
    assert ours == botocore_ok


@pytest.mark.parametrize(
    "path,ok",
    [("/metrics", True), ("/a..b", False), ("/.", True), ("/", False), ("/x/../y", False)],
)
def test_metrics_path_examples(path: str, ok: bool) -> None:
    assert (re.fullmatch(r"/(?!.*\.\.)[a-zA-Z0-9/_.\-]+", path) is not None) == ok
    if ok:
        MetricsEndpoint(metrics_endpoint_path=path)
    else:
        with pytest.raises(ValidationError):
            MetricsEndpoint(metrics_endpoint_path=path)


# --- the translated Application Auto Scaling patterns ------------------------------------

# Edges of every range the patterns talk about, plus ordinary text.
EDGE_CHARS = st.sampled_from(
    [
        "a", "Z", "0", " ", "-", ":", "/", "|", "\t", "\n", "\r", "\x00", "\x1f", "\x7f",
        "\x9f", "\xa0", "é", "\ud7ff", "\ue000", "\ufffd", "\ufffe", "\U0001f600", "\U0010ffff",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=EDGE_CHARS, min_size=1, max_size=6))
def test_scheduled_action_name_pattern_matches_botocore(name: str) -> None:
    botocore_pattern = aas_service_model().shape_for("ScheduledActionName").metadata["pattern"]
    botocore_ok = re.fullmatch(botocore_pattern, name) is not None
    try:
        ScheduledAction(scheduled_action_name=name, schedule="rate(1 hour)", min_copies=1)
        ours = True
    except ValidationError:
        ours = False
    assert ours == botocore_ok


def _xml_ok(text: str) -> bool:
    """botocore's XML-text class, read as code points (its surrogate pair is the
    supplementary planes)."""
    return all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
        for c in text
    )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=EDGE_CHARS, min_size=1, max_size=6))
@example("\n")
@example("a\x00")
@example("\U0001f600")
@example("\ufffe")
@example("~ x")
def test_xml_text_and_policy_name_patterns_match_botocore(text: str) -> None:
    try:
        ScheduledAction(
            scheduled_action_name="a", schedule="rate(1 hour)", timezone=text, min_copies=1
        )
        xml_ours = True
    except ValidationError:
        xml_ours = False
    assert xml_ours == _xml_ok(text)
    printable = all(0x20 <= ord(c) <= 0x7E for c in text)  # Java's \p{Print}
    try:
        ScalingPolicy.model_validate(
            {
                "policyName": text,
                "targetTracking": {
                    "targetValue": 1,
                    "predefinedMetricSpecification": {
                        "predefinedMetricType": patterns.INFERENCE_COMPONENT_METRICS[0]
                    },
                },
            }
        )
        name_ours = True
    except ValidationError:
        name_ours = False
    assert name_ours == printable
