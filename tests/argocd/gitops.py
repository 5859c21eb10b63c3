"""What the Argo CD suite drives: a git repository the test commits to, and Applications
watched as Argo CD writes them.

Every claim about Argo CD is read from the Application's own status (sync status, health,
each resource's health with `--persist-resource-health`, operationState, history), and
every version of it is recorded from a watch, so a state Argo CD held for a moment
(Progressing between two refreshes) is not lost between two polls.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ic_sandbox.peers.argocd import NAMESPACE
from tests.fixtures.controlplane import Kubectl
from tests.fixtures.emulator import wait_for
from tests.fixtures.operator import OperatorTestbed

APPLICATIONS = "applications.argoproj.io"
MANIFESTS = "components"  # the Application's source.path in the repository
# Argo CD's answer to "sync now": an operation on the Application, what `argocd app sync` writes.
SYNC_OPERATION = {"sync": {"prune": True}, "initiatedBy": {"username": "test"}}
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A repository on disk that Argo CD's repo-server clones over `file://`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            env={**os.environ, **_GIT_ENV},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        return result.stdout.strip()

    def commit(self, files: Mapping[str, list[dict[str, Any]] | None], message: str) -> str:
        """Write (a list of documents) or remove (None) files under MANIFESTS; the new HEAD."""
        for name, documents in files.items():
            path = self.path / MANIFESTS / name
            if documents is None:
                path.unlink()
            else:
                path.parent.mkdir(exist_ok=True)
                path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return self.commit_all(message)

    def commit_all(self, message: str) -> str:
        """Commit every change in the working tree; the new HEAD."""
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)
        return self.git("rev-parse", "HEAD")


class Recorder:
    """Every version of one Application that the API server sends to `kubectl get -w`."""

    def __init__(self, kubectl: Kubectl, name: str) -> None:
        argv = kubectl.argv("get", APPLICATIONS, name, "-n", NAMESPACE, "-w", "-o", "json")
        self._process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._versions: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, name=f"watch {name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        # kubectl prints each object as indented JSON, one after another: decode as they end.
        assert self._process.stdout is not None
        decoder = json.JSONDecoder()
        buffer = ""
        for line in self._process.stdout:
            buffer += line
            try:
                version, _ = decoder.raw_decode(buffer.strip())
            except ValueError:
                continue
            buffer = ""
            with self._lock:
                self._versions.append(version)

    def versions(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._versions)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(10)
        self._thread.join(10)


def health(app: Mapping[str, Any]) -> str | None:
    value = ((app.get("status") or {}).get("health") or {}).get("status")
    return str(value) if value is not None else None


def sync_status(app: Mapping[str, Any]) -> str | None:
    value = ((app.get("status") or {}).get("sync") or {}).get("status")
    return str(value) if value is not None else None


def resource(app: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """Argo CD's entry for one InferenceComponent (sync status, health) in app.status."""
    for entry in (app.get("status") or {}).get("resources") or []:
        if entry.get("kind") == "InferenceComponent" and entry.get("name") == name:
            return dict(entry)
    return None


def resource_health(app: Mapping[str, Any], name: str) -> tuple[str | None, str | None]:
    found = (resource(app, name) or {}).get("health") or {}
    return found.get("status"), found.get("message")


