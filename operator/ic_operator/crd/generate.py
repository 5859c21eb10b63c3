"""`ic-operator crd`: print the CustomResourceDefinition, or with ``--docs`` the
field reference (docs/resource.md); `make crd` writes both, `make crd-check` keeps
the checked-in copies equal."""

from __future__ import annotations

import argparse
import sys

from ic_operator.crd.reference import resource_reference
from ic_operator.crd.schema import render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--docs",
        action="store_true",
        help="print the Markdown field reference (docs/resource.md) instead of the CRD",
    )


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(resource_reference() if args.docs else render())
    return 0
