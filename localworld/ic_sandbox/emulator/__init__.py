"""A local SageMaker (with Application Auto Scaling and CloudWatch alarms), for tests and the demo.

The operator never imports this package (an import-linter contract enforces it). `Emulator`
and `EmulatorThread` load the HTTP server (aiohttp) on first use, so a test that only needs
the pure request->Describe rendering (`ic_sandbox.emulator.describe`) does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .clock import Durations

if TYPE_CHECKING:
    from .runner import Emulator, EmulatorThread

__all__ = ["Durations", "Emulator", "EmulatorThread"]


def __getattr__(name: str) -> Any:
    if name in ("Emulator", "EmulatorThread"):
        return getattr(importlib.import_module(".runner", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
