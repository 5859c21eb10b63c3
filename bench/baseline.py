"""How the bench selects the operator's drift strategy: the only place that knows.

The naive baseline (describe every component every pass, compare raw: what ACK does)
is not an operator mode: it is the operator with bench/naive.py's strategy injected,
started through that script instead of `ic-operator run`.
"""

from __future__ import annotations

from pathlib import Path

MODES = ("sweep", "naive", "autoscaled")
NAIVE_SCRIPT = Path(__file__).resolve().parent / "naive.py"


def available() -> bool:
    """Whether the naive baseline can be run (its script is part of this checkout)."""
    return NAIVE_SCRIPT.exists()


def operator_flags(mode: str) -> list[str]:
    """Extra operator flags for one mode: none (the mode is the entry point, see is_naive)."""
    del mode
    return []


def is_naive(mode: str) -> bool:
    return mode == "naive"


def is_autoscaled(mode: str) -> bool:
    """The operator as in sweep mode, every component declaring spec.autoScaling: what
    the shared autoscaling listings cost per autoscaled component."""
    return mode == "autoscaled"
