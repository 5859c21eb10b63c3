"""Every AWS request the models produce passes botocore's own parameter validation,
and Kubernetes round trips are exact: for the examples and for generated specs.

The generated specs also go through the CRD admission harness, so the models and
the CRD are shown to agree on what is valid.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ic_operator.models import INSTANCE_TYPES, InferenceComponentSpec
from tests.unit.crd_admission import admit
from tests.unit.test_crd import example_docs, schema

OWNER_TAGS = {
    "sagemaker.ic-operator.io/owner-uid": "4b0c6bfa-2f54-4c8e-9d0e-2f6f3c1b7a10",
    "sagemaker.ic-operator.io/resource": "ml-serving/llama3-8b",
}

_MODEL = botocore.session.get_session().get_service_model("sagemaker")


def botocore_errors(operation: str, params: dict[str, Any]) -> str:
    """botocore's ParamValidator report for the operation ('' when valid)."""
    shape = _MODEL.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


def check_requests(spec: InferenceComponentSpec, name: str) -> None:
    create = spec.create_request(name, tags=OWNER_TAGS)
    assert botocore_errors("CreateInferenceComponent", create) == ""
    for copies in (None, 0, 3):
        update = spec.update_request(name, copy_count=copies)
        assert botocore_errors("UpdateInferenceComponent", update) == ""
    scale = spec.runtime_config_request(name, 0)
    assert botocore_errors("UpdateInferenceComponentRuntimeConfig", scale) == ""
    # The wire form survives JSON (what boto3 sends) unchanged.
    assert json.loads(json.dumps(create)) == create


@pytest.mark.parametrize("name,doc", example_docs(), ids=[n for n, _ in example_docs()])
def test_example_requests_pass_botocore_validation(name: str, doc: dict[str, Any]) -> None:
    spec = InferenceComponentSpec.parse(doc["spec"])
    check_requests(spec, spec.component_name(doc["metadata"]["name"]))


@pytest.mark.parametrize("name,doc", example_docs(), ids=[n for n, _ in example_docs()])
def test_example_round_trip_is_exact(name: str, doc: dict[str, Any]) -> None:
    spec = InferenceComponentSpec.parse(doc["spec"])
    stored = json.loads(json.dumps(spec.to_k8s()))  # as the API server stores it
    assert InferenceComponentSpec.parse(stored) == spec
    assert InferenceComponentSpec.parse(stored).to_k8s() == spec.to_k8s()


def test_botocore_validation_is_not_vacuous() -> None:
    """The checker must catch a bad request: a string copy count and an unknown key."""
    bad = {
        "InferenceComponentName": "x",
        "EndpointName": "e",
        "RuntimeConfig": {"CopyCount": "2"},
        "Specification": {"Containr": {}},
    }
    report = botocore_errors("CreateInferenceComponent", bad)
    assert "Invalid type for parameter RuntimeConfig.CopyCount" in report
    assert 'Unknown parameter in Specification: "Containr"' in report


def test_environment_keys_and_values_are_sent_verbatim() -> None:
    doc = copy.deepcopy(dict(example_docs())["basic.yaml:llama3-8b"])
    env = {"lowerCamelKey": "a b\nc", "_X": "", "HF_TOKEN_FILE": "/var/run/secret"}
    doc["spec"]["specification"]["container"]["environment"] = env
    spec = InferenceComponentSpec.parse(doc["spec"])
    assert spec.aws_specification()["Specification"]["Container"]["Environment"] == env


# --- generated specs -------------------------------------------------------------------

names = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,40}[a-zA-Z0-9])?", fullmatch=True)
env_keys = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,30}", fullmatch=True)
tag_text = st.text(
    alphabet=st.sampled_from("abcXYZ019 _.:/=+-@é"),
    min_size=0,
    max_size=20,
)
tag_keys = tag_text.filter(
    lambda k: (
        len(k) >= 1
        and not k.startswith("sagemaker.ic-operator.io/")
        and not k.lower().startswith("aws:")
    )
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def container(draw: st.DrawFn, *, adapter: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not adapter and draw(st.booleans()):
        out["image"] = draw(st.from_regex(r"[!-~]{1,80}", fullmatch=True))
    if adapter or draw(st.booleans()):
        bucket = draw(st.from_regex(r"[a-z0-9][a-z0-9.-]{2,20}", fullmatch=True))
        out["artifactUrl"] = f"s3://{bucket}/models/model.tar.gz"
    env = draw(st.dictionaries(env_keys, st.text(max_size=30), max_size=16))
    if env:
        out["environment"] = env
    if draw(st.booleans()):
        endpoint: dict[str, Any] = {
            "metricsEndpointPath": draw(st.sampled_from(["/metrics", "/server/metrics", "/m.x"]))
        }
        frequency = draw(optional(st.sampled_from([10, 30, 60, 120, 180, 240, 300])))
        if frequency is not None:
            endpoint["metricPublishFrequencyInSeconds"] = frequency
        out["containerMetricsConfig"] = {"metricsEndpoints": [endpoint]}
    return out


@st.composite
def compute(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(128, 512 * 1024))
    out: dict[str, Any] = {"minMemoryRequiredInMb": low}
    if draw(st.booleans()):
        out["maxMemoryRequiredInMb"] = draw(st.integers(low, 1024 * 1024))
    if draw(st.booleans()):
        out["numberOfCpuCoresRequired"] = draw(
            st.floats(0.25, 192, allow_nan=False, allow_infinity=False)
        )
    if draw(st.booleans()):
        out["acceleratorPartitionType"] = draw(st.sampled_from(["mig-1g.10gb", "mig-3g.40gb"]))
        out["numberOfAcceleratorDevicesRequired"] = 1
    elif draw(st.booleans()):
        out["numberOfAcceleratorDevicesRequired"] = draw(st.integers(1, 16))
    return out


@st.composite
def specification(
    draw: st.DrawFn, *, adapter: bool, instance_type: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if instance_type is not None:
        out["instanceType"] = instance_type
    if adapter:
        out["baseInferenceComponentName"] = draw(names)
    else:
        out["computeResourceRequirements"] = draw(compute())
        if draw(st.booleans()):
            out["modelName"] = draw(names)
    out["container"] = draw(container(adapter=adapter))
    if draw(st.booleans()):
        out["startupParameters"] = {
            "modelDataDownloadTimeoutInSeconds": draw(st.integers(60, 3600)),
            "containerStartupHealthCheckTimeoutInSeconds": draw(st.integers(60, 3600)),
        }
    if draw(st.booleans()):
        out["dataCacheConfig"] = {"enableCaching": draw(st.booleans())}
    if draw(st.booleans()):
        scheduling: dict[str, Any] = {
            "placementStrategy": draw(st.sampled_from(["SPREAD", "BINPACK"]))
        }
        if draw(st.booleans()):
            scheduling["availabilityZoneBalance"] = {
                "enforcementMode": "PERMISSIVE",
                "maxImbalance": draw(st.integers(0, 100)),
            }
        out["schedulingConfig"] = scheduling
    return out


@st.composite
def batch(draw: st.DrawFn, copies: int, *, rollback: bool) -> dict[str, Any]:
    if copies >= 2 and draw(st.booleans()):
        limit = copies if rollback else copies // 2
        return {"type": "COPY_COUNT", "value": draw(st.integers(1, limit))}
    return {"type": "CAPACITY_PERCENT", "value": draw(st.integers(5, 100 if rollback else 50))}


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    adapter = draw(st.booleans())
    out: dict[str, Any] = {"endpointName": draw(names)}
    if not adapter:
        out["variantName"] = draw(names)
    if draw(st.booleans()):
        out["inferenceComponentName"] = draw(names)
    if draw(st.booleans()):
        out["region"] = draw(st.sampled_from(["us-east-1", "eu-central-1", "us-gov-west-1"]))
    if adapter or draw(st.booleans()):
        out["specification"] = draw(specification(adapter=adapter))
    else:
        types = draw(st.lists(st.sampled_from(INSTANCE_TYPES), min_size=1, max_size=5, unique=True))
        out["specifications"] = [draw(specification(adapter=False, instance_type=t)) for t in types]
    copies = 1
    if not adapter or draw(st.booleans()):
        copies = draw(st.integers(1, 40))
        out["runtimeConfig"] = {
            "copyCount": copies,
            "copyCountOwner": draw(st.sampled_from(["Operator", "External"])),
        }
    if not adapter and draw(st.booleans()):
        policy: dict[str, Any] = {
            "maximumBatchSize": draw(batch(copies, rollback=False)),
            "waitIntervalInSeconds": draw(st.integers(0, 3600)),
        }
        if draw(st.booleans()):
            policy["maximumExecutionTimeoutInSeconds"] = draw(st.integers(600, 28800))
        if draw(st.booleans()):
            policy["rollbackMaximumBatchSize"] = draw(batch(copies, rollback=True))
        deployment: dict[str, Any] = {"rollingUpdatePolicy": policy}
        if draw(st.booleans()):
            alarms = draw(st.lists(names, min_size=1, max_size=10))
            deployment["autoRollbackConfiguration"] = {"alarms": [{"alarmName": a} for a in alarms]}
        out["deploymentConfig"] = deployment
    tags = draw(st.dictionaries(tag_keys, tag_text, max_size=8))
    if tags:
        out["tags"] = tags
    out["deletionPolicy"] = draw(st.sampled_from(["Delete", "Retain"]))
    out["adoptionPolicy"] = draw(st.sampled_from(["Never", "IfExists"]))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs(raw: dict[str, Any]) -> None:
    spec = InferenceComponentSpec.parse(raw, creating=True)
    # Round trips: Kubernetes form and JSON storage.
    stored = json.loads(json.dumps(spec.to_k8s()))
    assert InferenceComponentSpec.parse(stored) == spec
    # Every request passes botocore.
    check_requests(spec, spec.component_name("generated"))
    # The CRD agrees that the spec is valid.
    doc = {
        "apiVersion": "sagemaker.ic-operator.io/v1alpha1",
        "kind": "InferenceComponent",
        "metadata": {"name": "generated", "namespace": "default"},
        "spec": raw,
    }
    assert admit(doc, schema()) == []
    # Environment and tags reach the wire untouched.
    wire = spec.create_request("generated", tags=OWNER_TAGS)
    assert {t["Key"]: t["Value"] for t in wire["Tags"]} == {**raw.get("tags", {}), **OWNER_TAGS}
