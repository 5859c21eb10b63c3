"""Readable, timestamped output for the demo: headings, sentences, commands and their output."""

from __future__ import annotations

import sys
import time
from typing import TextIO

INDENT = " " * 10


class Narrator:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stamp(self) -> str:
        minutes, seconds = divmod(self.elapsed(), 60)
        return f"[{int(minutes):02d}:{seconds:04.1f}]"

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def heading(self, text: str) -> None:
        self._write(f"\n{self.stamp()} == {text}")

    def say(self, text: str) -> None:
        first, *rest = text.splitlines() or [""]
        self._write(f"{self.stamp()}    {first}")
        for line in rest:
            self._write(f"{INDENT}   {line}")

    def command(self, text: str, output: str) -> None:
        """A command as the user would type it, then what it printed."""
        self._write(f"{INDENT}$ {text}")
        self.block(output)

    def block(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            self._write(f"{INDENT}  {line}")