def collapse(values: list[Any]) -> list[Any]:
    """The sequence without repeats in a row: what changed, in order."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


@dataclass
class Application:
    """One Argo CD Application of the test's namespace, and its recorded versions."""

    name: str
    kubectl: Kubectl
    recorder: Recorder

    def get(self) -> dict[str, Any]:
        out = self.kubectl("get", APPLICATIONS, self.name, "-n", NAMESPACE, "-o", "json")
        found: dict[str, Any] = json.loads(out.stdout)
        return found

    def versions(self, since: int = 0) -> list[dict[str, Any]]:
        return self.recorder.versions()[since:]

    def mark(self) -> int:
        """A position in the recorded versions: `versions(since=mark)` is what came after."""
        return len(self.recorder.versions())

    def refresh(self, kind: str = "normal") -> None:
        """Ask for a refresh now: a new commit is otherwise seen only after the repo-server's
        three-minute cache of ref lookups (`hard` also drops the manifest cache)."""
        self.kubectl(
            "annotate", APPLICATIONS, self.name, "-n", NAMESPACE,
            f"argocd.argoproj.io/refresh={kind}", "--overwrite",
        )  # fmt: skip

    def sync(self) -> None:
        """A manual sync, as `argocd app sync` starts one: an operation on the Application."""
        self.kubectl(
            "patch", APPLICATIONS, self.name, "-n", NAMESPACE, "--type=merge",
            "-p", json.dumps({"operation": SYNC_OPERATION}),
        )  # fmt: skip

    def wait(
        self, probe: Callable[[dict[str, Any]], bool], what: str, *, timeout: float = 90
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            app = self.get()
            return app if probe(app) else None

        try:
            return wait_for(check, timeout=timeout, interval=0.3, what=f"{self.name}: {what}")
        except AssertionError:
            print(json.dumps(self.get().get("status"), indent=2)[-6000:])
            raise

    def wait_deployed(self, revision: str, *, timeout: float = 90) -> dict[str, Any]:
        """Synced to `revision` by a finished sync, and Healthy."""

        def deployed(app: dict[str, Any]) -> bool:
            status = app.get("status") or {}
            operation = status.get("operationState") or {}
            return (
                sync_status(app) == "Synced"
                and status["sync"].get("revision") == revision
                and operation.get("phase") == "Succeeded"
                and (operation.get("syncResult") or {}).get("revision") == revision
                and health(app) == "Healthy"
            )

        return self.wait(deployed, f"Synced at {revision[:8]} and Healthy", timeout=timeout)

    def wait_reconciles(self, count: int, *, period: float) -> list[dict[str, Any]]:
        """Wait until Argo CD has compared the app with git `count` more times (each
        refresh writes a new status.reconciledAt); the versions recorded meanwhile."""
        since = self.mark()
        before = (self.get().get("status") or {}).get("reconciledAt")

        def done() -> list[dict[str, Any]] | None:
            versions = self.versions(since)
            seen = {(v.get("status") or {}).get("reconciledAt") for v in versions} - {before}
            return versions if len(seen) >= count else None

        return wait_for(
            done,
            timeout=count * 2 * period + 30,
            interval=0.5,
            what=f"{self.name}: {count} more reconciliations",
        )


@dataclass
class GitOps:
    """A test's world (namespace, endpoint, operator, emulator) with git and Argo CD."""

    world: OperatorTestbed
    kubectl: Kubectl
    repo: GitRepo
    app_resync: float
    applications: list[Application] = field(default_factory=list)

    def component(self, name: str, **spec: Any) -> dict[str, Any]:
        """An InferenceComponent manifest as a repository holds it: no namespace (the
        Application's destination gives it)."""
        manifest = self.world.manifest(name, **spec)
        del manifest["metadata"]["namespace"]
        return manifest

    def application(
        self,
        name: str | None = None,
        *,
        automated: bool = True,
        server_side: bool = False,
    ) -> Application:
        """Create an Application for MANIFESTS of the repository into the test's namespace.

        automated: sync policy automated with prune and selfHeal, else manual syncs only.
        server_side: ServerSideApply=true and the ServerSideDiff compare option, else
        Argo CD's defaults (client-side apply and diff).
        """
        name = name or self.world.namespace
        metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
        sync_policy: dict[str, Any] = {}
        if automated:
            sync_policy["automated"] = {"prune": True, "selfHeal": True}
        if server_side:
            metadata["annotations"] = {"argocd.argoproj.io/compare-options": "ServerSideDiff=true"}
            sync_policy["syncOptions"] = ["ServerSideApply=true"]
        manifest = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": metadata,
            "spec": {
                "project": "default",
                "source": {"repoURL": self.repo.url, "targetRevision": "main", "path": MANIFESTS},
                "destination": {
                    "server": "https://kubernetes.default.svc",
                    "namespace": self.world.namespace,
                },
                "syncPolicy": sync_policy,
            },
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        app = Application(name, self.kubectl, Recorder(self.kubectl, name))
        self.applications.append(app)
        return app

    def close(self) -> list[str]:
        """Stop the watches and delete the Applications (not what they deployed: they carry
        no resources finalizer); each one's last state, for a failed test's report."""
        last = []
        for app in self.applications:
            app.recorder.stop()
            out = self.kubectl(
                "get", APPLICATIONS, app.name, "-n", NAMESPACE, "-o", "json", check=False
            )
            last.append(out.stdout[-6000:])
            self.kubectl(
                "delete", APPLICATIONS, app.name, "-n", NAMESPACE, "--wait=false", check=False
            )
        return last
