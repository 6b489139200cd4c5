"""Where to complete, and how much: the decision table per language, the helpers, and the
cursor offset the completion handlers compute from an LSP position."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from minimax_lsp.server.completion.decide import (
    MAX_PARSE_BYTES,
    Decision,
    Parsers,
    decide,
    grammar_language,
)
from minimax_lsp.server.features.inline_completion import cursor_offset
from minimax_lsp.server.session import DocumentSnapshot

PARSERS = Parsers()

# (grammar, text with the cursor marked `|`, expected kind, expected reason substring)
CASES: list[tuple[str | None, str, str, str]] = [
    # mid-word and text after the cursor (same for every language)
    ("python", "x = comp|ute\n", "empty", "mid-word"),
    ("python", "print(|x)\n", "empty", "mid-word"),
    ("python", "x = | + y\n", "empty", "text after"),
    ("javascript", "let s = foo|Bar;\n", "empty", "mid-word"),
    # closing brackets and separators the editor auto-inserted do not block
    ("python", "print(|)\n", "single", ""),
    ("python", "if check(|):\n    pass\n", "single", ""),
    ("javascript", "call(|);\n", "single", ""),
    ("rust", "fn main() {\n    println!(|);\n}\n", "single", ""),
    # comments
    ("python", "x = 1  # compute the|\n", "empty", "comment"),
    ("javascript", "// a comment|\nlet x = 1;\n", "empty", "comment"),
    ("go", "package m\n\n// Doc for f|\nfunc f() {}\n", "empty", "comment"),
    ("rust", "/// Docs|\nfn f() {}\n", "empty", "comment"),
    ("lua", "-- note|\nlocal x = 1\n", "empty", "comment"),
    ("c", "int x; /* a | */\n", "empty", ""),  # text after the cursor or comment: empty
    # strings
    ("python", 'x = "|"\n', "empty", "string"),
    ("python", 'def f():\n    """Doc|"""\n', "empty", "string"),
    ("python", 'x = "unterminated|\n', "empty", "string"),
    ("go", 'package m\n\nfunc f() {\n\tx := "a|"\n}\n', "empty", "string"),
    ("bash", 'echo "hi|"\n', "empty", "string"),
    ("javascript", "const s = 'ab|';\n", "empty", "string"),
    # code inside an interpolation is code
    ("python", 'f"{val|}"\n', "single", ""),
    ("javascript", "const s = `${val|}`;\n", "single", ""),
    # a string that is already closed does not hold the cursor
    ("python", 'x = "abc"|\n', "single", "end of the line"),
    # after a completed statement
    ("javascript", "let x = 1;|\n", "empty", "completed statement"),
    ("javascript", "let x = 1;|", "empty", "completed statement"),
    ("c", "int f() {\n  return 1;|\n}\n", "empty", "completed statement"),
    ("rust", "fn main() {\n    let x = 5;|\n}\n", "empty", "completed statement"),
    ("java", "class A {\n  void f() {\n    int x = 1;|\n  }\n}\n", "empty", "completed statement"),
    ("javascript", "function f() {}|\n", "empty", "completed statement"),
    ("python", "def f():\n    pass|\n", "empty", "completed statement"),
    # ... but a `for` header is not a statement
    ("javascript", "for (let i = 0;|\n", "single", ""),
    # block openers -> multi-line
    ("python", "def f(x):\n    |\n", "multi", "block opener"),
    ("python", "def f(x):|\n", "multi", "block opener"),
    ("javascript", "function f() {\n  |\n}\n", "multi", "block opener"),
    ("go", "package m\n\nfunc f() {\n\t|\n}\n", "multi", "block opener"),
    ("java", "class A {\n  void f() {\n    |\n  }\n}\n", "multi", "block opener"),
    ("ruby", "def f\n  |\nend\n", "multi", ""),
    # empty body, end of a block, top level
    ("javascript", "function f() {\n  a();\n  |\n}\n", "multi", "end of the block"),
    ("python", "def f():\n    x = 1\n    |\n", "multi", "top level"),
    ("python", "|", "multi", "top level"),
    ("python", "import os\n\n|\n", "multi", "top level"),
    # a blank line between statements of a block: one line
    ("python", "def f():\n    x = 1\n    |\n    return x\n", "single", "inside a block"),
    ("javascript", "function f() {\n  a();\n  |\n  b();\n}\n", "single", "inside a block"),
    # typing at the end of a line
    ("python", "    value = comp|\n", "single", "end of the line"),
    ("typescript", "const total: number = sum|\n", "single", "end of the line"),
    # no grammar: text heuristics
    (None, "# heading|\n", "empty", "comment"),
    (None, 'key = "val|\n', "empty", "string"),
    (None, "SELECT 1;|\n", "empty", "completed statement"),
    (None, "steps:\n  |\n", "multi", "block opener"),
    (None, "alpha\n|", "multi", "end of the file"),
    (None, "alpha\n|\nbeta\n", "single", "blank line"),
    (None, "some wor|\n", "single", "end of the line"),
]


def _run(language: str | None, marked: str, *, multiline: bool = True) -> Decision:
    offset = marked.index("|")
    text = marked.replace("|", "", 1)
    return decide(text, offset, tree=PARSERS.parse(language, text), multiline=multiline)


@pytest.mark.parametrize(("language", "marked", "kind", "reason"), CASES)
def test_decision_table(language: str | None, marked: str, kind: str, reason: str) -> None:
    decision = _run(language, marked)
    assert decision.kind == kind, decision
    assert reason in decision.reason
    assert decision.complete is (kind != "empty")


def test_multiline_off_turns_multi_into_single() -> None:
    decision = _run("python", "def f(x):\n    |\n", multiline=False)
    assert decision == Decision("single", "after a block opener (multi-line off)")


def test_same_rules_without_a_tree_for_mid_word_and_trailing_text() -> None:
    assert _run(None, "abc|def\n").reason == "mid-word"
    assert _run(None, "x = |y\n").kind == "empty"
    assert _run(None, "f(|)\n").kind == "single"


def test_offsets_out_of_range_are_clamped() -> None:
    text = "def f():\n    "
    assert decide(text, 10_000, tree=PARSERS.parse("python", text)).kind == "multi"
    assert decide(text, -5, tree=PARSERS.parse("python", text)).kind == "empty"  # mid-word


def test_non_ascii_text_before_the_cursor() -> None:
    # Byte offsets differ from character offsets: the string must still be found.
    marked = 'name = "héllo wörld|"\n'
    assert _run("python", marked).reason == "inside a string"
    assert _run("python", 'x = "é"  # ça va|\n').reason == "inside a comment"


def test_hostile_input_never_raises() -> None:
    for text in ("\x00\x01\x02", "(((((((", '"""', "\ud800 lone surrogate", "}\n" * 50):
        for language in ("python", "javascript", None):
            tree = PARSERS.parse(language, text)
            for offset in range(len(text) + 1):
                assert decide(text, offset, tree=tree).kind in ("empty", "single", "multi")


