"""The `ic-sandbox` entry point: the local world (emulator, sandbox, demo, builds).

This is a separate distribution from the operator so that the image, which installs
only `ic_operator`, carries none of it. Each subcommand's module exposes
``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("ic_sandbox.emulator.cli", "run the local SageMaker emulator (AWS JSON 1.1)"),
    "up": ("ic_sandbox.up", "run Kubernetes, the emulator and the operator locally"),
    "demo": (
        "ic_sandbox.demo.cli",
        "narrated create, rollout, rollback, scale, delete on a sandbox",
    ),
    "image": (
        "ic_sandbox.image",
        "build the operator's image with podman on a Debian-built base (make image)",
    ),
}


def _load(module: str) -> ModuleType:
    return importlib.import_module(module)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ic-sandbox", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            _load(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    args = build_parser(selected).parse_args(args_list)
    return int(_load(COMMANDS[args.command][0]).run(args))


if __name__ == "__main__":
    sys.exit(main())
