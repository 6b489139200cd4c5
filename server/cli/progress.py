"""The indexing progress line of the CLI commands (``index``, ``context``, ``ask``).

`ProgressLine` is an ``Index.refresh`` progress callback that draws one line on a
terminal: the command's own text for each report (``text(progress)``), cut to 78
columns, redrawn in place with ``\\r`` and padded over the longer text it replaces, at
most every 0.1 s (a report arriving sooner is dropped, except -- with ``draw_final`` --
the one that completes a phase). `ProgressLine.clear` blanks the line before the
command prints its result. `ProgressLine.on_terminal` gives one only when the stream is
a terminal, so piped or redirected output never holds control characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

from minimax_lsp.indexer.index import Progress

__all__ = ["ProgressLine"]

#: Minimum seconds between two redraws.
REDRAW_SECONDS: Final = 0.1
#: Longest line drawn (fits an 80-column terminal with the cursor after it).
COLUMNS: Final = 78


class ProgressLine:
    """One progress line on ``stream`` (see the module docstring).

    Parameters
    ----------
    stream:
        Where to draw (a terminal).
    text:
        The line for one progress report (the command's wording).
    draw_final:
        Also draw a report that completes its phase (``done == total > 0``) even
        within the redraw interval, so a finished count is what stays on screen.
    clock:
        Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        stream: TextIO,
        text: Callable[[Progress], str],
        *,
        draw_final: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._text = text
        self._draw_final = draw_final
        self._clock = clock
        self._last: float | None = None
        self._width = 0

    @classmethod
    def on_terminal(
        cls, stream: TextIO, text: Callable[[Progress], str], *, draw_final: bool = False
    ) -> ProgressLine | None:
        """A progress line on ``stream`` if it is a terminal, else ``None`` (draw nothing)."""
        return cls(stream, text, draw_final=draw_final) if stream.isatty() else None

    def __call__(self, progress: Progress) -> None:
        now = self._clock()
        final = self._draw_final and progress.total > 0 and progress.done == progress.total
        if self._last is not None and now - self._last < REDRAW_SECONDS and not final:
            return
        self._last = now
        line = self._text(progress)[:COLUMNS]
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)

    def clear(self) -> None:
        """Blank the line and put the cursor at its start (nothing if nothing was drawn)."""
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
