"""The naive baseline the benchmark compares against: what ACK does.

It describes every component at every resync (no endpoint listing) and compares
Describe's specification at face value: it never finds ``Image`` there, so it sees
a difference every time and sends the update again. The product has no such mode;
the benchmark injects this :class:`~ic_operator.planner.Strategy` through
``ic_operator.main.run``.

Run as a script (`python bench/naive.py run ...`), like bench/traced.py, so the
operator's environment needs no PYTHONPATH pointing into the repository.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ic_operator import main as operator_main
from ic_operator.planner import Strategy


def raw_specification(describe: Mapping[str, Any]) -> dict[str, Any]:
    """Describe's specification taken at face value (no normalisation at all)."""
    if describe.get("Specifications"):
        return {"Specifications": list(describe["Specifications"])}
    return {"Specification": dict(describe.get("Specification") or {})}


NAIVE = Strategy(view=raw_specification, listing=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="naive-operator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    operator_main.add_arguments(sub.add_parser("run"))
    return operator_main.run(parser.parse_args(argv), strategy=NAIVE)


if __name__ == "__main__":
    sys.exit(main())
