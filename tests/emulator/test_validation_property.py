"""Property: the emulator rejects a request exactly when it breaks the model's constraints.

The oracle below restates the constraints of the generated members independently of the
emulator (hand-written checks, not botocore's shapes or the emulator's regex translation),
and the test compares the set of reported paths with the oracle's. Requests are sent as raw
HTTP because botocore would reject some of them client-side before they reach the server.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.emulator.test_protocol import post
from tests.fixtures.emulator import RunningEmulator, ic_endpoint

NAME_CHARS = "aZ09-_ "
IMAGE_CHARS = "ab:/@ \t"
TAG_CHARS = "aé1_ .#\t=٣"
ENV_CHARS = "aB_1-"


def mostly(valid: st.SearchStrategy[Any], near_miss: st.SearchStrategy[Any]) -> Any:
    """Valid 11 times in 12, so whole requests are often valid and often nearly so."""
    return st.integers(0, 11).flatmap(lambda n: near_miss if n == 0 else valid)


def _names() -> Any:
    valid = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
    return mostly(
        valid,
        st.one_of(st.text(NAME_CHARS, max_size=6), st.text("ab1-", min_size=60, max_size=66)),
    )


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def ic_name_shape(s: str) -> bool:
    """IC/model name pattern (no length limit): alnum at both ends, alnum or '-' inside."""
    return bool(s) and _alnum(s[0]) and _alnum(s[-1]) and all(c == "-" or _alnum(c) for c in s)


def endpoint_name_shape(s: str) -> bool:
    """Endpoint/variant pattern: like an IC name, but with at most 63 alphanumerics."""
    return ic_name_shape(s) and sum(c != "-" for c in s) <= 63


def image_ok(s: str) -> bool:
    return 1 <= len(s) <= 255 and not any(c.isspace() for c in s)


def tag_text_ok(s: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in s)


def env_key_ok(s: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*", s, flags=re.ASCII) is not None and len(s) <= 1024


def alarm_pattern_ok(s: str) -> bool:
    """`(?!\\s*$).+`: one or more non-newline characters, not all whitespace."""
    return bool(s) and "\n" not in s and s.strip() != ""


create_requests = st.fixed_dictionaries(
    {
        "InferenceComponentName": _names(),
        "EndpointName": mostly(st.just("ep"), _names()),
        "VariantName": mostly(st.just("AllTraffic"), st.text("a-1_", max_size=4)),
        "image": mostly(
            st.text("abc:/@1", min_size=1, max_size=12),
            st.one_of(st.text(IMAGE_CHARS, max_size=8), st.text("ab", min_size=250, max_size=260)),
        ),
        "copies": mostly(st.integers(0, 3), st.just(-1)),
        "download": mostly(
            st.sampled_from([None, 60, 61, 3599, 3600]), st.sampled_from([0, 59, 3601])
        ),
        "memory": mostly(st.sampled_from([128, 1024]), st.just(127)),
        "cpus": mostly(st.sampled_from([None, 0.25, 1.0]), st.just(0.1)),
        "placement": mostly(
            st.sampled_from([None, "SPREAD", "BINPACK"]), st.sampled_from(["spread", "RANDOM"])
        ),
        "imbalance": mostly(st.sampled_from([None, 0, 100]), st.sampled_from([-1, 101])),
        "tags": mostly(
            st.lists(
                st.tuples(st.text("aé1 _", min_size=1, max_size=3), st.text("é1 =", max_size=3)),
                max_size=2,
            ),
            st.lists(
                st.tuples(st.text(TAG_CHARS, max_size=3), st.text(TAG_CHARS, max_size=3)),
                min_size=1,
                max_size=2,
            ),
        ),
        "env": mostly(
            st.dictionaries(
                st.from_regex(r"[A-Z_][A-Z0-9_]{0,3}", fullmatch=True), st.just("v"), max_size=2
            ),
            st.dictionaries(st.text(ENV_CHARS, max_size=3), st.just("v"), min_size=1, max_size=2),
        ),
    }
)


def build_create(g: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The request body, and the paths the oracle expects to be reported (one per violation)."""
    expected: list[str] = []
    body: dict[str, Any] = {
        "InferenceComponentName": g["InferenceComponentName"],
        "EndpointName": g["EndpointName"],
        "VariantName": g["VariantName"],
    }
    name = g["InferenceComponentName"]
    if len(name) > 63:
        expected.append("inferenceComponentName")
    if not ic_name_shape(name):
        expected.append("inferenceComponentName")
    for key, value in (("endpointName", g["EndpointName"]), ("variantName", g["VariantName"])):
        if len(value) > 63:
            expected.append(key)
        if not endpoint_name_shape(value):
            expected.append(key)
    container: dict[str, Any] = {"Image": g["image"]}
    if len(g["image"]) > 255:
        expected.append("specification.container.image")
    if not g["image"] or any(c.isspace() for c in g["image"]):
        expected.append("specification.container.image")
    if g["env"]:
        container["Environment"] = g["env"]
        expected += ["specification.container.environment"] * sum(
            not env_key_ok(k) for k in g["env"]
        )
    compute: dict[str, Any] = {"MinMemoryRequiredInMb": g["memory"]}
    if g["memory"] < 128:
        expected.append("specification.computeResourceRequirements.minMemoryRequiredInMb")
    if g["cpus"] is not None:
        compute["NumberOfCpuCoresRequired"] = g["cpus"]
        if g["cpus"] < 0.25:
            expected.append("specification.computeResourceRequirements.numberOfCpuCoresRequired")
    specification: dict[str, Any] = {
        "Container": container,
        "ComputeResourceRequirements": compute,
    }
    if g["download"] is not None:
        specification["StartupParameters"] = {"ModelDataDownloadTimeoutInSeconds": g["download"]}
        if not 60 <= g["download"] <= 3600:
            expected.append("specification.startupParameters.modelDataDownloadTimeoutInSeconds")
    if g["placement"] is not None:
        scheduling: dict[str, Any] = {"PlacementStrategy": g["placement"]}
        if g["placement"] not in ("SPREAD", "BINPACK"):
            expected.append("specification.schedulingConfig.placementStrategy")
        if g["imbalance"] is not None:
            scheduling["AvailabilityZoneBalance"] = {
                "EnforcementMode": "PERMISSIVE",
                "MaxImbalance": g["imbalance"],
            }
            if not 0 <= g["imbalance"] <= 100:
                expected.append(
                    "specification.schedulingConfig.availabilityZoneBalance.maxImbalance"
                )
        specification["SchedulingConfig"] = scheduling
    body["Specification"] = specification
    body["RuntimeConfig"] = {"CopyCount": g["copies"]}
    if g["copies"] < 0:
        expected.append("runtimeConfig.copyCount")
    if g["tags"]:
        body["Tags"] = [{"Key": k, "Value": v} for k, v in g["tags"]]
        for i, (k, v) in enumerate(g["tags"], start=1):
            if len(k) < 1:
                expected.append(f"tags.{i}.member.key")
            if not tag_text_ok(k):
                expected.append(f"tags.{i}.member.key")
            if not tag_text_ok(v):
                expected.append(f"tags.{i}.member.value")
    return body, expected


