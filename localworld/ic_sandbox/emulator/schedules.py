"""Schedule expressions of scheduled actions: `at(…)`, `rate(N unit)` and `cron(6 fields)`.

`at` and `rate` run (the scaler keeps their next due time); `cron` is checked for its six
fields and stored only.
"""

from __future__ import annotations

import re

from .clock import epoch
from .errors import validation

_SCHEDULE = re.compile(r"(at|rate|cron)\((.+)\)")
_RATE = re.compile(r"(\d+) (minute|minutes|hour|hours|day|days)")
_RATE_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_schedule(schedule: str) -> tuple[str, float | None, float | None]:
    """(kind, wall-clock time for at(), service seconds between runs for rate())."""
    m = _SCHEDULE.fullmatch(schedule.strip())
    if m is None:
        raise validation(
            f"Invalid schedule expression {schedule}: use at(yyyy-mm-ddThh:mm:ss), "
            "rate(value unit) or cron(fields)."
        )
    kind, body = m.group(1), m.group(2)
    if kind == "at":
        try:
            return kind, epoch(body + "+00:00"), None
        except ValueError as exc:
            raise validation(f"Invalid at() expression {schedule}.") from exc
    if kind == "rate":
        r = _RATE.fullmatch(body)
        if r is None or int(r.group(1)) < 1:
            raise validation(f"Invalid rate() expression {schedule}.")
        unit = r.group(2).rstrip("s")
        return kind, None, float(int(r.group(1)) * _RATE_SECONDS[unit])
    if len(body.split()) != 6:
        raise validation(f"Invalid cron() expression {schedule}: six fields are required.")
    return kind, None, None
