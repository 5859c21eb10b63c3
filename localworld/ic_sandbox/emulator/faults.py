"""Injected faults: throttling, server errors, failing images and latency.

Randomness comes from a seedable `random.Random`, so a test that sets a seed gets the same
sequence of faulted calls every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

SERVER_ERROR_CODES = ("InternalFailure", "ServiceUnavailable")


@dataclass
class Faults:
    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    server_error_code: str | None = None  # None: alternate randomly between the two
    failing_images: set[str] = field(default_factory=set)
    latency_ms: float = 0.0
    operations: set[str] | None = None  # None: every operation
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_rate": self.throttle_rate,
            "server_error_rate": self.server_error_rate,
            "server_error_code": self.server_error_code,
            "failing_images": sorted(self.failing_images),
            "latency_ms": self.latency_ms,
            "operations": None if self.operations is None else sorted(self.operations),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Faults:
        """Build from the admin API's body; unknown keys are an error so typos don't pass."""
        known = {
            "throttle_rate",
            "server_error_rate",
            "server_error_code",
            "failing_images",
            "latency_ms",
            "operations",
            "seed",
        }
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        faults = cls(
            throttle_rate=float(body.get("throttle_rate", 0.0)),
            server_error_rate=float(body.get("server_error_rate", 0.0)),
            server_error_code=body.get("server_error_code"),
            failing_images=set(body.get("failing_images") or ()),
            latency_ms=float(body.get("latency_ms", 0.0)),
            operations=None if body.get("operations") is None else set(body["operations"]),
            seed=body.get("seed"),
        )
        for rate in (faults.throttle_rate, faults.server_error_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("rates must be between 0 and 1")
        if faults.server_error_code not in (None, *SERVER_ERROR_CODES):
            raise ValueError(f"server_error_code must be one of {SERVER_ERROR_CODES}")
        faults.rng = random.Random(faults.seed)
        return faults

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def latency_seconds(self, operation: str) -> float:
        return self.latency_ms / 1000.0 if self.applies_to(operation) else 0.0

    def check(self, operation: str) -> None:
        """Raise the injected error for this call, if the dice say so."""
        if not self.applies_to(operation):
            return
        if self.throttle_rate and self.rng.random() < self.throttle_rate:
            raise ApiError("ThrottlingException", "Rate exceeded")
        if self.server_error_rate and self.rng.random() < self.server_error_rate:
            code = self.server_error_code or self.rng.choice(SERVER_ERROR_CODES)
            message = (
                "We encountered an internal error. Please try again."
                if code == "InternalFailure"
                else "Service Unavailable"
            )
            raise ApiError(code, message)
