"""The operator end to end: a real process, the real API server, the emulator over HTTP.

Every claim is proved twice, from the resource's status (what a user reads) and
from the emulator's call log (what SageMaker was actually asked to do).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ic_sandbox.harness.emulator_process import without_aws
from tests.fixtures.emulator import ic_endpoint, wait_for
from tests.fixtures.operator import IMAGE, OperatorTestbed, deployed_image, image, set_image

pytestmark = [pytest.mark.e2e, pytest.mark.controlplane]

ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 60,
        "maximumExecutionTimeoutInSeconds": 1800,
        "rollbackMaximumBatchSize": {"type": "COPY_COUNT", "value": 2},
    },
    "autoRollbackConfiguration": {"alarms": [{"alarmName": "e2e-5xx"}]},
}
ROLLING_WIRE = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 60,
        "MaximumExecutionTimeoutInSeconds": 1800,
        "RollbackMaximumBatchSize": {"Type": "COPY_COUNT", "Value": 2},
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "e2e-5xx"}]},
}
AWS = Path(
    os.environ.get(
        "IC_OPERATOR_AWSCLI",
        Path.home() / ".cache/sagemaker-ic-operator/awscli-venv/bin/aws",
    )
)


def sent_at(world: OperatorTestbed, name: str) -> float:
    """When the (single) UpdateInferenceComponent for `name` reached SageMaker."""
    return float(next(c["at"] for c in world.calls("UpdateInferenceComponent", name)))


def updates(world: OperatorTestbed, name: str) -> list[dict[str, Any]]:
    return [c["request"] for c in world.calls("UpdateInferenceComponent", name) if not c["error"]]


def wait_resyncs(world: OperatorTestbed, count: int = 3) -> None:
    world.wait_timer_passes(count)


# ---------------------------------------------------------------------------- 1


def test_create_reaches_ready(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat"))
    obj = world.wait_ready("chat")
    status = obj["status"]
    assert status["inferenceComponentStatus"] == "InService"
    assert status["inferenceComponentArn"].endswith(":inference-component/chat")
    assert status["lastDeployment"]["outcome"] == "Succeeded"

    # Ready comes from the endpoint listing; one routine Describe then fills in what a
    # listing does not carry (copies, the resolved image).
    status = world.wait_settled("chat")["status"]
    assert status["copies"] == "4/4"
    assert "@sha256:" in status["resolvedImage"]
    assert len(world.calls("DescribeInferenceComponent", "chat")) == 1
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Progressing", "Degraded"]
    assert len(world.calls("CreateInferenceComponent", "chat")) == 1
    tags = world.sagemaker.list_tags(ResourceArn=status["inferenceComponentArn"])["Tags"]
    keys = {t["Key"]: t["Value"] for t in tags}
    assert keys["sagemaker.ic-operator.io/owner-uid"] == obj["metadata"]["uid"]
    assert keys["team"] == "e2e"
    reasons = {e["reason"] for e in world.events("chat")}
    assert {"Creating", "Deployed"} <= reasons
    # What every healthy watch event and probe writes stays out of the INFO log.
    logs = world.operator.logs()
    assert "Handler 'wake' succeeded." not in logs and "GET /healthz" not in logs, logs[-3000:]
    table = world.kubectl("get", "smic", "-n", world.namespace).stdout
    assert "chat" in table and "4/4" in table and "InService" in table
    metric = world.operator.metric
    assert metric("ic_operator_components", status="InService", ready="True") == 1
    assert metric("ic_operator_sagemaker_calls_total", operation="CreateInferenceComponent",
                  code="OK") == 1  # fmt: skip
    assert metric("ic_operator_sagemaker_calls_total", operation="DescribeInferenceComponent",
                  purpose="sweep", code="OK") == 1  # fmt: skip
    assert metric("ic_operator_reconcile_duration_seconds_count") >= 2


# ---------------------------------------------------------------------------- 2


def test_image_change_rolls_out_in_batches_with_the_deployment_config(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_ready("chat")
    world.emulator.admin.clear_calls()
    set_image(world, "chat", image("0.30.0-cpu-full"))
    obj = world.wait_ready("chat", generation=2, timeout=90)
    assert obj["status"]["lastDeployment"]["outcome"] == "Succeeded"
    assert obj["status"]["lastDeployment"]["generation"] == 2
    sent = updates(world, "chat")
    assert len(sent) == 1
    assert sent[0]["DeploymentConfig"] == ROLLING_WIRE
    assert sent[0]["Specification"]["Container"]["Image"] == image("0.30.0-cpu-full")
    assert "RuntimeConfig" not in sent[0]
    assert deployed_image(world, "chat") == image("0.30.0-cpu-full")
    # One new copy at a time: the emulator saw 5 copies (4 + a batch of 1) four times.
    surges = [h for h in world.emulator.admin.history("chat") if h["current"] == 5]
    assert len(surges) == 4
    # ...and the operator described the component while it rolled (not just the cheap
    # endpoint listing), which is what lets status.copies follow the batches.
    updated_at = sent_at(world, "chat")
    polls = [c for c in world.calls("DescribeInferenceComponent", "chat") if c["at"] > updated_at]
    assert len(polls) >= 2, polls
    assert world.calls("CreateInferenceComponent", "chat") == []
    # Waiting for SageMaker is not an error: a healthy rollout logs nothing above INFO
    # about the object (kopf.objects) or from the operator's own loggers.
    loud = [
        line
        for line in world.operator.logs().splitlines()
        if ("[ERROR" in line or "[WARNING" in line)
        and ("kopf.objects" in line or "] ic_operator" in line)
    ]
    assert loud == [], loud


# ---------------------------------------------------------------------------- 3


def test_copy_count_change_scales_without_redeploying(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat"))
    world.wait_ready("chat")
    world.emulator.admin.clear_calls()
    world.patch("chat", {"spec": {"runtimeConfig": {"copyCount": 6}}})
    obj = world.wait_ready("chat", generation=2)
    wait_for(lambda: (world.get("chat") or {})["status"].get("copies") == "6/6", timeout=30,
             what="copies 6/6")  # fmt: skip
    scales = world.calls("UpdateInferenceComponentRuntimeConfig", "chat")
    assert [c["request"]["DesiredRuntimeConfig"] for c in scales] == [{"CopyCount": 6}]
    assert updates(world, "chat") == []
    assert obj["status"]["lastDeployment"]["generation"] == 1  # no new deployment


# ---------------------------------------------------------------------------- 4


def test_alarm_rolls_back_and_the_same_spec_is_not_retried(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_ready("chat")
    world.emulator.admin.set_alarm("e2e-5xx", "ALARM")
    set_image(world, "chat", image("bad"))
    obj = world.wait_condition("chat", "Degraded", "True", reason="RolledBack", generation=2,
                               timeout=90)  # fmt: skip
    status = obj["status"]
    assert status["lastDeployment"]["outcome"] == "RolledBack"
    assert "e2e-5xx" in status["lastDeployment"]["failureReason"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RolledBack")
    assert deployed_image(world, "chat") == IMAGE
    warnings = [e for e in world.events("chat") if e["type"] == "Warning"]
    assert [(e["reason"], e.get("count", 1)) for e in warnings] == [("RolledBack", 1)]
    assert "e2e-5xx" in warnings[0]["message"]
    assert len(updates(world, "chat")) == 1
    wait_resyncs(world, 4)
    assert len(updates(world, "chat")) == 1, "the rolled-back spec was sent again"

    world.emulator.admin.set_alarm("e2e-5xx", "OK")
    set_image(world, "chat", image("0.30.0-cpu-full"))
    world.wait_ready("chat", generation=3, timeout=90)
    assert len(updates(world, "chat")) == 2
    assert deployed_image(world, "chat") == image("0.30.0-cpu-full")


def test_retry_annotation_redeploys_a_rolled_back_spec_once(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_ready("chat")
    world.emulator.admin.set_alarm("e2e-5xx", "ALARM")
    set_image(world, "chat", image("flaky"))
    world.wait_condition("chat", "Degraded", "True", reason="RolledBack", generation=2, timeout=90)
    world.emulator.admin.set_alarm("e2e-5xx", "OK")
    world.patch("chat", {"metadata": {"annotations": {"sagemaker.ic-operator.io/retry": "1"}}})
    world.wait_ready("chat", timeout=90)
    assert len(updates(world, "chat")) == 2
    assert deployed_image(world, "chat") == image("flaky")


# ---------------------------------------------------------------------------- 5


def aws(world: OperatorTestbed, *args: str) -> dict[str, Any]:
    assert AWS.exists(), f"AWS CLI not installed at {AWS}: run `make awscli`"
    # The user's own identity, not the operator's: the call log tells the two apart.
    env = {
        **without_aws(os.environ),
        **world.emulator.credentials.env(),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [str(AWS), "--endpoint-url", world.emulator.url, "--output", "json", "sagemaker", *args],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout or "{}")  # type: ignore[no-any-return]


def test_out_of_band_changes_are_corrected_but_external_copies_are_left_alone(
    world: OperatorTestbed,
) -> None:
    world.apply(world.manifest("owned"))
    world.apply(world.manifest("scaled", owner="External"))
    world.wait_ready("owned")
    world.wait_ready("scaled")

    # Someone changes both from the AWS CLI.
    spec = {
        "Container": {"Image": image("hotfix"), "Environment": {"LOG_LEVEL": "info"}},
        "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 1,
            "MinMemoryRequiredInMb": 1024,
        },
    }
    aws(world, "update-inference-component", "--inference-component-name", "owned",
        "--specification", json.dumps(spec))  # fmt: skip
    aws(world, "update-inference-component-runtime-config", "--inference-component-name",
        "scaled", "--desired-runtime-config", "CopyCount=7")  # fmt: skip

    # The AWS CLI's own update, then exactly one correction by the operator, accepted:
    # SageMaker refuses an update while one runs, so the correction came after the
    # out-of-band update had landed. (It can come within a second of it: the hotfix may
    # be gone before a probe of the deployed image would see it.)
    def sent() -> list[str]:
        return [u["Specification"]["Container"]["Image"] for u in updates(world, "owned")]

    wait_for(lambda: len(sent()) >= 2, timeout=60, what="the operator to correct the drift")
    assert sent() == [image("hotfix"), IMAGE]
    assert [c["error"] for c in world.calls("UpdateInferenceComponent", "owned")] == [None, None]
    # The call log tells who: the user's CLI (the admin user), then the operator's role.
    assert [
        c["principal"]["arn"].rsplit(":", 1)[1]
        for c in world.calls("UpdateInferenceComponent", "owned")
    ] == ["user/ic-sandbox-admin", f"assumed-role/ic-operator/{world.namespace}"]
    wait_for(lambda: deployed_image(world, "owned") == IMAGE, timeout=60,
             what="the correction to roll out")  # fmt: skip
    world.wait_ready("owned")

    wait_resyncs(world, 3)
    assert world.describe("scaled")["RuntimeConfig"]["DesiredCopyCount"] == 7
    assert world.calls("UpdateInferenceComponentRuntimeConfig", "scaled") == [
        c for c in world.calls("UpdateInferenceComponentRuntimeConfig", "scaled")
        if c["request"]["DesiredRuntimeConfig"] == {"CopyCount": 7}
    ], "the operator wrote the externally owned copy count"  # fmt: skip
    assert world.condition("scaled", "Ready")["status"] == "True"  # type: ignore[index]


# ---------------------------------------------------------------------------- 6


def test_edits_during_an_update_become_one_follow_up_update(world: OperatorTestbed) -> None:
    # A 300 s bake per batch (3 s at the emulator's time scale, ~15 s for the rollout)
    # leaves ample room for the ten kubectl edits to land while the first update runs.
    slow = {**ROLLING, "rollingUpdatePolicy": {**ROLLING["rollingUpdatePolicy"],
                                               "waitIntervalInSeconds": 300}}  # fmt: skip
    world.apply(world.manifest("chat", deployment=slow))
    world.wait_ready("chat")
    world.emulator.admin.clear_calls()
    set_image(world, "chat", image("v1"))
    wait_for(lambda: updates(world, "chat"), timeout=30, what="the first update")
    for n in range(2, 12):
        set_image(world, "chat", image(f"v{n}"))
    assert world.describe("chat")["InferenceComponentStatus"] == "Updating", "edits too slow"
    world.wait_ready("chat", generation=12, timeout=120)
    sent = [u["Specification"]["Container"]["Image"] for u in updates(world, "chat")]
    assert sent == [image("v1"), image("v11")]
    assert deployed_image(world, "chat") == image("v11")


# ---------------------------------------------------------------------------- 7


def test_operator_killed_mid_update_converges_without_duplicates(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_ready("chat")
    set_image(world, "chat", image("v2"))
    wait_for(lambda: updates(world, "chat"), timeout=30, what="the update call")
    world.operator.kill()
    set_image(world, "chat", image("v3"))  # an edit while the operator is down
    world.operator.start()
    world.wait_ready("chat", generation=3, timeout=120)
    assert len(world.calls("CreateInferenceComponent", "chat")) == 1
    sent = [u["Specification"]["Container"]["Image"] for u in updates(world, "chat")]
    assert sent == [image("v2"), image("v3")]
    assert deployed_image(world, "chat") == image("v3")


def test_operator_killed_during_create_adopts_its_own_component(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat"))
    wait_for(lambda: world.calls("CreateInferenceComponent", "chat"), timeout=30,
             what="the create call")  # fmt: skip
    world.operator.kill()
    world.operator.start()
    world.wait_ready("chat", timeout=60)
    assert len(world.calls("CreateInferenceComponent", "chat")) == 1
    assert world.condition("chat", "Degraded")["status"] == "False"  # type: ignore[index]


# ---------------------------------------------------------------------------- 8


def test_delete_policies(world: OperatorTestbed) -> None:
    world.apply(world.manifest("doomed"))
    world.apply(world.manifest("kept", deletionPolicy="Retain"))
    world.wait_ready("doomed")
    world.wait_ready("kept")
    world.kubectl("delete", "smic", "doomed", "kept", "-n", world.namespace, "--wait=true",
                  timeout=90)  # fmt: skip
    assert world.get("doomed") is None and world.get("kept") is None
    assert len(world.calls("DeleteInferenceComponent", "doomed")) == 1
    assert world.calls("DeleteInferenceComponent", "kept") == []
    with pytest.raises(world.sagemaker.exceptions.ClientError, match="Could not find"):
        world.describe("doomed")
    assert world.describe("kept")["InferenceComponentStatus"] == "InService"


# ---------------------------------------------------------------------------- 9


def test_converges_under_throttling_and_server_errors(world: OperatorTestbed) -> None:
    world.emulator.admin.set_faults(throttle_rate=0.3, server_error_rate=0.3, seed=7)
    try:
        world.apply(world.manifest("chat", deployment=ROLLING))
        world.wait_ready("chat", timeout=120)
        set_image(world, "chat", image("0.30.0-cpu-full"))
        world.wait_ready("chat", generation=2, timeout=120)
        injected = [c for c in world.calls(component="chat") if c["error"]]
    finally:
        world.emulator.admin.set_faults()
    assert deployed_image(world, "chat") == image("0.30.0-cpu-full")
    assert len(world.calls("CreateInferenceComponent", "chat")) >= 1
    assert len([c for c in world.calls("CreateInferenceComponent", "chat") if not c["error"]]) == 1
    assert len(updates(world, "chat")) == 1
    assert injected, "no fault was injected: the test proved nothing"


# ---------------------------------------------------------------------------- 10


def test_in_sync_means_zero_write_calls(world: OperatorTestbed) -> None:
    world.apply(world.manifest("chat", deployment=ROLLING))
    world.wait_settled("chat")
    world.emulator.admin.clear_calls()
    wait_resyncs(world, 5)
    assert world.writes("chat") == []
    # Drift checks read the endpoint's listing, not the component: no Describe at all.
    assert world.calls("DescribeInferenceComponent", "chat") == []
    assert world.emulator.admin.calls("ListInferenceComponents")
    assert world.condition("chat", "Ready")["status"] == "True"  # type: ignore[index]


# ---------------------------------------------------------------------------- ownership, rejection


def test_foreign_component_is_reported_then_adopted_on_request(world: OperatorTestbed) -> None:
    world.sagemaker.create_inference_component(
        InferenceComponentName="legacy",
        EndpointName=world.endpoint,
        VariantName="AllTraffic",
        Specification={
            "Container": {"Image": IMAGE, "Environment": {"LOG_LEVEL": "info"}},
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 1024,
            },
        },
        RuntimeConfig={"CopyCount": 4},
    )
    world.apply(world.manifest("legacy"))
    world.wait_condition("legacy", "Degraded", "True", reason="AlreadyExists")
    # The only write so far is the test's own Create: the operator touched nothing.
    assert [c["operation"] for c in world.writes("legacy")] == ["CreateInferenceComponent"]
    world.patch("legacy", {"spec": {"adoptionPolicy": "IfExists"}})
    world.wait_ready("legacy", generation=2)
    assert updates(world, "legacy") == [], "an in-sync component was redeployed on adoption"
    arn = world.describe("legacy")["InferenceComponentArn"]
    tags = {t["Key"] for t in world.sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert "sagemaker.ic-operator.io/owner-uid" in tags


def test_missing_endpoint_is_reported_without_a_create_and_followed_when_it_appears(
    world: OperatorTestbed,
) -> None:
    manifest = world.manifest("early")
    manifest["spec"]["endpointName"] = "later-endpoint"
    world.apply(manifest)
    obj = world.wait_condition("early", "Degraded", "True", reason="EndpointNotFound")
    message = next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert "later-endpoint" in message
    # Passes keep looking at the endpoint (one shared Describe), never at a Create.
    world.wait_more_passes("EndpointNotFound", 3)
    assert world.calls("CreateInferenceComponent", "early") == []

    # The endpoint appears: the component is created as its spec says, no annotation needed.
    ic_endpoint(world.sagemaker, "later-endpoint", instance_type="ml.m5.4xlarge", count=2)
    world.wait_ready("early")
    assert len(world.calls("CreateInferenceComponent", "early")) == 1


def test_spec_rejected_by_sagemaker_is_reported_once_not_retried(world: OperatorTestbed) -> None:
    # Capacity-style mistakes pass admission but not SageMaker: 3 copies of 60 cores
    # cannot fit two 16-core instances, and batch size is judged against copies.
    manifest = world.manifest("greedy", copies=1)
    manifest["spec"]["specification"]["modelName"] = "no-such-model"
    world.apply(manifest)
    obj = world.wait_condition("greedy", "Degraded", "True", reason="InvalidSpec")
    message = next(c["message"] for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    assert "no-such-model" in message
    assert obj["status"]["lastDeployment"]["outcome"] == "Failed"
    wait_resyncs(world, 3)
    assert len(world.calls("CreateInferenceComponent", "greedy")) == 1


# ---------------------------------------------------------------------------- Failed, GitOps


def test_failed_component_reports_a_way_out_and_a_fixed_spec_recreates_it(
    world: OperatorTestbed,
) -> None:
    world.emulator.admin.set_faults(failing_images=[image("broken")])
    try:
        world.apply(world.manifest("chat", image=image("broken")))
        obj = world.wait_condition("chat", "Degraded", "True", reason="Failed", timeout=60)
        degraded = next(c for c in obj["status"]["conditions"] if c["type"] == "Degraded")
        assert "sagemaker.ic-operator.io/retry" in degraded["message"]
        assert obj["status"]["inferenceComponentStatus"] == "Failed"
        wait_resyncs(world, 3)
        assert len(world.calls("CreateInferenceComponent", "chat")) == 1
        assert world.calls("DeleteInferenceComponent", "chat") == []
    finally:
        world.emulator.admin.set_faults()
    set_image(world, "chat", IMAGE)
    world.wait_ready("chat", generation=2, timeout=90)
    assert len(world.calls("DeleteInferenceComponent", "chat")) == 1
    assert len([c for c in world.calls("CreateInferenceComponent", "chat") if not c["error"]]) == 2
    assert deployed_image(world, "chat") == IMAGE


def test_operator_never_writes_spec_so_gitops_sees_no_drift(world: OperatorTestbed) -> None:
    """Argo CD compares the live object with the manifest: only status, finalizers and the
    operator's own annotations may differ."""
    manifest = world.manifest("chat", deployment=ROLLING)
    world.apply(manifest)
    world.wait_ready("chat")
    set_image(world, "chat", image("0.30.0-cpu-full"))
    manifest["spec"]["specification"]["container"]["image"] = image("0.30.0-cpu-full")
    world.wait_ready("chat", generation=2, timeout=90)
    live = world.get("chat")
    assert live is not None
    # The API server fills in the CRD's schema defaults; nothing else differs.
    defaults = {"adoptionPolicy": "Never", "deletionPolicy": "Delete"}
    assert live["spec"] == {**defaults, **manifest["spec"]}
    # And nobody but kubectl ever owned a spec field.
    out = world.kubectl("get", "smic", "chat", "-n", world.namespace, "-o", "json",
                        "--show-managed-fields")  # fmt: skip
    spec_writers = {
        entry["manager"]
        for entry in json.loads(out.stdout)["metadata"]["managedFields"]
        if "f:spec" in entry.get("fieldsV1", {})
    }
    assert spec_writers and all(m.startswith("kubectl") for m in spec_writers), spec_writers
    assert live["metadata"]["finalizers"] == ["sagemaker.ic-operator.io/finalizer"]
    annotations = live["metadata"].get("annotations", {})
    foreign = {
        k for k in annotations
        if not k.startswith("sagemaker.ic-operator.io/")
        and k != "kubectl.kubernetes.io/last-applied-configuration"
    }  # fmt: skip
    assert foreign == set()
    assert set(live) == {"apiVersion", "kind", "metadata", "spec", "status"}
