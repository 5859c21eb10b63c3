"""The `ack` mode: the same world and workload, reconciled by ACK's SageMaker controller.

Upstream's controller, v1.9.1 (ic_sandbox.peers.ack: built once from the vendored sources
and cached), runs in place of the operator: N ACK `InferenceComponent` objects
(sagemaker.services.k8s.aws/v1alpha1) carrying what the bench's own manifests carry (image,
0.25 CPU, 128 MiB, one copy, one tag, on the same endpoints), and nothing of ours runs.

ACK is run at its defaults, because its defaults are what the comparison is about: the
inference component's 30 s requeue after every reconcile (`requeue_on_success_seconds: 30`
in its generator.yaml; `ACK.ResourceSynced=False` requeues after 30 s too) and one
concurrent reconcile (`--reconcile-default-max-concurrent-syncs` 1). The flags passed are
only those that point it at this world (AckController: the emulator's URL for SageMaker
and STS, `--allow-unsafe-aws-endpoint-urls` for its plain-HTTP loopback URL,
`--enable-carm=false` as there is no account map, `--watch-namespace` of the run,
`--reconcile-resources InferenceComponent` so only that kind's informer starts).

Measured as the operator is where the figure means the same: Ready is ACK's own
`ACK.ResourceSynced=True`; edit → the UpdateInferenceComponent carrying the new image, from
the emulator's call log; the steady window's calls, writes, objects written, RSS and CPU of
the controller process. Phases with no ACK meaning are recorded as not applicable with the
reason (NOT_APPLICABLE), never as zero.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bench import procstat, quiet, scenario, stats, workload
from bench.readiness import ReadyWatch
from bench.scenario import Context, RunConfig, RunResult
from bench.world import BenchError, Kubectl
from ic_operator.aws.operations import WRITE_OPERATIONS
from ic_sandbox.harness.emulator_process import REGION
from ic_sandbox.peers.ack import GROUP, AckBuild, AckController, AwsTarget, ensure_ack, install

MODE = "ack"
VERSION = "v1alpha1"
PLURAL = "inferencecomponents"
RESOURCE = f"{PLURAL}.{GROUP}"
SYNCED = "ACK.ResourceSynced"
USER = "ack-sagemaker-controller"
# ACK's requeue after a reconcile of an inference component, synced or not (its
# generator.yaml `requeue_on_success_seconds: 30`; requeue.DefaultRequeueAfterDuration).
RESYNC_SECONDS = 30.0
# After the last Create, how long the apply phase still waits for every object to be
# synced: each component has then been described at least twice since it was created.
AFTER_LAST_CREATE = 2.5 * RESYNC_SECONDS
# How long the steady window waits for ACK's quiet: two of its intervals. A controller
# that writes in every 30 s (ACK with an image, see docs) has shown it by then; waiting the
# operator's 5 intervals would only delay the window.
QUIET_BOUND = 2 * RESYNC_SECONDS

NOT_APPLICABLE = {
    "edits_under_rollouts": "ACK's InferenceComponent has no deploymentConfig (its spec is "
    "generated from CreateInferenceComponent's input): it cannot start a rolling update",
    "edits_under_sweep": "not measured: ACK describes every component every 30 s whatever "
    "changed, so an out-of-band change adds no work; the quiet edits already run under that",
    "restart": "confirmed = every object ACK.ResourceSynced=True, which ACK does not reach "
    "while the spec sets an image (Describe answers DeployedImage, never Image)",
}


def manifest(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The ACK object for one of the bench's manifests (bench/workload.py): the same
    endpoint, variant, image, resources, copy count and tag, in ACK's field names."""
    spec = doc["spec"]
    specification = spec["specification"]
    resources = specification["computeResourceRequirements"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceComponent",
        "metadata": {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]},
        "spec": {
            "inferenceComponentName": doc["metadata"]["name"],
            "endpointName": spec["endpointName"],
            "variantName": spec["variantName"],
            "specification": {
                "container": {"image": specification["container"]["image"]},
                "computeResourceRequirements": {
                    "numberOfCPUCoresRequired": resources["numberOfCpuCoresRequired"],
                    "minMemoryRequiredInMb": resources["minMemoryRequiredInMb"],
                },
            },
            "runtimeConfig": {"copyCount": spec["runtimeConfig"]["copyCount"]},
            "tags": [{"key": k, "value": v} for k, v in sorted(spec.get("tags", {}).items())],
        },
    }


