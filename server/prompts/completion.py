"""The fill-in-the-middle prompt for inline completion (pure, deterministic).

MiniMax has no FIM endpoint, so a chat model is shown the file with a hole and asked to
answer with the hole's content inside ``<completion>…</completion>``; the client stops
the stream at the closing tag (``stop_sequences``, enforced client-side).

Layout (prompt caching is a byte-prefix match over blocks; stable blocks first)::

    system  [role, rules, context format]                                <- breakpoint
    user    [<repository> spans of the manifest's repository section]    <- breakpoint
            [<repository> focus spans: definitions used at the cursor...] <- breakpoint
            [<current_file path language start_line>
             lines of the window above the cursor's 16-line group]       <- breakpoint
            [the rest up to the cursor <|hole|> the text after it (at most
             SUFFIX_LINES lines) </current_file>  +  the mode instruction]

* The repository section is rendered with `layout.render_repository`, exactly as chat
  renders spans. The engine keeps it byte-identical while the user types
  (``Manifest.stable_items``); the focus section changes only when the cursor moves to
  another definition.
* The current file is the manifest's last span (redacted like every span). Its head --
  every line above the group of `HEAD_QUANTUM` lines holding the cursor -- is a block of
  its own, so typing inside one group keeps the whole prompt up to it cached. The
  opening tag carries no end line, so adding a line below does not change it either.
* The hole is placed in the span's copy of the cursor line. When that line differs from
  the live buffer (a secret on it was redacted) or the span does not cover it, there is
  no prompt (`build_completion_request` returns ``None``): a line holding a secret is
  never completed.
* Inside file bodies the closing tags of our elements, the hole marker and
  ``</completion>`` are written with an escaped slash or bar, so a file cannot end an
  element early or fake a hole.
* Breakpoints are explicit (``auto_cache=False``): the volatile last block is never
  written to the cache. At most 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from minimax_lsp.indexer.context import Manifest, Span
from minimax_lsp.server.completion.postprocess import CLOSE_TAG, HOLE, OPEN_TAG
from minimax_lsp.server.model import Message, ModelRequest, SystemBlock, TextBlock
from minimax_lsp.server.prompts.layout import (
    FORMAT_NOTE,
    escape_attribute,
    render_repository,
    split_manifest,
)

__all__ = [
    "HEAD_QUANTUM",
    "SUFFIX_CHARS",
    "SUFFIX_LINES",
    "CompletionLayout",
    "build_completion_request",
    "completion_layout",
    "system_prompt",
]

CompletionKind = Literal["single", "multi"]
ThinkingMode = Literal["disabled", "adaptive"]
Trigger = Literal["explicit", "automatic"]

#: The current file's head block ends at a multiple of this many lines (see layout).
HEAD_QUANTUM: Final = 16
#: At most this many lines after the cursor line, and this many characters, are shown.
SUFFIX_LINES: Final = 40
SUFFIX_CHARS: Final = 4000

_SYSTEM = (
    "You are MiniMax, the code completion engine inside the user's editor. The user's "
    "message shows context from their repository and then the file being edited, inside "
    '`<current_file path="…" language="…" start_line="N">` (its first line is line N of '
    f"the file), with {HOLE} marking the cursor. Reply with exactly the text to insert "
    f"at {HOLE}, inside {OPEN_TAG}{CLOSE_TAG}, and nothing else: no explanation, no "
    "markdown fence, no line break after the opening tag unless the insertion starts "
    "with one. Never repeat the code before or after the hole; the insertion is "
    "followed directly by the text after the hole. Match the file's language, style and "
    "indentation, and use the definitions shown in the context rather than inventing "
    f"APIs. If nothing fits, answer {OPEN_TAG}{CLOSE_TAG}."
)
_INSTRUCTIONS: Final[dict[CompletionKind, str]] = {
    "single": f"Complete the line at {HOLE}: the rest of that line only, no line break.",
    "multi": (
        f"Write the code that belongs at {HOLE}. It may span several lines: finish the "
        "statement or block the cursor is in, then stop."
    ),
}
_ESCAPES = re.compile(r"</(file|repository|current_file|selection|completion)>|<\|hole\|>")


def system_prompt() -> tuple[SystemBlock, ...]:
    """The completion system prompt: constant, so always a cache hit."""
    return (SystemBlock(f"{_SYSTEM}\n\n{FORMAT_NOTE}", cache=True),)


def _escape(text: str) -> str:
    """Neutralise our closing tags and the hole marker inside file text."""
    return _ESCAPES.sub(lambda m: m.group(0).replace("</", "<\\/").replace("<|", "<\\|"), text)


@dataclass(frozen=True, slots=True)
class CompletionLayout:
    """The text blocks of the user turn, in order (see the module docstring).

    ``repository`` and ``focus`` are ``""`` when the manifest has no such spans.
    """

    repository: str
    focus: str
    head: str
    tail: str


def _current_span(manifest: Manifest, line: int) -> tuple[tuple[Span, ...], Span | None]:
    """(spans before the current file's window, the window holding ``line``)."""
    if not manifest.items:
        return (), None
    current_path = manifest.items[-1].path
    stable, volatile = split_manifest(manifest, current_path)
    window = volatile[-1]
    extra = tuple(volatile[:-1])  # other pieces of the current file (rare): plain context
    if window.mode == "outline" or not window.start_line <= line <= window.end_line + 1:
        return (*stable, *extra), None
    return (*stable, *extra), window


def completion_layout(
    manifest: Manifest,
    text: str,
    offset: int,
    kind: CompletionKind,
    *,
    language: str | None = None,
) -> CompletionLayout | None:
    """The prompt text for a completion at character ``offset`` of the live ``text``.

    Returns ``None`` when the manifest's current-file window does not hold the cursor
    line as it is in ``text`` (not covered, or redacted).
    """
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    live_line = text[line_start : len(text) if line_end == -1 else line_end]
    column = offset - line_start
    context, window = _current_span(manifest, line)
    if window is None:
        return None
    lines = window.text.split("\n")
    index = line - window.start_line
    if index >= len(lines) or lines[index] != live_line:
        return None
    stable_count = min(manifest.stable_items, len(context))
    repository = render_repository(context[:stable_count])
    focus = render_repository(context[stable_count:])
    cut = max(window.start_line, ((line - 1) // HEAD_QUANTUM) * HEAD_QUANTUM + 1)
    opening = (
        f'<current_file path="{escape_attribute(window.path)}" '
        f'language="{escape_attribute(language or "")}" start_line="{window.start_line}">\n'
    )
    head_lines = lines[: cut - window.start_line]
    head = opening + "".join(_escape(piece) + "\n" for piece in head_lines)
    above = "".join(_escape(piece) + "\n" for piece in lines[cut - window.start_line : index])
    after_lines = lines[index + 1 : index + 1 + SUFFIX_LINES]
    after = _escape(live_line[column:]) + "".join("\n" + _escape(p) for p in after_lines)
    if len(after) > SUFFIX_CHARS:
        after = after[:SUFFIX_CHARS]
    body = f"{above}{_escape(live_line[:column])}{HOLE}{after}"
    tail = f"{body.rstrip()}\n</current_file>\n\n{_INSTRUCTIONS[kind]}"
    return CompletionLayout(repository, focus, head, tail)


def build_completion_request(
    manifest: Manifest,
    text: str,
    offset: int,
    kind: CompletionKind,
    *,
    language: str | None = None,
    model: str | None = None,
    max_tokens: int = 256,
    thinking: ThinkingMode = "disabled",
    trigger: Trigger = "automatic",
) -> ModelRequest | None:
    """The model request for one inline completion, or ``None`` (see `completion_layout`).

    Parameters
    ----------
    manifest:
        The packed context; its last span is the current file's window.
    text, offset:
        The live document and the cursor as a character offset into it.
    kind:
        ``"single"`` or ``"multi"`` (`minimax_lsp.server.completion.decide`).
    language:
        The editor's language id, shown to the model.
    model, max_tokens, thinking, trigger:
        Passed to the `ModelRequest`; the stop sequence is ``</completion>`` and the
        request is tried once (a retry would arrive after the user typed on).
    """
    layout = completion_layout(manifest, text, offset, kind, language=language)
    if layout is None:
        return None
    blocks = [TextBlock(part, cache=True) for part in (layout.repository, layout.focus) if part]
    blocks.append(TextBlock(layout.head, cache=True))
    blocks.append(TextBlock(layout.tail))
    return ModelRequest(
        messages=(Message("user", tuple(blocks)),),
        system=system_prompt(),
        model=model,
        max_tokens=max_tokens,
        thinking=thinking,
        stop_sequences=(CLOSE_TAG,),
        auto_cache=False,
        trigger=trigger,
        max_attempts=1,
    )
