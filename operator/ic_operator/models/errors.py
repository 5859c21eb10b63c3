"""Turning a pydantic ValidationError into the message a user reads.

The message lands in the Degraded condition and in an event, so it names the
field by its Kubernetes path (spec.deploymentConfig.rollingUpdatePolicy...),
says in words what a pattern means, and drops pydantic's internals (error
URLs, "Value error," prefixes, 277-value enum listings).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ic_operator.models.patterns import PATTERN_HINTS

_LONG_ENUM = 200


def _path(loc: tuple[int | str, ...], root: str) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        else:
            out += f".{part}" if out else str(part)
    return out


def _text(item: Any) -> str:
    kind, msg = item["type"], item["msg"]
    ctx = item.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(ctx.get("pattern", ""))
        if hint:
            return f"{item['input']!r} must be {hint} (pattern {ctx['pattern']})"
    if kind == "literal_error" and len(msg) > _LONG_ENUM:
        return f"{item['input']!r} is not one of the supported values (see docs/resource.md)"
    return str(msg).removeprefix("Value error, ")


def validation_message(error: ValidationError, root: str = "spec") -> str:
    """One clause per problem, ``spec.path.to.field: what is wrong``, joined by '; '."""
    return "; ".join(
        f"{_path(tuple(item['loc']), root)}: {_text(item)}"
        for item in error.errors(include_url=False)
    )
