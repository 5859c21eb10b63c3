"""`ic-sandbox up --dir DIR`: the local world in one command, until Ctrl-C.

A real Kubernetes API (etcd + kube-apiserver) with the CRD installed, the SageMaker
emulator with the endpoints examples/ expect, and the operator watching every
namespace. DIR/env exports what kubectl, boto3 and the AWS CLI need. `--no-emulator`
and `--no-operator` leave either out (run your own operator from an IDE, say).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from ic_operator import config as operator_config
from ic_sandbox.cluster.binaries import BinariesMissing
from ic_sandbox.cluster.controlplane import ControlPlaneError
from ic_sandbox.sandbox.components import SandboxError
from ic_sandbox.sandbox.stack import Options, Sandbox


def add_sandbox_arguments(
    parser: argparse.ArgumentParser,
    *,
    directory: str,
    resync_interval: float,
    resync_note: str = "",
) -> None:
    """The flags every command that starts a sandbox takes (`up`, `demo`), with its defaults."""
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(directory),
        help=f"the sandbox's working directory: kubeconfig, env, logs and data "
        f"(default: {directory})",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="fail instead of building kube-apiserver/etcd when they are not cached",
    )
    parser.add_argument(
        "--resync-interval",
        type=float,
        default=resync_interval,
        metavar="SECONDS",
        help=f"the operator's drift-check interval (default {resync_interval:g}{resync_note})",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.02,
        metavar="F",
        help="the emulator's clock: simulated durations are multiplied by F "
        "(default 0.02: a 2-minute create takes 2.4 s, a 300 s bake 6 s)",
    )
    parser.add_argument(
        "--operator-flag",
        action="append",
        default=[],
        metavar="FLAG",
        help="an extra `ic-operator run` flag, repeatable, after the sandbox's own so it "
        "wins: --operator-flag=--autoscaling-resync-interval=60",
    )


def sandbox_options(
    args: argparse.Namespace, *, emulator: bool = True, operator: bool = True
) -> Options:
    """Options from the flags add_sandbox_arguments added. The operator's flags are
    checked here by its own parser, so a typo stops the command before anything starts."""
    check_operator_flags(args.operator_flag)
    return Options(
        directory=args.dir,
        build=not args.no_build,
        emulator=emulator,
        operator=operator,
        resync_interval=args.resync_interval,
        time_scale=args.time_scale,
        operator_flags=tuple(args.operator_flag),
    )


def check_operator_flags(flags: list[str]) -> None:
    """Parse ``flags`` as `ic-operator run` would; argparse exits with its usage message
    on a flag the operator does not know or a value it refuses."""
    parser = argparse.ArgumentParser(prog="--operator-flag", add_help=False)
    operator_config.add_arguments(parser)
    parser.parse_args(flags)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sandbox_arguments(parser, directory=".sandbox", resync_interval=30.0)
    parser.add_argument(
        "--no-emulator",
        action="store_true",
        help="do not start the SageMaker emulator (the operator then needs "
        "AWS_ENDPOINT_URL_SAGEMAKER from the environment)",
    )
    parser.add_argument("--no-operator", action="store_true", help="do not start the operator")


class Stop(Exception):
    """SIGINT or SIGTERM arrived; unwinding stops the sandbox."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


class StopOnSignals:
    """SIGINT/SIGTERM raise Stop inside the block; a second one cannot cut cleanup short."""

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.active:
            signal.signal(signal.SIGTERM, _raise_stop)
            signal.signal(signal.SIGINT, _raise_stop)

    def ignore(self) -> None:
        """Call before cleanup: Ctrl-C pressed twice must not leave children behind."""
        if self.active:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def __exit__(self, *_: object) -> None:
        if self.active:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run(args: argparse.Namespace) -> int:
    options = sandbox_options(args, emulator=not args.no_emulator, operator=not args.no_operator)
    sandbox = Sandbox(options)
    signals = StopOnSignals()
    with signals:
        try:
            started = time.monotonic()
            sandbox.start()
            print(
                f"sandbox up in {time.monotonic() - started:.1f}s\n{sandbox.banner()}\n"
                "Ctrl-C to stop.",
                flush=True,
            )
            while True:
                if (reason := sandbox.failed()) is not None:
                    print(f"sandbox: {reason}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        except Stop as stop:
            print(f"sandbox: {stop}, stopping", file=sys.stderr)
            return 0
        except (BinariesMissing, ControlPlaneError, SandboxError) as exc:
            print(f"sandbox: {exc}", file=sys.stderr)
            return 1
        finally:
            signals.ignore()
            sandbox.stop()
