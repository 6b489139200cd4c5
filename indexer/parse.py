"""Extract definitions, references and imports from one file with tree-sitter.

Contract
--------
``extract(source, language) -> FileSymbols``

* ``language`` is an id from `languages.SUPPORTED_LANGUAGES`; ``None`` or any other
  string gives ``FileSymbols(TEXT_LANGUAGE)``: no definitions, imports or references
  (lexical search reads plain text itself; see `records.FileSymbols`).
* It never raises on any bytes: invalid UTF-8, NUL bytes, huge lines, deep nesting.
  Node text is decoded with ``errors="replace"``. ``has_errors`` is the tree's
  ``has_error``. A source over `MAX_PARSE_BYTES`, a parse that overruns its time
  budget (see `Extractor`), a tree too degenerate to query in linear time (see
  `_degenerate`), or a grammar that cannot be loaded gives the requested language
  with ``has_errors=True``, no definitions or imports, and the text fallback's
  references: the identifier-like words of the text, one per (word, line), in order
  (3-80 characters, at most `MAX_TEXT_REFERENCES`).
* The references of the result are stored packed (`records.PackedReferences`), and
  built as `Reference` records when first read: they cross a process boundary and go
  to the cache without ever being built.
* It is safe to call from several threads at once: an `Extractor` keeps one parser
  per thread and language, and compiles each language's queries once. Neither
  ``Parser.parse`` nor query execution releases the GIL (tree-sitter 0.26.1), so
  threads give no parallel speed-up; use processes for that.

What is extracted
-----------------
Definitions
    ``Definition(name, kind, start_line, end_line, signature, scope)``. Lines are the
    whole node's, 1-based inclusive. The signature is the text from the node's start
    to its body (comments in between dropped), or its first line when it has no body,
    whitespace-collapsed, without a trailing ``{`` or ``=`` (the opener of the body),
    and cut to `MAX_SIGNATURE_CHARS` (ending in "…"). The scope is the dotted
    names of the enclosing definitions (and ``@scope`` nodes), computed from node
    containment, with the ``@receiver`` type in front of the name when there is one.
    In Python, Lua, C and C++, whose syntax has no constants (or, in C, whose
    constants are conventionally macros and ALL_CAPS globals), a ``variable`` named
    in ALL_CAPS (two characters or more) is reported as a ``constant``.
References
    Identifiers used, at most one per (name, line), sorted by (line, name), capped at
    `MAX_REFERENCES`. Definition names at their definition site, one-character names
    and ``self``/``cls`` are left out. Everything else an identifier node covers is
    kept (locals and parameters included): the consumer matches names against the
    definitions it knows, so over-reporting only costs space.
Imports
    Raw module strings in source order, de-duplicated, in the per-language format of
    the shared index contract (``"a.b"``, ``"..pkg.x"``, ``"./x"``, ``"<stdio.h>"``,
    ``"a::b::c"``, ``"mod foo"``, ``"A\\B\\C"``).

Query capture convention (every ``queries/*.scm`` follows it)
-------------------------------------------------------------
``@definition.<kind>``
    The whole definition node; ``<kind>`` is one of `KINDS`.
``@name``
    The defined name, in the same pattern (several ``@name`` nodes give several
    definitions sharing the node). Without it, the node's ``name`` field is used.
``@scope``
    A node that opens a naming scope without being a definition (Rust ``impl``, Swift
    ``extension``); with its ``@name``, it becomes part of nested definitions' scope.
``@receiver``
    Optional, in a definition pattern: the type a definition written outside of it
    belongs to (Go method receiver, C++ ``Foo::bar``, Lua ``M.f``). Its text, split
    on ``.``/``::``/``:`` with generic arguments removed, is prepended to the name in
    the scope.
``@body``
    Optional, in a definition pattern: the body; the signature ends where it starts.
    Without it the node's ``body`` field is used, and without that the first line.
``@reference``
    An identifier used. Patterns capturing ``@reference`` capture nothing else.
``@import``
    A node whose text is a module string; surrounding quotes are stripped, angle
    brackets kept.
``@import.<form>``
    A node needing per-language post-processing: ``python`` (import statements),
    ``rust`` (the argument of ``use``), ``rust_mod`` (``mod foo;``), ``relative``
    (Ruby ``require_relative``), ``scala`` (``import`` with selectors), ``php_use``
    (``use`` declarations), ``php_dir`` (the literal of ``__DIR__ . '/x.php'``, made
    ``./x.php``), ``csharp`` (``using`` directives).
``@_<anything>``
    Helper captures for predicates (``#eq?``, ``#match?``); ignored.

When several patterns define the same ``@name`` node, the earliest pattern in the
file wins: specific patterns (a method in a class body) come before general ones.

The whole file runs as one query, in one walk of the tree (see `_compile`): a
pattern's ``@name``, ``@body`` and ``@receiver`` nodes must lie inside its definition
node, and belong to the innermost definition node of the same pattern holding them.
A definition node shared by several matches (``var a = function () {}, b = ...``)
pairs each name with the first of its bodies that follows the name.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

import tree_sitter as ts

from .languages import GRAMMARS, load_grammar, query_source
from .records import TEXT_LANGUAGE, Definition, FileSymbols, PackedReferences, packed_symbols

__all__ = [
    "KINDS",
    "MAX_PARSE_BYTES",
    "MAX_REFERENCES",
    "MAX_SIGNATURE_CHARS",
    "MAX_TEXT_REFERENCES",
    "Extractor",
    "extract",
]

logger = logging.getLogger(__name__)

#: The definition kinds of the shared contract.
KINDS = frozenset(
    {
        "function",
        "method",
        "class",
        "interface",
        "struct",
        "enum",
        "type",
        "module",
        "constant",
        "variable",
        "macro",
        "field",
    }
)
MAX_SIGNATURE_CHARS = 240
#: References kept per parsed file (a 1 MB source has ~40k (name, line) pairs).
MAX_REFERENCES = 50_000
#: Words kept per plain-text file.
MAX_TEXT_REFERENCES = 10_000
#: Larger sources are not parsed (tree-sitter offsets are 32-bit, and no real
#: hand-written file is this big); they get the text fallback.
MAX_PARSE_BYTES = 16 * 1024 * 1024

# How much of a definition's header we look at to build its signature: 240 characters
# after whitespace collapsing rarely need more, and this keeps a minified one-line
# "definition" from being decoded whole.
_MAX_HEADER_BYTES = 4096
_NOISE_BYTES = frozenset({b"self", b"cls"})
#: What every plain-text file gets (immutable, so one shared instance).
_PLAIN_TEXT = FileSymbols(TEXT_LANGUAGE)
# Whole words only: a 300-character token (base64, a hash) is not cut into words.
_TEXT_WORD = re.compile(r"\b[^\W\d]\w{2,79}\b")
_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9_]+")
# Languages whose syntax cannot say "constant", where ALL_CAPS is the convention.
_CAPS_ARE_CONSTANTS = frozenset({"python", "lua", "c", "cpp"})
_RECEIVER_SPLIT = re.compile(r"::|\.|:|->")
_GENERIC_ARGS = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")
# The query syntax `_number_captures` needs: comments, string literals, brackets and
# capture names (group 1).
_QUERY_SYNTAX = re.compile(rb';[^\n]*|"(?:[^"\\]|\\.)*"|[()\[\]]|(@[\w.]+)')
_QUOTES = "\"'`"
_IGNORED = ("", "")
# See `_degenerate`: beyond this many anonymous tokens in one ERROR node, the query
# cursor's quadratic cost starts to show (~0.1 s at 5,000).
_MAX_ERROR_TOKENS = 5_000
_COMMENT_MARKER = re.compile(rb"#|//|/\*|--|\(\*")
_OPERATORS_ENDING_IN_EQ = ("==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", ":=")


class _Role(NamedTuple):
    """What one capture of the combined query is (see `_compile`)."""

    #: "definition" (``@definition.<kind>``, or ``@scope`` with kind ""), "import",
    #: "name", "body", "receiver", "reference", or "" (a helper capture, ignored)
    role: str
    #: the definition kind or the import form; "" otherwise
    detail: str
    #: the pattern the capture belongs to (-1 for ``@reference``, shared by all)
    pattern: int


@dataclass(frozen=True, slots=True)
class _Queries:
    """One language's compiled query.

    Compiled once per `Extractor` and shared by its threads: a compiled query is
    immutable (tree-sitter's C API and its Rust binding declare ``TSQuery`` safe to
    share; each run gets its own ``QueryCursor``), and compiling is slow enough to
    matter (0.1-0.3 s for the Swift, C++ or PHP query).
    """

    grammar: ts.Language
    #: Every pattern of the query file, run once with ``captures`` (see `_compile`).
    query: ts.Query
    #: Capture name -> its role and pattern.
    roles: Mapping[str, _Role]


class _Candidate(NamedTuple):
    """A definition (or scope) found by one match, before de-duplication.

    A named tuple, not a frozen dataclass: ~100,000 are built per 3,000 files, and a
    frozen dataclass costs three times as much to construct. The byte offsets are read
    from the nodes once (each read is a C call) for the de-duplication and the sort.
    """

    pattern: int
    kind: str  # "" for an @scope node
    node: ts.Node
    name_node: ts.Node
    body: ts.Node | None
    receiver: tuple[str, ...]
    start: int  # node.start_byte
    end: int  # node.end_byte
    name_start: int  # name_node.start_byte
    name_end: int  # name_node.end_byte


class _Timeout(Exception):
    """The parse overran its time budget."""


# `Py_DecRef` of the running interpreter, holding the GIL (see `_drop_leaked_references`).
_PY_DECREF: Final = (
    ctypes.PYFUNCTYPE(None, ctypes.py_object)(("Py_DecRef", ctypes.pythonapi))
    if sys.implementation.name == "cpython"
    else None
)


def _drop_leaked_references(handed: list[bytes]) -> None:
    """Give back the references the binding kept to the chunks ``read`` returned.

    py-tree-sitter 0.26.1's read wrapper (``parser_read_wrapper``) takes a buffer of
    each object the read callable returns but never releases the call's own reference,
    so every chunk (the whole source, first) stayed alive forever: a server leaked the
    buffer on every overlay re-index (~1 MiB per 1,000 keystrokes in the soak). Each
    chunk here is a fresh ``bytes`` of two bytes or more that only ``handed`` and the
    binding ever referenced, so any reference beyond ours is the binding's leak; it is
    dropped exactly that many times. A binding without the leak leaves nothing to drop.
    """
    while handed:
        chunk = handed.pop()
        # Ours: the local `chunk` and getrefcount's own argument.
        leaked = sys.getrefcount(chunk) - 2
        if _PY_DECREF is not None:
            for _ in range(leaked):
                _PY_DECREF(chunk)


class Extractor:
    """Extracts `FileSymbols`; one instance may be shared by any number of threads.

    Each thread lazily gets its own ``tree_sitter.Parser`` per language (a parser
    must not be used by two threads at once), kept in a ``threading.local`` owned by
    this instance. Queries are compiled once per instance and shared (see `_Queries`).

    Parameters
    ----------
    base_timeout, timeout_per_mb:
        CPU-time budget of one parse, in seconds: ``base_timeout + timeout_per_mb *
        megabytes``. Generous (real files parse at ~10 MB/s, so a 1 MB file gets
        30 times what it needs); it only exists so that garbage cannot wedge a worker
        (300 kB of random bytes takes some grammars over 3 s). py-tree-sitter
        0.26 dropped ``Parser.timeout_micros``; the budget is enforced through the
        progress callback of callback-driven parsing (which costs nothing
        measurable: ~5 calls per kB). Query execution has no budget: its progress
        callback crashes the 0.26.1 binding, and our queries are linear anyway.
    max_parse_bytes:
        Larger sources are not parsed and get the text fallback.
    """

    def __init__(
        self,
        *,
        base_timeout: float = 1.0,
        timeout_per_mb: float = 2.0,
        max_parse_bytes: int = MAX_PARSE_BYTES,
    ) -> None:
        self._base_timeout = base_timeout
        self._timeout_per_mb = timeout_per_mb
        self._max_parse_bytes = max_parse_bytes
        self._local = threading.local()  # .parsers: dict[str, ts.Parser]
        self._queries: dict[str, _Queries | None] = {}
        self._compile_lock = threading.Lock()

    def extract(self, source: bytes, language: str | None) -> FileSymbols:
        """Return the symbols of ``source`` parsed as ``language`` (see the module doc).

        Parameters
        ----------
        source:
            The file's bytes, any encoding or none.
        language:
            A supported language id; ``None`` or an unknown id means plain text.
        """
        if not isinstance(source, bytes | bytearray | memoryview):
            raise TypeError(f"source must be bytes, not {type(source).__name__}")
        source = bytes(source)
        if language is None or language not in GRAMMARS:
            return _PLAIN_TEXT
        if len(source) > self._max_parse_bytes:
            return _fallback(source, language)
        queries = self._queries_for(language)
        if queries is None:
            return _fallback(source, language)
        try:
            tree = self._parse(self._parser(language, queries.grammar), source)
        except _Timeout:
            logger.warning("parsing %d bytes of %s timed out", len(source), language)
            return _fallback(source, language)
        if _degenerate(tree.root_node):
            logger.info("%d bytes of %s recovered into a degenerate tree", len(source), language)
            return _fallback(source, language)
        return _symbols(source, language, queries, tree)

    def _queries_for(self, language: str) -> _Queries | None:
        # Entries are only ever added, so the unlocked read is safe (double-checked).
        if language in self._queries:
            return self._queries[language]
        with self._compile_lock:
            if language not in self._queries:
                try:
                    self._queries[language] = _compile(language)
                except Exception:
                    # A broken grammar wheel or query file must not take the indexer
                    # down; the tests compile every query, so this is logged once.
                    logger.exception("cannot load the %s grammar or query", language)
                    self._queries[language] = None
            return self._queries[language]

    def _parser(self, language: str, grammar: ts.Language) -> ts.Parser:
        parsers: dict[str, ts.Parser] | None = getattr(self._local, "parsers", None)
        if parsers is None:
            parsers = self._local.parsers = {}
        parser = parsers.get(language)
        if parser is None:
            parser = parsers[language] = ts.Parser(grammar)
        return parser

    def _parse(self, parser: ts.Parser, source: bytes) -> ts.Tree:
        budget = self._base_timeout + self._timeout_per_mb * len(source) / 1_000_000
        # CPU time of this thread, not wall time: a busy machine must not turn a slow
        # parse into a timeout (the parse holds the GIL and runs in this thread).
        deadline = time.thread_time() + budget

        handed: list[bytes] = []
        parsing = True

        def read(offset: int, _point: ts.Point) -> bytes:
            # tree-sitter asks again only at the end of the text, where slices are short.
            # The tree keeps this callable for node text (bytes only: a memoryview
            # crashes it), which releases what it reads: after the parse, and for an
            # empty or one-byte tail (CPython's shared singletons), nothing is tracked.
            if not parsing or len(source) - offset < 2:
                return source[offset:]
            # During the parse a fresh copy (slicing from 0 would return `source`
            # itself), which only `handed` and the binding ever reference.
            chunk = bytes(memoryview(source)[offset:])
            handed.append(chunk)
            return chunk

        calls = 0

        def past_deadline(_offset: int, _has_error: bool) -> bool:
            # Called every ~160 bytes parsed; reading the thread's CPU clock is a system
            # call (~1 us, 5 % of a parse), so it is read on every 16th call only.
            nonlocal calls
            calls += 1
            return not calls & 15 and time.thread_time() > deadline

        # A parser stopped half-way resumes where it stopped on its next parse unless
        # reset: after a timeout, and after an exception raised inside the callback
        # (a KeyboardInterrupt arriving there propagates normally).
        try:
            return parser.parse(read, progress_callback=past_deadline)
        except ValueError as exc:  # "Parsing failed": the callback cancelled it
            parser.reset()
            raise _Timeout from exc
        except BaseException:
            parser.reset()
            raise
        finally:
            parsing = False
            _drop_leaked_references(handed)


def _compile(language: str) -> _Queries:
    """Compile ``language``'s query file into one query run with ``captures``.

    Running a query costs a walk over every node of the tree (~0.13 us per node, a
    third of what parsing costs), so definitions, imports and references come from a
    single run. ``matches`` would group each definition with its name, body and
    receiver, but builds one match object per identifier once ``@reference`` patterns
    are in the query (three times the cost of the two runs it replaces); ``captures``
    only lists the captured nodes per capture name. So every capture of a structure
    pattern is renamed after its pattern (``@name`` in pattern 7 becomes
    ``@name__7``, in its predicates too, see `_number_captures`): a pattern's captures
    then stay apart, and `_pattern_candidates` pairs each name, body and receiver with
    the innermost definition node of the same pattern containing it. Pattern indexes
    are kept, so "the earliest pattern wins" still holds.
    """
    grammar = load_grammar(language)
    text, patterns = _number_captures(query_source(language).encode("utf-8"), language)
    query = ts.Query(grammar, text.decode("utf-8"))
    if query.pattern_count != patterns:
        raise ValueError(f"{language} query: {query.pattern_count} patterns, {patterns} found")
    return _Queries(grammar, query, _capture_roles(query, language))


def _number_captures(text: bytes, language: str) -> tuple[bytes, int]:
    """``text`` with each structure pattern's captures suffixed ``__<pattern index>``.

    Top-level patterns are found by bracket depth (a ``(``, ``[`` or string at depth 0
    starts one), skipping comments and string literals, without compiling the query
    (compiling takes up to 0.3 s for the larger grammars). ``@reference`` patterns keep
    their names. Returns the new text and the number of patterns found.
    """
    # (token, pattern index) for every token; captures are renamed in a second pass,
    # once each pattern's captures are known.
    tokens: list[tuple[re.Match[bytes], int]] = []
    captures: list[set[bytes]] = []
    depth = 0
    for token in _QUERY_SYNTAX.finditer(text):
        lexeme = token[0]
        if lexeme[:1] == b";":
            continue
        if depth == 0 and lexeme[:1] in (b"(", b"[", b'"'):
            captures.append(set())
        if lexeme in (b"(", b"["):
            depth += 1
        elif lexeme in (b")", b"]"):
            depth = max(0, depth - 1)
        elif token[1] and captures:
            captures[-1].add(lexeme)
            tokens.append((token, len(captures) - 1))
    has_references = False
    for found in captures:
        if b"@reference" in found:
            if found != {b"@reference"}:
                raise ValueError(f"{language} query: a @reference pattern captures more")
            has_references = True
    if not has_references:
        raise ValueError(f"{language} query: no @reference pattern")
    pieces: list[bytes] = []
    position = 0
    for token, index in tokens:
        if captures[index] == {b"@reference"}:
            continue
        pieces += (text[position : token.end()], b"__%d" % index)
        position = token.end()
    pieces.append(text[position:])
    return b"".join(pieces), len(captures)


def _capture_roles(query: ts.Query, language: str) -> dict[str, _Role]:
    roles: dict[str, _Role] = {}
    for index in range(query.capture_count):
        name = query.capture_name(index)
        if name == "reference":
            roles[name] = _Role("reference", "", -1)
            continue
        base, _, number = name.rpartition("__")
        pattern = int(number)
        group, _, detail = base.partition(".")
        if group == "definition":
            if detail not in KINDS:
                raise ValueError(f"{language} query: unknown definition kind in @{base}")
            roles[name] = _Role("definition", detail, pattern)
        elif base == "scope":
            roles[name] = _Role("definition", "", pattern)
        elif group == "import":
            if detail not in _IMPORT_FORMS:
                raise ValueError(f"{language} query: unknown import form in @{base}")
            roles[name] = _Role("import", detail, pattern)
        elif base in ("name", "body", "receiver"):
            roles[name] = _Role(base, "", pattern)
        else:
            roles[name] = _Role("", "", pattern)
    return roles


def _degenerate(root: ts.Node) -> bool:
    """Whether running queries over this tree could take quadratic time.

    Error recovery over a long run of unmatched tokens (``{{{{…``, ``{({(…``,
    ``int x = ****…``) yields an ERROR node with thousands of anonymous children, and
    tree-sitter 0.26's query cursor takes time quadratic in their number (100 kB of
    ``{`` takes ~30 s; restricting the byte range does not help, and the query
    progress callback crashes the binding). Such files are garbage to us: they get
    the text fallback. Only subtrees containing errors are walked (a 2 MB C header
    with errors all over takes ~40 ms; an error-free tree costs nothing).
    """
    if not root.has_error:
        return False
    pending = [root]
    while pending:
        node = pending.pop()
        if node.is_error and node.child_count - node.named_child_count > _MAX_ERROR_TOKENS:
            return True
        pending.extend(child for child in node.children if child.has_error)
    return False


# --------------------------------------------------------------------------- symbols


class _PatternNodes:
    """The captures of one structure pattern, gathered from a ``captures`` run."""

    __slots__ = ("bodies", "definitions", "names", "receivers")

    def __init__(self) -> None:
        self.definitions: list[tuple[str, ts.Node]] = []  # (kind, node)
        self.names: list[ts.Node] | None = None
        self.bodies: list[ts.Node] = []
        self.receivers: list[ts.Node] = []


def _symbols(source: bytes, language: str, queries: _Queries, tree: ts.Tree) -> FileSymbols:
    root = tree.root_node
    references: list[ts.Node] = []
    imports: list[tuple[int, int, str]] = []  # (start byte, index in statement, module)
    patterns: dict[int, _PatternNodes] = {}
    roles = queries.roles
    for capture, nodes in ts.QueryCursor(queries.query).captures(root).items():
        role, detail, pattern = roles[capture]
        if role == "reference":
            references = nodes
        elif role == "import":
            expand = _IMPORT_FORMS[detail]
            for node in nodes:
                start = node.start_byte
                imports.extend((start, i, module) for i, module in enumerate(expand(source, node)))
        elif role:
            group = patterns.get(pattern)
            if group is None:
                group = patterns[pattern] = _PatternNodes()
            if role == "definition":
                group.definitions.extend((detail, node) for node in nodes)
            elif role == "name":
                group.names = nodes
            elif role == "body":
                group.bodies = nodes
            else:
                group.receivers = nodes
    candidates: list[_Candidate] = []
    for pattern, group in patterns.items():
        if group.definitions:
            _pattern_candidates(source, pattern, group, candidates)
    definitions, name_starts = _definitions(source, language, candidates)
    imports.sort()
    return packed_symbols(
        language,
        definitions,
        _references(source, references, name_starts),
        tuple(dict.fromkeys(module for _, _, module in imports if module)),
        root.has_error,
    )


def _pattern_candidates(
    source: bytes, pattern: int, group: _PatternNodes, candidates: list[_Candidate]
) -> None:
    """Turn one pattern's captures into definition candidates.

    Each name, body and receiver node belongs to the innermost definition node of the
    same pattern that contains it: what ``matches`` would have grouped, since a
    pattern's parts lie inside its definition node, and a nested match of the same
    pattern (a function in a function) lies in the outer one's body, after its name.
    """
    # Definition nodes as (start, -end, kind, node), outermost first at equal starts.
    defs = sorted(
        {(n.start_byte, -n.end_byte, kind): n for kind, n in group.definitions}.items(),
        key=lambda item: item[0][:2],
    )
    # Per definition (by position in `defs`): its names, its body, its receivers.
    names: dict[int, list[ts.Node]] = {}
    bodies: dict[int, list[ts.Node]] = {}
    receivers: dict[int, list[ts.Node]] = {}
    if group.names is not None:
        for number, node in _owners(defs, group.names):
            names.setdefault(number, []).append(node)
    if group.bodies:
        for number, node in _owners(defs, group.bodies):
            bodies.setdefault(number, []).append(node)
    if group.receivers:
        for number, node in _owners(defs, group.receivers):
            receivers.setdefault(number, []).append(node)
    for number, ((start, negative_end, kind), node) in enumerate(defs):
        found = names.get(number)
        if found is None:
            # A pattern (or one branch of it) may leave the name to the node's `name`
            # field (cheaper to compile).
            field = node.child_by_field_name("name")
            if field is None:
                continue
            found = [field]
        parts = receivers.get(number)
        receiver = (
            tuple(part for item in parts for part in _receiver_parts(source, item)) if parts else ()
        )
        own_bodies = bodies.get(number)
        for name_node in found:
            body = _body_for(name_node, own_bodies) if own_bodies else None
            candidates.append(
                _Candidate(
                    pattern,
                    kind,
                    node,
                    name_node,
                    body,
                    receiver,
                    start,
                    -negative_end,
                    name_node.start_byte,
                    name_node.end_byte,
                )
            )


def _body_for(name: ts.Node, bodies: list[ts.Node]) -> ts.Node:
    """The body of the match ``name`` came from, among one definition node's bodies.

    Several matches may share a definition node with a name and a body each
    (``var a = function () {}, b = () => {}``): a match's body follows its name, so
    it is the first body starting after the name (else the last one before it, for
    ``typedef struct {...} Name;``). ``bodies`` is in document order.
    """
    if len(bodies) == 1:
        return bodies[0]
    end = name.end_byte
    for body in bodies:
        if body.start_byte >= end:
            return body
    return bodies[-1]


def _owners(
    defs: list[tuple[tuple[int, int, str], ts.Node]], parts: list[ts.Node]
) -> list[tuple[int, ts.Node]]:
    """``(index in defs, part)`` for each part inside a definition node: the innermost.

    A sweep in document order over a stack of the definitions started so far
    (``defs`` is sorted by start, outermost first). Syntax nodes nest or are disjoint,
    so a definition that ended before a part starts can hold no later part and is
    dropped; one that does not hold a part may still hold a later one (the part was
    a body starting where a nested definition starts), so it stays.
    """
    owned: list[tuple[int, ts.Node]] = []
    stack: list[tuple[int, int]] = []  # (end, index in defs)
    following = 0
    for part in sorted(parts, key=_start_byte):
        start, end = part.start_byte, part.end_byte
        while following < len(defs) and defs[following][0][0] <= start:
            stack.append((-defs[following][0][1], following))
            following += 1
        while stack and stack[-1][0] <= start and stack[-1][0] < end:
            stack.pop()
        for def_end, number in reversed(stack):
            if def_end >= end:
                owned.append((number, part))
                break
    return owned


def _start_byte(node: ts.Node) -> int:
    return node.start_byte


def _definitions(
    source: bytes, language: str, candidates: list[_Candidate]
) -> tuple[tuple[Definition, ...], set[int]]:
    """De-duplicate candidates, nest them into scopes and build the records."""
    caps_are_constants = language in _CAPS_ARE_CONSTANTS
    best: dict[tuple[int, int], _Candidate] = {}
    for candidate in candidates:
        key = (candidate.name_start, candidate.name_end)
        kept = best.get(key)
        if kept is None or candidate.pattern < kept.pattern:
            best[key] = candidate
    ordered = sorted(best.values(), key=lambda c: (c.start, -c.end, c.name_start))
    # Stack of (start, end, dotted path) of the definitions enclosing the current one.
    stack: list[tuple[int, int, tuple[str, ...]]] = []
    definitions: list[Definition] = []
    for candidate in ordered:
        start, end = candidate.start, candidate.end
        # Pop what ended before this node, and siblings sharing this exact node
        # (`var a, b int`: `b` is not inside `a`).
        while stack and (stack[-1][1] <= start or stack[-1][:2] == (start, end)):
            stack.pop()
        name = source[candidate.name_start : candidate.name_end].decode("utf-8", "replace")
        outer = stack[-1][2] if stack else ()
        path = (*outer, *candidate.receiver)
        stack.append((start, end, (*path, name)))
        if not candidate.kind or not name:
            continue
        kind = candidate.kind
        if kind == "variable" and caps_are_constants and _ALL_CAPS.fullmatch(name):
            kind = "constant"
        definitions.append(
            Definition(
                name=name,
                kind=kind,
                start_line=candidate.node.start_point.row + 1,
                end_line=_end_line(candidate.node),
                signature=_signature(source, candidate.node, candidate.body),
                scope=".".join(path),
            )
        )
    # Only definition names are left out of the references: a scope's name (the type
    # of an `impl`) is a use of that type.
    starts = {key[0] for key, c in best.items() if c.kind}
    return tuple(definitions), starts


def _references(source: bytes, nodes: list[ts.Node], exclude: set[int]) -> PackedReferences:
    # The hot path of the module: one iteration per identifier node (~300 per file;
    # each node attribute is a C call). Keep it to raw bytes and 0-based rows, decode
    # each distinct name once, and pack the result as two integer columns: building a
    # `Reference` per result (~0.8 us each) was a quarter of this function's cost, and
    # the parent process paid it again when decoding a worker's result; it is now left
    # to whoever reads them. Spelling the collection as map/zip/compress over whole
    # columns was measured slower than this loop. `exclude` holds the start bytes of
    # definition names (an identifier starting there is that name, or the head of a
    # dotted one).
    seen: set[tuple[int, bytes]] = set()
    add = seen.add
    for node in nodes:
        start = node.start_byte
        end = node.end_byte
        if end - start >= 2 and start not in exclude:
            add((node.start_point[0], source[start:end]))
    index: dict[bytes, int] = {}
    ids: list[int] = []
    rows: list[int] = []
    # `captures` returns its nodes in no particular order; sorting makes the result
    # deterministic (by line, then name: UTF-8 byte order is code point order).
    for row, raw in sorted(seen):
        number = index.get(raw)
        if number is None:
            if raw in _NOISE_BYTES:
                continue
            number = index[raw] = len(index)
        ids.append(number)
        rows.append(row + 1)
        if len(rows) >= MAX_REFERENCES:
            break
    names = [raw.decode("utf-8", "replace") for raw in index]
    return PackedReferences.from_columns(names, ids, rows)


def _text(source: bytes, node: ts.Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _end_line(node: ts.Node) -> int:
    row, column = node.end_point
    # A node that ends just after a newline ends on the line before it.
    if column == 0 and row > node.start_point.row:
        return row
    return row + 1


def _signature(source: bytes, node: ts.Node, body: ts.Node | None) -> str:
    start = node.start_byte
    if body is None:
        body = node.child_by_field_name("body")
    if body is not None and start < body.start_byte:
        stop = min(body.start_byte, start + _MAX_HEADER_BYTES)
        raw = source[start:stop]
        # Walking the header's nodes for comments is only worth it when the text
        # could hold one (any language's marker will do; a false hit costs a walk).
        if _COMMENT_MARKER.search(raw):
            pieces = []
            position = start
            for comment in _comments_before(node, stop):
                pieces.append(source[position : comment.start_byte])
                position = comment.end_byte
            pieces.append(source[position:stop])
            raw = b" ".join(pieces)
    else:
        raw = source[start : min(node.end_byte, start + _MAX_HEADER_BYTES)].split(b"\n", 1)[0]
    text = " ".join(raw.decode("utf-8", "replace").split())
    # Drop the opener of what follows: `struct S {` (a first line), `def f: Int =`
    # (Scala/Kotlin expression bodies).
    if text.endswith("{") or (text.endswith("=") and not text.endswith(_OPERATORS_ENDING_IN_EQ)):
        text = text[:-1].rstrip()
    if len(text) > MAX_SIGNATURE_CHARS:
        text = text[: MAX_SIGNATURE_CHARS - 1] + "…"
    return text


def _comments_before(node: ts.Node, stop: int) -> list[ts.Node]:
    """Comment nodes inside ``node`` that end before ``stop``, in source order."""
    found: list[ts.Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        for child in current.children:
            if child.start_byte >= stop:
                break
            if "comment" in child.type:
                if child.end_byte <= stop:
                    found.append(child)
            elif child.child_count:
                pending.append(child)
    found.sort(key=lambda comment: comment.start_byte)
    return found


def _receiver_parts(source: bytes, node: ts.Node) -> list[str]:
    text = _text(source, node)
    while True:
        stripped = _GENERIC_ARGS.sub("", text)
        if stripped == text:
            break
        text = stripped
    parts = (part.strip(" \t\r\n*&()") for part in _RECEIVER_SPLIT.split(text))
    return [part for part in parts if part]


# --------------------------------------------------------------------------- imports


def _plain_import(source: bytes, node: ts.Node) -> list[str]:
    text = _text(source, node).strip()
    # A JavaScript template literal with substitutions is not a module name. (Shell
    # expansions such as `"$(dirname "$0")/lib.sh"` are kept: the resolver knows them.)
    if text.startswith("`") and "${" in text:
        return []
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        text = text[1:-1]
    if "\n" in text:
        return []
    return [text] if text else []


def _relative_import(source: bytes, node: ts.Node) -> list[str]:
    return [m if m.startswith(".") else "./" + m for m in _plain_import(source, node)]


_SCALA_RENAMES = ("arrow_renamed_identifier", "renamed_identifier", "as_renamed_identifier")


def _php_dir_import(source: bytes, node: ts.Node) -> list[str]:
    """The literal of ``__DIR__ . '/x.php'``: relative to the including file."""
    return ["./" + m.lstrip("/") for m in _plain_import(source, node)]


def _python_import(source: bytes, node: ts.Node) -> list[str]:
    """``import a.b as c`` -> a.b; ``from a import b, c`` -> a, a.b, a.c."""
    if node.type == "import_statement":
        return [_python_dotted(source, child) for child in node.children_by_field_name("name")]
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    module = "".join(_text(source, module_node).split())
    found = [module]
    for child in node.children_by_field_name("name"):
        name = _python_dotted(source, child)
        found.append(module + name if module.endswith(".") else f"{module}.{name}")
    return found


def _python_dotted(source: bytes, node: ts.Node) -> str:
    if node.type == "aliased_import":
        inner = node.child_by_field_name("name")
        node = inner if inner is not None else node
    return "".join(_text(source, node).split())


def _rust_use(source: bytes, node: ts.Node) -> list[str]:
    """Expand a ``use`` tree: ``a::{b, c::d as e, f::*}`` -> a::b, a::c::d, a::f."""
    found: list[str] = []
    pending: list[tuple[str, ts.Node]] = [("", node)]
    while pending:
        prefix, current = pending.pop()
        kind = current.type
        if kind == "use_as_clause":
            path = current.child_by_field_name("path")
            if path is not None:
                pending.append((prefix, path))
        elif kind == "scoped_use_list":
            path = current.child_by_field_name("path")
            inner = _rust_join(prefix, _compact(source, path)) if path is not None else prefix
            items = current.child_by_field_name("list")
            if items is not None:
                pending.extend((inner, item) for item in reversed(items.named_children))
        elif kind == "use_list":
            pending.extend((prefix, item) for item in reversed(current.named_children))
        elif kind == "use_wildcard":
            path = current.named_children[0] if current.named_children else None
            found.append(_rust_join(prefix, _compact(source, path)) if path is not None else prefix)
        elif kind == "self":
            found.append(prefix)
        elif "comment" not in kind:
            found.append(_rust_join(prefix, _compact(source, current)))
    return [item for item in found if item]


def _rust_join(prefix: str, path: str) -> str:
    return f"{prefix}::{path}" if prefix and path else prefix or path


def _rust_mod(source: bytes, node: ts.Node) -> list[str]:
    name = node.child_by_field_name("name")
    return [f"mod {_text(source, name)}"] if name is not None else []


def _scala_import(source: bytes, node: ts.Node) -> list[str]:
    """``import a.b.{C, D => E}`` -> a.b.C, a.b.D; ``import a.b._`` -> a.b."""
    path: list[str] = []
    found: list[str] = []
    for child in node.named_children:
        kind = child.type
        if kind in ("identifier", "type_identifier", "stable_identifier"):
            path.append(_compact(source, child))
        elif kind in ("namespace_selectors", "import_selectors"):
            prefix = ".".join(path)
            for selector in child.named_children:
                if selector.type in ("identifier", "type_identifier"):
                    found.append(f"{prefix}.{_text(source, selector)}")
                elif selector.type in _SCALA_RENAMES:
                    original = selector.child_by_field_name("name")
                    if original is not None:
                        found.append(f"{prefix}.{_text(source, original)}")
                elif selector.type in ("namespace_wildcard", "wildcard"):
                    found.append(prefix)
        elif kind in ("namespace_wildcard", "wildcard"):
            found.append(".".join(path))
        elif kind in _SCALA_RENAMES:
            original = child.child_by_field_name("name")
            if original is not None:
                path.append(_text(source, original))
    if not found and path:
        found.append(".".join(path))
    return found


def _php_use(source: bytes, node: ts.Node) -> list[str]:
    """``use A\\B\\C;`` -> A\\B\\C; ``use A\\{B, C as D};`` -> A\\B, A\\C."""
    found: list[str] = []
    prefix = ""
    for child in node.named_children:
        if child.type in ("namespace_name", "qualified_name", "name"):
            prefix = _compact(source, child).strip("\\")
        elif child.type == "namespace_use_clause":
            found.append(_php_clause(source, child, ""))
        elif child.type == "namespace_use_group":
            for clause in child.named_children:
                if clause.type in ("namespace_use_clause", "namespace_use_group_clause"):
                    found.append(_php_clause(source, clause, prefix))
    return [item for item in found if item]


def _php_clause(source: bytes, clause: ts.Node, prefix: str) -> str:
    name = ""
    for child in clause.named_children:
        if child.type in ("qualified_name", "name", "namespace_name"):
            name = _compact(source, child).strip("\\")
            break
    return f"{prefix}\\{name}" if prefix and name else prefix or name


def _csharp_using(source: bytes, node: ts.Node) -> list[str]:
    """``using System.Text;`` -> System.Text; ``using X = A.B;`` -> A.B."""
    names = [c for c in node.named_children if c.type in ("qualified_name", "identifier")]
    if not names:
        return []
    # In an alias (`using X = A.B;`) the first name is the alias.
    target = names[-1]
    return [_compact(source, target)]


def _compact(source: bytes, node: ts.Node | None) -> str:
    return "".join(_text(source, node).split()) if node is not None else ""


_IMPORT_FORMS: dict[str, Callable[[bytes, ts.Node], list[str]]] = {
    "": _plain_import,
    "relative": _relative_import,
    "python": _python_import,
    "rust": _rust_use,
    "rust_mod": _rust_mod,
    "scala": _scala_import,
    "php_use": _php_use,
    "php_dir": _php_dir_import,
    "csharp": _csharp_using,
}


# ----------------------------------------------------------------------- plain text


def _text_references(source: bytes, limit: int = MAX_TEXT_REFERENCES) -> PackedReferences:
    """Identifier-like words with their line numbers, one per (word, line), in order."""
    found: dict[tuple[str, int], None] = {}
    text = source.decode("utf-8", "replace")
    for line_number, line in enumerate(text.split("\n"), start=1):
        for word in _TEXT_WORD.findall(line):
            found[(word, line_number)] = None
            if len(found) >= limit:
                break
        else:
            continue
        break
    index: dict[str, int] = {}
    ids = [index.setdefault(word, len(index)) for word, _ in found]
    return PackedReferences.from_columns(list(index), ids, [line for _, line in found])


def _fallback(source: bytes, language: str) -> FileSymbols:
    """A source we could not parse: its words stand in for the references."""
    return packed_symbols(language, (), _text_references(source), has_errors=True)


# --------------------------------------------------------------------- module level


# The one piece of module-level state behind `extract`. An Extractor holds nothing but
# its thread-local caches (each thread sees only its own parsers and queries, so no
# state is shared between threads), and creating it loads no grammar.
_DEFAULT_EXTRACTOR = Extractor()


def extract(source: bytes, language: str | None) -> FileSymbols:
    """Extract definitions, references and imports (see the module docstring).

    Parameters
    ----------
    source:
        The file's bytes.
    language:
        A `languages.SUPPORTED_LANGUAGES` id, or ``None`` for plain text.
    """
    return _DEFAULT_EXTRACTOR.extract(source, language)
