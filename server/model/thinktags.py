"""Incremental splitting of ``<think>…</think>`` reasoning out of streamed answer text.

Contract
--------
`ThinkTagSplitter.feed(chunk)` returns ``[(kind, text), ...]`` pieces with kind
``"thinking"`` or ``"text"``; `finish()` flushes what is held back. Concatenating all text
pieces gives the answer with every recognised tag and the reasoning removed, whatever the
chunk boundaries (tags split across chunks are normal in MiniMax streams, §11.3).

Recognised tags: ``<think>``, ``<thinking>``, ``<mm:think>``, ``<minimax:think>`` and their
closing forms. Leak patterns handled:

* an opening tag at the start (after whitespace): reasoning until the close tag;
* a closing tag with no opening tag: everything before it was reasoning (this needs the
  start of the text held back until a tag shows up, see ``hold_limit``);
* an opening tag never closed: the rest of the stream is reasoning;
* later ``<think>`` blocks (interleaved thinking) and stray closing tags, when
  ``anywhere=True``.

``hold_limit`` bounds how many characters at the start are held back while undecided
(``None``: unbounded, right for a non-streamed result; ``0``: decide at the first
non-tag character, right when reasoning arrives on a separate channel). Once the limit is
passed the held text is released as answer text; a close tag seen later is dropped but
cannot un-send what was streamed.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CLOSE_TAGS", "OPEN_TAGS", "Piece", "ThinkTagSplitter"]

OPEN_TAGS: tuple[str, ...] = ("<think>", "<thinking>", "<mm:think>", "<minimax:think>")
CLOSE_TAGS: tuple[str, ...] = ("</think>", "</thinking>", "</mm:think>", "</minimax:think>")
_ALL_TAGS = OPEN_TAGS + CLOSE_TAGS
_MAX_TAG = max(len(t) for t in _ALL_TAGS)

PieceKind = Literal["thinking", "text"]
Piece = tuple[PieceKind, str]
_Phase = Literal["start", "think", "text"]


def _find_first(buf: str, tags: tuple[str, ...], start: int = 0) -> tuple[int, str]:
    """Earliest occurrence of any tag in ``buf[start:]`` as ``(index, tag)``; ``(-1, "")``."""
    best, best_tag = -1, ""
    for tag in tags:
        i = buf.find(tag, start)
        if i != -1 and (best == -1 or i < best):
            best, best_tag = i, tag
    return best, best_tag


def _partial_tag_len(buf: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of `buf` that is a proper prefix of one of `tags`.

    Tags contain a single ``<`` (at their start), so only the last ``<`` can begin one.
    """
    i = buf.rfind("<", max(0, len(buf) - _MAX_TAG + 1))
    if i == -1:
        return 0
    tail = buf[i:]
    return len(tail) if any(t.startswith(tail) and t != tail for t in tags) else 0


