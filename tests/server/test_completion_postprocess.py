"""Cleaning the model's answer: delimiters, fences, prose, echoes, overlaps, indentation."""

from __future__ import annotations

import pytest

from minimax_lsp.server.completion.postprocess import (
    HOLE,
    clean,
    extract,
    single_line_done,
)


def run(raw: str, marked: str, kind: str = "multi") -> str:
    """Clean ``raw`` for the cursor ``|`` in ``marked``."""
    prefix, suffix = marked.split("|", 1)
    assert kind in ("single", "multi")
    return clean(raw, prefix=prefix, suffix=suffix, kind=kind)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- extract


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<completion>x + 1</completion>", "x + 1"),
        ("<completion>x + 1", "x + 1"),  # the client cut the stream at the closing tag
        ("Sure, here you go:\n<completion>x + 1</completion>\nHope it helps!", "x + 1"),
        ("<completion>```python\nx + 1\n```</completion>", "x + 1"),
        ("Here:\n```py\nx + 1\n```\nThat adds one.", "x + 1"),
        ("x + 1", "x + 1"),
        (f"<completion>x{HOLE} + 1</completion>", "x + 1"),
        ("<completion></completion>", ""),
    ],
)
def test_extract(raw: str, expected: str) -> None:
    assert extract(raw) == expected


# --------------------------------------------------------------------------- clean


def test_plain_completion_at_the_end_of_a_line() -> None:
    assert run("<completion>total(values)</completion>", "x = compute_|\n") == "total(values)"


def test_fences_and_prose_are_stripped() -> None:
    raw = "Sure! Here it is:\n```python\n    return x + 1\n```\nThis returns x plus one."
    assert run(raw, "def f(x):\n    |\n") == "return x + 1"


def test_crlf_answers_become_lf() -> None:
    assert run("<completion>a = 1\r\n    b = 2</completion>", "def f():\n    |\n") == (
        "a = 1\n    b = 2"
    )


@pytest.mark.parametrize(
    ("raw", "marked", "expected"),
    [
        # the model rewrote the word being typed
        ("<completion>compute(x)</completion>", "y = comp|\n", "ute(x)"),
        # ... or the whole line, with or without its indentation
        ("<completion>    return value * 2</completion>", "def f():\n    return va|\n", "lue * 2"),
        ("<completion>return value * 2</completion>", "def f():\n    return va|\n", "lue * 2"),
        # ... or the previous line and the current one
        (
            "<completion>def area(self):\n        return self.w * self.h</completion>",
            "class R:\n    def area(self):\n        |\n",
            "return self.w * self.h",
        ),
        # a completion that merely starts like the prefix's last word is kept
        ("<completion>x)</completion>", "foo(x|\n", "x)"),
    ],
)
def test_echoed_prefix_is_cut(raw: str, marked: str, expected: str) -> None:
    assert run(raw, marked) == expected


@pytest.mark.parametrize(
    ("raw", "marked", "expected"),
    [
        # a closing bracket the editor already inserted
        ('<completion>"hi")</completion>', "print(|)\n", '"hi"'),
        ("<completion>a, b):</completion>", "if check(|):\n", "a, b"),
        ("<completion>value]</completion>", "items = [|]\n", "value"),
        ("<completion>foo(x));</completion>", "bar(|);\n", "foo(x)"),
        # ... but a balanced completion keeps its own brackets
        ("<completion>foo(a)</completion>", "print(|)\n", "foo(a)"),
        ("<completion>[1, 2]</completion>", "call(|)\n", "[1, 2]"),
        # a quote the editor auto-closed
        ('<completion>abc"</completion>', 'x = "|"\n', "abc"),
        ('<completion>"abc"</completion>', "f(|)\n", '"abc"'),
    ],
)
def test_suffix_overlap_on_the_cursor_line(raw: str, marked: str, expected: str) -> None:
    assert run(raw, marked, "single") == expected


def test_repeated_following_lines_are_dropped() -> None:
    marked = "function f() {\n  |\n}\n"
    assert run("<completion>return 1;\n}</completion>", marked) == "return 1;"
    # a block the completion opens itself keeps its closing brace
    raw = "<completion>if (x) {\n    y();\n  }</completion>"
    assert run(raw, marked) == "if (x) {\n    y();\n  }"
    # statements the file already has after the cursor
    marked = "def g():\n    x = 1\n    |\n    return x\n"
    assert run("<completion>x += 1\n    return x</completion>", marked) == "x += 1"
    assert run("<completion>return x</completion>", marked) == ""


@pytest.mark.parametrize(
    ("raw", "marked", "expected"),
    [
        # the model repeated the indentation the line already has
        (
            "<completion>    if x:\n        y()</completion>",
            "def f(x):\n    |\n",
            "if x:\n        y()",
        ),
        # relative indentation (all later lines at column 0) becomes absolute
        ("<completion>a = 1\nb = 2</completion>", "def f():\n    |\n", "a = 1\n    b = 2"),
        # a block opened relative to the cursor
        ("<completion>if x:\n    y()</completion>", "def f(x):\n    |\n", "if x:\n        y()"),
        # absolute indentation is kept as it is
        (
            "<completion>x = 1\n    return x</completion>",
            "def f():\n    |\n",
            "x = 1\n    return x",
        ),
        # a line break that is content: after a block opener at the end of the line
        ("<completion>\n    return 1</completion>", "def f():|\n", "\n    return 1"),
        # a formatting line break after the opening tag on a blank line
        ("<completion>\nreturn 1</completion>", "def f():\n    |\n", "return 1"),
        # tabs for a file indented with tabs
        ("<completion>if a:\n    b()</completion>", "def g():\n\t|\n", "if a:\n\tb()"),
    ],
)
def test_indentation(raw: str, marked: str, expected: str) -> None:
    assert run(raw, marked) == expected


def test_single_line_mode_keeps_the_first_line() -> None:
    raw = "<completion>total(values)\nprint(x)</completion>"
    assert run(raw, "x = compute_|\n", "single") == "total(values)"
    # a leading line break in single-line mode is formatting
    assert run("<completion>\ntotal()\n</completion>", "x = |\n", "single") == "total()"


def test_trailing_whitespace_and_blank_lines_are_trimmed() -> None:
    raw = "<completion>a = 1   \n    b = 2  \n\n\n</completion>"
    assert run(raw, "def f():\n    |\n") == "a = 1\n    b = 2"


@pytest.mark.parametrize("raw", ["<completion></completion>", "<completion>  \n </completion>", ""])
def test_empty_results(raw: str) -> None:
    assert run(raw, "x = |\n") == ""


def test_hostile_answers_never_raise() -> None:
    for raw in ("```", "<completion>```", "</completion>", "\x00" * 10, "((((", "\ud800"):
        for marked in ("|", "x = (|)\n", "\t|\n}"):
            assert isinstance(run(raw, marked), str)


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    ("raw", "done"),
    [
        ("<completion>total(", False),
        ("<completion>total()\n", True),
        ("<completion>\ntotal()", False),  # the formatting break does not count
        ("<completion>\ntotal()\n", True),
        ("<completion>```py\ntotal()", False),  # the fence line does not count
        ("<completion>```py\ntotal()\n", True),
        ("Here is the line:\nand more prose\n", False),  # prose before the element
    ],
)
def test_single_line_done(raw: str, done: bool) -> None:
    assert single_line_done(raw) is done
