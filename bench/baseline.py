"""How the bench selects the operator's drift strategy: the only place that knows.

Today the naive baseline (describe every component every pass, compare raw) is an
operator flag, `--drift-mode naive`; when it becomes a strategy the bench injects,
only this module changes.
"""

from __future__ import annotations

import subprocess
import sys

MODES = ("sweep", "naive")


def available() -> bool:
    """Whether this operator can be told its drift strategy (older ones cannot)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "ic_operator.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    ).stdout
    return "--drift-mode" in help_text


def operator_flags(mode: str) -> list[str]:
    """The operator flags for one drift mode ("" = the operator's only mode)."""
    return ["--drift-mode", mode] if mode else []
