"""Turning a pydantic ValidationError into the message a user reads.

The message lands in the Degraded condition and in an event, so it names the
field by its Kubernetes path (spec.deploymentConfig.rollingUpdatePolicy...)
and drops pydantic's internals (error URLs, input echoes, "Value error," prefix).
"""

from __future__ import annotations

from pydantic import ValidationError


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


def validation_message(error: ValidationError, root: str = "spec") -> str:
    """One line per problem: ``spec.path.to.field: what is wrong``."""
    lines = []
    for item in error.errors(include_url=False):
        msg = item["msg"].removeprefix("Value error, ")
        lines.append(f"{_path(tuple(item['loc']), root)}: {msg}")
    return "; ".join(lines)
