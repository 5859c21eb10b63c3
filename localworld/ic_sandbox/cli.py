"""The `ic-sandbox` entry point: the local world (emulator, sandbox, demo, builds).

This is a separate distribution from the operator so that the image, which installs
only `ic_operator`, carries none of it. Each subcommand's module exposes
``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when it runs.
"""

from __future__ import annotations

import sys

from ic_operator.cli import Commands

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("ic_sandbox.emulator.cli", "run the local SageMaker emulator (AWS JSON 1.1)"),
    "up": ("ic_sandbox.sandbox.up", "run Kubernetes, the emulator and the operator locally"),
    "demo": (
        "ic_sandbox.demo.cli",
        "narrated create, rollout, rollback, scale, delete on a sandbox",
    ),
    "image": (
        "ic_sandbox.image",
        "build the operator's image with podman on a Debian-built base (make image)",
    ),
}


CLI = Commands("ic-sandbox", __doc__.splitlines()[0], COMMANDS)
main = CLI.main


if __name__ == "__main__":
    sys.exit(main())
