"""Should we complete at the cursor, and with one line or several? (Before any token is spent.)

Contract
--------
`decide(text, offset, tree=...)` classifies the cursor at character ``offset`` of
``text`` into a `Decision`: ``kind`` is ``"empty"`` (do not call the model),
``"single"`` (complete the rest of the current line) or ``"multi"`` (a block may
follow), with a short ``reason`` for logs and tests. It is pure: the syntax tree, when
there is one, is parsed by the caller (`Parsers.parse`) from the same text.

The rules, in order (llm-ls's empty / single-line / multi-line idea, STYLE.md 11):

1. **Mid-word** -- the character after the cursor is an identifier character: empty.
2. **Text after the cursor** -- the rest of the line holds more than closing brackets,
   quotes and separators (``) ] } > " ' ` ; , :``): empty. The editor's auto-closed
   brackets do not block a completion.
3. **Comment or string** -- the cursor is inside a comment (at the end of a line
   comment counts as inside) or strictly inside a string literal: empty. Code inside an
   interpolation (``f"{x}"``, ``${x}``) is code, not string. Where the tree is broken
   around the cursor (an unterminated string) an odd number of quotes before the cursor
   on its line means "inside a string".
4. **After a completed statement** -- the cursor ends a line whose last token is a
   statement terminator (``;``, or the ``}`` that closes a statement or definition) and
   the statement parsed without error; or a ``pass`` / ``break`` / ``continue``: empty.
5. **Multi-line** -- the line is blank up to the cursor and blank after it, and the
   previous non-blank line ends with a block opener (``:``, ``{``, ``(``, ``[``,
   ``=>``, ``->``, ``do``, ``then``); or the cursor sits at the top level of the file;
   or inside an empty body; or after the last statement of its block. Also when the
   line so far itself ends with a block opener and nothing follows. ``multiline=False``
   turns every multi-line decision into single-line.
6. Otherwise **single-line**.

Languages without a grammar get the same rules with text heuristics for 3-5 (comment
leaders at the start of the line, quote parity, ``;`` endings, openers on the previous
line, end of file for top level).

`Parsers` loads tree-sitter grammars on first use (through
`minimax_lsp.indexer.languages`), keeps each recent document's last tree so that the
next keystroke re-parses incrementally, and may be used from several worker threads.
`grammar_language` maps an LSP ``languageId`` (or, failing that, the path) to one of our
grammar ids.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Literal

import tree_sitter as ts

from minimax_lsp.indexer.languages import GRAMMARS, language_for_path, load_grammar

__all__ = [
    "MAX_PARSE_BYTES",
    "Decision",
    "Kind",
    "Parsers",
    "decide",
    "grammar_language",
    "is_identifier_char",
]

_log = logging.getLogger("minimax_lsp.completion")

Kind = Literal["empty", "single", "multi"]

#: Larger documents are judged by the text heuristics (a parse would cost too much per
#: keystroke; the index skips such files too).
MAX_PARSE_BYTES: Final = 2_000_000

#: Characters that may follow the cursor on its line without blocking a completion:
#: what editors auto-insert (closing brackets and quotes) and separators after them.
_TRAILING_OK: Final = frozenset(")]}>\"'`;,:")
#: Line endings (after ``rstrip``) that open a block: a multi-line completion follows.
_OPENERS: Final = (":", "{", "(", "[", "=>", "->")
_OPENER_WORDS: Final = ("do", "then", "else", "begin")
#: Comment leaders for languages without a grammar.
_COMMENT_LEADERS: Final = ("#", "//", "--", "/*", "*", ";;", "%")
#: Statements that are complete by themselves (no terminator in their language).
_SELF_COMPLETE: Final = frozenset({"pass_statement", "break_statement", "continue_statement"})
#: Node-type endings of statements and definitions (across our grammars).
_STATEMENT_ENDINGS: Final = (
    "statement",
    "declaration",
    "definition",
    "item",
    "specifier",
    "directive",
)
#: String-like node types whose names do not contain "string".
_STRING_TYPES: Final = frozenset(
    {"char_literal", "character_literal", "rune_literal", "character", "text_block"}
)

#: LSP language ids that differ from our grammar ids.
_LANGUAGE_IDS: Final = {
    "javascriptreact": "javascript",
    "typescriptreact": "tsx",
    "shellscript": "bash",
    "sh": "bash",
    "zsh": "bash",
    "c++": "cpp",
    "cs": "csharp",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether and how to complete at one cursor position."""

    kind: Kind
    reason: str

    @property
    def complete(self) -> bool:
        """True unless the decision is to stay silent."""
        return self.kind != "empty"


