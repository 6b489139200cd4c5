"""Source text by line range, and outlines (signatures only) of files and definitions.

Contract
--------
- :class:`SourceText` wraps one file's text and cuts it by 1-based inclusive line
  ranges. Lines end at ``"\\n"`` only (as tree-sitter and :mod:`lexical` count them);
  a snippet of lines ``a..b`` is the exact text of those lines, including the newline
  that ends line ``b`` when there is one. Ranges are clamped to the file.
- :func:`render_outline` produces the text of an ``"outline"`` span. **Format** (part
  of the public manifest contract): one output line per header line of each shown
  definition, written as ``<line number>│<source line>`` — the 1-based line number in
  the file, the box-drawing character U+2502, then the source line exactly as in the
  (redacted) file with its indentation and without trailing whitespace. Lines come in
  ascending order, each at most once; lines not shown are simply absent, so the numbers
  keep every line's true position (``12│class Index:`` then ``40│    def refresh(self):``
  means lines 13-39 were elided). A definition's header is its first line plus the
  continuation lines its signature spans (decorators, parameters split over lines), at
  most :data:`MAX_HEADER_LINES`.
- Which definitions an outline shows (:func:`outline_definitions`): every definition
  that is not local to a function or method (a nested helper function or a local
  variable is detail, not interface), optionally only those at most ``max_depth``
  scopes deep (``0``: top level only).

Pure functions over plain data; no I/O.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Final

from minimax_lsp.indexer.records import Definition

__all__ = [
    "LINE_MARK",
    "MAX_HEADER_LINES",
    "SourceText",
    "constructor",
    "enclosing_definition",
    "header_range",
    "outline_definitions",
    "render_outline",
]

#: Separates the line number from the source line in outline text.
LINE_MARK: Final = "\u2502"
#: A header longer than this many lines (a huge parameter list) is cut.
MAX_HEADER_LINES: Final = 8
#: Kinds whose bodies hold local definitions (not part of an outline).
_FUNCTION_KINDS: Final = frozenset({"function", "method"})
#: Method names that construct an instance, across the supported languages.
_CONSTRUCTOR_NAMES: Final = frozenset(
    {"__init__", "__new__", "constructor", "initialize", "init", "new", "__construct"}
)


class SourceText:
    """One file's text, cut by line ranges (see the module docstring).

    Parameters
    ----------
    text:
        The whole text (already redacted when it is going to be sent).
    """

    __slots__ = ("_count", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: array[int] | None = None
        self._count = -1

    @property
    def line_count(self) -> int:
        """Number of lines (a final line without ``"\\n"`` counts; empty text has 0)."""
        count = self._count
        if count < 0:
            count = self._count = len(self._line_starts()) - 1
        return count

    def _line_starts(self) -> array[int]:
        """Offsets where each line starts, plus ``len(text)`` as a sentinel."""
        if self._starts is None:
            text = self.text
            starts = array("q", [0])
            find = text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            if starts[-1] != len(text):
                starts.append(len(text))  # the last line has no newline
            # (Empty text keeps the single sentinel 0: no line at all.)
            self._starts = starts
        return self._starts

    def clamp(self, start: int, end: int) -> tuple[int, int]:
        """``(start, end)`` clamped to ``1..line_count`` (``(1, 0)`` for empty text)."""
        count = self.line_count
        if count == 0:
            return 1, 0
        start = min(max(1, start), count)
        return start, min(max(start, end), count)

    def lines(self, start: int, end: int) -> str:
        """The exact text of lines ``start..end`` (clamped; ``""`` when empty)."""
        starts = self._line_starts()
        start, end = self.clamp(start, end)
        if end < start:
            return ""
        return self.text[starts[start - 1] : starts[end]]

    def line(self, number: int) -> str:
        """Line ``number`` without its newline (``""`` outside the file)."""
        starts = self._line_starts()
        if not 1 <= number < len(starts):
            return ""
        return self.text[starts[number - 1] : starts[number]].rstrip("\n")

    def line_length(self, number: int) -> int:
        """Characters of line ``number`` with its newline (0 outside the file)."""
        starts = self._line_starts()
        if not 1 <= number < len(starts):
            return 0
        return starts[number] - starts[number - 1]

    def line_at(self, offset: int) -> int:
        """The 1-based line holding character ``offset`` (clamped to the text)."""
        starts = self._line_starts()
        return max(1, min(bisect_right(starts, offset), len(starts) - 1))

    def char_count(self, start: int, end: int) -> int:
        """Characters of lines ``start..end`` (clamped), newlines included."""
        starts = self._line_starts()
        start, end = self.clamp(start, end)
        return starts[end] - starts[start - 1] if end >= start else 0


def _is_local(definition: Definition, function_scopes: frozenset[str]) -> bool:
    """Whether ``definition`` lives inside a function or method body."""
    scope = definition.scope
    if not scope:
        return False
    # Any enclosing prefix being a function makes it local (a class inside a function).
    parts = scope.split(".")
    return any(".".join(parts[: i + 1]) in function_scopes for i in range(len(parts)))


def outline_definitions(
    definitions: Iterable[Definition], *, max_depth: int | None = None
) -> list[Definition]:
    """The definitions an outline shows, sorted by (start line, end line descending).

    Parameters
    ----------
    definitions:
        One file's definitions.
    max_depth:
        ``None`` for every non-local definition; ``0`` for top-level ones only, ``1``
        for those and their direct members, and so on.
    """
    defs = list(definitions)
    function_scopes = frozenset(d.qualified_name for d in defs if d.kind in _FUNCTION_KINDS)
    shown = [
        d
        for d in defs
        if not _is_local(d, function_scopes)
        and (max_depth is None or (d.scope.count(".") + 1 if d.scope else 0) <= max_depth)
    ]
    shown.sort(key=lambda d: (d.start_line, -d.end_line, d.name))
    return shown


def _collapsed_length(text: str) -> int:
    return len(" ".join(text.split()))


def header_range(source: SourceText, definition: Definition) -> tuple[int, int]:
    """First and last line of ``definition``'s header (see the module docstring).

    The header ends at the first line where the whitespace-collapsed text read so far
    is as long as the definition's (collapsed) signature, which spans decorators and
    parameter lists split over several lines.
    """
    first = max(1, definition.start_line)
    last_allowed = min(definition.end_line, first + MAX_HEADER_LINES - 1, source.line_count)
    target = len(definition.signature.rstrip("\u2026"))
    read = 0
    line = first
    while line < last_allowed:
        read += _collapsed_length(source.line(line)) + 1
        if read >= target:
            break
        line += 1
    return first, max(first, min(line, last_allowed))


def render_outline(
    source: SourceText,
    definitions: Sequence[Definition],
    start: int = 1,
    end: int | None = None,
) -> str:
    """Outline text of the definitions starting within lines ``start..end``.

    Parameters
    ----------
    source:
        The file's text (redacted).
    definitions:
        What to show, typically from :func:`outline_definitions`.
    start, end:
        The line range summarised (the whole file by default, or one class).

    Returns
    -------
    str
        Lines in the documented format, each ending with ``"\\n"``; ``""`` when no
        definition falls in the range.
    """
    last = source.line_count if end is None else min(end, source.line_count)
    seen: set[int] = set()
    out: list[str] = []
    for definition in definitions:
        if not start <= definition.start_line <= last:
            continue
        head_start, head_end = header_range(source, definition)
        for number in range(head_start, min(head_end, last) + 1):
            if number not in seen:
                seen.add(number)
                out.append(f"{number}{LINE_MARK}{source.line(number).rstrip()}\n")
    if not out:
        return ""
    if len(definitions) > 1:
        # Definitions arrive sorted by start line, but a header may overlap the next
        # definition's (decorated duplicates); keep the output in line order.
        out.sort(key=lambda row: int(row.partition(LINE_MARK)[0]))
    return "".join(out)


def constructor(definitions: Iterable[Definition], container: Definition) -> Definition | None:
    """The constructor of class-like ``container`` among its file's ``definitions``.

    A method or function directly inside it named like a constructor in one of the
    supported languages (``__init__``, ``constructor``, ``initialize``, ``init``,
    ``new``, ``__construct``) or like the class itself (Java, C#, C++); the first one.
    """
    scope = container.qualified_name
    best: Definition | None = None
    for d in definitions:
        if (
            d.scope == scope
            and d.kind in _FUNCTION_KINDS
            and (d.name in _CONSTRUCTOR_NAMES or d.name == container.name)
            and container.start_line <= d.start_line <= container.end_line
            and (best is None or d.start_line < best.start_line)
        ):
            best = d
    return best


def enclosing_definition(
    definitions: Iterable[Definition],
    line: int,
    *,
    kinds: frozenset[str] | None = None,
    max_lines: int | None = None,
) -> Definition | None:
    """The innermost definition whose range contains ``line``.

    Parameters
    ----------
    definitions:
        One file's definitions.
    line:
        1-based line.
    kinds:
        Only consider these kinds (``None``: any).
    max_lines:
        Ignore definitions longer than this many lines.
    """
    best: Definition | None = None
    for d in definitions:
        if not d.start_line <= line <= d.end_line:
            continue
        if kinds is not None and d.kind not in kinds:
            continue
        size = d.end_line - d.start_line
        if max_lines is not None and size + 1 > max_lines:
            continue
        if best is None or (size, -d.start_line) < (
            best.end_line - best.start_line,
            -best.start_line,
        ):
            best = d
    return best
