"""Client-side stop sequences (MiniMax accepts ``stop_sequences`` but ignores them, §4.1).

Contract
--------
`StopSequenceFilter.feed(text)` returns the text that is safe to emit now. It holds back
only the shortest tail that could still be the start of a stop sequence, so a stop
sequence split across any chunk boundaries is found. Once one matches, `matched` is set,
the text before it is returned, and everything after (now and later) is discarded; the
caller then closes the HTTP stream. `finish()` releases the held tail at end of stream.
"""

from __future__ import annotations

__all__ = ["StopSequenceFilter"]


class StopSequenceFilter:
    """Cuts streamed text at the first of several stop sequences.

    Parameters
    ----------
    stops:
        Non-empty stop strings; when two match, the one starting first wins (then the
        longest).
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""
        self.matched: str | None = None

    @property
    def stopped(self) -> bool:
        """Whether a stop sequence has been seen."""
        return self.matched is not None

    def feed(self, text: str) -> str:
        """Consume `text`; return what can be emitted."""
        if self.matched is not None:
            return ""
        if not self._stops:
            return text
        buf = self._held + text
        hit, stop = -1, ""
        for candidate in self._stops:
            i = buf.find(candidate)
            if i != -1 and (hit == -1 or i < hit or (i == hit and len(candidate) > len(stop))):
                hit, stop = i, candidate
        if hit != -1:
            self.matched = stop
            self._held = ""
            return buf[:hit]
        keep = self._partial_len(buf)
        self._held = buf[len(buf) - keep :]
        return buf[: len(buf) - keep]

    def finish(self) -> str:
        """End of stream: release the held tail (it did not become a stop sequence)."""
        out, self._held = self._held, ""
        return "" if self.matched is not None else out

    def _partial_len(self, buf: str) -> int:
        """Length of the longest suffix of `buf` that is a proper prefix of a stop."""
        for k in range(min(len(buf), self._longest - 1), 0, -1):
            tail = buf[-k:]
            if any(s.startswith(tail) for s in self._stops):
                return k
        return 0