def is_identifier_char(ch: str) -> bool:
    """Letters, digits, ``_`` and ``$`` (JavaScript, PHP, shell variables)."""
    return ch.isalnum() or ch in "_$"


def grammar_language(language_id: str | None, path: str | None) -> str | None:
    """Our grammar id for an LSP ``languageId`` (else the file name), or None.

    Parameters
    ----------
    language_id:
        What the editor said in ``didOpen`` (``python``, ``typescriptreact``...).
    path:
        The document's path or URI path, used when the id is unknown or missing.
    """
    if language_id:
        lowered = language_id.lower()
        lowered = _LANGUAGE_IDS.get(lowered, lowered)
        if lowered in GRAMMARS:
            return lowered
    return language_for_path(path) if path else None


@dataclass(slots=True)
class _Parsed:
    """The last parse of one document: kept so the next parse can be incremental."""

    language: str
    source: bytes
    tree: ts.Tree


class Parsers:
    """Tree-sitter grammars loaded on first use; safe to call from worker threads.

    With a ``key`` (the document URI), the last tree of each of the `documents` most
    recently parsed documents is kept, and the next parse of that document reuses it:
    the changed byte range is found by comparing the old and new text, the old tree is
    edited and tree-sitter re-parses only what changed (a keystroke costs a fraction of
    a millisecond instead of a whole-file parse).
    """

    def __init__(self, *, documents: int = 16) -> None:
        self._languages: dict[str, ts.Language | None] = {}
        self._documents = documents
        self._last: OrderedDict[str, _Parsed] = OrderedDict()
        self._lock = threading.Lock()

    def _language(self, language: str) -> ts.Language | None:
        if language not in self._languages:
            try:
                self._languages[language] = load_grammar(language)
            except Exception:
                # A broken grammar wheel must not break completions: text rules apply.
                _log.warning("no tree-sitter grammar for %s", language, exc_info=True)
                self._languages[language] = None
        return self._languages[language]

    def parse(self, language: str | None, text: str, *, key: str | None = None) -> ts.Tree | None:
        """The syntax tree of ``text``, or None (no grammar, too large, parse failure).

        Parameters
        ----------
        language:
            Our grammar id (`grammar_language`).
        text:
            The whole document.
        key:
            Identifies the document across calls (enables incremental re-parsing).
        """
        if language is None or language not in GRAMMARS:
            return None
        source = text.encode("utf-8", "surrogatepass")
        if len(source) > MAX_PARSE_BYTES:
            return None
        with self._lock:
            grammar = self._language(language)
            if grammar is None:
                return None
            last = self._last.pop(key, None) if key is not None else None
            if last is not None and last.language != language:
                last = None
            if last is not None and last.source == source:
                tree = last.tree
            else:
                old: ts.Tree | None = None
                if last is not None:
                    # A copy: a worker still deciding on the previous tree keeps it intact.
                    old = last.tree.copy()
                    _edit(old, last.source, source)
                try:
                    parser = ts.Parser(grammar)
                    tree = parser.parse(source, old) if old is not None else parser.parse(source)
                except Exception:
                    _log.debug("parse failed for %s", language, exc_info=True)
                    return None
            if key is not None:
                self._last[key] = _Parsed(language, source, tree)
                while len(self._last) > self._documents:
                    self._last.popitem(last=False)
            return tree


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the longest common prefix of ``a`` and ``b`` (at most ``limit``)."""
    lo, hi = 0, limit
    while lo < hi:  # a[:lo] == b[:lo] holds throughout
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid : len(a) - lo] == b[len(b) - mid : len(b) - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(source: bytes, offset: int) -> tuple[int, int]:
    """(row, byte column) of a byte offset."""
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def _edit(tree: ts.Tree, old: bytes, new: bytes) -> None:
    """Tell ``tree`` (parsed from ``old``) which byte range became what in ``new``."""
    shortest = min(len(old), len(new))
    start = _common_prefix(old, new, shortest)
    tail = _common_suffix(old, new, shortest - start)
    old_end, new_end = len(old) - tail, len(new) - tail
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(new, new_end),
    )


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True, slots=True)
class _Line:
    """The cursor's line, split at the cursor."""

    before: str  # from the line start to the cursor
    after: str  # from the cursor to the line end (no line break)
    start: int  # offset of the line start


