"""ListInferenceComponents: every filter, the three sort orders, and tokens keyed on the last
item, so creations and deletions between pages neither repeat nor skip items.

While the read-lag fault is on, each component is listed as the version a lagging read
serves (a snapshot), which filters and sorts like a live record.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any, Protocol

from .clock import epoch
from .describe import summarize_component
from .errors import validation
from .records import ComponentRecord, Json, Snapshot
from .state import EmulatorState


class Listed(Protocol):
    """What ListInferenceComponents filters and sorts on: a live record or a snapshot."""

    @property
    def name(self) -> str: ...
    @property
    def endpoint_name(self) -> str: ...
    @property
    def variant_name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created(self) -> float: ...
    @property
    def modified(self) -> float: ...


def list_components(w: EmulatorState, req: Json) -> Json:
    """ListInferenceComponents: filter, sort, and one page after the token's item."""
    endpoint_filter = req.get("EndpointNameEquals")
    if endpoint_filter is not None:
        endpoint = w.endpoints.get(endpoint_filter)
        names = endpoint.components if endpoint else set()
        live: list[ComponentRecord] = [w.components[n] for n in names if n in w.components]
    else:
        live = list(w.components.values())
    pool = _as_listed(w, live, endpoint_filter)
    checks: list[Callable[[Listed], bool]] = []
    if (v := req.get("VariantNameEquals")) is not None:
        checks.append(lambda r: r.variant_name == v)
    if (s := req.get("StatusEquals")) is not None:
        checks.append(lambda r: r.status == s)
    if (nc := req.get("NameContains")) is not None:
        needle = nc.lower()
        checks.append(lambda r: needle in r.name.lower())
    for key, attr, before in (
        ("CreationTimeBefore", "created", True),
        ("CreationTimeAfter", "created", False),
        ("LastModifiedTimeBefore", "modified", True),
        ("LastModifiedTimeAfter", "modified", False),
    ):
        if (t := req.get(key)) is not None:
            bound = epoch(t)
            checks.append(_time_check(attr, bound, before))
    items = [r for r in pool if all(c(r) for c in checks)]
    sort_by = req.get("SortBy", "CreationTime")
    keyf: Callable[[Listed], tuple[Any, str]]
    if sort_by == "Name":
        keyf = lambda r: (r.name, r.name)  # noqa: E731
    elif sort_by == "Status":
        keyf = lambda r: (r.status, r.name)  # noqa: E731
    else:
        keyf = lambda r: (r.created, r.name)  # noqa: E731
    descending = req.get("SortOrder", "Descending") == "Descending"
    items.sort(key=keyf, reverse=descending)
    if (token := req.get("NextToken")) is not None:
        after = _decode_token(token, sort_by)
        items = [r for r in items if (keyf(r) < after if descending else keyf(r) > after)]
    limit = int(req.get("MaxResults", 10))
    page = items[:limit]
    out: Json = {"InferenceComponents": [_summary(r) for r in page]}
    if len(items) > limit:
        out["NextToken"] = _encode_token(sort_by, keyf(page[-1]))
    return out


def _as_listed(w: EmulatorState, live: list[ComponentRecord], endpoint: str | None) -> list[Listed]:
    """The live records, each replaced by the version a lagging List serves of it."""
    if not w.versions or not w.faults.read_lag_seconds:
        return list(live)
    out: list[Listed] = []
    seen: set[str] = set()
    for rec in live:
        seen.add(rec.name)
        version = w.stale("ListInferenceComponents", rec.name)
        if version is None:
            out.append(rec)
        elif version.before is not None:
            out.append(version.before)
    for name in [n for n in w.versions if n not in seen]:
        version = w.stale("ListInferenceComponents", name)
        before = version.before if version is not None else None
        if before is not None and endpoint in (None, before.endpoint_name):
            out.append(before)
    return out


def _summary(item: Listed) -> Json:
    if isinstance(item, Snapshot):
        return copy.deepcopy(item.summary)
    assert isinstance(item, ComponentRecord)
    return summarize_component(item)


def _time_check(attr: str, bound: float, before: bool) -> Callable[[Listed], bool]:
    if before:
        return lambda r: float(getattr(r, attr)) < bound
    return lambda r: float(getattr(r, attr)) > bound


def _encode_token(sort_by: str, key: tuple[Any, str]) -> str:
    raw = json.dumps({"s": sort_by, "k": list(key)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: str, sort_by: str) -> tuple[Any, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        if data["s"] != sort_by:
            raise ValueError("sort changed")
        first, second = data["k"]
        return (first, second)
    except (ValueError, KeyError, TypeError) as exc:
        raise validation("Invalid pagination token.") from exc
