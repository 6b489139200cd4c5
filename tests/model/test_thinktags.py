"""Think-tag splitting: a table of leak patterns, each fed at every chunking."""

from __future__ import annotations

import pytest

from minimax_lsp.server.model.thinktags import ThinkTagSplitter


def _run(
    chunks: list[str], *, hold_limit: int | None = None, anywhere: bool = True
) -> tuple[str, str]:
    splitter = ThinkTagSplitter(hold_limit=hold_limit, anywhere=anywhere)
    pieces = []
    for chunk in chunks:
        pieces.extend(splitter.feed(chunk))
    pieces.extend(splitter.finish())
    thinking = "".join(t for kind, t in pieces if kind == "thinking")
    text = "".join(t for kind, t in pieces if kind == "text")
    return thinking, text


def _chunkings(s: str) -> list[list[str]]:
    """Whole, one char at a time, and every two-way cut."""
    out = [[s], list(s)]
    out.extend([[s[:i], s[i:]] for i in range(1, len(s))])
    return out


# (stream content, expected thinking, expected text)
TABLE = [
    ("plain answer", "", "plain answer"),
    ("<think>reason</think>\n\nanswer", "reason", "\n\nanswer"),
    ("  \n<think>reason</think>answer", "reason", "answer"),
    ("reason without open</think>answer", "reason without open", "answer"),
    ("<think>ran out of tokens while thinking", "ran out of tokens while thinking", ""),
    ("<thinking>m3 leak</thinking>ok", "m3 leak", "ok"),
    ("<mm:think>variant</mm:think>ok", "variant", "ok"),
    ("plan</mm:think>ok", "plan", "ok"),
    ("<minimax:think>v</minimax:think>ok", "v", "ok"),
    ("<think>a</think>text<think>b</think>more", "ab", "textmore"),
    ("a < b and c <th not a tag", "", "a < b and c <th not a tag"),
    ("<thi", "", "<thi"),
    ("<think>", "", ""),
    ("</think>", "", ""),
    ("x</think>y</think>z", "x", "yz"),
    ("", "", ""),
]


@pytest.mark.parametrize(("content", "thinking", "text"), TABLE)
def test_split_table_every_chunking(content: str, thinking: str, text: str) -> None:
    for chunks in _chunkings(content):
        assert _run(chunks) == (thinking, text), chunks


def test_hold_limit_releases_text_early() -> None:
    splitter = ThinkTagSplitter(hold_limit=5)
    assert splitter.feed("abc") == []  # could still be reasoning awaiting </think>
    assert splitter.feed("defg") == [("text", "abcdefg")]
    # Once released, a later stray close tag is dropped, not retroactively applied.
    assert splitter.feed("h</think>i") == [("text", "hi")]


def test_hold_zero_emits_immediately_but_waits_on_partial_open_tag() -> None:
    splitter = ThinkTagSplitter(hold_limit=0)
    assert splitter.feed("<th") == []
    assert splitter.feed("ink>r") == [("thinking", "r")]
    splitter = ThinkTagSplitter(hold_limit=0)
    assert splitter.feed("hello") == [("text", "hello")]


def test_release_hold_flushes_held_text() -> None:
    splitter = ThinkTagSplitter(hold_limit=None)
    assert splitter.feed("held") == []
    assert splitter.release_hold() == [("text", "held")]


def test_anywhere_false_passes_later_tags_verbatim() -> None:
    """Anthropic endpoint: once the answer has started, tags are just text."""
    content = "Use <think> tags like </think> this"
    assert _run([content], hold_limit=0, anywhere=False) == ("", content)
    # ...but a leading leak is still split out.
    assert _run(["<think>r</think>Use <think>"], hold_limit=0, anywhere=False) == (
        "r",
        "Use <think>",
    )
    # While the start is held (reasoning expected, none seen yet), a close tag with no
    # opening tag still marks what came before as reasoning.
    assert _run(["plan</thinking>answer"], hold_limit=None, anywhere=False) == ("plan", "answer")


def test_long_held_prefix_is_linear() -> None:
    """100k small chunks before a close tag (unbounded hold) must not go quadratic."""
    splitter = ThinkTagSplitter(hold_limit=None)
    for _ in range(100_000):
        assert splitter.feed("abcd") == []
    pieces = splitter.feed("</th") + splitter.feed("ink>tail") + splitter.finish()
    assert pieces == [("thinking", "abcd" * 100_000), ("text", "tail")]