def _cursor_line(text: str, offset: int) -> _Line:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    if end == -1:
        end = len(text)
    return _Line(text[start:offset], text[offset:end].rstrip("\r"), start)


def decide(
    text: str,
    offset: int,
    *,
    tree: ts.Tree | None = None,
    multiline: bool = True,
) -> Decision:
    """Classify the cursor at character ``offset`` of ``text`` (rules: module docstring).

    Parameters
    ----------
    text:
        The whole document.
    offset:
        The cursor as a character offset into ``text`` (clamped into range).
    tree:
        ``text``'s tree-sitter tree (`Parsers.parse`), or None for the text heuristics.
    multiline:
        The ``inlineCompletion.multiline`` setting: False never answers ``"multi"``.
    """
    offset = max(0, min(offset, len(text)))
    line = _cursor_line(text, offset)
    if line.after and is_identifier_char(line.after[0]):
        return Decision("empty", "mid-word")
    rest = line.after.strip()
    if rest and not all(ch in _TRAILING_OK or ch.isspace() for ch in rest):
        return Decision("empty", "text after the cursor")
    if tree is not None:
        cursor_byte = len(text[:offset].encode("utf-8", "surrogatepass"))
        verdict = _from_tree(tree, text, offset, cursor_byte, line)
    else:
        verdict = _from_text(text, offset, line)
    if verdict.kind == "multi" and not multiline:
        return Decision("single", f"{verdict.reason} (multi-line off)")
    return verdict


def _from_tree(tree: ts.Tree, text: str, offset: int, cursor_byte: int, line: _Line) -> Decision:
    root = tree.root_node
    node = root.descendant_for_byte_range(max(cursor_byte - 1, 0), cursor_byte)
    literal = _literal_at(node, cursor_byte)
    if literal is not None:
        return Decision("empty", f"inside a {literal}")
    if _broken_near(node) and _odd_quotes(line.before):
        return Decision("empty", "inside an unterminated string")
    blank_before = not line.before.strip()
    blank_after = not line.after.strip()
    if blank_after and not blank_before:
        if _ends_statement(root, text, line, offset):
            return Decision("empty", "after a completed statement")
        if _ends_with_opener(line.before):
            return Decision("multi", "block opener at the end of the line")
        return Decision("single", "end of the line")
    if not (blank_before and blank_after):
        return Decision("single", "inside the line")
    if _ends_with_opener(_previous_code_line(text, line.start)):
        return Decision("multi", "after a block opener")
    here = root.descendant_for_byte_range(cursor_byte, cursor_byte)
    if here is None or here.parent is None:
        return Decision("multi", "top level")
    if _empty_interior(here):
        return Decision("multi", "empty body")
    if _last_in_block(here, cursor_byte):
        return Decision("multi", "end of the block")
    return Decision("single", "blank line inside a block")


def _from_text(text: str, offset: int, line: _Line) -> Decision:
    stripped = line.before.lstrip()
    if stripped.startswith(_COMMENT_LEADERS):
        return Decision("empty", "inside a comment")
    if _odd_quotes(line.before):
        return Decision("empty", "inside a string")
    blank_before = not line.before.strip()
    blank_after = not line.after.strip()
    if blank_after and not blank_before:
        if line.before.rstrip().endswith(";"):
            return Decision("empty", "after a completed statement")
        if _ends_with_opener(line.before):
            return Decision("multi", "block opener at the end of the line")
        return Decision("single", "end of the line")
    if not (blank_before and blank_after):
        return Decision("single", "inside the line")
    if _ends_with_opener(_previous_code_line(text, line.start)):
        return Decision("multi", "after a block opener")
    if not text[offset:].strip():
        return Decision("multi", "end of the file")
    return Decision("single", "blank line")


# --------------------------------------------------------------------------- helpers


def _literal_kind(node_type: str) -> Literal["comment", "string"] | None:
    if "comment" in node_type:
        return "comment"
    if "string" in node_type or "heredoc" in node_type or node_type in _STRING_TYPES:
        return "string"
    return None


