"""A real Argo CD syncs InferenceComponents from git into the local control plane.

Argo CD's application controller and repo-server (upstream's code, ic_sandbox.peers.argocd) sync
a `file://` repository the test commits to; the operator and the emulator run as in the
e2e suite. Each scenario is proved three ways: from the Application's own status as Argo
CD wrote it (every version recorded by a watch), from the operator's status on the
InferenceComponent, and from the emulator's call log (what SageMaker was asked to do).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ic_operator.names import API_GROUP, FINALIZER
from tests.argocd.gitops import (
    Application,
    GitOps,
    collapse,
    health,
    resource,
    resource_health,
    sync_status,
)
from tests.e2e.test_lifecycle import ROLLING, ROLLING_WIRE, updates
from tests.fixtures.operator import OperatorTestbed, image

pytestmark = [pytest.mark.argocd, pytest.mark.controlplane, pytest.mark.slow]

WAVE = "argocd.argoproj.io/sync-wave"
TRACKING_ID = "argocd.argoproj.io/tracking-id"


def creates(world: OperatorTestbed, name: str) -> list[dict[str, Any]]:
    return world.calls("CreateInferenceComponent", name)


def resource_healths(versions: list[dict[str, Any]], name: str) -> list[str | None]:
    """How Argo CD's health of one component changed over the recorded versions."""
    return collapse([resource_health(v, name)[0] for v in versions if resource(v, name)])


def history(app: dict[str, Any]) -> list[str]:
    return [entry["revision"] for entry in (app.get("status") or {}).get("history") or []]


def synced(operation: dict[str, Any]) -> dict[str, str]:
    """What a finished sync did to each resource, by name (Synced, Pruned, ...)."""
    return {r["name"]: r["status"] for r in operation["syncResult"].get("resources") or []}


