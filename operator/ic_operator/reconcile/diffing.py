"""Normalised comparison of the desired specification with what SageMaker reports.

ACK re-sends an update every resync because it compares the image a user wrote
with a field Describe never returns. Everything that makes "the same" look
different lives here, in one pure place:

* Describe returns ``DeployedImage.SpecifiedImage``, not ``Image``;
* members the user left out are SageMaker's to choose (service defaults such as
  a DataCacheConfig turned on for accelerator instances): not differences;
  the exception is ``Environment``, where leaving it out means "no variables";
* ``Specifications`` entries are matched by instance type, not by position,
  and their images are not echoed back at all (so they cannot be compared);
* numbers compare by value (``1`` equals ``1.0``), booleans only with booleans.

Differences are reported as paths, never values: environment values may be secrets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any


def observed_specification(describe: Mapping[str, Any]) -> dict[str, Any]:
    """The request-shaped specification(s) inside a DescribeInferenceComponent result."""
    if describe.get("Specifications"):
        return {
            "Specifications": [
                _summary_to_request(s, images_echoed=False) for s in describe["Specifications"]
            ]
        }
    return {"Specification": _summary_to_request(describe.get("Specification") or {})}


def _summary_to_request(
    summary: Mapping[str, Any], *, images_echoed: bool = True
) -> dict[str, Any]:
    spec = dict(summary)
    container = dict(spec.get("Container") or {})
    deployed = container.pop("DeployedImage", None) or {}
    if deployed.get("SpecifiedImage"):
        container["Image"] = deployed["SpecifiedImage"]
    elif not images_echoed:
        container["Image"] = UNOBSERVABLE
    if container or "Container" in spec:
        spec["Container"] = container
    return spec


class _Unobservable:
    """Marks a member SageMaker does not report; it equals anything."""

    def __repr__(self) -> str:
        return "<unobservable>"


UNOBSERVABLE: Any = _Unobservable()

# Members whose absence in the desired spec means "empty", not "service default".
_ABSENT_MEANS_EMPTY = frozenset({"Environment"})


def differences(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    """Paths (lowerCamel, dotted) where the observed specification differs from the desired one."""
    out: list[str] = []
    _diff_mapping(desired, observed, "", out)
    return out


def _diff_mapping(
    desired: Mapping[str, Any], observed: Mapping[str, Any], path: str, out: list[str]
) -> None:
    for key, want in desired.items():
        where = _join(path, key)
        if key not in observed:
            if want not in (None, {}, []):
                out.append(where)
            continue
        _diff_value(want, observed[key], where, out, key=key)
    for key in _ABSENT_MEANS_EMPTY:
        if key not in desired and observed.get(key) and _is_container(path):
            out.append(_join(path, key))


def _is_container(path: str) -> bool:
    return path.endswith("container")


def _diff_value(want: Any, have: Any, path: str, out: list[str], *, key: str = "") -> None:
    if have is UNOBSERVABLE:
        return
    if key in {"Environment", "Tags"}:
        if dict(want or {}) != dict(have or {}):
            out.append(path)
        return
    if key == "Specifications":
        _diff_specifications(want, have, path, out)
        return
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            out.append(path)
            return
        _diff_mapping(want, have, path, out)
        return
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            out.append(path)
            return
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            _diff_value(w, h, f"{path}[{i}]", out)
        return
    if not _scalar_equal(want, have):
        out.append(path)


def _diff_specifications(want: Any, have: Any, path: str, out: list[str]) -> None:
    if not isinstance(have, list):
        out.append(path)
        return
    by_type = {s.get("InstanceType"): s for s in have if isinstance(s, Mapping)}
    if len(by_type) != len(want):
        out.append(path)
    for spec in want:
        instance_type = spec.get("InstanceType")
        where = f"{path}[{instance_type}]"
        if instance_type not in by_type:
            out.append(where)
            continue
        _diff_mapping(spec, by_type[instance_type], where, out)


def _scalar_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _join(path: str, key: str) -> str:
    name = key[:1].lower() + key[1:]
    return f"{path}.{name}" if path else name


def canonical(value: Any) -> Any:
    """A JSON-stable form: sorted keys, integral floats as ints, specifications by instance type."""
    if isinstance(value, Mapping):
        out = {k: canonical(v) for k, v in sorted(value.items()) if v is not None}
        if "Specifications" in out and isinstance(out["Specifications"], list):
            out["Specifications"] = sorted(
                out["Specifications"], key=lambda s: str(s.get("InstanceType", ""))
            )
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def spec_hash(wire_spec: Mapping[str, Any]) -> str:
    """Identity of a desired specification; what "the same spec" means for retries and rollbacks."""
    blob = json.dumps(canonical(wire_spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
