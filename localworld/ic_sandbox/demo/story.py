"""The demo's steps, run against a started sandbox and narrated as they happen.

Every claim the narration makes is checked: the Kubernetes side with the real
kubectl, the SageMaker side with the emulator's call log and history. A step
that does not turn out as told raises DemoError instead of printing success,
and every wait has a deadline.
"""

from __future__ import annotations

import itertools
import json
import shlex
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from ic_operator.aws.operations import WRITE_OPERATIONS as WRITES
from ic_sandbox.cluster.binaries import repo_root
from ic_sandbox.cluster.kubectl import Kubectl
from ic_sandbox.demo.errors import DemoError
from ic_sandbox.demo.narrator import Narrator
from ic_sandbox.demo.teams import two_teams
from ic_sandbox.sandbox.components import EXAMPLES_NAMESPACE, SandboxEmulator
from ic_sandbox.sandbox.stack import Sandbox

T = TypeVar("T")

NS = EXAMPLES_NAMESPACE
BASIC = "llama3-8b"  # examples/basic.yaml
ROLLING = "mistral-7b"  # examples/rolling-update.yaml
ALARM = "mistral-7b-invocation-5xx"  # one of rolling-update.yaml's rollback alarms
TGI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference"
IMAGE_V2 = f"{TGI}:3.0.1-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
IMAGE_V3 = f"{TGI}:3.2.0-tgi3.2.0-gpu-py311-cu124-ubuntu22.04"
SCALED = "embeddings-bge"  # examples/autoscaled.yaml, with scale-to-zero.yaml's autoScaling
COPY_WRITES = {"UpdateInferenceComponentRuntimeConfig", "UpdateInferenceComponent"}


def examples_dir() -> Path:
    path = repo_root() / "examples"
    if not (path / "basic.yaml").is_file():
        raise DemoError(f"examples/ not found at {path}: run the demo from a source checkout")
    return path


