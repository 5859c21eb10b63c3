"""`ic-sandbox demo [--keep]`: start a sandbox in this process and narrate the operator at work.

create -> rolling update in batches -> alarm and rollback -> scale without a
redeploy -> delete (and retain). The sandbox's children die with this process and
are stopped on the way out, also on Ctrl-C; `--keep` leaves the sandbox up at the
end, with instructions for kubectl and the AWS CLI, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time

from botocore.exceptions import BotoCoreError, ClientError

from ic_sandbox.cluster.binaries import BinariesMissing
from ic_sandbox.cluster.controlplane import ControlPlaneError
from ic_sandbox.demo.errors import DemoError
from ic_sandbox.demo.narrator import Narrator
from ic_sandbox.demo.story import Story
from ic_sandbox.sandbox.components import SandboxError
from ic_sandbox.sandbox.stack import Sandbox
from ic_sandbox.sandbox.up import Stop, StopOnSignals, add_sandbox_arguments, sandbox_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_sandbox_arguments(
        parser,
        directory=".demo",
        resync_interval=5.0,
        resync_note=", so the no-retry check is short",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the sandbox running at the end, until Ctrl-C",
    )


def _keep(sandbox: Sandbox, narrator: Narrator) -> None:
    narrator.heading("The sandbox keeps running (Ctrl-C to stop it)")
    aws = "aws --endpoint-url $AWS_ENDPOINT_URL_SAGEMAKER sagemaker"
    narrator.say(
        "In another shell:\n"
        f"  source {sandbox.env_file}\n"
        "  kubectl get smic -A\n"
        "  kubectl apply -f examples/          # every example; their endpoints exist\n"
        "  (mistral-7b was retained in SageMaker: re-applying rolling-update.yaml reports\n"
        "   AlreadyExists until you add spec.adoptionPolicy: IfExists, which adopts it)\n"
        f"  {aws} list-inference-components\n"
        f"  {aws} describe-inference-component --inference-component-name mistral-7b\n"
        "boto3 reads the same variables (AWS_ENDPOINT_URL_SAGEMAKER, and a key the emulator\n"
        "issued to the user ic-sandbox-admin; the operator signs as the role ic-operator).\n"
        "The AWS CLI: `make awscli` installs one under ~/.cache/sagemaker-ic-operator/.\n"
        f"Logs: {sandbox.directory}/operator.log, {sandbox.directory}/emulator.log"
    )
    while True:
        if (reason := sandbox.failed()) is not None:
            raise SandboxError(reason)
        time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    narrator = Narrator()
    sandbox = Sandbox(sandbox_options(args))
    signals = StopOnSignals()
    code = 0
    with signals:
        try:
            narrator.heading("0. Sandbox: Kubernetes API server, SageMaker emulator, operator")
            sandbox.start()
            narrator.say(f"up in {narrator.elapsed():.1f}s")
            narrator.block(sandbox.banner())
            Story(sandbox, narrator).all()
            narrator.heading(f"Done: every step behaved as described ({narrator.elapsed():.0f}s)")
            if args.keep:
                _keep(sandbox, narrator)
        except Stop as stop:
            narrator.say(f"{stop}: stopping")
            code = 130
        except (
            DemoError,
            SandboxError,
            BinariesMissing,
            ControlPlaneError,
            BotoCoreError,  # the demo's own SageMaker reads
            ClientError,
            OSError,  # the operator's metrics endpoint
        ) as exc:
            print(f"\ndemo: FAILED: {exc}", file=sys.stderr, flush=True)
            if sandbox.operator is not None and sandbox.operator.process is not None:
                tail = sandbox.operator.process.log_tail(30)
                print(f"--- operator log (tail) ---\n{tail}", file=sys.stderr, flush=True)
            code = 1
        finally:
            signals.ignore()
            processes = sandbox.processes()
            sandbox.stop()
            left = [f"{p.name} {p.pid}" for p in processes if p.running()]
            if left:
                print(f"demo: still running: {', '.join(left)}", file=sys.stderr)
                code = code or 1
            else:
                narrator.say(f"sandbox stopped: {len(processes)} processes, none left running")
    return code