update_requests = st.fixed_dictionaries(
    {
        "batch_type": mostly(
            st.sampled_from(["COPY_COUNT", "CAPACITY_PERCENT"]), st.just("COPIES")
        ),
        "batch_value": mostly(st.integers(1, 3), st.just(0)),
        "wait": mostly(st.sampled_from([0, 3600]), st.sampled_from([-1, 3601])),
        "timeout": mostly(st.sampled_from([None, 600, 28800]), st.sampled_from([599, 28801])),
        "alarms": mostly(
            st.one_of(
                st.none(),
                st.lists(
                    st.text("a b", min_size=1, max_size=3).filter(str.strip),
                    min_size=1,
                    max_size=10,
                ),
            ),
            st.lists(st.text(" a\n", max_size=3), max_size=11),
        ),
    }
)


def build_update(g: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    expected: list[str] = []
    prefix = "deploymentConfig.rollingUpdatePolicy"
    policy: dict[str, Any] = {
        "MaximumBatchSize": {"Type": g["batch_type"], "Value": g["batch_value"]},
        "WaitIntervalInSeconds": g["wait"],
    }
    if g["batch_type"] not in ("COPY_COUNT", "CAPACITY_PERCENT"):
        expected.append(f"{prefix}.maximumBatchSize.type")
    if g["batch_value"] < 1:
        expected.append(f"{prefix}.maximumBatchSize.value")
    if not 0 <= g["wait"] <= 3600:
        expected.append(f"{prefix}.waitIntervalInSeconds")
    if g["timeout"] is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = g["timeout"]
        if not 600 <= g["timeout"] <= 28800:
            expected.append(f"{prefix}.maximumExecutionTimeoutInSeconds")
    config: dict[str, Any] = {"RollingUpdatePolicy": policy}
    if g["alarms"] is not None:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in g["alarms"]]}
        if not 1 <= len(g["alarms"]) <= 10:
            expected.append("deploymentConfig.autoRollbackConfiguration.alarms")
        for i, alarm in enumerate(g["alarms"], start=1):
            path = f"deploymentConfig.autoRollbackConfiguration.alarms.{i}.member.alarmName"
            if len(alarm) < 1:
                expected.append(path)
            if not alarm_pattern_ok(alarm):
                expected.append(path)
    body = {
        "InferenceComponentName": "absent",
        "RuntimeConfig": {"CopyCount": 1},
        "DeploymentConfig": config,
    }
    return body, expected


def reported_paths(status: int, payload: dict[str, Any]) -> list[str]:
    message = payload.get("message", "")
    if status == 200 or "validation error" not in message:
        return []
    assert payload["__type"] == "ValidationException"
    head = re.match(r"(\d+) validation errors? detected: ", message)
    assert head, message
    paths = re.findall(r"at '([^']+)' failed to satisfy constraint", message)
    assert int(head.group(1)) == len(paths), message
    return paths


@pytest.fixture(scope="module")
def prepared(fast_emulator: RunningEmulator) -> RunningEmulator:
    fast_emulator.admin.reset()
    client = fast_emulator.client()
    ic_endpoint(client, "ep", instance_type="ml.m5.24xlarge", count=50)
    return fast_emulator


PROPERTY = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(create_requests)
def test_create_accepted_iff_constraints_hold(
    prepared: RunningEmulator, generated: dict[str, Any]
) -> None:
    body, expected = build_create(generated)
    event("constraint-valid" if not expected else "constraint-invalid")
    status, _, payload = post(
        prepared, "SageMaker.CreateInferenceComponent", json.dumps(body).encode()
    )
    assert sorted(reported_paths(status, payload or {})) == sorted(expected), payload


@PROPERTY
@given(update_requests)
def test_update_accepted_iff_constraints_hold(
    prepared: RunningEmulator, generated: dict[str, Any]
) -> None:
    body, expected = build_update(generated)
    event("constraint-valid" if not expected else "constraint-invalid")
    status, _, payload = post(
        prepared, "SageMaker.UpdateInferenceComponent", json.dumps(body).encode()
    )
    paths = reported_paths(status, payload or {})
    assert sorted(paths) == sorted(expected), payload
    if not expected:
        assert payload["message"].startswith("Could not find inference component")