class Story:
    def __init__(self, sandbox: Sandbox, narrator: Narrator) -> None:
        assert sandbox.kubectl is not None and sandbox.emulator is not None
        assert sandbox.operator is not None
        self.sandbox = sandbox
        self.say = narrator.say
        self.narrator = narrator
        self.kubectl: Kubectl = sandbox.kubectl
        self.emulator: SandboxEmulator = sandbox.emulator
        self.metrics_url = sandbox.operator.metrics_url
        self.sagemaker = self.emulator.client()
        self.time_scale = sandbox.options.time_scale
        self.resync = sandbox.options.resync_interval
        self.cursor: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers

    def run(self, *args: str, display: str | None = None) -> str:
        """kubectl, echoed as the user would type it (without the sandbox's --kubeconfig)."""
        out = self.kubectl(*args)
        shown = display or " ".join(shlex.quote(a) for a in args)
        self.narrator.command(f"kubectl {shown}", out.stdout + out.stderr)
        return out.stdout

    def table(self, *names: str, wide: bool = False) -> None:
        self.run("get", "smic", "-n", NS, *names, *(["-o", "wide"] if wide else []))

    def get(self, name: str) -> dict[str, Any]:
        out = self.kubectl("get", "smic", name, "-n", NS, "-o", "json", check=False)
        if out.returncode != 0:
            return {}
        obj: dict[str, Any] = json.loads(out.stdout)
        return obj

    def until(
        self,
        probe: Callable[[], T | None],
        *,
        timeout: float,
        what: str,
        interval: float = 0.25,
        tick: Callable[[], None] | None = None,
    ) -> T:
        """Poll probe until it returns something truthy; DemoError naming `what` at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if (reason := self.sandbox.failed()) is not None:
                raise DemoError(f"the sandbox broke while waiting for {what}: {reason}")
            if tick is not None:
                tick()
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)

    def condition(self, obj: dict[str, Any], ctype: str) -> dict[str, Any]:
        status = obj.get("status") or {}
        if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
            return {}  # not yet looked at by the operator: its conditions are about the past
        return next((c for c in status.get("conditions", []) if c["type"] == ctype), {})

    def calls(self) -> list[dict[str, Any]]:
        return self.emulator.admin.calls()

    def writes_since(self, mark: int, name: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.calls()[mark:]
            if c["operation"] in WRITES
            and c["error"] is None
            and (c["request"].get("InferenceComponentName") == name)
        ]

    def history(self, name: str) -> list[dict[str, Any]]:
        return self.emulator.admin.history(name)

    def timer_passes(self) -> float:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            text = response.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "ic_operator_reconciles_total"
            and sample.labels.get("trigger") == "timer"
        )

    def set_image(self, name: str, image: str) -> None:
        patch = {"spec": {"specification": {"container": {"image": image}}}}
        self.run("patch", "smic", name, "-n", NS, "--type=merge", "-p", json.dumps(patch))

    def mark(self, name: str) -> None:
        """From here on, narrate the component's history entries that are new."""
        self.cursor[name] = len(self.history(name))

    def watch(self, name: str, done: Callable[[], T | None], *, timeout: float, what: str) -> T:
        """Narrate the emulator's copy moves and the operator's table row until done()."""
        last_row = ""
        last_poll = 0.0

        def tick() -> None:
            nonlocal last_row, last_poll
            entries = self.history(name)
            start = self.cursor.get(name, 0)
            for index in range(start, len(entries)):
                previous = entries[index - 1] if index else None
                self.say("SageMaker: " + _describe(previous, entries[index]))
            self.cursor[name] = len(entries)
            if time.monotonic() - last_poll >= 1.0:
                last_poll = time.monotonic()
                row = self.kubectl("get", "smic", name, "-n", NS, "--no-headers").stdout.strip()
                row = " ".join(row.split()[:-1])  # without AGE, which changes every second
                if row != last_row:
                    self.say(f"kubectl get smic: {row}")
                    last_row = row

        result = self.until(done, timeout=timeout, what=what, tick=tick)
        tick()
        return result

    def ready(self, name: str) -> dict[str, Any] | None:
        obj = self.get(name)
        ready = self.condition(obj, "Ready")
        return obj if ready.get("status") == "True" else None

    def described(self, name: str) -> dict[str, Any] | None:
        obj = self.get(name)
        return obj if (obj.get("status") or {}).get("copies") else None

    # ------------------------------------------------------------------ steps

    def create(self) -> None:
        self.narrator.heading("1. Create: two InferenceComponents from examples/")
        self.say(
            f"{BASIC} (basic.yaml): 2 copies of Llama 3.1 8B on llm-shared-endpoint.\n"
            f"{ROLLING} (rolling-update.yaml): 4 copies; every spec change rolls out one copy\n"
            f"at a time with a 300 s bake per batch ({300 * self.time_scale:g} s at time scale "
            f"{self.time_scale:g}) and rolls back if {ALARM} fires."
        )
        examples = examples_dir()
        files = ("basic.yaml", "rolling-update.yaml")
        self.run(
            "apply",
            *(arg for f in files for arg in ("-f", str(examples / f))),
            display="apply " + " ".join(f"-f examples/{f}" for f in files),
        )
        self.table()
        for name in (BASIC, ROLLING):
            self.until(partial(self.ready, name), timeout=60, what=f"{name} Ready=True")
            self.say(f"{name}: Ready=True, SageMaker InService")
        # Ready comes from the endpoint listing; the copy counts from the routine
        # Describe that follows it, a poll interval later.
        for name in (BASIC, ROLLING):
            self.until(partial(self.described, name), timeout=60, what=f"{name} copies")
        self.table(wide=True)
        calls = self.calls()
        creates = [c for c in calls if c["operation"] == "CreateInferenceComponent"]
        self.say(
            f"SageMaker saw {len(creates)} CreateInferenceComponent calls, one per resource, "
            "each tagged with the resource's UID (sagemaker.ic-operator.io/owner-uid)."
        )

    def rolling_update(self) -> None:
        self.narrator.heading(f"2. Rolling update: a new image for {ROLLING}, in batches")
        self.say(
            "The operator sends the full specification with spec.deploymentConfig in one\n"
            "UpdateInferenceComponent; SageMaker adds one new copy, bakes it, retires an old one."
        )
        mark, since = len(self.calls()), len(self.history(ROLLING))
        self.mark(ROLLING)
        generation = self.get(ROLLING)["metadata"]["generation"] + 1
        self.set_image(ROLLING, IMAGE_V2)

        def finished() -> dict[str, Any] | None:
            obj = self.ready(ROLLING)
            if obj and obj["metadata"]["generation"] == generation:
                return obj
            return None

        bake = 300 * self.time_scale
        self.watch(
            ROLLING,
            finished,
            timeout=60 + 4 * (bake + 90 * self.time_scale),
            what=f"{ROLLING} generation {generation} Ready",
        )
        moves = self.history(ROLLING)[since - 1 :]
        counts = [c for c, _ in itertools.groupby(h["current"] for h in moves) if c is not None]
        batches = sum(1 for a, b in itertools.pairwise(counts) if b > a)
        updates = [
            c
            for c in self.writes_since(mark, ROLLING)
            if c["operation"] == "UpdateInferenceComponent"
        ]
        if len(updates) != 1 or "DeploymentConfig" not in updates[0]["request"]:
            raise DemoError(
                f"expected one UpdateInferenceComponent with a DeploymentConfig: {updates}"
            )
        policy = updates[0]["request"]["DeploymentConfig"]["RollingUpdatePolicy"]
        self.say(
            f"rolled out in {batches} batches: copies went " + " -> ".join(str(c) for c in counts)
        )
        self.say(
            "one UpdateInferenceComponent call, carrying RollingUpdatePolicy "
            + json.dumps(policy, separators=(",", ":"))
        )
        if batches < 2:
            raise DemoError(f"expected the update to move in several batches, saw {counts}")
        obj = self.get(ROLLING)
        self.say(
            f"lastDeployment: outcome {obj['status']['lastDeployment']['outcome']}, "
            f"resolvedImage {obj['status'].get('resolvedImage')}"
        )
        self.table(ROLLING)

    def rollback(self) -> None:
        self.narrator.heading(f"3. Rollback: another image, and {ALARM} fires during the bake")
        mark, since = len(self.calls()), len(self.history(ROLLING))
        self.mark(ROLLING)
        generation = self.get(ROLLING)["metadata"]["generation"] + 1
        self.set_image(ROLLING, IMAGE_V3)

        def first_batch_up() -> bool:
            moves = self.history(ROLLING)[since:]
            return any(b["current"] > a["current"] for a, b in itertools.pairwise(moves))

        self.watch(ROLLING, first_batch_up, timeout=30, what="the first new copy")
        self.say(
            f"the first new copy is baking; the alarm fires:\n"
            f'PUT {self.emulator.url}/_emulator/alarms/{ALARM} {{"state": "ALARM"}}'
        )
        self.emulator.admin.set_alarm(ALARM, "ALARM")

        def rolled_back() -> dict[str, Any] | None:
            obj = self.get(ROLLING)
            degraded = self.condition(obj, "Degraded")
            if obj.get("metadata", {}).get("generation") != generation:
                return None
            if degraded.get("status") == "True" and degraded.get("reason") == "RolledBack":
                return obj
            return None

        obj = self.watch(
            ROLLING,
            rolled_back,
            timeout=30,
            what=f"{ROLLING} Degraded=True (RolledBack)",
        )
        degraded = self.condition(obj, "Degraded")
        outcome = obj["status"]["lastDeployment"]["outcome"]
        self.say(
            "the operator reports it: Ready=False, Degraded=True (RolledBack), "
            f"status.lastDeployment.outcome {outcome}"
        )
        self.table(ROLLING, wide=True)
        self.say(f"Degraded condition message:\n{degraded['message']}")
        self.run(
            "get", "events", "-n", NS,
            "--field-selector", f"involvedObject.name={ROLLING},type=Warning",
        )  # fmt: skip
        described = self.sagemaker.describe_inference_component(InferenceComponentName=ROLLING)
        image = described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"]
        self.say(f"SageMaker still serves the previous image: {image.rsplit(':', 1)[-1]}")

        self.say(
            f"no retry storm: watching the operator's resync timer ({self.resync:g} s per "
            "component) for a few passes..."
        )
        before = self.timer_passes()
        self.until(
            lambda: self.timer_passes() >= before + 4,
            timeout=4 * self.resync + 30,
            what="four resync passes",
            interval=0.5,
        )
        updates = [
            c
            for c in self.writes_since(mark, ROLLING)
            if c["operation"] == "UpdateInferenceComponent"
        ]
        if len(updates) != 1:
            raise DemoError(f"the rolled-back spec was sent again: {len(updates)} updates")
        self.say(
            f"{int(self.timer_passes() - before)} resync passes later: still exactly 1 "
            "UpdateInferenceComponent for this spec. The operator waits for a new spec or the\n"
            "annotation sagemaker.ic-operator.io/retry before it deploys again."
        )
        self.emulator.admin.set_alarm(ALARM, "OK")
        self.say(f"(alarm {ALARM} set back to OK)")

    def scale(self) -> None:
        self.narrator.heading(f"4. Scale: {BASIC} from 2 to 4 copies, without a redeploy")
        mark = len(self.calls())
        self.mark(BASIC)
        generation = self.get(BASIC)["metadata"]["generation"] + 1
        patch = {"spec": {"runtimeConfig": {"copyCount": 4}}}
        self.run("patch", "smic", BASIC, "-n", NS, "--type=merge", "-p", json.dumps(patch))

        def scaled() -> dict[str, Any] | None:
            obj = self.ready(BASIC)
            if obj and obj["metadata"]["generation"] == generation:
                return obj if obj["status"].get("copies") == "4/4" else None
            return None

        self.watch(
            BASIC,
            scaled,
            timeout=60,
            what=f"{BASIC} Ready with copies 4/4",
        )
        writes = self.writes_since(mark, BASIC)
        self.say("SageMaker write calls since the change (emulator call log):")
        self.narrator.block(
            "\n".join(f"{c['operation']} {json.dumps(c['request'])}" for c in writes)
        )
        operations = [c["operation"] for c in writes]
        if operations != ["UpdateInferenceComponentRuntimeConfig"]:
            raise DemoError(f"expected one UpdateInferenceComponentRuntimeConfig, saw {operations}")
        self.say(
            "UpdateInferenceComponentRuntimeConfig only: no UpdateInferenceComponent, no redeploy."
        )
        self.table(BASIC)

    def scaling_state(self, name: str, **want: Any) -> dict[str, Any] | None:
        obj = self.get(name)
        scaling = (obj.get("status") or {}).get("autoScaling") or {}
        return obj if scaling and all(scaling.get(k) == v for k, v in want.items()) else None

    def load_until(self, total: float, *, what: str, **want: Any) -> dict[str, Any]:
        """Set the invocations a minute on SCALED, narrate until status.autoScaling shows
        ``want``, then show the row."""
        self.emulator.admin.load(SCALED, "invocationsPerCopy", total=total)
        obj = self.watch(
            SCALED,
            partial(self.scaling_state, SCALED, **want),
            timeout=150,
            what=f"{SCALED} {what}",
        )
        self.table(SCALED, wide=True)
        return obj

    def autoscale(self) -> None:
        self.narrator.heading(
            f"5. Autoscale: {SCALED} follows its load, scales to zero, and back on a request"
        )
        examples = examples_dir()
        manifest = yaml.safe_load((examples / "autoscaled.yaml").read_text())
        to_zero = yaml.safe_load((examples / "scale-to-zero.yaml").read_text())
        spec = manifest["spec"]
        spec["runtimeConfig"] = {"copyCount": 2}
        spec["deletionPolicy"] = "Delete"
        spec["autoScaling"] = to_zero["spec"]["autoScaling"]
        scaling = spec["autoScaling"]
        target = scaling["policies"][0]["targetTracking"]["targetValue"]
        self.say(
            f"examples/autoscaled.yaml with the autoScaling of examples/scale-to-zero.yaml:\n"
            f"{scaling['minCopies']} to {scaling['maxCopies']} copies, target {target:g} "
            "invocations per copy. The operator registers the scalable target and the policy,\n"
            "and (minCopies 0) the step policy and CloudWatch alarm that scale out from zero;\n"
            "the copy count is Application Auto Scaling's from here on."
        )
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
        self.narrator.command(
            "kubectl apply -f embeddings-bge-autoscaled.yaml", f"{SCALED} created\n"
        )
        self.until(
            lambda: self.ready(SCALED) and self.scaling_state(SCALED, registered=True),
            timeout=90,
            what=f"{SCALED} Ready with its scalable target registered",
        )
        mark = len(self.calls())
        setup = [
            c["operation"]
            for c in self.calls()
            if c.get("service") != "SageMaker"
            and not c["operation"].startswith("Describe")
            and c["error"] is None
        ]
        self.say("Application Auto Scaling and CloudWatch writes the operator made:")
        self.narrator.block("\n".join(setup))
        self.table(SCALED, wide=True)

        self.say("Load rises: 25 invocations a minute on 2 copies (emulator admin API)")
        self.mark(SCALED)
        self.load_until(25, what="at 3 copies", desiredCopies=3, currentCopies=3, state="Steady")
        self.say("Idle: no requests. The policy scales in, down to zero copies")
        at_zero = self.load_until(0, what="at zero copies", currentCopies=0, state="AtZero")
        self.say(f"status.autoScaling.message: {at_zero['status']['autoScaling']['message']}")
        served = self.emulator.admin.requests(SCALED, 3)
        self.say(
            f"3 requests arrive at zero copies: {served['failed']} fail (no capacity), the\n"
            "NoCapacityInvocationFailures alarm fires and the step policy adds a copy; traffic\n"
            "goes on at 5 invocations a minute, which one copy serves"
        )
        back = self.load_until(5, what="back at 1 copy", currentCopies=1, state="Steady")
        cause = back["status"]["autoScaling"]["lastActivity"]["cause"]
        self.say(f"last scaling activity's cause: {cause}")
        window = [c for c in self.calls()[mark:] if c["error"] is None and _about(c, SCALED)]
        writes = [
            c["operation"]
            for c in window
            if c["operation"] in COPY_WRITES
            or (c.get("service") != "SageMaker" and not c["operation"].startswith("Describe"))
        ]
        reads = sorted({c["operation"] for c in window} - set(writes))
        self.say(
            f"the operator's calls while copies went 2 -> 3 -> 0 -> 1 (emulator call log): "
            f"{len(window)} reads ({', '.join(reads)}), writes: {writes or 'none'}"
        )
        if writes:
            raise DemoError(f"the operator wrote while the autoscaler owned the copies: {writes}")
        self.say("The operator wrote nothing to the copy count: the autoscaler owns it.")

        mark = len(self.calls())
        self.run("delete", "smic", SCALED, "-n", NS, "--timeout=60s")
        order = [
            c["operation"]
            for c in self.calls()[mark:]
            if c["operation"]
            in ("DeleteAlarms", "DeregisterScalableTarget", "DeleteInferenceComponent")
            and c["error"] is None
        ]
        self.say(f"deleted in this order: {' -> '.join(order)}")
        if order != ["DeleteAlarms", "DeregisterScalableTarget", "DeleteInferenceComponent"]:
            raise DemoError(f"expected the alarm and target removed before the component: {order}")

    def delete(self) -> None:
        self.narrator.heading("6. Delete: deletionPolicy Delete removes it from SageMaker")
        mark = len(self.calls())
        self.run("delete", "smic", BASIC, "-n", NS, "--timeout=60s")
        deletes = [
            c["operation"]
            for c in self.writes_since(mark, BASIC)
            if c["operation"] == "DeleteInferenceComponent"
        ]
        if deletes != ["DeleteInferenceComponent"]:
            raise DemoError(f"expected one DeleteInferenceComponent for {BASIC}, saw {deletes}")
        try:
            self.sagemaker.describe_inference_component(InferenceComponentName=BASIC)
        except ClientError as err:
            message = err.response["Error"]["Message"]
            self.say(f"{BASIC} deleted from SageMaker: DescribeInferenceComponent says\n{message}")
        else:
            raise DemoError(f"{BASIC} is still in SageMaker after its resource was deleted")

        self.say(f"deletionPolicy Retain keeps it: {ROLLING} is released, not deleted")
        patch = {"spec": {"deletionPolicy": "Retain"}}
        self.run("patch", "smic", ROLLING, "-n", NS, "--type=merge", "-p", json.dumps(patch))
        self.run("delete", "smic", ROLLING, "-n", NS, "--timeout=60s")
        listed = self.sagemaker.list_inference_components(EndpointNameEquals="llm-shared-endpoint")
        rows = [
            f"{c['InferenceComponentName']}  {c['InferenceComponentStatus']}"
            for c in listed["InferenceComponents"]
        ]
        self.say("ListInferenceComponents on llm-shared-endpoint:")
        self.narrator.block("\n".join(rows) or "(none)")
        if [c["InferenceComponentName"] for c in listed["InferenceComponents"]] != [ROLLING]:
            raise DemoError(f"expected only {ROLLING} to remain in SageMaker, saw {rows}")
        self.run("get", "smic", "-A")

    def all(self) -> None:
        self.create()
        self.rolling_update()
        self.rollback()
        self.scale()
        self.autoscale()
        self.delete()
        self.teams()

    def teams(self) -> None:
        basic = yaml.safe_load((examples_dir() / "basic.yaml").read_text())
        two_teams(self, basic)


def _about(call: dict[str, Any], name: str) -> bool:
    """A call naming this component, its scalable target or its alarm."""
    request = call.get("request") or {}
    return (
        request.get("InferenceComponentName") == name
        or request.get("ResourceId") == f"inference-component/{name}"
        or any(name in str(a) for a in request.get("AlarmNames") or [request.get("AlarmName")])
        or request.get("EndpointNameEquals") is not None  # the shared listing that watches it
    )


def _describe(previous: dict[str, Any] | None, entry: dict[str, Any]) -> str:
    """One emulator history entry, as a change from the one before."""
    current, desired, status = entry["current"], entry["desired"], entry["status"]
    if previous is not None and previous["status"] == status and current is not None:
        before = previous["current"] or 0
        if current > before:
            return (
                f"{status}, +{current - before} new copy up: {current} running, {desired} desired"
            )
        if current < before:
            return (
                f"{status}, -{before - current} copy retired: {current} running, {desired} desired"
            )
    return f"{status}: {current} running, {desired} desired"
