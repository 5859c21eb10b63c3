"""`ic-sandbox demo` end to end: the real thing, as `make demo` runs it.

The transcript must show each step's evidence, and nothing the demo started may
outlive it, whether it finishes or is interrupted with Ctrl-C.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from sandbox_launch import Launched

pytestmark = [pytest.mark.controlplane, pytest.mark.slow]

# About two minutes at the default time scale (the autoscaling step waits for the
# operator's 30 s resync three times); the bound leaves room for a loaded machine.
DEMO_TIMEOUT = 420.0


def test_demo_shows_every_step_and_leaves_nothing_behind(tmp_path: Path) -> None:
    started = time.monotonic()
    demo = Launched(tmp_path, "demo", "--dir", str(tmp_path / "demo"), "--no-build")
    try:
        demo.wait_output("processes: ", 120)
        children = demo.children()
        code = demo.wait_exit(DEMO_TIMEOUT)
    finally:
        demo.stop()
    transcript = demo.output()
    print(f"demo took {time.monotonic() - started:.0f}s\n{transcript}")
    assert code == 0, transcript[-4000:]
    assert [c.name for c in children] == ["etcd", "kube-apiserver", "emulator", "operator"]

    # 1. create -> Ready
    assert "llama3-8b: Ready=True, SageMaker InService" in transcript
    assert "mistral-7b: Ready=True, SageMaker InService" in transcript
    assert re.search(r"mistral-7b\s+llm-shared-endpoint\s+InService\s+4/4\s+True", transcript)
    # 2. rolling update in batches, one UpdateInferenceComponent with the DeploymentConfig
    assert "rolled out in 4 batches: copies went 4 -> 5 -> 4 -> 5 -> 4 -> 5 -> 4 -> 5 -> 4" in (
        transcript
    )
    assert (
        'one UpdateInferenceComponent call, carrying RollingUpdatePolicy {"MaximumBatchSize"'
        in (transcript)
    )
    # 3. alarm -> rollback reported, Warning event, no retry storm
    assert "alarms/mistral-7b-invocation-5xx" in transcript
    assert "Degraded=True (RolledBack), status.lastDeployment.outcome RolledBack" in transcript
    assert re.search(r"mistral-7b\s+llm-shared-endpoint\s+InService\s+4/4\s+False\s+RolledBack",
                     transcript)  # fmt: skip
    assert re.search(r"Warning\s+RolledBack\s+inferencecomponent/mistral-7b", transcript)
    assert "still exactly 1 UpdateInferenceComponent for this spec" in transcript
    # 4. copy count without a redeploy
    assert (
        'UpdateInferenceComponentRuntimeConfig {"InferenceComponentName": "llama3-8b", '
        '"DesiredRuntimeConfig": {"CopyCount": 4}}' in transcript
    )
    # 5. autoscaling: copies follow the load, to zero and back, the operator writes nothing
    assert re.search(
        r"RegisterScalableTarget\s+PutScalingPolicy\s+PutScalingPolicy\s+PutMetricAlarm", transcript
    )
    assert re.search(r"embeddings-bge\s+cpu-shared-endpoint\s+InService\s+3/3\s+Steady", transcript)
    assert re.search(r"embeddings-bge\s+cpu-shared-endpoint\s+InService\s+0/0\s+AtZero", transcript)
    assert re.search(r"embeddings-bge\s+cpu-shared-endpoint\s+InService\s+1/1\s+Steady", transcript)
    assert "writes: none" in transcript
    assert "The operator wrote nothing to the copy count" in transcript
    assert "deleted in this order: DeleteAlarms -> DeregisterScalableTarget -> " in transcript
    # 6. delete and retain
    assert "llama3-8b deleted from SageMaker" in transcript
    assert re.search(r"mistral-7b\s+InService", transcript.split("ListInferenceComponents")[-1])
    assert "No resources found" in transcript
    # 7. two teams, two accounts
    for team, account in (("red", "111111111111"), ("blue", "222222222222")):
        assert re.search(
            rf"AssumeRole arn:aws:iam::{account}:role/ic-operator-{team} session "
            rf"kubernetes\.team-{team} ExternalId ext-{team} tags .*team-{team}",
            transcript,
        )
        assert f"CreateInferenceComponent in account {account} by " in transcript
    assert "region is immutable once set" in transcript
    assert "team-red/llama3-8b: Degraded/AccountChanged" in transcript
    assert "'wouldMove': 'account'" in transcript
    # the end: clean
    assert "Done: every step behaved as described" in transcript
    assert "sandbox stopped: 4 processes, none left running" in transcript
    assert [c for c in children if c.alive()] == []


def test_ctrl_c_during_the_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    demo = Launched(tmp_path, "demo", "--dir", str(tmp_path / "demo"), "--no-build")
    try:
        demo.wait_output("== 2. Rolling update", 120)
        children = demo.children()
        demo.interrupt()
        code = demo.wait_exit(60)
    finally:
        demo.stop()
    assert code == 130, demo.output()[-3000:]
    assert "SIGINT: stopping" in demo.output()
    assert [c for c in children if c.alive()] == []
    assert not (tmp_path / "demo" / "env").exists()
