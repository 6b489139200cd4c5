"""Rendering context-engine spans into prompt text, laid out for prompt caching.

Contract
--------
Every span of a `~minimax_lsp.indexer.context.Manifest` is rendered as one XML-like
element, attributes in a fixed order, the span's text verbatim between the tags::

    <file path="src/app/models.py" lines="10-42" mode="snippet">
    class User:
        ...
    </file>

* ``path`` is the workspace-relative POSIX path; ``lines`` the 1-based inclusive range
  (``"1-N"`` for a whole file); ``mode`` is ``full`` (the whole file), ``snippet`` (the
  ``lines`` range only) or ``outline`` (signatures only, in the context engine's outline
  format). Attribute values are XML-escaped (``& < > "``).
* The body is the span's text as the context engine produced it (secrets already
  redacted), followed by a line break if it lacks one. The one change: a literal closing
  tag of one of our wrappers inside a file (``</file>``, ``</repository>``,
  ``</current_file>``, ``</selection>``) is written with an escaped slash (``<\\/file>``) so
  a file cannot end its own element early. `FORMAT_NOTE` says so to the model.
* Layout: the *stable* part is wrapped in ``<repository>…</repository>``; the
  *volatile* part (the current file, always the manifest's trailing spans of that path)
  in ``<current_file>…</current_file>``, then an optional ``<selection path lines>``
  element. The stable part goes first so that the prompt-cache prefix survives edits to
  the current file; see `split_manifest`. "Stable" is everything before the current
  file: the engine's repository section and, after it, its focus section (snippets chosen
  for this question). The manifest does not mark where one ends and the other begins,
  so both sit before the one repository breakpoint.
* Everything here is pure and deterministic: the same spans give byte-identical text
  (the prompt cache is a byte-prefix match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from minimax_lsp.indexer.context import Manifest, Span

__all__ = [
    "FORMAT_NOTE",
    "SelectionText",
    "escape_attribute",
    "render_current_file",
    "render_repository",
    "render_selection",
    "render_span",
    "render_spans",
    "selection_text",
    "split_manifest",
]

#: One paragraph for system prompts: how the model should read the context format.
FORMAT_NOTE = (
    "Repository context arrives in the user's messages as "
    '`<file path="…" lines="A-B" mode="…">` elements: mode "full" is the whole file, '
    '"snippet" is only lines A-B of it, "outline" lists only signatures. '
    "`<repository>` holds files chosen for relevance, `<current_file>` the file the user "
    "has open, `<selection>` the code the user selected. Values shown as "
    "`[REDACTED:…]` were removed to protect secrets; never guess them. Inside a file, "
    "`<\\/file>` stands for a literal `</file>`."
)

#: Wrapper elements whose closing tags are neutralised inside file bodies.
_WRAPPERS = ("file", "repository", "current_file", "selection")
_CLOSING_TAG = re.compile(r"</(" + "|".join(_WRAPPERS) + r")>")
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def escape_attribute(value: str) -> str:
    """XML-escape an attribute value (``& < > "``)."""
    return value.translate(_ATTRIBUTE_ESCAPES)


def _body(text: str) -> str:
    """The element body: closing tags neutralised, ending with exactly one line break."""
    text = _CLOSING_TAG.sub(r"<\\/\1>", text)
    if text and not text.endswith("\n"):
        text += "\n"
    return text


def render_span(span: Span) -> str:
    """Render one span as a ``<file>`` element (see the module docstring)."""
    return (
        f'<file path="{escape_attribute(span.path)}" '
        f'lines="{span.start_line}-{span.end_line}" mode="{escape_attribute(span.mode)}">\n'
        f"{_body(span.text)}</file>\n"
    )


def render_spans(spans: Iterable[Span]) -> str:
    """Render spans in the given order, one element after the other."""
    return "".join(render_span(span) for span in spans)


def render_repository(spans: Sequence[Span]) -> str:
    """The stable block: ``<repository>`` around the spans, or ``""`` when there are none."""
    if not spans:
        return ""
    return f"<repository>\n{render_spans(spans)}</repository>\n"


def render_current_file(spans: Sequence[Span]) -> str:
    """The volatile block: ``<current_file>`` around the spans, or ``""`` when none."""
    if not spans:
        return ""
    return f"<current_file>\n{render_spans(spans)}</current_file>\n"


def split_manifest(
    manifest: Manifest, current_path: str | None
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Split a manifest into its (stable, volatile) spans.

    The context engine puts the current file last (engine contract), so the volatile part
    is the run of trailing spans whose path is ``current_path``; everything before it is
    stable repository material. With no current path everything is stable.

    Parameters
    ----------
    manifest:
        The packed context, in prompt order.
    current_path:
        Workspace-relative path of the file the request is about, if any.
    """
    items = manifest.items
    if current_path is None:
        return items, ()
    cut = len(items)
    while cut > 0 and items[cut - 1].path == current_path:
        cut -= 1
    return items[:cut], items[cut:]


@dataclass(frozen=True, slots=True)
class SelectionText:
    """The selected lines as they appear in the manifest (so: redacted)."""

    path: str
    start_line: int
    end_line: int
    text: str


def selection_text(
    spans: Sequence[Span], path: str, selection: tuple[int, int]
) -> SelectionText | None:
    """Cut the selected lines out of the spans that carry them.

    Only ``full`` and ``snippet`` spans of ``path`` are used (an outline is not the code).
    The result is the part of the selection the spans cover (the first covering span
    wins); ``None`` when no span covers any selected line. Taking the text from the
    manifest, not from disk, keeps the selection redacted like everything else sent.
    """
    first, last = selection
    for span in spans:
        if span.path != path or span.mode == "outline":
            continue
        start, end = max(first, span.start_line), min(last, span.end_line)
        if start > end:
            continue
        lines = _lines(span.text)
        chosen = lines[start - span.start_line : end - span.start_line + 1]
        if chosen:
            return SelectionText(path, start, start + len(chosen) - 1, "".join(chosen))
    return None


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (as the index counts them), each keeping its break.

    ``str.splitlines`` would also split at form feeds and Unicode separators, shifting
    line numbers against the engine's.
    """
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def render_selection(selection: SelectionText) -> str:
    """A ``<selection path="…" lines="A-B">`` element around the selected text."""
    return (
        f'<selection path="{escape_attribute(selection.path)}" '
        f'lines="{selection.start_line}-{selection.end_line}">\n'
        f"{_body(selection.text)}</selection>\n"
    )
