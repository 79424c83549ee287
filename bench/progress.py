"""Progress of a benchmark run on stderr."""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress on stderr: one line per event, or an updating line on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, message: str, final: bool = True) -> None:
        if self.quiet:
            return
        line = f"[{time.monotonic() - self.started:6.1f}s] {message}"
        if self.tty and not final:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(("\r\033[K" if self.tty else "") + line + "\n")
        sys.stderr.flush()

