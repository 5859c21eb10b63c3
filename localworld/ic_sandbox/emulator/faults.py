"""Injected faults: throttling, server errors, failing images, latency, read lag, lost responses,
and operations denied to the caller (AccessDeniedException, until IAM policies are evaluated).

Randomness comes from a seedable `random.Random`, so a test that sets a seed gets the same
sequence of faulted calls every run.

Two faults model what AWS control planes do that the others cannot: a read that lags an
accepted write (eventual consistency) and a write that is applied although its response
never reaches the client. Both only ever affect inference components.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ic_operator.aws.operations import WRITE_OPERATIONS

from .errors import ApiError

SERVER_ERROR_CODES = ("InternalFailure", "ServiceUnavailable")

# The reads that may serve an older version of a component, and the writes that make one
# (every write the operator may send acts on a component, so its list is the one).
LAGGING_READS = frozenset({"DescribeInferenceComponent", "ListInferenceComponents", "ListTags"})
COMPONENT_WRITES = WRITE_OPERATIONS
LOST_RESPONSE_KINDS = ("error", "drop")
DROPPED = "dropped"  # the call log's `lost` value for a closed connection

_KNOWN = frozenset(
    {
        "throttle_rate",
        "server_error_rate",
        "server_error_code",
        "failing_images",
        "latency_ms",
        "operations",
        "seed",
        "read_lag_seconds",
        "read_lag_operations",
        "read_lag_components",
        "lost_response",
        "lost_response_code",
        "lost_response_rate",
        "lost_response_count",
        "lost_response_operations",
        "lost_response_components",
        "denied_operations",
    }
)


# IAM's action prefix where it differs from the service's signing name.
_IAM_PREFIX = {"monitoring": "cloudwatch"}
# The request member that names a SageMaker resource, and the ARN's resource type.
_RESOURCE_MEMBERS = (
    ("InferenceComponentName", "inference-component"),
    ("EndpointName", "endpoint"),
    ("EndpointConfigName", "endpoint-config"),
)


def resource_arn(body: Any, partition: str, region: str, account_id: str) -> str:
    """The resource a denial names: an ARN given in the request, the SageMaker resource its
    name member names (lower case, as SageMaker's ARNs are), else `*` (inf: what AWS names
    for a List or a service without resource-level permissions varies)."""
    if not isinstance(body, dict):
        return "*"
    if isinstance(body.get("ResourceArn"), str):
        return str(body["ResourceArn"])
    for member, kind in _RESOURCE_MEMBERS:
        if isinstance(body.get(member), str):
            name = str(body[member]).lower()
            return f"arn:{partition}:sagemaker:{region}:{account_id}:{kind}/{name}"
    return "*"


def server_error(code: str) -> ApiError:
    message = (
        "We encountered an internal error. Please try again."
        if code == "InternalFailure"
        else "Service Unavailable"
    )
    return ApiError(code, message)


def _names(value: Any, allowed: frozenset[str] | None, what: str) -> set[str] | None:
    if value is None:
        return None
    names = set(value)
    if allowed is not None and not names <= allowed:
        raise ValueError(f"{what} must be among {sorted(allowed)}: {sorted(names - allowed)}")
    return names


def _sorted(names: set[str] | None) -> list[str] | None:
    return None if names is None else sorted(names)


@dataclass
class Faults:
    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    server_error_code: str | None = None  # None: alternate randomly between the two
    failing_images: set[str] = field(default_factory=set)
    latency_ms: float = 0.0
    operations: set[str] | None = None  # None: every operation
    seed: int | None = None
    # Read lag: wall-clock seconds during which reads serve the pre-write version.
    read_lag_seconds: float = 0.0
    read_lag_operations: set[str] = field(default_factory=lambda: set(LAGGING_READS))
    read_lag_components: set[str] | None = None  # None: every component
    # Lost responses: "error" (apply, answer 5xx) or "drop" (apply, close the connection).
    lost_response: str | None = None
    lost_response_code: str | None = None  # for "error"; None: alternate randomly
    lost_response_rate: float = 1.0
    lost_response_count: int | None = None  # per operation and component; None: no limit
    lost_response_operations: set[str] = field(default_factory=lambda: set(COMPONENT_WRITES))
    lost_response_components: set[str] | None = None  # None: every component
    # Answered AccessDeniedException, whoever calls (after `operations`' faults).
    denied_operations: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.Random, repr=False)
    lost_so_far: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_rate": self.throttle_rate,
            "server_error_rate": self.server_error_rate,
            "server_error_code": self.server_error_code,
            "failing_images": sorted(self.failing_images),
            "latency_ms": self.latency_ms,
            "operations": _sorted(self.operations),
            "seed": self.seed,
            "read_lag_seconds": self.read_lag_seconds,
            "read_lag_operations": sorted(self.read_lag_operations),
            "read_lag_components": _sorted(self.read_lag_components),
            "lost_response": self.lost_response,
            "lost_response_code": self.lost_response_code,
            "lost_response_rate": self.lost_response_rate,
            "lost_response_count": self.lost_response_count,
            "lost_response_operations": sorted(self.lost_response_operations),
            "lost_response_components": _sorted(self.lost_response_components),
            "denied_operations": sorted(self.denied_operations),
            "lost_so_far": [
                {"operation": op, "component": name, "lost": n}
                for (op, name), n in sorted(self.lost_so_far.items())
            ],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Faults:
        """Build from the admin API's body; unknown keys are an error so typos don't pass."""
        unknown = set(body) - _KNOWN
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        count = body.get("lost_response_count")
        faults = cls(
            throttle_rate=float(body.get("throttle_rate", 0.0)),
            server_error_rate=float(body.get("server_error_rate", 0.0)),
            server_error_code=body.get("server_error_code"),
            failing_images=set(body.get("failing_images") or ()),
            latency_ms=float(body.get("latency_ms", 0.0)),
            operations=_names(body.get("operations"), None, "operations"),
            seed=body.get("seed"),
            read_lag_seconds=float(body.get("read_lag_seconds", 0.0)),
            read_lag_operations=_names(
                body.get("read_lag_operations", sorted(LAGGING_READS)),
                LAGGING_READS,
                "read_lag_operations",
            )
            or set(),
            read_lag_components=_names(body.get("read_lag_components"), None, "components"),
            lost_response=body.get("lost_response"),
            lost_response_code=body.get("lost_response_code"),
            lost_response_rate=float(body.get("lost_response_rate", 1.0)),
            lost_response_count=None if count is None else int(count),
            lost_response_operations=_names(
                body.get("lost_response_operations", sorted(COMPONENT_WRITES)),
                COMPONENT_WRITES,
                "lost_response_operations",
            )
            or set(),
            lost_response_components=_names(
                body.get("lost_response_components"), None, "components"
            ),
            denied_operations=_names(body.get("denied_operations"), None, "operations") or set(),
        )
        for rate in (faults.throttle_rate, faults.server_error_rate, faults.lost_response_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("rates must be between 0 and 1")
        for code in (faults.server_error_code, faults.lost_response_code):
            if code not in (None, *SERVER_ERROR_CODES):
                raise ValueError(f"error codes must be one of {SERVER_ERROR_CODES}")
        if faults.lost_response not in (None, *LOST_RESPONSE_KINDS):
            raise ValueError(f"lost_response must be one of {LOST_RESPONSE_KINDS}")
        if faults.read_lag_seconds < 0 or (count is not None and int(count) < 0):
            raise ValueError("read_lag_seconds and lost_response_count must not be negative")
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
            raise server_error(self.server_error_code or self.rng.choice(SERVER_ERROR_CODES))

    def denial(
        self, operation: str, caller_arn: str, signing_name: str, resource: str
    ) -> ApiError | None:
        """AccessDeniedException for a denied operation, in the shape of AWS's message for an
        identity policy that does not allow the action (obs, docs/faults.md)."""
        if operation not in self.denied_operations:
            return None
        action = f"{_IAM_PREFIX.get(signing_name, signing_name)}:{operation}"
        return ApiError(
            "AccessDeniedException",
            f"User: {caller_arn} is not authorized to perform: {action} on resource: "
            f"{resource} because no identity-based policy allows the {action} action",
        )

    # ---- eventual consistency ------------------------------------------------------------
    def lag_seconds(self, component: str | None) -> float:
        """How long reads of `component` keep serving the version from before a write now."""
        if component is None or not self.read_lag_seconds:
            return 0.0
        if self.read_lag_components is not None and component not in self.read_lag_components:
            return 0.0
        return self.read_lag_seconds

    def lags(self, operation: str, component: str) -> bool:
        return operation in self.read_lag_operations and self.lag_seconds(component) > 0

    def lose(self, operation: str, component: str | None) -> str | None:
        """After an accepted write: None (answer normally), an error code, or DROPPED."""
        if self.lost_response is None or component is None:
            return None
        if operation not in self.lost_response_operations:
            return None
        if (
            self.lost_response_components is not None
            and component not in self.lost_response_components
        ):
            return None
        key = (operation, component)
        if (
            self.lost_response_count is not None
            and self.lost_so_far[key] >= self.lost_response_count
        ):
            return None
        if self.lost_response_rate < 1.0 and self.rng.random() >= self.lost_response_rate:
            return None
        self.lost_so_far[key] += 1
        if self.lost_response == "drop":
            return DROPPED
        return self.lost_response_code or self.rng.choice(SERVER_ERROR_CODES)
