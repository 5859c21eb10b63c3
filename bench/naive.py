"""The naive baseline the benchmark compares against: what ACK does.

It describes every component at every resync (no endpoint listing) and compares
Describe's specification at face value: it never finds ``Image`` there, so it sees
a difference every time and sends the update again. The product has no such mode;
the benchmark injects this :class:`~ic_operator.reconcile.types.Strategy` through
``ic_operator.kube.boot.run``, where the operator is put together.

Run as a script (`python bench/naive.py run ...`), like bench/traced.py, so the
operator's environment needs no PYTHONPATH pointing into the repository.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ic_operator.kube import boot
from ic_operator.reconcile.types import Strategy


def raw_specification(describe: Mapping[str, Any]) -> dict[str, Any]:
    """Describe's specification taken at face value (no normalisation at all)."""
    if describe.get("Specifications"):
        return {"Specifications": list(describe["Specifications"])}
    return {"Specification": dict(describe.get("Specification") or {})}


NAIVE = Strategy(view=raw_specification, listing=False)


def main(argv: Sequence[str] | None = None) -> int:
    """`naive.py [ic_operator.cli] run FLAGS...`: the operator's own command line.

    The module name in front is what ic_sandbox.harness.operator_process passes to a runner
    script (the way bench/traced.py takes it); it is accepted and dropped here.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["ic_operator.cli"]:
        args = args[1:]
    parser = argparse.ArgumentParser(prog="naive-operator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    boot.add_arguments(sub.add_parser("run"))
    return boot.run(parser.parse_args(args), strategy=NAIVE)


if __name__ == "__main__":
    sys.exit(main())