def _literal_at(node: ts.Node | None, cursor_byte: int) -> str | None:
    """``"comment"`` / ``"string"`` when the cursor is inside one, walking up from ``node``."""
    while node is not None:
        kind = node.type
        if "interpolation" in kind or "substitution" in kind:
            return None  # code inside a string: fine to complete
        literal = _literal_kind(kind)
        if literal == "comment" and _inside_comment(node, cursor_byte):
            return "comment"
        if literal == "string" and _inside_string(node, cursor_byte):
            return "string"
        node = node.parent
    return None


def _inside_comment(node: ts.Node, cursor_byte: int) -> bool:
    if node.start_byte < cursor_byte < node.end_byte:
        return True
    if cursor_byte != node.end_byte or node.start_byte >= cursor_byte:
        return False
    # At the very end: a line comment continues as the user types, a closed block
    # comment (``*/``, ``]]``, ``-->``) does not.
    tail = (node.text or b"")[-3:]
    single_line = node.start_point.row == node.end_point.row
    return single_line and not tail.endswith((b"*/", b"]]", b"-->", b"-}"))


def _inside_string(node: ts.Node, cursor_byte: int) -> bool:
    if node.start_byte < cursor_byte < node.end_byte:
        return True
    # An unterminated string ends at the cursor with its closing quote missing.
    if cursor_byte == node.end_byte and node.start_byte < cursor_byte:
        last = node.child(node.child_count - 1) if node.child_count else None
        return last is not None and last.is_missing
    return False


def _broken_near(node: ts.Node | None) -> bool:
    """Whether the tree around ``node`` has a parse error (text rules then help)."""
    while node is not None and node.parent is not None:
        if node.is_error or node.has_error:
            return True
        node = node.parent
    return False


def _odd_quotes(before: str) -> bool:
    """An odd number of unescaped ``"`` or ``'`` (or backticks) on the line so far."""
    counts = {'"': 0, "'": 0, "`": 0}
    escaped = False
    for ch in before:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in counts:
            counts[ch] += 1
    return any(n % 2 for n in counts.values())


def _ends_with_opener(code: str) -> bool:
    code = code.rstrip()
    if not code:
        return False
    if code.endswith(_OPENERS):
        return True
    words = code.split()
    return bool(words) and words[-1] in _OPENER_WORDS


def _previous_code_line(text: str, line_start: int) -> str:
    """The nearest non-blank line above the line starting at ``line_start``."""
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        candidate = text[start:end]
        if candidate.strip():
            return candidate
        end = start - 1
    return ""


def _ends_statement(root: ts.Node, text: str, line: _Line, offset: int) -> bool:
    """The last token before the cursor terminates a statement that parsed cleanly."""
    code = line.before.rstrip()
    last_char = line.start + len(code) - 1
    start_byte = len(text[:last_char].encode("utf-8", "surrogatepass"))
    token = root.descendant_for_byte_range(start_byte, start_byte + 1)
    if token is None:
        return False
    if code.endswith((";", "}")):
        parent = token.parent
        if parent is None or "for" in parent.type:
            return False  # ``for (a; b;`` is a header, not a statement
        # The outermost node that ends with this token, below the root (a file without
        # a final line break ends with its last statement).
        top = token
        while (
            top.parent is not None
            and top.parent.parent is not None
            and top.parent.end_byte == token.end_byte
        ):
            top = top.parent
        if top.parent is None or top.has_error:
            return False
        return top.type.endswith(_STATEMENT_ENDINGS) or top.type == "expression_statement"
    node: ts.Node | None = token
    while node is not None and node.end_byte == token.end_byte:
        if node.type in _SELF_COMPLETE:
            return True
        node = node.parent
    return False


def _empty_interior(node: ts.Node) -> bool:
    """Whether ``node``'s text, minus its delimiters, is only whitespace (``{ }``)."""
    raw = node.text or b""
    if not raw:
        return True
    inner = raw
    if not raw[:1].isspace():
        inner = inner[1:]
    if inner and not inner[-1:].isspace():
        inner = inner[:-1]
    return not inner.strip()


def _last_in_block(node: ts.Node, cursor_byte: int) -> bool:
    """Nothing but the block's own closing delimiter follows the cursor inside ``node``."""
    return not any(child.is_named and child.start_byte >= cursor_byte for child in node.children)
