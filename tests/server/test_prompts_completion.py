"""The fill-in-the-middle prompt: layout, cacheable prefix, hole placement, escapes."""

from __future__ import annotations

import json
from typing import Any

from minimax_lsp.indexer.context import Manifest, Span
from minimax_lsp.server.completion.postprocess import CLOSE_TAG, HOLE
from minimax_lsp.server.model import ModelRequest, model_info
from minimax_lsp.server.model.wire_anthropic import AnthropicWire
from minimax_lsp.server.prompts.completion import (
    HEAD_QUANTUM,
    SUFFIX_LINES,
    build_completion_request,
    completion_layout,
    system_prompt,
)
from minimax_lsp.server.prompts.layout import render_repository

OUTLINE = Span("pkg/outline.py", 1, 40, "outline", 12, "repository outline", "def a(): ...\n")
HELPERS = Span(
    "pkg/helpers.py",
    1,
    2,
    "full",
    20,
    "defines `scale`",
    "def scale(value, factor):\n    return value * factor\n",
)
FOCUS = Span("pkg/shapes.py", 5, 6, "snippet", 9, "caller of `area`", "    a = area(1, 2)\n")
#: 40 lines: the cursor goes to line 35 (0-based index 34) or thereabouts.
CURRENT_TEXT = "".join(f"line_{n} = {n}\n" for n in range(1, 41))


def manifest(*items: Span, stable: int = 2) -> Manifest:
    return Manifest(
        task="complete",
        budget=6000,
        tokens=sum(s.tokens for s in items),
        items=tuple(items),
        index_version=3,
        stable_items=stable,
    )


def current(text: str = CURRENT_TEXT, start: int = 1) -> Span:
    lines = text.count("\n")
    return Span("app/main.py", start, start + lines - 1, "full", 99, "current file", text)


def offset_of(text: str, line: int, column: int) -> int:
    """Character offset of 1-based ``line``, 0-based ``column``."""
    return sum(len(x) for x in text.splitlines(keepends=True)[: line - 1]) + column


def body(request: ModelRequest) -> dict[str, Any]:
    return AnthropicWire().body(request, model_info("MiniMax-M3"), request.max_tokens)


def cacheable_prefix(request: ModelRequest) -> str:
    """The wire body up to and including the last block with a breakpoint."""
    wire = body(request)
    blocks = list(wire["system"])
    blocks += wire["messages"][0]["content"]
    last = max(i for i, b in enumerate(blocks) if "cache_control" in b)
    return json.dumps(blocks[: last + 1], sort_keys=True)


def build(text: str, offset: int, *, kind: str = "single", items: tuple[Span, ...] = ()) -> Any:
    m = manifest(*(items or (OUTLINE, HELPERS, FOCUS)), current(text))
    return build_completion_request(m, text, offset, kind, language="python")  # type: ignore[arg-type]


def test_request_settings() -> None:
    request = build(CURRENT_TEXT, offset_of(CURRENT_TEXT, 35, 4))
    assert request is not None
    assert request.stop_sequences == (CLOSE_TAG,)
    assert request.thinking == "disabled"
    assert request.trigger == "automatic"
    assert request.max_attempts == 1
    assert request.max_tokens == 256
    assert request.auto_cache is False
    assert request.system == system_prompt()
    assert HOLE in request.system[0].text and "<completion>" in request.system[0].text


