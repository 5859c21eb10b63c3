"""`ic-operator crd`: print every CustomResourceDefinition the operator needs, as crds/
holds them (``cat crds/*.yaml``: one stream a user can pipe to ``kubectl apply``), one of
them (``--kind``), or with ``--docs`` the field reference (docs/resource.md); `make crd`
writes them, `make crd-check` keeps the checked-in copies equal."""

from __future__ import annotations

import argparse
import sys

from ic_operator.crd.accounts import build_mapping_crd
from ic_operator.crd.reference import resource_reference
from ic_operator.crd.schema import render
from ic_operator.names import KIND, MAPPING_KIND


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--docs",
        action="store_true",
        help="print the Markdown field reference (docs/resource.md) instead of the CRD",
    )
    parser.add_argument(
        "--kind",
        choices=[KIND, MAPPING_KIND],
        default=None,
        help="print only this resource's CRD (default: every CRD, in crds/'s file order)",
    )


def run(args: argparse.Namespace) -> int:
    if args.docs:
        sys.stdout.write(resource_reference())
    elif args.kind == MAPPING_KIND:
        sys.stdout.write(render(build_mapping_crd()))
    elif args.kind == KIND:
        sys.stdout.write(render())
    else:  # crds/'s files sorted by name: accountmappings, then inferencecomponents
        sys.stdout.write(render(build_mapping_crd()) + render())
    return 0
