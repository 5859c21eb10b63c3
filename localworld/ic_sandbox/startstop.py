"""`with part:` for the local world's parts that start and stop (control plane, emulator, sandbox).

Each part's start() already cleans up after itself when it fails, so the `with` only
has to stop what did start, whatever the block raised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self


class StartStop(ABC):
    """start() on entry (the part itself is the `as` value), stop() on exit."""

    @abstractmethod
    def start(self) -> object: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_or_stop(start: Callable[[], None], stop: Callable[[], None]) -> None:
    """Run ``start``; if it fails in any way (Ctrl-C included), ``stop`` what it had
    started before the failure goes on, so a part that did not start leaves nothing."""
    try:
        start()
    except BaseException:
        stop()
        raise
