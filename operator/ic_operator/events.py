"""The Kubernetes events a pass posts, shared by the reconcile pass and the autoscaling
step (which sits below it and may not import it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str