def test_layout_cross_file_context_comes_before_the_hole() -> None:
    text = CURRENT_TEXT
    request = build(text, offset_of(text, 35, 4))
    assert request is not None
    (user,) = request.messages
    repository, focus, head, tail = (block.text for block in user.content)
    # The repository section renders exactly as chat renders it.
    assert repository == render_repository((OUTLINE, HELPERS))
    assert focus == render_repository((FOCUS,))
    assert "def scale(value, factor)" in repository
    assert head.startswith('<current_file path="app/main.py" language="python" start_line="1">\n')
    # The head ends with the line above the cursor's group of HEAD_QUANTUM lines.
    group_start = ((35 - 1) // HEAD_QUANTUM) * HEAD_QUANTUM + 1
    assert head.endswith(f"line_{group_start - 1} = {group_start - 1}\n")
    assert tail.startswith(f"line_{group_start} = {group_start}\n")
    assert f"line{HOLE}_35 = 35\n" in tail
    assert tail.rstrip().endswith("the rest of that line only, no line break.")
    assert "</current_file>" in tail
    # Breakpoints: system, repository, focus, head -- never the volatile tail.
    assert [b.cache for b in user.content] == [True, True, True, False]
    assert request.system[0].cache
    wire = body(request)
    marked = sum("cache_control" in b for b in wire["system"]) + sum(
        "cache_control" in b for b in wire["messages"][0]["content"]
    )
    assert marked == 4


def test_deterministic() -> None:
    offset = offset_of(CURRENT_TEXT, 20, 3)
    assert body(build(CURRENT_TEXT, offset)) == body(build(CURRENT_TEXT, offset))


def test_cacheable_prefix_is_identical_for_cursors_in_the_same_group() -> None:
    # Typing on line 35 (the text grows) and moving within lines 33-48 keep the prefix.
    typed = CURRENT_TEXT.replace("line_35 = 35\n", "line_35 = 35 + compute(\n")
    first = build(CURRENT_TEXT, offset_of(CURRENT_TEXT, 35, 12))
    second = build(typed, offset_of(typed, 35, 23))
    third = build(CURRENT_TEXT, offset_of(CURRENT_TEXT, 40, 0), kind="multi")
    assert first is not None and second is not None and third is not None
    assert cacheable_prefix(first) == cacheable_prefix(second) == cacheable_prefix(third)
    # The volatile tail differs, of course.
    assert first.messages[0].content[-1] != second.messages[0].content[-1]
    # Another group: a longer head block, same repository blocks.
    other = build(CURRENT_TEXT, offset_of(CURRENT_TEXT, 20, 0))
    assert other is not None
    assert cacheable_prefix(other) != cacheable_prefix(first)
    assert other.messages[0].content[:2] == first.messages[0].content[:2]


def test_without_focus_or_repository() -> None:
    m = manifest(current(), stable=0)
    request = build_completion_request(m, CURRENT_TEXT, offset_of(CURRENT_TEXT, 3, 0), "multi")
    assert request is not None
    (user,) = request.messages
    assert len(user.content) == 2  # head + tail
    assert "several lines" in user.content[-1].text


def test_a_window_that_starts_later_in_the_file() -> None:
    window_text = "".join(f"line_{n} = {n}\n" for n in range(17, 41))
    span = current(window_text, start=17)
    m = manifest(OUTLINE, span, stable=1)
    request = build_completion_request(m, CURRENT_TEXT, offset_of(CURRENT_TEXT, 30, 0), "single")
    assert request is not None
    head, tail = request.messages[0].content[-2:]
    assert 'start_line="17"' in head.text
    assert "line_16" not in head.text + tail.text
    assert f"{HOLE}line_30 = 30" in tail.text


def test_the_suffix_is_bounded() -> None:
    text = "x = 1\n" + "".join(f"after_{n}\n" for n in range(200))
    layout = completion_layout(manifest(current(text), stable=0), text, 3, "single")
    assert layout is not None
    assert f"after_{SUFFIX_LINES - 1}\n" in layout.tail
    assert f"after_{SUFFIX_LINES}\n" not in layout.tail


def test_no_prompt_when_the_cursor_line_is_redacted_or_not_covered() -> None:
    live = 'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\nx = 1\n'
    redacted = 'token = "[REDACTED:github-token]"\nx = 1\n'
    m = manifest(current(redacted), stable=0)
    assert completion_layout(m, live, 5, "single") is None  # on the secret's line
    assert completion_layout(m, live, live.index("x = 1") + 5, "single") is not None
    window = current("a\nb\n", start=10)
    far = "\n".join(["z"] * 30)
    assert completion_layout(manifest(window, stable=0), far, 2, "single") is None
    outline = Span("app/main.py", 1, 30, "outline", 5, "r", "def f(): ...\n")
    assert completion_layout(manifest(outline, stable=0), far, 2, "single") is None
    empty = Manifest(task="complete", budget=0, tokens=0, items=(), index_version=0)
    assert completion_layout(empty, far, 2, "single") is None


def test_cursor_at_the_very_end_of_the_file() -> None:
    text = "def f():\n    return 1\n"
    span = Span("app/main.py", 1, 2, "full", 9, "current file", text)
    layout = completion_layout(manifest(span, stable=0), text, len(text), "multi")
    assert layout is not None
    assert layout.tail.startswith(f"def f():\n    return 1\n{HOLE}\n</current_file>")


def test_our_tags_and_the_hole_marker_are_escaped_inside_the_file() -> None:
    text = 'A = "</current_file>"\nB = "<|hole|>"\nC = "</completion>"\nD = 4\n'
    layout = completion_layout(
        manifest(current(text), stable=0), text, offset_of(text, 4, 0), "single"
    )
    assert layout is not None
    shown = layout.head + layout.tail
    shown = shown[: shown.index("</current_file>")]  # the element, not the instruction
    assert shown.count(HOLE) == 1
    assert "</current_file>" not in shown and "</completion>" not in shown
    assert "<\\/current_file>" in shown and "<\\|hole|>" in shown
