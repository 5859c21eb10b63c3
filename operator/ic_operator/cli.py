"""The `ic-operator` entry point.

Each subcommand lives in the module that owns its job and exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their subcommand runs, so `ic-operator crd` never pays for kopf or aiohttp.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "crd": (
        "ic_operator.crd.generate",
        "print the CustomResourceDefinition generated from the models",
    ),
    "run": ("ic_operator.kube.boot", "run the operator (in-cluster or with a kubeconfig)"),
}


def _load(module: str) -> ModuleType:
    return importlib.import_module(module)


@dataclass(frozen=True)
class Commands:
    """A command line of lazily imported subcommands (this one, and the local world's
    `ic-sandbox`, which imports it: the product never imports the local world)."""

    prog: str
    description: str
    table: Mapping[str, tuple[str, str]]

    def build_parser(self, selected: str | None = None) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description)
        sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        for name, (module, help_text) in self.table.items():
            p = sub.add_parser(name, help=help_text, description=help_text)
            if name == selected:
                _load(module).add_arguments(p)
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        args_list = list(sys.argv[1:] if argv is None else argv)
        selected = next((a for a in args_list if a in self.table), None)
        args = self.build_parser(selected).parse_args(args_list)
        return int(_load(self.table[args.command][0]).run(args))


CLI = Commands("ic-operator", __doc__.splitlines()[0], COMMANDS)
build_parser = CLI.build_parser
main = CLI.main


if __name__ == "__main__":
    sys.exit(main())
