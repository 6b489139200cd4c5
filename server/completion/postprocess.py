"""Clean the model's answer into text that can be inserted at the cursor as it is.

Contract
--------
`clean(raw, prefix=..., suffix=..., kind=...)` returns the text to insert at the cursor,
or ``""`` when nothing useful is left. ``prefix`` / ``suffix`` are the document text
before / after the cursor (the tail / head of a few thousand characters is enough).
It is pure and never raises on any string. The steps, in order:

1. **Extract** (`extract`): the text between ``<completion>`` and ``</completion>``
   (the closing tag may be missing: the client cut the stream there). Without the tags,
   the content of the first markdown fence, else the whole answer. A fence *inside* the
   tags is unwrapped too, and the hole marker is removed wherever it appears.
2. **Line breaks**: ``\\r\\n`` becomes ``\\n``. A line break right after the opening tag is
   formatting, not content, unless the cursor ends a line with code (then the answer
   may start on the next line).
3. **Echoed prefix**: if the answer repeats the last lines before the cursor and the
   current line so far (with or without its indentation), or starts with the partial
   identifier being typed followed by more identifier characters, that part is cut.
4. **Single-line** (``kind="single"``): only the first line is kept.
5. **Suffix overlap**: trailing lines equal (ignoring surrounding whitespace) to the
   first non-blank lines after the cursor are dropped, and so is a tail equal to the
   start of the rest of the cursor's line (the closing brackets, quotes and separators
   the editor already has). A bracket or quote is only dropped when the answer has one
   too many of it, so ``foo(a)`` before an existing ``)`` stays whole.
6. **Indentation**: on a line blank up to the cursor, the first line loses the
   indentation the line already has; later lines keep their (absolute) indentation,
   unless the model evidently indented relative to the cursor -- its first line has no
   indentation and every later line starts at column 0, or the first line opens a
   block and the next line is not deeper than the cursor line -- then the cursor
   line's indentation is added to them. Spaces become tabs when the cursor line is
   indented with tabs.
7. **Trailing whitespace** is trimmed on every line, trailing blank lines are dropped,
   and a result with no visible character is ``""``.

`single_line_done(raw)` tells a streaming consumer in single-line mode that the answer's
first line is complete (a line break after visible text inside the completion element),
so it can stop reading and close the stream.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = [
    "CLOSE_TAG",
    "HOLE",
    "OPEN_TAG",
    "clean",
    "extract",
    "single_line_done",
]

#: The hole marker shown to the model where the cursor is (see `prompts.completion`).
HOLE: Final = "<|hole|>"
#: The element the model is asked to answer in.
OPEN_TAG: Final = "<completion>"
CLOSE_TAG: Final = "</completion>"

_FENCE = re.compile(r"```[^\n`]*\n?(.*?)(?:\n?```|\Z)", re.DOTALL)
_BRACKETS: Final = {")": "(", "]": "[", "}": "{"}
_QUOTES: Final = "\"'`"
_TRAILING: Final = frozenset(")]}>\"'`;,:")
#: How many lines before the cursor an echo is looked for.
_ECHO_LINES: Final = 3


def extract(raw: str) -> str:
    """The completion inside the answer (step 1 of the module docstring)."""
    text = raw
    start = text.find(OPEN_TAG)
    if start != -1:
        text = text[start + len(OPEN_TAG) :]
        end = text.find(CLOSE_TAG)
        if end != -1:
            text = text[:end]
        text = _unfence(text, whole=True)
    else:
        end = text.find(CLOSE_TAG)
        if end != -1:
            text = text[:end]
        text = _unfence(text, whole=False)
    return text.replace(HOLE, "")


def _unfence(text: str, *, whole: bool) -> str:
    """The body of a fenced block: the whole text must be one (``whole``) or contain one."""
    stripped = text.strip()
    if whole and not stripped.startswith("```"):
        return text
    match = _FENCE.search(stripped if whole else text)
    return match.group(1) if match else text


def single_line_done(raw: str) -> bool:
    """Whether a single-line answer streamed so far already holds its whole first line."""
    start = raw.find(OPEN_TAG)
    if start == -1:
        return False  # prose before the element may span lines: keep reading
    body = raw[start + len(OPEN_TAG) :].lstrip("\r\n")
    if body.lstrip().startswith("```"):
        newline = body.find("\n")
        if newline == -1:
            return False
        body = body[newline + 1 :]
    newline = body.find("\n")
    return newline != -1 and bool(body[:newline].strip())


def clean(
    raw: str,
    *,
    prefix: str,
    suffix: str,
    kind: Literal["single", "multi"] = "multi",
) -> str:
    """The text to insert at the cursor, or ``""`` (steps: module docstring).

    Parameters
    ----------
    raw:
        The model's answer as received (cut at ``</completion>`` or not).
    prefix, suffix:
        Document text before and after the cursor.
    kind:
        ``"single"`` keeps one line; ``"multi"`` allows several.
    """
    text = extract(raw).replace("\r\n", "\n").replace("\r", "\n")
    line_before = prefix[prefix.rfind("\n") + 1 :]
    newline = suffix.find("\n")
    line_after = suffix if newline == -1 else suffix[:newline]
    text = _leading_break(text, line_before, kind)
    text = _strip_echo(text, prefix, line_before)
    if kind == "single":
        text = text.split("\n", 1)[0]
    text = _drop_repeated_lines(text, line_before, suffix[newline + 1 :] if newline != -1 else "")
    text = _drop_closing_overlap(text, line_after.rstrip("\r"))
    text = _fix_indentation(text, line_before)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    text = "\n".join(lines)
    return text if text.strip() else ""


# --------------------------------------------------------------------------- steps


def _leading_break(text: str, line_before: str, kind: str) -> str:
    """Drop the formatting line break after ``<completion>`` (see step 2)."""
    if not text.startswith("\n"):
        return text
    if kind == "multi" and line_before.strip():
        return text  # "def f():|" + "\n    return 1": the break is the content
    return text.lstrip("\n")


def _strip_echo(text: str, prefix: str, line_before: str) -> str:
    """Cut a repetition of the text before the cursor from the start of ``text``."""
    lines = prefix.split("\n")
    head = lines[:-1]
    for count in range(min(_ECHO_LINES, len(head)), -1, -1):
        previous = head[len(head) - count :] if count else []
        echo = "\n".join([*previous, line_before])
        if not echo.strip():
            continue
        for candidate in (echo, echo.lstrip()):
            if candidate.strip() and text.startswith(candidate) and len(text) > len(candidate):
                return text[len(candidate) :]
    word = _partial_word(line_before)
    if word and text.startswith(word) and len(text) > len(word):
        following = text[len(word)]
        if following.isalnum() or following == "_":
            return text[len(word) :]
    return text


def _partial_word(line_before: str) -> str:
    end = len(line_before)
    start = end
    while start > 0 and (line_before[start - 1].isalnum() or line_before[start - 1] in "_$"):
        start -= 1
    return line_before[start:end]


def _drop_repeated_lines(text: str, line_before: str, after_lines: str) -> str:
    """Drop trailing lines of ``text`` that repeat the next non-blank lines of the file.

    The first line is compared as it will read once inserted (``line_before`` + it).
    Everything may go: an answer that only repeats what follows adds nothing.
    """
    wanted = [line.strip() for line in after_lines.split("\n") if line.strip()][:20]
    if not wanted:
        return text
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    shown = [line_before + lines[0], *lines[1:]] if lines else []
    for count in range(min(len(lines), len(wanted)), 0, -1):
        tail = [line.strip() for line in shown[len(shown) - count :]]
        if tail != wanted[:count]:
            continue
        kept = "\n".join(lines[: len(lines) - count])
        dropped = "\n".join(lines[len(lines) - count :])
        if _can_drop(text, dropped):
            return kept
    return text


def _drop_closing_overlap(text: str, line_after: str) -> str:
    """Drop a tail equal to the start of the rest of the line (brackets the editor has)."""
    rest = line_after.strip()
    if not rest:
        return text
    body = text.rstrip()
    for size in range(min(len(rest), len(body)), 0, -1):
        tail = rest[:size]
        if not body.endswith(tail):
            continue
        closing = all(ch in _TRAILING or ch.isspace() for ch in tail)
        if not closing and len(tail.strip()) < 3:
            continue  # one or two letters in common is a coincidence, not a repeat
        if not _can_drop(body, tail):
            continue
        return body[: len(body) - size]
    return text


def _can_drop(text: str, tail: str) -> bool:
    """Whether dropping ``tail`` from the end of ``text`` leaves no bracket or quote unclosed.

    A closing bracket in ``tail`` may go only if ``text`` closes more brackets of its
    kind than it opens (the extra one closes something before the cursor, which the
    editor's copy after the cursor already closes); a quote only if ``text`` has an odd
    number of it.
    """
    for close, open_ in _BRACKETS.items():
        net = tail.count(close) - tail.count(open_)
        if net > 0 and text.count(close) - text.count(open_) < net:
            return False
    # An odd number of a quote in the tail closes a string the text left open.
    return not any(tail.count(q) % 2 and text.count(q) % 2 == 0 for q in _QUOTES)


def _fix_indentation(text: str, line_before: str) -> str:
    if not text:
        return text
    indent = line_before[: len(line_before) - len(line_before.lstrip())]
    lines = text.split("\n")
    first_indented = lines[0][:1].isspace()
    if indent and not line_before.strip() and lines[0].startswith(indent):
        lines[0] = lines[0][len(indent) :]
    later = [line for line in lines[1:] if line.strip()]
    if indent and later and not first_indented:
        depths = [len(line) - len(line.lstrip()) for line in later]
        opener = (line_before + lines[0]).rstrip().endswith((":", "{", "(", "["))
        if max(depths) == 0 or (opener and depths[0] <= len(indent)):
            # The model indented relative to the cursor: make it absolute.
            lines = [lines[0], *[indent + line if line.strip() else line for line in lines[1:]]]
    if "\t" in indent:
        lines = [lines[0], *[_tabs(line) for line in lines[1:]]]
    return "\n".join(lines)


def _tabs(line: str) -> str:
    """Leading groups of four spaces as tabs (for a file indented with tabs)."""
    body = line.lstrip(" ")
    spaces = len(line) - len(body)
    if spaces < 4 or line[:spaces].strip(" "):
        return line
    return "\t" * (spaces // 4) + " " * (spaces % 4) + body