class ThinkTagSplitter:
    """Separates tagged reasoning from answer text across arbitrary chunk boundaries.

    Parameters
    ----------
    hold_limit:
        Characters held at the start while it is unknown whether they are reasoning
        (``None`` = no limit).
    anywhere:
        Honour tags after the answer has started (interleaved ``<think>`` blocks, stray
        closing tags). With ``False`` only the start of the text is examined and the rest
        passes through verbatim (the Anthropic endpoint, where answer text may legitimately
        mention ``<think>``).
    """

    def __init__(self, *, hold_limit: int | None = 0, anywhere: bool = True) -> None:
        self._hold_limit = hold_limit
        self._anywhere = anywhere
        self._phase: _Phase = "start"
        # Think/text phases: unprocessed text, at most a partial tag after each step.
        self._buf = ""
        # Start phase: the held text as a list (appending stays linear however long the
        # hold), the last few characters for close tags split across chunks, and whether the
        # first non-blank characters are known not to be an opening tag.
        self._held: list[str] = []
        self._held_len = 0
        self._tail = ""
        self._lead_known = False
        self._out: list[Piece] = []

    @property
    def in_thinking(self) -> bool:
        """Whether the splitter is inside a reasoning section."""
        return self._phase == "think"

    def release_hold(self) -> list[Piece]:
        """Stop holding back: reasoning is known to arrive on a separate channel."""
        self._hold_limit = 0
        return self.feed("")

    def feed(self, chunk: str) -> list[Piece]:
        """Consume a chunk; return the pieces that can be emitted now."""
        if self._phase == "start":
            self._feed_start(chunk)
        else:
            self._buf += chunk
        while self._step():
            pass
        out, self._out = self._out, []
        return out

    def finish(self) -> list[Piece]:
        """End of stream: flush everything held back."""
        if self._phase == "start":
            self._emit("text", "".join(self._held))
            self._held = []
        elif self._buf:
            # A never-closed reasoning section stays reasoning (the model ran out of
            # tokens while thinking); a partial tag at the end of text is just text.
            self._emit("thinking" if self._phase == "think" else "text", self._buf)
        self._buf = ""
        out, self._out = self._out, []
        return out

    # -- internals -------------------------------------------------------------------

    def _emit(self, kind: PieceKind, text: str) -> None:
        if not text:
            return
        if self._out and self._out[-1][0] == kind:
            self._out[-1] = (kind, self._out[-1][1] + text)
        else:
            self._out.append((kind, text))

    def _leave_start(self, phase: _Phase, rest: str) -> None:
        self._phase = phase
        self._buf = rest
        self._held, self._held_len, self._tail = [], 0, ""

    def _feed_start(self, chunk: str) -> None:
        if not self._lead_known:
            # Held text is only blanks plus a partial opening tag here, so joining is cheap.
            text = "".join(self._held) + chunk
            rest = text.lstrip()
            if not rest:
                self._held = [text]
                return
            for tag in OPEN_TAGS:
                if rest.startswith(tag):
                    self._leave_start("think", rest[len(tag) :])
                    return
            if any(tag.startswith(rest) for tag in OPEN_TAGS):
                self._held = [text]
                return
            self._lead_known = True
            self._held, self._held_len, self._tail = [], 0, ""
            chunk = text
        self._scan_start(chunk)

    def _scan_start(self, chunk: str) -> None:
        window = self._tail + chunk
        i, tag = _find_first(window, CLOSE_TAGS)
        if i != -1:
            held = "".join(self._held)
            full = held + chunk
            cut = len(held) - len(self._tail) + i
            if self._hold_limit is None or cut <= self._hold_limit:
                # Closing tag without an opening one: everything before it was reasoning.
                self._emit("thinking", full[:cut])
                self._leave_start("text", full[cut + len(tag) :])
            else:
                # Too far in to have been held back: the text phase decides about the tag.
                self._leave_start("text", full)
            return
        self._held.append(chunk)
        self._held_len += len(chunk)
        self._tail = window[-(_MAX_TAG - 1) :]
        if self._hold_limit is not None and self._held_len > self._hold_limit:
            self._leave_start("text", "".join(self._held))

    def _step(self) -> bool:
        """Make one state transition if possible; return whether to keep going."""
        if not self._buf or self._phase == "start":
            return False
        if self._phase == "think":
            return self._step_think()
        return self._step_text()

    def _step_think(self) -> bool:
        i, tag = _find_first(self._buf, CLOSE_TAGS)
        if i != -1:
            self._emit("thinking", self._buf[:i])
            self._buf = self._buf[i + len(tag) :]
            self._phase = "text"
            return True
        keep = _partial_tag_len(self._buf, CLOSE_TAGS)
        self._emit("thinking", self._buf[: len(self._buf) - keep])
        self._buf = self._buf[len(self._buf) - keep :]
        return False

    def _step_text(self) -> bool:
        if not self._anywhere:
            self._emit("text", self._buf)
            self._buf = ""
            return False
        i, tag = _find_first(self._buf, _ALL_TAGS)
        if i != -1:
            self._emit("text", self._buf[:i])
            self._buf = self._buf[i + len(tag) :]
            if tag in OPEN_TAGS:
                self._phase = "think"
            # A stray closing tag is simply dropped.
            return True
        keep = _partial_tag_len(self._buf, _ALL_TAGS)
        self._emit("text", self._buf[: len(self._buf) - keep])
        self._buf = self._buf[len(self._buf) - keep :]
        return False
