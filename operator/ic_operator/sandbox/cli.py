"""`ic-operator sandbox --dir DIR`: the local world in one command, until Ctrl-C.

The sandbox is an ordered list of components; each starts, contributes `export`
lines to DIR/env, and stops in reverse order. Today the only component is the
control plane; the SageMaker emulator (adding AWS_ENDPOINT_URL_SAGEMAKER) and the
operator slot in as further components, with flags to leave them out.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Protocol

from ic_operator.sandbox.binaries import BinariesMissing, ensure_binaries
from ic_operator.sandbox.controlplane import ControlPlane, ControlPlaneError


class Component(Protocol):
    """Something the sandbox runs: started in order, stopped in reverse order."""

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def failed(self) -> str | None:
        """Why the component stopped working, or None while it is healthy."""

    def exports(self) -> dict[str, str]:
        """Environment variables a client shell needs for this component."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".sandbox"),
        help="working directory: kubeconfig, env, logs and data (default: .sandbox)",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="fail instead of building kube-apiserver/etcd when they are not cached",
    )


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def write_env(path: Path, exports: dict[str, str]) -> None:
    lines = [f"export {name}={shlex.quote(value)}" for name, value in exports.items()]
    path.write_text("\n".join(lines) + "\n")


def run(args: argparse.Namespace) -> int:
    directory: Path = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    components: list[Component] = []
    handle_signals = threading.current_thread() is threading.main_thread()
    if handle_signals:
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
    try:
        binaries = ensure_binaries(build=not args.no_build)
        started = time.monotonic()
        control_plane = ControlPlane(directory / "controlplane", binaries)
        components.append(control_plane)
        control_plane.start()
        # A stable path for the user, whatever the components' own layout.
        (directory / "kubeconfig").write_bytes(control_plane.kubeconfig.read_bytes())
        (directory / "kubeconfig").chmod(0o600)
        exports = {"KUBECONFIG": str(directory / "kubeconfig")}
        for component in components[1:]:
            exports.update(component.exports())
        write_env(directory / "env", exports)
        print(
            f"sandbox up in {time.monotonic() - started:.1f}s: Kubernetes "
            f"{binaries.kubernetes_version} at {control_plane.server}\n"
            f"  source {directory / 'env'}\n"
            f"  logs in {directory / 'controlplane' / 'logs'}\n"
            "Ctrl-C to stop.",
            flush=True,
        )
        while True:
            for component in components:
                if (reason := component.failed()) is not None:
                    print(f"sandbox: {reason}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except _Stop as stop:
        print(f"sandbox: {stop}, stopping", file=sys.stderr)
        return 0
    except (BinariesMissing, ControlPlaneError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    finally:
        if handle_signals:  # a second Ctrl-C must not cut stop() short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for component in reversed(components):
            component.stop()
        (directory / "env").unlink(missing_ok=True)
        if handle_signals:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
