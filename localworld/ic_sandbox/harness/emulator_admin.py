"""The one client of the emulator's `/_emulator/` admin API (call log, faults, alarms, load).

The sandbox and its demo, the tests and the benchmark all read the call log and steer
the emulator through it. Outside the emulator package on purpose: a client needs no
aiohttp, and the benchmark runs the emulator as a separate process.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class EmulatorAdmin:
    """Requests to one emulator's admin API; each answer is the JSON it returns.

    Without `error`, urllib's own exceptions reach the caller (tests assert on an
    HTTPError's status code); with it, a failed request raises `error(message)` instead
    (a SandboxError in the sandbox and the demo).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        error: Callable[[str], BaseException] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.error = error

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
            if self.error is None:
                raise
            raise self.error(f"emulator admin API {method} {path}: {exc}") from exc

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The call log (every SageMaker-side request, faults included), oldest first."""
        calls: list[dict[str, Any]] = self.request("GET", "calls")
        return [c for c in calls if operation is None or c["operation"] == operation]

    def clear_calls(self) -> None:
        self.request("DELETE", "calls")

    def set_alarm(self, name: str, state: str) -> None:
        self.request("PUT", f"alarms/{name}", {"state": state})

    def alarms(self) -> dict[str, str]:
        result: dict[str, str] = self.request("GET", "alarms")
        return result

    def set_faults(
        self, *, account: str | None = None, region: str | None = None, **settings: Any
    ) -> dict[str, Any]:
        """Replace the fault settings of the primary world, or of `account` in `region`
        (either defaulting to the primary's; region "*": every region served)."""
        result: dict[str, Any] = self.request("PUT", _world("faults", account, region), settings)
        return result

    def faults(self, *, account: str | None = None, region: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", _world("faults", account, region))
        return result

    def history(self, component: str) -> list[dict[str, Any]]:
        """Every visible change of a component: status, internal state, desired/current copies."""
        result: list[dict[str, Any]] = self.request("GET", f"components/{component}/history")
        return result

    def load(
        self, component: str, metric: str, *, value: float | None = None, total: float | None = None
    ) -> dict[str, Any]:
        """Set the load on a component: `value` per copy at today's copies, or the `total`."""
        body: dict[str, Any] = {"component": component, "metric": metric}
        body.update({"value": value} if value is not None else {"total": total})
        result: dict[str, Any] = self.request("POST", "load", body)
        return result

    def requests(self, component: str, count: int = 1) -> dict[str, int]:
        """Simulate requests reaching a component; at zero copies they fail (no capacity)."""
        result: dict[str, int] = self.request(
            "POST", "requests", {"component": component, "count": count}
        )
        return result

    def autoscaler(self) -> dict[str, Any]:
        """`{"ticks": n, "loads": {...}}`: tests wait on ticks instead of on time."""
        result: dict[str, Any] = self.request("GET", "autoscaler")
        return result

    def reset(self) -> None:
        self.request("POST", "reset")

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "health")
        return result


def _world(path: str, account: str | None, region: str | None) -> str:
    """An admin path scoped to one account and region (docs/emulator.md)."""
    query = urllib.parse.urlencode(
        {k: v for k, v in (("account", account), ("region", region)) if v is not None}
    )
    return f"{path}?{query}" if query else path