def operations(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sync that finished in these versions, oldest first, as Argo CD last wrote it."""
    finished: dict[tuple[str, str], dict[str, Any]] = {}
    for version in versions:
        operation = (version.get("status") or {}).get("operationState") or {}
        if operation.get("phase") == "Succeeded":
            # startedAt has whole seconds: what was asked tells two syncs of one second apart.
            asked = json.dumps(operation["operation"], sort_keys=True)
            finished[operation["startedAt"], asked] = operation
    return list(finished.values())  # in the order they first showed (dicts keep it)


def operation_started(app: dict[str, Any]) -> str:
    return str(app["status"]["operationState"]["startedAt"])


def deploy(gitops: GitOps, components: dict[str, dict[str, Any]], **app: Any) -> Application:
    """Commit one file per component, sync them with a new Application, wait until every
    component is Healthy in Argo CD and settled in the operator."""
    head = gitops.repo.commit(
        {f"{name}.yaml": [manifest] for name, manifest in components.items()}, "first deploy"
    )
    application = gitops.application(**app)
    application.wait_deployed(head)
    for name in components:
        gitops.world.wait_settled(name)
    return application


# ---------------------------------------------------------------------------- 1


def test_first_sync_is_progressing_then_healthy_once_ready_with_one_create_each(
    gitops: GitOps,
) -> None:
    world = gitops.world
    head = gitops.repo.commit(
        {
            "chat.yaml": [gitops.component("chat")],
            "embed.yaml": [gitops.component("embed")],
        },
        "two components",
    )
    app = gitops.application()
    final = app.wait_deployed(head)
    versions = app.versions()

    healths = collapse([health(v) for v in versions if health(v)])
    assert "Progressing" in healths, healths
    assert healths[-1] == "Healthy"
    assert healths.index("Progressing") < healths.index("Healthy"), healths
    # Healthy only once Ready: the first version Argo CD called Healthy already carries
    # health.lua's verdict on the operator's Ready condition for both components.
    first_healthy = next(v for v in versions if health(v) == "Healthy")
    for name in ("chat", "embed"):
        status, message = resource_health(first_healthy, name)
        assert status == "Healthy", (name, status, message)
        assert (message or "").startswith("InSync"), message
        progress = [
            resource_health(v, name)[1]
            for v in versions
            if resource_health(v, name)[0] == "Progressing"
        ]
        assert progress, f"Argo CD never showed {name} Progressing"
        assert world.wait_ready(name)["status"]["inferenceComponentStatus"] == "InService"
        calls = creates(world, name)
        assert len(calls) == 1 and not calls[0]["error"], calls
    assert history(final) == [head]
    assert synced(final["status"]["operationState"]) == {"chat": "Synced", "embed": "Synced"}


# ---------------------------------------------------------------------------- 2


def test_an_image_commit_is_one_update_carrying_the_deployment_config(gitops: GitOps) -> None:
    world = gitops.world
    chat = gitops.component("chat", deployment=ROLLING)
    app = deploy(gitops, {"chat": chat, "embed": gitops.component("embed")})
    first = history(app.get())
    world.emulator.admin.clear_calls()
    since = app.mark()

    chat["spec"]["specification"]["container"]["image"] = image("0.30.0-cpu-full")
    head = gitops.repo.commit({"chat.yaml": [chat]}, "chat: new image")
    app.refresh()
    final = app.wait_deployed(head)
    world.wait_ready("chat", generation=2)

    after = app.versions(since)
    assert "Progressing" in resource_healths(after, "chat")
    # Which Progressing message Argo CD caught depends on when it looked: with status
    # updates ignored unless the health changes (upstream's default argocd-cm), a message
    # change within Progressing is seen only at the next refresh.
    progress = [resource_health(v, "chat")[1] or "" for v in after]
    assert any(
        m.startswith(("Updating: ", "Waiting for the operator to process generation 2"))
        for m in progress
    ), collapse(progress)
    assert resource_healths(after, "chat")[-1] == "Healthy"
    assert resource_healths(after, "embed") == ["Healthy"]
    sent = updates(world, "chat")
    assert len(sent) == 1, sent
    assert sent[0]["DeploymentConfig"] == ROLLING_WIRE
    assert sent[0]["Specification"]["Container"]["Image"] == image("0.30.0-cpu-full")
    assert world.writes("embed") == []
    assert creates(world, "chat") == []
    assert history(final) == [*first, head]


# ---------------------------------------------------------------------------- 3


def test_a_rolled_back_rollout_is_degraded_and_nothing_retries_it(gitops: GitOps) -> None:
    world = gitops.world
    chat = gitops.component("chat", deployment=ROLLING)
    app = deploy(gitops, {"chat": chat})
    world.emulator.admin.set_alarm("e2e-5xx", "ALARM")

    chat["spec"]["specification"]["container"]["image"] = image("bad")
    head = gitops.repo.commit({"chat.yaml": [chat]}, "chat: an image that trips the alarm")
    app.refresh()
    obj = world.wait_condition("chat", "Degraded", "True", reason="RolledBack", generation=2,
                               timeout=90)  # fmt: skip
    degraded = next(c for c in obj["status"]["conditions"] if c["type"] == "Degraded")
    shown = app.wait(
        lambda a: health(a) == "Degraded" and a["status"]["sync"].get("revision") == head,
        "Degraded at the new revision",
    )
    status, message = resource_health(shown, "chat")
    assert status == "Degraded"
    assert message == f"{degraded['reason']}: {degraded['message']}"
    assert "e2e-5xx" in (message or "")
    assert sync_status(shown) == "Synced"  # git is applied; SageMaker kept the old spec
    assert shown["status"]["operationState"]["phase"] == "Succeeded"
    started = operation_started(shown)
    assert len(updates(world, "chat")) == 1

    # Neither the operator (four resync passes) nor selfHeal (three Argo CD refreshes)
    # sends the rolled-back spec again.
    since = app.mark()
    app.wait_reconciles(3, period=gitops.app_resync)
    world.wait_timer_passes(4)
    assert len(updates(world, "chat")) == 1, "the rolled-back spec was sent again"
    final = app.get()
    assert health(final) == "Degraded"
    assert operation_started(final) == started, "selfHeal started a sync"
    assert len(history(final)) == 2
    assert {sync_status(v) for v in app.versions(since)} == {"Synced"}


# ---------------------------------------------------------------------------- 4


def test_sync_waves_create_the_adapter_only_after_the_base_is_healthy(gitops: GitOps) -> None:
    world = gitops.world
    base = gitops.component("base", copies=1)
    base["metadata"]["annotations"] = {WAVE: "0"}
    adapter = {
        "apiVersion": base["apiVersion"],
        "kind": "InferenceComponent",
        "metadata": {"name": "adapter", "annotations": {WAVE: "1"}},
        "spec": {
            "endpointName": world.endpoint,
            "specification": {
                "baseInferenceComponentName": "base",
                "container": {"artifactUrl": "s3://models/adapters/sql/adapter.tar.gz"},
            },
        },
    }
    head = gitops.repo.commit({"models.yaml": [base, adapter]}, "a base and its adapter")
    app = gitops.application(automated=False)
    app.wait(lambda a: sync_status(a) == "OutOfSync", "OutOfSync, waiting for a manual sync")
    assert world.get("base") is None, "a manual Application applied without a sync"

    app.sync()
    final = app.wait_deployed(head)
    world.wait_ready("adapter")

    # Kubernetes' clock: the adapter was created once the base's Ready condition was True.
    base_obj, adapter_obj = world.get("base") or {}, world.get("adapter") or {}
    ready = next(c for c in base_obj["status"]["conditions"] if c["type"] == "Ready")
    assert adapter_obj["metadata"]["creationTimestamp"] >= ready["lastTransitionTime"]
    # SageMaker's clock: its Create came after the base was InService.
    in_service = min(h["at"] for h in world.emulator.admin.history("base")
                     if h["status"] == "InService")  # fmt: skip
    (adapter_create,) = creates(world, "adapter")
    assert adapter_create["at"] > in_service and not adapter_create["error"]
    assert len(creates(world, "base")) == 1
    # Argo CD's view: the adapter existed (had a health other than Missing) only in
    # versions where the base was already Healthy.
    for version in app.versions():
        if resource_health(version, "adapter")[0] not in (None, "Missing"):
            assert resource_health(version, "base")[0] == "Healthy", version["status"]
    assert history(final) == [head]


# ---------------------------------------------------------------------------- 5


def test_prune_deletes_or_retains_and_the_app_is_synced_once_the_finalizer_is_done(
    gitops: GitOps,
) -> None:
    world = gitops.world
    app = deploy(
        gitops,
        {
            "dropped": gitops.component("dropped", deletionPolicy="Delete"),
            "kept": gitops.component("kept", deletionPolicy="Retain"),
            "stays": gitops.component("stays"),
        },
    )
    world.emulator.admin.clear_calls()
    since = app.mark()

    head = gitops.repo.commit({"dropped.yaml": None, "kept.yaml": None}, "remove two")
    app.refresh()
    final = app.wait(
        lambda a: (
            sync_status(a) == "Synced"
            and a["status"]["sync"].get("revision") == head
            and health(a) == "Healthy"
        ),
        "Synced and Healthy after the prune",
        timeout=120,
    )
    assert world.get("dropped") is None and world.get("kept") is None
    assert resource(final, "dropped") is None and resource(final, "kept") is None

    assert len(world.calls("DeleteInferenceComponent", "dropped")) == 1
    assert world.calls("DeleteInferenceComponent", "kept") == []
    assert world.writes("stays") == []
    assert world.describe("kept")["InferenceComponentStatus"] == "InService"
    with pytest.raises(ClientError):
        world.describe("dropped")
    # While the finalizers ran, Argo CD kept saying so; Synced came once the objects were gone.
    after = app.versions(since)
    synced_at_head = [
        v for v in after
        if sync_status(v) == "Synced" and v["status"]["sync"].get("revision") == head
    ]  # fmt: skip
    assert synced_at_head, "the watch saw no Synced version at the new revision"
    # Its health turned Progressing when the deletion began (the message, `Deleting: …` or
    # the generation the API server raised with deletionTimestamp, is whichever Argo CD
    # caught); all that while the app was OutOfSync.
    deleting = [v for v in after if resource_health(v, "dropped")[0] == "Progressing"]
    assert deleting, "Argo CD never showed the component being deleted"
    assert {sync_status(v) for v in deleting} == {"OutOfSync"}
    assert resource(synced_at_head[0], "dropped") is None
    assert resource(synced_at_head[0], "kept") is None
    # The prune is one sync at the new revision. Right after it Argo CD may start a selfHeal
    # "partial sync" of an object its cache still showed as being deleted: it deletes that
    # object again (or finds no task), applies nothing and adds no history entry; SageMaker
    # saw one Delete all the same (above).
    (prune, *later) = [o for o in operations(after) if o["syncResult"]["revision"] == head]
    assert synced(prune) == {"dropped": "Pruned", "kept": "Pruned", "stays": "Synced"}
    for operation in later:
        assert set(synced(operation).values()) <= {"Pruned"}, operation
    assert history(final)[-1] == head and len(history(final)) == 2


# ---------------------------------------------------------------------------- 6 and 7


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
def test_a_quiet_repository_costs_nothing_over_three_resync_periods(
    gitops: GitOps, server_side: bool
) -> None:
    """Scenario 6 (no perpetual OutOfSync, no endless auto-sync) and 7 (Argo CD's tracking
    annotation, refreshes and resyncs cost no SageMaker call and no status write), with
    Argo CD's client-side apply and diff and with ServerSideApply + ServerSideDiff.

    The operator's own drift check is set to an hour here, so any call or write in the
    window would be Argo CD's doing.
    """
    world = gitops.world
    world.operator.stop()
    world.operator.start("--resync-interval", "3600")
    # `embed` leaves copyCountOwner, deletionPolicy and tags to the API server's defaults.
    embed = gitops.component("embed")
    del embed["spec"]["runtimeConfig"]["copyCountOwner"], embed["spec"]["tags"]
    app = deploy(gitops, {"chat": gitops.component("chat"), "embed": embed},
                 server_side=server_side)  # fmt: skip
    # Right after its own sync Argo CD may run one selfHeal "partial sync" that finds every
    # object unchanged (seen in the prune scenario too); the window starts after it, one
    # refresh later.
    app.wait_reconciles(1, period=gitops.app_resync)
    before = app.get()
    live = {name: world.get(name) or {} for name in ("chat", "embed")}
    # What the cluster added that git does not hold, none of which makes Argo CD diff.
    assert live["embed"]["spec"]["runtimeConfig"]["copyCountOwner"] == "Operator"
    assert live["embed"]["spec"]["deletionPolicy"] == "Delete"
    for name, obj in live.items():
        assert FINALIZER in obj["metadata"]["finalizers"]
        operator_annotations = [
            a for a in obj["metadata"]["annotations"] if a.startswith(API_GROUP)
        ]
        assert operator_annotations, "kopf's annotations (under the operator's prefix)"
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        assert obj["metadata"]["annotations"][TRACKING_ID] == (
            f"{app.name}:{API_GROUP}/InferenceComponent:{world.namespace}/{name}"
        )
    world.emulator.admin.clear_calls()

    app.refresh("hard")
    window = app.wait_reconciles(4, period=gitops.app_resync)  # the hard refresh and three

    assert {sync_status(v) for v in window} == {"Synced"}
    assert {health(v) for v in window} == {"Healthy"}
    after = app.get()
    assert operation_started(after) == operation_started(before), "an auto-sync ran"
    assert history(after) == history(before)
    assert world.emulator.admin.calls() == []
    for name, obj in live.items():
        now = world.get(name) or {}
        assert now["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"], (
            f"{name} was written during the quiet window"
        )


# ---------------------------------------------------------------------------- suspend


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
def test_an_on_call_suspend_survives_self_heal_and_a_sync_and_shows_suspended(
    gitops: GitOps, server_side: bool
) -> None:
    """An on-call engineer pauses one component with kubectl while selfHeal runs; git does
    not mention spec.suspend (docs/gitops.md, section 6). Argo CD shows it Suspended and
    Synced and does not undo the pause; a commit synced meanwhile reaches the object and is
    held by the operator, its call shown, until the pause is lifted."""
    world = gitops.world
    chat = gitops.component("chat", deployment=ROLLING)
    app = deploy(gitops, {"chat": chat}, server_side=server_side)
    world.emulator.admin.clear_calls()

    world.patch("chat", {"spec": {"suspend": True}})
    app.wait(lambda a: health(a) == "Suspended", "the app Suspended")
    status, message = resource_health(app.get(), "chat")
    assert status == "Suspended" and (message or "").startswith("suspended (spec.suspend)")
    window = app.wait_reconciles(3, period=gitops.app_resync)
    assert {sync_status(v) for v in window} == {"Synced"}
    assert {health(v) for v in window} == {"Suspended"}
    assert (world.get("chat") or {})["spec"]["suspend"] is True

    chat["spec"]["specification"]["container"]["image"] = image("0.30.0-cpu-full")
    head = gitops.repo.commit({"chat.yaml": [chat]}, "chat: new image")
    app.refresh()
    app.wait(
        lambda a: sync_status(a) == "Synced" and a["status"]["sync"].get("revision") == head,
        "the commit synced",
    )
    world.wait_condition("chat", "Ready", "False", reason="Suspended")
    live = world.get("chat") or {}
    assert live["spec"]["suspend"] is True, "the sync undid the pause"
    assert live["status"]["pendingPlan"]["summary"] == "UpdateInferenceComponent"
    assert health(app.get()) == "Suspended"
    assert world.writes("chat") == []

    world.patch("chat", {"spec": {"suspend": False}})
    app.wait_deployed(head, timeout=120)
    world.wait_settled("chat", timeout=90)
    assert [u["Specification"]["Container"]["Image"] for u in updates(world, "chat")] == [
        image("0.30.0-cpu-full")
    ]
