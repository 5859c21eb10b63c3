"""The `ic-operator` entry point.

Each subcommand lives in the module that owns its job and exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their subcommand runs, so `ic-operator crd` never pays for kopf or aiohttp.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "crd": ("ic_operator.crd", "print the CustomResourceDefinition generated from the models"),
    "run": ("ic_operator.main", "run the operator (in-cluster or with a kubeconfig)"),
}


def _load(module: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(module)


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ic-operator", description=__doc__.splitlines()[0])
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
