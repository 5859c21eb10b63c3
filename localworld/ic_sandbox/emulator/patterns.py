"""Compile the SageMaker model's Java-flavoured regular expressions with Python's `re`.

The model's patterns are written for java.util.regex. Nine of them use constructs `re`
rejects: Unicode categories (`\\p{L}`), POSIX classes (`\\p{Alnum}`), UTF-16 surrogate
ranges and a quantified end anchor (`${1,128}`). Rather than add the `regex` dependency
for a handful of tag/description patterns, this module translates them: each category
becomes an explicit character-class body computed from `unicodedata`, so the semantics
are exact for the Unicode version Python ships.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

_POSIX: dict[str, str] = {
    "Alnum": "A-Za-z0-9",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Upper": "A-Z",
    "Lower": "a-z",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").replace("/", "/"),
    "Space": " \\t\\n\\x0b\\f\\r",
    "Print": "\\x20-\\x7e",
    "Graph": "\\x21-\\x7e",
}


@cache
def _category_ranges(major: str) -> str:
    """A character-class body matching every code point whose category starts with `major`."""
    parts: list[str] = []
    start = -1
    prev = -2
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)).startswith(major):
            if cp != prev + 1:
                if start >= 0:
                    parts.append(_range(start, prev))
                start = cp
            prev = cp
    if start >= 0:
        parts.append(_range(start, prev))
    return "".join(parts)


def _range(lo: int, hi: int) -> str:
    if lo == hi:
        return f"\\U{lo:08x}"
    return f"\\U{lo:08x}-\\U{hi:08x}"


_PROP = re.compile(r"\\p\{(\w+)\}")
_SURROGATE_PAIR_RANGE = "\\uD800\\uDC00-\\uDBFF\\uDFFF"
_QUANTIFIED_END = re.compile(r"\$\{\d+(,\d*)?\}")


def translate(pattern: str) -> str:
    """Rewrite a Java pattern into an equivalent Python one (identity for most patterns)."""
    out = pattern.replace(_SURROGATE_PAIR_RANGE, "\\U00010000-\\U0010ffff")
    out = _QUANTIFIED_END.sub("$", out)
    result: list[str] = []
    in_class = False
    i = 0
    while i < len(out):
        ch = out[i]
        if ch == "\\":
            m = _PROP.match(out, i)
            if m:
                name = m.group(1)
                body = _POSIX[name] if name in _POSIX else _category_ranges(name)
                result.append(body if in_class else f"[{body}]")
                i = m.end()
                continue
            result.append(out[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        result.append(ch)
        i += 1
    return "".join(result)


@cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile once per distinct pattern; callers use `fullmatch`, as Java's `matches` does."""
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(translate(pattern))
