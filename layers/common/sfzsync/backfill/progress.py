"""A progress bar for the local command (on a terminal it redraws one line; elsewhere it prints every 10%)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, label: str = "accounts", min_interval: float = 0.2) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._min_interval = min_interval
        self._interactive = self._stream.isatty()
        self.total = 0
        self.done = 0
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._last_tenth = -1

    def start(self, total: int, already_done: int = 0) -> None:
        self.total, self.done = total, already_done
        self._started = time.monotonic()
        self._draw(force=True)

    def advance(self, count: int) -> None:
        self.done = min(self.done + count, self.total)
        self._draw(force=self.done == self.total)

    def finish(self) -> None:
        self._draw(force=True)
        if self._interactive:
            self._stream.write("\n")
            self._stream.flush()

    def line(self) -> str:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * fraction)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "." * (WIDTH - filled)
        return (
            f"[{bar}] {self.done:,}/{self.total:,} {self._label} {fraction:4.0%}  "
            f"{rate:,.0f}/s  ETA {int(left // 60)}:{int(left % 60):02d}"
        )

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._interactive:
            if force or now - self._drawn_at >= self._min_interval:
                self._stream.write("\r" + self.line())
                self._stream.flush()
                self._drawn_at = now
            return
        tenth = int(10 * self.done / self.total) if self.total else 10
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self._stream.write(self.line() + "\n")
            self._stream.flush()