def is_synced(obj: Mapping[str, Any]) -> bool:
    """ACK's own word that the object matches SageMaker: `ACK.ResourceSynced=True`."""
    return any(
        c.get("type") == SYNCED and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def synced_count(objects: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for o in objects if is_synced(o))


class WriteCounter:
    """Objects written so far, counted from successive lists (a resourceVersion that moved
    since the last look): the quiet wait's stand-in for the operator's status-write counter.
    Several writes to one object between two looks count once."""

    def __init__(self) -> None:
        self.versions: dict[str, str] = {}
        self.written = 0

    def see(self, objects: Sequence[Mapping[str, Any]]) -> int:
        for obj in objects:
            meta = obj["metadata"]
            old = self.versions.get(meta["name"])
            if old is not None and old != meta["resourceVersion"]:
                self.written += 1
            self.versions[meta["name"]] = meta["resourceVersion"]
        return self.written


def at_own_resync(steady: dict[str, Any]) -> None:
    """ACK ran at its own default resync (30 s, not the bench's R): its measured rate is
    already the rate at its defaults, so the "at R = 300 s" figures are the measured ones,
    not R / 300 of them."""
    steady["resync_seconds"] = RESYNC_SECONDS
    steady["per_component_hour_at_default_resync"] = steady["per_component_hour_total"]
    steady["per_component_hour_at_default_resync_by_operation"] = dict(steady["per_component_hour"])


class AckProcess:
    """The controller, shaped as the bench's phases expect of an operator: its pid,
    `check_alive`, and no /metrics or heap probe (the figures come from /proc, the
    emulator's call log and the cluster)."""

    def __init__(self, controller: AckController) -> None:
        self.controller = controller

    @property
    def pid(self) -> int:
        process = self.controller.process
        if process is None or process.pid is None:
            raise BenchError("ACK's controller is not running")
        return process.pid

    def check_alive(self) -> None:
        if (exited := self.controller.failed()) is not None:
            raise BenchError(exited)

    def metrics(self) -> dict[str, float]:
        return {}

    def dump_allocations(self, *, trim: bool = False) -> tuple[None, None]:
        del trim
        return None, None


def prepare(kubectl: Kubectl) -> AckBuild:
    """The cached controller (never rebuilt when cached) and its CRDs in the cluster."""
    build = ensure_ack(build=True)
    install(kubectl, build)
    return build


def _controller(ctx: Context, build: AckBuild, namespace: str, run: str) -> AckController:
    keys: dict[str, Any] = ctx.emulator.admin.request("POST", "access-keys", {"user": USER})
    aws = AwsTarget(ctx.emulator.url, REGION, keys["AccessKeyId"], keys["SecretAccessKey"])
    return AckController(
        ctx.log_dir / f"ack-{run}",
        build,
        ctx.kubeconfig,
        aws,
        namespace,
        resources=("InferenceComponent",),
        start_timeout=180.0,
    )


def run(ctx: Context, cfg: RunConfig, build: AckBuild) -> RunResult:
    """One ack-mode run: apply, quiet edits, steady window (scenario's phases where they
    measure the same thing, with the controller in the operator's place)."""
    result = RunResult(config={**asdict(cfg), "controller_flags": "see bench/ack.py"})
    namespace = f"bench-{cfg.run}-{int(time.time()) % 100000}"
    ctx.kubectl("create", "namespace", namespace)
    ack_ctx = dataclasses.replace(ctx, api=ctx.api.of(GROUP, VERSION, PLURAL))
    controller = _controller(ctx, build, namespace, cfg.run)
    label = f"N={cfg.components} ack"
    try:
        controller.start()
        process = AckProcess(controller)
        result.config["controller_args"] = controller.process.argv if controller.process else []
        ctx.progress(f"[{label}] ACK's controller up in namespace {namespace}")
        docs = workload.manifests(cfg.run, namespace, cfg.components, cfg.per_endpoint)
        names = [d["metadata"]["name"] for d in docs]
        picked = workload.samples(names, edits=cfg.edits, rollouts=cfg.rollouts, seed=cfg.seed)
        applied_at = _apply_phase(ack_ctx, cfg, process, [manifest(d) for d in docs], result)
        result.edits = scenario._edit_phase(
            ack_ctx, cfg, operator=process, result=result, label=label,  # type: ignore[arg-type]
            sample=picked["quiet"], namespace=namespace, resource=RESOURCE,
        )  # fmt: skip
        result.settle = {"not_applicable": "ACK's objects are never all synced (see apply)"}
        for phase, reason in NOT_APPLICABLE.items():
            setattr(result, phase, {"not_applicable": reason})
        scenario._steady_phase(
            ack_ctx, cfg, operator=process, result=result, label=label,  # type: ignore[arg-type]
            applied_at=applied_at, namespace=namespace,
            until_quiet=lambda: _until_quiet(ack_ctx, process, namespace),
        )  # fmt: skip
        at_own_resync(result.steady)
        ctx.progress(
            f"[{label}] (not extrapolated: ACK ran at its own default resync, so "
            f"{result.steady['per_component_hour_total']:.2f} calls/component/h is its rate "
            "at its defaults)"
        )
        result.steady["synced_at_end"] = synced_count(ack_ctx.api.list_components(namespace))
    except BenchError as exc:
        result.errors.append(str(exc))
        ctx.progress(f"[{label}] FAILED: {exc}")
    finally:
        controller.stop()
    return result


def _apply_phase(
    ctx: Context, cfg: RunConfig, process: AckProcess, docs: list[dict[str, Any]], result: RunResult
) -> float:
    """kubectl apply as for the operator; then wait until every object is synced, or
    until every component exists in SageMaker and has had AFTER_LAST_CREATE to be synced
    (bounded by the ready timeout): ACK with an image never syncs, which is the finding."""
    ctx.emulator.clear_calls()
    before = procstat.sample(process.pid)
    watch = ReadyWatch(ctx.api, docs[0]["metadata"]["namespace"], ready=is_synced)
    wall0, mono0 = time.time(), time.monotonic()
    applied = scenario.apply_in_chunks(ctx, cfg, docs)
    label = f"N={cfg.components} ack"
    ctx.progress(f"[{label}] applied {len(docs)} in {applied:.1f}s; waiting for ResourceSynced")
    deadline = mono0 + cfg.ready_timeout
    creates: list[float] = []
    try:
        while len(watch.first_ready()) < len(docs) and time.monotonic() < deadline:
            process.check_alive()
            if watch.failure is not None:
                raise BenchError(f"apply: the synced watch failed: {watch.failure!r}")
            calls = ctx.emulator.calls()
            creates = [c["at"] - wall0 for c in calls if _created(c)]
            if len(creates) >= len(docs) and time.time() - wall0 > max(creates) + AFTER_LAST_CREATE:
                break
            time.sleep(5.0)  # the call log of a thousand creates is large: not every second
    finally:
        watch.stop()
    calls = [c for c in ctx.emulator.calls() if c["at"] >= wall0]
    creates = [c["at"] - wall0 for c in calls if _created(c)]
    first_ready = {name: at - mono0 for name, at in watch.first_ready().items()}
    all_ready = max(first_ready.values()) if len(first_ready) == len(docs) else None
    after = procstat.sample(process.pid)
    result.apply = {
        "apply_seconds": applied,
        "all_ready_seconds": all_ready,
        "ready_count": len(first_ready),
        "ready_measured_by": f"watch, {SYNCED}=True",
        "first_object_seconds": None
        if watch.first_added() is None
        else watch.first_added() - mono0,  # type: ignore[operator]
        "first_call_seconds": min(c["at"] for c in calls) - wall0 if calls else None,
        "first_create_seconds": min(creates) if creates else None,
        "last_create_seconds": max(creates) if creates else None,
        "created": len(creates),
        "waited_seconds": time.monotonic() - mono0,
        "calls": stats.count_by(calls, "operation"),
        "errors": stats.count_by([c for c in calls if c.get("error")], "error"),
        "operator_cpu_seconds": (after.cpu_ticks - before.cpu_ticks) / procstat.clock_ticks(),
        "operator_peak_rss_mb": after.hwm_kb / 1024,
    }
    if all_ready is None:
        result.errors.append(
            f"apply: {len(first_ready)}/{len(docs)} ever {SYNCED}=True "
            f"({len(creates)} created; waited {result.apply['waited_seconds']:.0f}s)"
        )
    ctx.progress(
        f"[{label}] {len(first_ready)}/{len(docs)} synced; {len(creates)} created, the last "
        f"at {result.apply['last_create_seconds']}s"
    )
    return mono0 + applied


def _created(call: Mapping[str, Any]) -> bool:
    return call.get("operation") == "CreateInferenceComponent" and not call.get("error")


def _until_quiet(ctx: Context, process: AckProcess, namespace: str) -> dict[str, Any]:
    """The steady window's precondition, for ACK: one of its resync intervals (30 s) with
    no SageMaker write and no write to any of its objects, bounded by QUIET_BOUND. Polled
    every 5 s: each look lists every object."""
    ctx.emulator.clear_calls()
    counter = WriteCounter()

    def probe() -> quiet.Writes | None:
        process.check_alive()
        made = sum(1 for c in ctx.emulator.calls() if c["operation"] in WRITE_OPERATIONS)
        return quiet.Writes(status=counter.see(ctx.api.list_components(namespace)), sagemaker=made)

    wait = quiet.QuietWait(need=RESYNC_SECONDS, bound=QUIET_BOUND, interval=5.0)
    waited = wait.run(probe)
    waited["calls_while_waiting"] = stats.count_by(ctx.emulator.calls(), "operation")
    waited["status_writes_counted_as"] = "object writes (resourceVersion moved)"
    return waited
