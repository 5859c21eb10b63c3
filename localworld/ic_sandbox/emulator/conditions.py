"""IAM's policy language where trust and identity policies share it: wildcards, policy
variables and the `Condition` block.

The operators are the ones our policies use (the string family, with `IfExists`, and
`Null`) plus `ArnLike`/`ArnEquals`; an operator outside them never matches, so an
unmodelled policy fails closed (inf: the emulator's choice). A `${key}` policy variable
takes its value from the request context; when the key is absent the element that names
it does not match (doc: IAM User Guide, "IAM policy elements: Variables and tags").
Condition keys ignore case; their values do not (doc: "IAM JSON policy elements:
Condition").
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

Context = Mapping[str, list[str]]  # condition key -> the request's values

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*", "?", "$"}  # ${*} stands for the character itself (doc)


class Unresolved(Exception):
    """A policy variable names a key the request does not carry."""


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def like(pattern: str, value: str) -> bool:
    """IAM's `*` and `?` wildcards (fnmatch's `[` sets are literal in IAM)."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def substitute(text: str, context: Context) -> str:
    """`text` with its policy variables replaced from the (lower-cased) context."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in _ESCAPES:
            return key  # a literal, though `like` reads * and ? as wildcards again
        values = context.get(key.strip().lower())
        if not values:
            raise Unresolved(key)
        return values[0]

    return _VARIABLE.sub(value, text)


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own, so a wildcard
    never spans a colon outside the resource part (doc: "Amazon Resource Name (ARN)
    condition operators")."""
    if pattern == "*":
        return True
    wanted, got = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(got) == 6 and all(map(like, wanted, got))


def _string_test(operator: str) -> tuple[bool, bool] | None:
    """(like?, negated?) for the string and ARN operators the subset knows, else None."""
    known = {
        "StringEquals": (False, False),
        "StringLike": (True, False),
        "StringNotEquals": (False, True),
        "StringNotLike": (True, True),
        "ArnEquals": (True, False),
        "ArnLike": (True, False),
        "ArnNotEquals": (True, True),
        "ArnNotLike": (True, True),
    }
    return known.get(operator.removesuffix("IfExists"))


def _condition_holds(operator: str, key: str, wanted: list[str], context: Context) -> bool:
    present = context.get(key.lower())
    if operator == "Null":
        return (present is None) == (str(wanted[0]).lower() == "true")
    test = _string_test(operator)
    if test is None:
        return False
    if present is None:
        return operator.endswith("IfExists") or test[1]
    like_it, negated = test
    compare = arn_like if operator.startswith("Arn") else like if like_it else str.__eq__
    try:
        patterns = [substitute(str(w), context) for w in wanted]
    except Unresolved:
        return negated
    matched = any(compare(w, v) for w in patterns for v in present)
    return matched != negated


def conditions_hold(conditions: Any, context: Context) -> bool:
    """Every operator and key of a `Condition` block holds (keys already lower-cased)."""
    if not isinstance(conditions, dict):
        return not conditions
    return all(
        _condition_holds(operator, key, listed(wanted), context)
        for operator, pairs in conditions.items()
        for key, wanted in (pairs.items() if isinstance(pairs, dict) else [])
    )