def test_parsers_skip_unknown_languages_and_huge_texts() -> None:
    assert PARSERS.parse(None, "x") is None
    assert PARSERS.parse("cobol", "x") is None
    assert PARSERS.parse("python", "x" * (MAX_PARSE_BYTES + 1)) is None
    tree = PARSERS.parse("python", "x = 1\n")
    assert tree is not None
    assert tree.root_node.type == "module"


@pytest.mark.parametrize(
    ("language_id", "path", "expected"),
    [
        ("python", None, "python"),
        ("typescriptreact", None, "tsx"),
        ("javascriptreact", None, "javascript"),
        ("shellscript", None, "bash"),
        ("PYTHON", None, "python"),
        ("plaintext", "notes.py", "python"),
        (None, "src/lib.rs", "rust"),
        ("markdown", "README.md", None),
        (None, None, None),
    ],
)
def test_grammar_language(language_id: str | None, path: str | None, expected: str | None) -> None:
    assert grammar_language(language_id, path) == expected


def test_incremental_parses_equal_full_parses() -> None:
    """Keyed parses reuse the last tree; the result must equal a parse from scratch."""
    rng = random.Random(7)
    text = "def f(x):\n    return x * 2  # é\n\n\nclass A:\n    def g(self):\n        pass\n"
    keyed, fresh = Parsers(), Parsers()
    for step in range(150):
        at = rng.randrange(len(text) + 1)
        choice = rng.choice(("x", "\n    ", "é", "(", '"', "😀", ""))
        cut = rng.choice((0, 0, 1, 3))
        text = text[:at] + choice + text[at + cut :]
        incremental = keyed.parse("python", text, key="file:///a.py")
        scratch = fresh.parse("python", text)
        assert incremental is not None and scratch is not None
        assert str(incremental.root_node) == str(scratch.root_node), step
    # Same text again: the kept tree itself; another language for the key: a fresh parse.
    assert keyed.parse("python", text, key="file:///a.py") is keyed.parse(
        "python", text, key="file:///a.py"
    )
    js = keyed.parse("javascript", "let x = 1;\n", key="file:///a.py")
    assert js is not None and js.root_node.type == "program"


@pytest.mark.parametrize(
    ("text", "line", "character", "expected"),
    [
        ("ab\ncd\n", 1, 1, 4),
        ("ab\ncd\n", 2, 0, 6),  # the empty line after the last break
        ("ab\ncd", 9, 3, 5),  # past the end
        ("ab\r\ncd\r\n", 0, 9, 2),  # past the end of a CRLF line: before its break
        ("😀x\ny", 0, 2, 1),  # UTF-16: the emoji is two code units, one character
        ("😀x\ny", 0, 3, 2),
        ("", 0, 0, 0),
    ],
)
def test_cursor_offset(text: str, line: int, character: int, expected: int) -> None:
    """LSP positions (UTF-16) to character offsets, as the completion handlers use them."""
    snapshot = DocumentSnapshot(
        uri="file:///a.py",
        version=1,
        text=text,
        language_id="python",
        path=None,
        location=None,
        codec=PositionCodec(),
    )
    position = types.Position(line=line, character=character)
    assert cursor_offset(snapshot, position) == expected
    assert (position.line, position.character) == (line, character)  # not rewritten
