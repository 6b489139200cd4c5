"""The context engine: rank the workspace for one request and pack it under a token budget.

Contract
--------
``ContextEngine(index).pack(ContextRequest(...)) -> Manifest`` (the public contract in
``docs/context.md`` and the engine contract note):

- **Never over budget.** Every span's ``tokens`` is its ``TokenCounter`` count with the
  safety margin applied (``ceil(count * margin)``, the margin read once per pack);
  ``Manifest.tokens`` is their sum and is ``<= request.budget`` for every budget,
  ``0`` included.
- **Prompt order.** ``items`` are in the order they are to be sent: the *repository
  section* (``items[:stable_items]``: whole files and outlines, sorted by path), then
  the *focus section* (cursor-, selection- or question-specific snippets and the files
  this request singles out, by ascending score octave, then path), then the current
  file, always last when ``request.path`` is set: ``"full"``, or a ``"snippet"`` window
  around the cursor/selection when the whole file does not fit (cut to the characters
  that fit when not even the cursor line does).
- **Graceful degradation.** When the whole indexed workspace fits, every file is sent
  whole. Otherwise a file is sent whole when it fits its section's allowance, else as an
  outline (signatures only, see :mod:`outline` for the text format), else as a
  top-level-only outline; a definition too big for the focus section becomes its lines
  through its constructor (a class), its outline, or its head. A final *fill pass*
  spends what the sections leave (more focus units, then whole files, then outlines), so
  that manifests use nearly all of the budget.
- **Prompt caching.** For ``task="complete"`` the repository section depends only on
  the budget, the current file's path and imports, the open/recent buffers and the
  (quantised) graph ranks, never on the cursor position or on the text being typed;
  its share of the budget is fixed. So while the user types, everything before the
  focus section stays byte-identical unless the workspace itself changes materially.
  The focus section is keyed on quantised inputs (the enclosing definition as the
  cursor region, the line being typed left out of the lexical query, the identifier
  being typed left out of the definition lookup, quantised unit scores).
- **Secrets.** Every text is passed through :func:`redact.redact` before it enters a
  span; token counts are of the redacted text. Files the policy denies are not in the
  index, and a denied current file raises :class:`ContextDenied`.
- **Overlays.** The index's overlays (unsaved buffers) win over disk;
  ``request.current_text`` wins over both for the current file.
- **Determinism.** The same index state and request give a byte-identical manifest:
  every ordering breaks ties by path and line, and nothing depends on timing or on
  earlier requests (caches only memoise pure functions of content). Caveat: the
  def/ref graph keeps its global rank incrementally, so after a different history of
  edits its numbers may differ within its push tolerance (quantised scores make that
  rarely visible); a fresh engine on the same index always agrees with itself.
- **Speed.** Derived structures (import resolver and graph, symbol table, def/ref
  graph, BM25 index, per-file redacted text, token counts and outlines, re-export
  answers) are built by :meth:`ContextEngine.warm` (or the first pack) and updated
  incrementally when ``index.version`` changes: only files whose content hash changed
  are re-derived, and of an edited file only its changed BM25 chunks. A completion on a
  live text the index does not hold never parses it: it reads the parse of the text
  with the cursor line blanked, kept per file (one parse per edited line).
- **Threads.** :meth:`ContextEngine.pack` and :meth:`ContextEngine.warm` may be called
  from any thread; they are serialised by one lock (the derived structures are not
  thread-safe).

The scoring formula (signals and their fusion) is in :mod:`rank`'s docstring.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import stat
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from minimax_lsp.indexer import parse
from minimax_lsp.indexer.graph import RepoGraph
from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.languages import language_for_path
from minimax_lsp.indexer.lexical import ChunkTerms, LexicalIndex, chunk_file, tokenize
from minimax_lsp.indexer.outline import (
    SourceText,
    constructor,
    enclosing_definition,
    header_range,
    outline_definitions,
    render_outline,
)
from minimax_lsp.indexer.rank import (
    STABLE_WEIGHTS,
    STAR,
    TASK_WEIGHTS,
    TASKS,
    UNIT_FILE_SHARE,
    ImportBinding,
    Task,
    Weights,
    code_words,
    dominant_signal,
    focus_region,
    fuse,
    identifier_chains,
    import_bindings,
    imported_name_value,
    is_test_path,
    match_weight,
    name_information,
    normalised,
    personalization,
    proximity_weight,
    quantise,
    recency_scores,
    text_identifiers,
)
from minimax_lsp.indexer.records import TEXT_LANGUAGE, Definition, FileEntry, FileSymbols
from minimax_lsp.indexer.redact import redact
from minimax_lsp.indexer.resolve import (
    ImportGraph,
    ImportResolver,
    Locality,
    SymbolTable,
    affects_resolution,
)
from minimax_lsp.indexer.scan import SkipReason
from minimax_lsp.indexer.tokens import TokenCounter

__all__ = [
    "ContextDenied",
    "ContextEngine",
    "ContextRequest",
    "Manifest",
    "Mode",
    "Span",
    "Task",
]

logger = logging.getLogger(__name__)

Mode = Literal["full", "outline", "snippet"]


# --------------------------------------------------------------------------- tuning


@dataclass(frozen=True, slots=True)
class _Shares:
    """How a task splits its budget (fractions of ``request.budget``)."""

    #: Most the current file may take (at least its cursor line / selection, if any fits).
    current: float
    #: complete: the repository section's fixed share (stable across keystrokes).
    stable: float
    #: explain/refactor/chat: the focus section's cap (packed first; the rest is the
    #: repository section's). Completion's focus section takes whatever is left.
    focus: float
    #: Most one whole file may take of the repository section (else it is outlined).
    full_file: float


_SHARES: Final[Mapping[Task, _Shares]] = {
    "complete": _Shares(current=0.35, stable=0.30, focus=1.0, full_file=0.25),
    "explain": _Shares(current=0.35, stable=0.0, focus=0.30, full_file=0.5),
    "refactor": _Shares(current=0.35, stable=0.0, focus=0.30, full_file=0.5),
    "chat": _Shares(current=0.25, stable=0.0, focus=0.30, full_file=0.5),
}
#: Lines per token-counting block (see _Blocks).
_BLOCK_LINES: Final = 32
#: The current file's window starts on a multiple of this many lines (plus one).
_WINDOW_QUANTUM: Final = 16
#: A whole current file reserves its size rounded up to budget / _RESERVE_STEPS tokens
#: (at least _RESERVE_STEP_MIN), so that the other sections do not move as it grows.
_RESERVE_STEPS: Final = 32
_RESERVE_STEP_MIN: Final = 64
#: Share of the added lines placed above the cursor when the current file is windowed.
_BEFORE_SHARE: Final[Mapping[Task, float]] = {
    "complete": 0.75,
    "explain": 0.5,
    "refactor": 0.5,
    "chat": 0.5,
}
#: Candidate files taken from each ranked signal (graph, global).
_RANK_TOP: Final = 300
#: Symbol-table matches considered per identifier.
_LOOKUP_LIMIT: Final = 8
#: BM25 hits considered (12, plus one per 2,000 tokens of budget, at most 48); hits below
#: _LEXICAL_FLOOR of the best are dropped.
_LEXICAL_HITS: Final = 12
_LEXICAL_HITS_MAX: Final = 48
_TOKENS_PER_EXTRA_HIT: Final = 2_000
_LEXICAL_FLOOR: Final = 0.25
#: Postings budget of a BM25 search (a safety cap: the query terms are chosen first).
_CHAT_POSTINGS: Final = 100_000
#: The rarest this many terms of a query are searched (chat: _CHAT_QUERY_TERMS), among
#: those in at most _QUERY_DF_FRACTION of the chunks.
_QUERY_TERMS: Final = 24
_CHAT_QUERY_TERMS: Final = 64
_QUERY_DF_FRACTION: Final = 0.25
#: Personalised PageRank push precision and work cap outside chat (a chat question
#: uses the graph module's defaults, ~5x the work).
_PUSH_EPSILON: Final = 3e-4
_PUSH_MAX_WORK: Final = 10_000
#: Caller units kept, and reference sites read per (caller file, name).
_CALLER_UNITS: Final = 24
_CALLER_SITES: Final = 3
#: Chunks scanned for uses of a selected name, and the weight of a use in a file that
#: does not import the current file.
_CALLER_SCAN_HITS: Final = 200
_UNLIKELY_CALLER: Final = 0.4
#: A caller's enclosing function longer than this is replaced by a window around the call.
_CALLER_MAX_LINES: Final = 80
_CALLER_CONTEXT: Final = 6
#: Definition units whose mass is below this share of the best are dropped.
_UNIT_FLOOR: Final = 0.02
#: Focus units whose own (quantised) score is below this share of the best one are not
#: sent: the budget is better spent on the repository section (or the current file).
_FOCUS_FLOOR: Final = 0.1
#: A focus unit may take at most this share of the focus budget before it is degraded.
_UNIT_SHARE: Final = 0.34
#: A file scoring little may take at least this share of the whole-file allowance.
_MIN_RELEVANCE_SHARE: Final = 0.1
#: BM25 hits in plain-text files (docs, notes) count this much when the current file
#: is code and the task is not chat (code context first; a question may be about docs).
_TEXT_HIT_FACTOR: Final = 0.5
#: The fill pass (what the sections leave) sends a file whole only up to this share of
#: the budget, and considers at most _FILL_FILES files.
_FILL_FILE_SHARE: Final = 0.25
_FILL_FILES: Final = 400
#: Files moved from the repository section to the tail for explain/refactor/chat.
_PROMOTE_FILES: Final = 3
#: The repository section stops after this many consecutive candidates that did not fit.
_MAX_MISSES: Final = 64
#: Below this many tokens left, a section stops looking for more.
_MIN_SPAN_TOKENS: Final = 8
#: Upper bound of bytes per token used to skip the "everything fits" check cheaply.
_MAX_BYTES_PER_TOKEN: Final = 12
#: A batch changing more files than this rebuilds the import graph instead of patching.
_REBUILD_IMPORTS_FILES: Final = 64
#: Attribute segments read after an imported module's name (``m.a.b.f``).
_MAX_MODULE_DEPTH: Final = 4
#: Re-export hops followed from an imported module to the defining one.
_EXPORT_HOPS: Final = 4
#: Memo sizes (entries): live current texts, their cursor-line-blanked parses and their
#: imported names (one per file each), and snippet counts per file.
_TEXT_MEMO: Final = 8
_PARSE_MEMO: Final = 32
_CHUNK_MEMO: Final = 8
_SNIPPET_MEMO: Final = 64

_SECONDARY_DEFINITION_KINDS: Final = frozenset({"variable", "field"})
#: A definition found by name alone (not the current file, not imported by it) counts
#: this much when it is in a test file and the current file is not, and this much when
#: it is a variable or field of fewer than _TINY_DEFINITION_LINES lines.
_TEST_DEFINITION_FACTOR: Final = 0.25
_TINY_DEFINITION_FACTOR: Final = 0.5
_TINY_DEFINITION_LINES: Final = 3
_UNRELATED_LOCALITIES: Final = frozenset({Locality.SAME_DIRECTORY, Locality.WORKSPACE})
_CALLER_KINDS: Final = frozenset({"function", "method"})
_CONTAINER_KINDS: Final = frozenset({"class", "struct", "interface", "enum", "module", "type"})


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ContextRequest:
    """One request for context (see the module docstring and ``docs/context.md``).

    Raises
    ------
    ValueError
        On a negative budget, a line below 1, a negative column, an unknown task or an
        inverted selection.
    """

    path: str | None
    line: int = 1
    column: int = 0
    task: Task = "complete"
    selection: tuple[int, int] | None = None
    open_paths: tuple[str, ...] = ()
    recent_paths: tuple[str, ...] = ()
    query: str = ""
    budget: int = 8000
    current_text: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        if not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError(f"budget must be a non-negative integer, got {self.budget!r}")
        if self.line < 1:
            raise ValueError(f"line is 1-based, got {self.line}")
        if self.column < 0:
            raise ValueError(f"column must be >= 0, got {self.column}")
        if self.selection is not None:
            a, b = self.selection
            if a < 1 or b < a:
                raise ValueError(f"selection must be 1-based with start <= end, got {a}-{b}")


@dataclass(frozen=True, slots=True)
class Span:
    """One piece of the prompt: lines of a file, whole, outlined or cut."""

    path: str
    start_line: int
    end_line: int
    mode: Mode
    tokens: int
    reason: str
    text: str
    score: float = 0.0

    def to_json(self, *, include_text: bool = False) -> dict[str, object]:
        """``{"path","start_line","end_line","mode","tokens","reason","score"}`` (+ text)."""
        out: dict[str, object] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "mode": self.mode,
            "tokens": self.tokens,
            "reason": self.reason,
            "score": round(self.score, 6),
        }
        if include_text:
            out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    """What is sent for one request, in prompt order (see the module docstring)."""

    task: Task
    budget: int
    tokens: int
    items: tuple[Span, ...]
    index_version: int
    #: How many leading items form the repository section. For completion they do not
    #: move while the user types, so a prompt-cache breakpoint belongs after them.
    stable_items: int = 0

    def to_json(self, *, include_text: bool = False) -> dict[str, object]:
        """``{"task","budget","tokens","stable_items","items":[...]}`` (texts on request)."""
        return {
            "task": self.task,
            "budget": self.budget,
            "tokens": self.tokens,
            "stable_items": self.stable_items,
            "items": [span.to_json(include_text=include_text) for span in self.items],
        }


class ContextDenied(Exception):
    """The current file may not be sent (ignored, secret, vendored, outside the root...).

    ``reason`` is a :class:`~minimax_lsp.indexer.scan.SkipReason` value.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: context denied ({reason})")
        self.path = path
        self.reason = reason


# --------------------------------------------------------------------------- per-file data


def _digest(text: str) -> str:
    """The index's content hash of ``text`` (BLAKE2b-128 of its UTF-8 bytes)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class _Blocks:
    """Token counts of a text by aligned blocks of :data:`_BLOCK_LINES` lines.

    Counting a text block by block (through the counter's per-text cache) makes an
    edit cost one block's recount, and any line range costs at most two counts (its
    partial first and last blocks) plus additions. Block boundaries are line breaks,
    where BPE merges never cross in practice, so a sum of parts is the count of the
    whole, or a token above it; the safety margin covers the rest.
    """

    __slots__ = ("_chars", "_counts", "_prefix", "counter", "source")

    def __init__(self, source: SourceText, counter: TokenCounter) -> None:
        self.source = source
        self.counter = counter
        n_blocks = -(-source.line_count // _BLOCK_LINES)
        self._counts: list[int] = [-1] * n_blocks
        self._chars: list[int] = [-1] * n_blocks
        self._prefix: list[float] | None = None

    def block(self, k: int) -> int:
        """Raw count of block ``k`` (lines ``k*B+1 .. (k+1)*B``)."""
        count = self._counts[k]
        if count < 0:
            count = self.counter.count(
                self.source.lines(k * _BLOCK_LINES + 1, (k + 1) * _BLOCK_LINES)
            )
            self._counts[k] = count
        return count

    def total(self) -> int:
        """Raw count of the whole text."""
        return sum(self.block(k) for k in range(len(self._counts)))

    def range(self, start: int, end: int) -> int:
        """Raw count of lines ``start..end`` (clamped to the text)."""
        start, end = self.source.clamp(start, end)
        if end < start:
            return 0
        first, last = (start - 1) // _BLOCK_LINES, (end - 1) // _BLOCK_LINES
        if last - first <= 1:
            if start == first * _BLOCK_LINES + 1 and end == self._block_end(last):
                return sum(self.block(k) for k in range(first, last + 1))
            return self.counter.count(self.source.lines(start, end))
        if start == first * _BLOCK_LINES + 1:
            head = self.block(first)
        else:
            head = self.counter.count(self.source.lines(start, self._block_end(first)))
        if end == self._block_end(last):
            tail = self.block(last)
        else:
            tail = self.counter.count(self.source.lines(last * _BLOCK_LINES + 1, end))
        return head + tail + sum(self.block(k) for k in range(first + 1, last))

    def _block_end(self, k: int) -> int:
        return min((k + 1) * _BLOCK_LINES, self.source.line_count)

    def _block_chars(self, k: int) -> int:
        chars = self._chars[k]
        if chars < 0:
            chars = self._chars[k] = self.source.char_count(
                k * _BLOCK_LINES + 1, self._block_end(k)
            )
        return chars

    def estimate(self, start: int, end: int) -> float:
        """Estimated raw count of lines ``start..end``: whole blocks exactly, the partial
        first and last blocks by their share of the block's characters. The first call
        counts every block (the whole-file count does that anyway); then it is O(1)."""
        start, end = self.source.clamp(start, end)
        if end < start:
            return 0.0
        prefix = self._prefix
        if prefix is None:
            prefix = [0.0]
            for k in range(len(self._counts)):
                prefix.append(prefix[-1] + self.block(k))
            self._prefix = prefix
        first, last = (start - 1) // _BLOCK_LINES, (end - 1) // _BLOCK_LINES
        total = prefix[last + 1] - prefix[first]
        head = start - (first * _BLOCK_LINES + 1)
        if head:
            total -= self._fraction(first, first * _BLOCK_LINES + 1, start - 1)
        if end < self._block_end(last):
            total -= self._fraction(last, end + 1, self._block_end(last))
        return max(0.0, total)

    def _fraction(self, k: int, lo: int, hi: int) -> float:
        """Block ``k``'s count times the share of its characters in lines ``lo..hi``."""
        chars = self._block_chars(k)
        if chars <= 0:
            return 0.0
        return self.block(k) * self.source.char_count(lo, hi) / chars

    def line_estimate(self, line: int) -> float:
        """Estimated raw count of one line: its block's count spread by characters."""
        k = (line - 1) // _BLOCK_LINES
        chars = self._block_chars(k)
        if chars <= 0:
            return 0.0
        return self.block(k) * self.source.line_length(line) / chars


class _FileData:
    """Derived data of one indexed file at one content hash (texts are redacted)."""

    __slots__ = (
        "_bindings",
        "_outline_tokens",
        "_outlines",
        "_snippets",
        "_tokens",
        "blocks",
        "entry",
        "raw_digest",
        "source",
    )

    def __init__(self, entry: FileEntry, raw_text: str, counter: TokenCounter) -> None:
        self.entry = entry
        #: Digest of the text as read (before redaction), to recognise it in a request.
        self.raw_digest = _digest(raw_text)
        self.source = SourceText(redact(raw_text).text)
        self.blocks = _Blocks(self.source, counter)
        self._tokens: int | None = None
        self._outlines: dict[int | None, str] = {}
        self._outline_tokens: dict[int | None, int] = {}
        self._snippets: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._bindings: tuple[ImportBinding, ...] | None = None

    def bindings(self) -> tuple[ImportBinding, ...]:
        """The names this file's import statements bind (read from its text once)."""
        if self._bindings is None:
            self._bindings = import_bindings(self.source.text, self.entry.symbols.language)
        return self._bindings

    def full_tokens(self) -> int:
        """Raw token count of the whole (redacted) text."""
        if self._tokens is None:
            self._tokens = self.blocks.total()
        return self._tokens

    def outline(self, depth: int | None) -> str:
        """Outline text (``depth=None``: every non-local definition; ``0``: top level)."""
        text = self._outlines.get(depth)
        if text is None:
            symbols = self.entry.symbols
            text = ""
            if symbols.language != TEXT_LANGUAGE and symbols.definitions:
                shown = outline_definitions(symbols.definitions, max_depth=depth)
                text = render_outline(self.source, shown)
            self._outlines[depth] = text
        return text

    def outline_tokens(self, depth: int | None, counter: TokenCounter) -> int:
        """Raw token count of :meth:`outline`."""
        tokens = self._outline_tokens.get(depth)
        if tokens is None:
            tokens = self._outline_tokens[depth] = counter.count(self.outline(depth))
        return tokens

    def snippet_tokens(self, start: int, end: int) -> int:
        """Raw token count of lines ``start..end``."""
        key = (start, end)
        cached = self._snippets.get(key)
        if cached is None:
            cached = self.blocks.range(start, end)
            self._snippets[key] = cached
            if len(self._snippets) > _SNIPPET_MEMO:
                self._snippets.popitem(last=False)
        return cached


# --------------------------------------------------------------------------- workspace


class _Workspace:
    """Structures derived from the index, kept in step with ``index.version``."""

    def __init__(self, index: Index, counter: TokenCounter) -> None:
        self.index = index
        self.counter = counter
        self.version = -1
        self.entries: dict[str, FileEntry] = {}
        self.files: dict[str, _FileData] = {}
        self.resolver: ImportResolver | None = None
        self.imports = ImportGraph({}, {})
        self.symbols = SymbolTable({})
        self.graph = RepoGraph()
        self.lexical = LexicalIndex()
        self.size_total = 0
        self._definer_counts: dict[str, int] = {}
        # (path, name) -> the definitions ``name`` means when imported from ``path``.
        self._exports: dict[tuple[str, str], tuple[tuple[str, Definition], ...]] = {}
        # path -> chunk text -> terms, for the files edited last (see _index_text).
        self._chunk_memo: OrderedDict[str, dict[str, ChunkTerms]] = OrderedDict()
        # path -> the memo entries whose answer read that file (dropped when it changes).
        self._export_deps: dict[str, set[tuple[str, str]]] = {}
        #: Moves whenever an export answer may have changed (see :meth:`export`).
        self.export_generation = 0
        self._global_top: tuple[int, list[tuple[str, float]]] = (-1, [])

    # -- sync -------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring every structure up to the index's current version."""
        version = self.index.version
        if version == self.version and self.resolver is not None:
            return
        # Version first, entries second: a change in between is seen again next time.
        entries = {e.path: e for e in self.index.entries()}
        if self.resolver is None:
            self._build(entries)
        else:
            self._apply(entries)
        self._definer_counts.clear()
        self.size_total = sum(e.size for e in entries.values())
        self.version = version

    def _build(self, entries: dict[str, FileEntry]) -> None:
        self.entries = entries
        self.files = {}
        self._forget_exports(None)
        symbols = {p: e.symbols for p, e in entries.items()}
        self.resolver = ImportResolver(sorted(entries), self.index.read_text)
        self.imports = ImportGraph.build(symbols, self.resolver)
        self.symbols = SymbolTable(symbols)
        self.graph = RepoGraph.build(symbols, self.imports.imports)
        self.lexical = LexicalIndex()
        for path in sorted(entries):
            self._index_text(path)

    def _apply(self, entries: dict[str, FileEntry]) -> None:
        old = self.entries
        changed = sorted(
            p
            for p, e in entries.items()
            if (o := old.get(p)) is None or o.content_hash != e.content_hash
        )
        removed = sorted(old.keys() - entries.keys())
        if not changed and not removed:
            self.entries = entries
            return
        self.entries = entries
        structural = bool(removed) or any(p not in old for p in changed)
        structural = structural or any(affects_resolution(p) for p in changed)
        self._forget_exports(None if structural else [*changed, *removed])
        for path in removed:
            self._chunk_memo.pop(path, None)
            self.files.pop(path, None)
            self.symbols.update(path, None)
            self.graph.remove_file(path)
            self.lexical.remove_file(path)
        for path in changed:
            self.files.pop(path, None)
            before = old.get(path)
            definitions = entries[path].symbols.definitions
            # Typing inside a body rarely moves a definition: then the table stands.
            if before is None or before.symbols.definitions != definitions:
                self.symbols.update(path, entries[path].symbols)
        regraph = self._update_imports(changed, structural)
        for path in sorted(regraph):
            entry = entries.get(path)
            if entry is not None:
                self.graph.update_file(path, entry.symbols, self.imports.imports_of(path))
        for path in changed:
            self._index_text(path, edited=True)

    def _update_imports(self, changed: list[str], structural: bool) -> set[str]:
        """Re-resolve imports; return the files whose graph rows need an update."""
        assert self.resolver is not None
        if structural or len(changed) > _REBUILD_IMPORTS_FILES:
            if structural:
                self.resolver = ImportResolver(sorted(self.entries), self.index.read_text)
            before = self.imports
            symbols = {p: e.symbols for p, e in self.entries.items()}
            self.imports = ImportGraph.build(symbols, self.resolver)
            moved = {p for p in self.entries if before.imports_of(p) != self.imports.imports_of(p)}
            return moved | set(changed)
        for path in changed:
            self.imports = self.imports.with_file(path, self.entries[path].symbols, self.resolver)
        return set(changed)

    def _index_text(self, path: str, *, edited: bool = False) -> None:
        """(Re-)index ``path``'s chunks for BM25.

        An ``edited`` file keeps the terms of its chunks for its next edit (for the
        :data:`_CHUNK_MEMO` most recently edited files): a keystroke then re-tokenizes
        the chunk it changed, not the whole file.
        """
        data = self.data(path)
        if data is None:
            self.lexical.remove_file(path)
            self._chunk_memo.pop(path, None)
            return
        cache = None
        if edited:
            cache = self._chunk_memo.pop(path, None) or {}
            self._chunk_memo[path] = cache
            if len(self._chunk_memo) > _CHUNK_MEMO:
                self._chunk_memo.popitem(last=False)
        chunks = chunk_file(path, data.source.text, data.entry.symbols, cache=cache)
        self.lexical.add_file(path, chunks)

    def global_top(self) -> list[tuple[str, float]]:
        """The best :data:`_RANK_TOP` + 1 files by global rank (cached per graph version)."""
        version, top = self._global_top
        if version != self.graph.version:
            top = self.graph.global_rank().top(_RANK_TOP + 1) if len(self.graph) else []
            self._global_top = (self.graph.version, top)
        return top

    def definer_count(self, name: str) -> int:
        """Number of files defining ``name`` (memoised until the next change)."""
        count = self._definer_counts.get(name)
        if count is None:
            entries = self.symbols.definitions(name)
            count = len({path for path, _ in entries}) if len(entries) > 1 else len(entries)
            self._definer_counts[name] = count
        return count

    # -- imported names -------------------------------------------------------------

    def binding_target(
        self, importer: str, language: str, binding: ImportBinding
    ) -> tuple[str, str | None] | None:
        """``(file, name)`` a binding of ``importer`` refers to: ``name`` in that file, or
        the file itself when ``name`` is ``None`` (a module binding). ``None`` when the
        module is not in the workspace."""
        resolver = self.resolver
        if resolver is None:
            return None
        name = binding.name
        if name is not None and name != STAR and language == "python":
            # ``from pkg import mod`` binds a module when ``pkg.mod`` is one.
            sub = _join_module(binding.module, name)
            found = resolver.resolve(importer, language, sub)
            if found:
                return found[0], None
        found = resolver.resolve(importer, language, binding.module)
        if not found:
            return None
        return found[0], name

    def export(self, path: str, name: str) -> tuple[tuple[str, Definition], ...]:
        """The definitions ``name`` means when imported from ``path`` (memoised).

        Follows re-exports: ``from .core import Command`` or ``from .fields import *`` in
        a package's ``__init__.py`` (or any module) lead on to the defining module, at
        most :data:`_EXPORT_HOPS` hops. A class or function defined in ``path`` itself
        wins, then an explicit re-export, then another definition there (a variable),
        then the star imports in order. An answer depends only on the files it read and
        on the resolver: it is forgotten when one of them changes.
        """
        key = (path, name)
        found = self._exports.get(key)
        if found is None:
            visited: set[str] = set()
            found = self._export(path, name, _EXPORT_HOPS, {path}, visited)
            self._exports[key] = found
            for read in visited:
                self._export_deps.setdefault(read, set()).add(key)
        return found

    def _forget_exports(self, paths: Iterable[str] | None) -> None:
        """Drop the export answers that read ``paths`` (``None``: all of them)."""
        if paths is None:
            self._exports.clear()
            self._export_deps.clear()
            self.export_generation += 1
            return
        dropped = False
        for path in paths:
            for key in self._export_deps.pop(path, ()):
                dropped = self._exports.pop(key, None) is not None or dropped
        if dropped:
            self.export_generation += 1

    def _export(
        self, path: str, name: str, hops: int, seen: set[str], visited: set[str]
    ) -> tuple[tuple[str, Definition], ...]:
        visited.add(path)
        own = [(p, d) for p, d in self.symbols.definitions(name) if p == path and not d.scope]
        primary = [(p, d) for p, d in own if d.kind not in _SECONDARY_DEFINITION_KINDS]
        if primary:
            return tuple(primary)
        entry = self.entries.get(path)
        data = self.data(path) if hops > 0 and entry is not None else None
        if data is None:
            return tuple(own)
        language = entry.symbols.language if entry is not None else ""
        stars: list[str] = []
        for binding in data.bindings():
            if binding.name == STAR:
                target = self.binding_target(path, language, binding)
                if target is not None and target[0] not in seen:
                    stars.append(target[0])
                continue
            if binding.local != name:
                continue
            target = self.binding_target(path, language, binding)
            if target is None or target[0] in seen or target[1] is None:
                continue
            found = self._export(target[0], target[1], hops - 1, seen | {target[0]}, visited)
            if found:
                return found
        if own:
            return tuple(own)
        if language == "python" and name.startswith("_"):
            return ()  # ``import *`` does not bring private names
        for star in stars:
            found = self._export(star, name, hops - 1, seen | {star}, visited)
            if found:
                return found
        return ()

    # -- per-file data ----------------------------------------------------------------

    def data(self, path: str) -> _FileData | None:
        """Redacted text and cached counts of an indexed file (None if unreadable)."""
        data = self.files.get(path)
        entry = self.entries.get(path)
        if entry is None:
            return None
        if data is not None and data.entry.content_hash == entry.content_hash:
            return data
        text = self.index.read_text(path)
        if text is None:
            return None
        data = _FileData(entry, text, self.counter)
        self.files[path] = data
        return data

    def warm_files(self) -> None:
        """Count tokens and render outlines of every file now (they are cached)."""
        for path in sorted(self.entries):
            data = self.data(path)
            if data is not None:
                data.full_tokens()
                data.outline_tokens(None, self.counter)


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True, slots=True)
class _Current:
    """The current file as this request sees it."""

    path: str
    source: SourceText
    blocks: _Blocks
    symbols: FileSymbols
    line: int
    column: int
    selection: tuple[int, int] | None
    imports: frozenset[str]
    #: The symbols the ranking reads: ``symbols``, or, for completion in a text that
    #: does not parse, those of the text with the cursor line blanked (see
    #: ``ContextEngine._stable_symbols``).
    stable_symbols: FileSymbols
    #: Names the current file defines (per ``stable_symbols``).
    local_names: frozenset[str]
    #: What the names the current file imports mean, and where it uses them.
    imported: tuple[_ImportedName, ...] = ()
    #: ``imports`` plus the files defining the names it imports by name (re-exports
    #: followed): the files the current file really depends on.
    import_closure: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _ImportedName:
    """A name the current file imports: its definitions and where the file uses it."""

    #: As written in the current file: ``CharField``, ``models.CharField``.
    name: str
    #: What it means (re-exports followed); never empty.
    definitions: tuple[tuple[str, Definition], ...]
    #: Lines using it, ascending (import statements and the line being typed left out).
    uses: tuple[int, ...]
    #: Bound by name by an import statement (``from m import X``), not an attribute of an
    #: imported module (``m.X``).
    explicit: bool


@dataclass(slots=True)
class _Unit:
    """A focus candidate: lines of a file proposed by one signal."""

    path: str
    start: int
    end: int
    signal: str
    value: float
    reason: str
    #: The definition it stands for (lets a unit too big to fit become its outline).
    definition: Definition | None = None
    #: The line that matters most (a call site): a unit too big to fit keeps the lines
    #: around it rather than its head.
    focus_line: int | None = None
    score: float = 0.0


@dataclass(slots=True)
class _Item:
    """A chosen span before it becomes a :class:`Span`."""

    path: str
    start: int
    end: int
    mode: Mode
    tokens: int
    reason: str
    text: str
    score: float

    def span(self) -> Span:
        return Span(
            self.path,
            self.start,
            self.end,
            self.mode,
            self.tokens,
            self.reason,
            self.text,
            self.score,
        )


@dataclass(slots=True)
class _Signals:
    """Per-file signal values (normalised) and the focus units of one request."""

    files: dict[str, dict[str, float]] = field(default_factory=dict)
    units: list[_Unit] = field(default_factory=list)
    #: Human reason per (signal, path), from the unit that contributed most.
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)


class _Budget:
    """Tokens left in one section."""

    __slots__ = ("left",)

    def __init__(self, tokens: int) -> None:
        self.left = max(0, tokens)

    def take(self, tokens: int) -> bool:
        if tokens > self.left:
            return False
        self.left -= tokens
        return True


class _Planner:
    """Packs one request against a synced workspace (see the module docstring)."""

    def __init__(
        self,
        ws: _Workspace,
        request: ContextRequest,
        current: _Current | None,
        margin: float,
    ) -> None:
        self.ws = ws
        self.request = request
        self.cur = current
        self.task: Task = request.task
        self.weights: Weights = TASK_WEIGHTS[request.task]
        self.shares = _SHARES[request.task]
        self.margin = margin
        self.counter = ws.counter
        #: The request's signals (set by :meth:`run`).
        self.signals = _Signals()

    # -- tokens -----------------------------------------------------------------------

    def tok(self, raw: int) -> int:
        """Raw count -> budget count (the safety margin applied)."""
        return math.ceil(raw * self.margin) if raw > 0 else 0

    # -- entry point ------------------------------------------------------------------

    def run(self) -> tuple[tuple[Span, ...], int]:
        """The spans in prompt order, and how many lead as the repository section."""
        budget = self.request.budget
        signals = self.signals = self._signals()
        scores = fuse(signals.files, self.weights)
        if self._everything_fits(budget):
            return self._pack_everything(signals, scores)
        cap = self._current_cap(budget)
        current = self._current_item(cap)
        rest = budget - self._reserve(current, cap, budget)
        ordered = self._ordered_units(signals, scores)
        if self.task == "complete":
            stable = self._stable_scores(signals)
            repo = self._repository(stable, signals, min(rest, int(self.shares.stable * budget)))
            tail = self._focus(ordered, rest - _used(repo), repo, current)
        else:
            focus_cap = min(rest, int(self.shares.focus * budget))
            focus = self._focus(ordered, focus_cap, [], current)
            repo = self._repository(scores, signals, rest - _used(focus), focus=focus)
            focus = [u for u in focus if not _covered(u, repo)]
            repo, tail = self._promote(repo, focus, scores, signals, self.weights)
        tail = self._fill(ordered, scores, rest - _used(repo) - _used(tail), repo, tail, current)
        if current is not None and current.mode == "snippet":
            left = budget - _used(repo) - _used(tail) - current.tokens
            if left >= _MIN_SPAN_TOKENS:
                current = self._current_item(current.tokens + left) or current
        items = sorted(repo, key=lambda i: (i.path, i.start))
        items += sorted(tail, key=lambda i: (_band(i.score), i.path, i.start))
        if current is not None:
            items.append(current)
        return tuple(i.span() for i in items), len(repo)

    def _reserve(self, current: _Item | None, cap: int, budget: int) -> int:
        """Tokens set aside for the current file before the other sections are filled.

        Not its exact size, which changes at every keystroke and would make every other
        section's allowance (hence its content) flicker: a window reserves its whole
        cap, a whole file its size rounded up to a step of 1/32 of the budget. What the
        other sections leave over is given back to the current file's window at the end.
        """
        if current is None:
            return 0
        if current.mode != "full":
            return max(cap, current.tokens)
        step = max(_RESERVE_STEP_MIN, budget // _RESERVE_STEPS)
        rounded = -(-current.tokens // step) * step
        return max(current.tokens, min(cap, rounded, budget))

    # -- signals ----------------------------------------------------------------------

    def _signals(self) -> _Signals:
        ws, cur, request = self.ws, self.cur, self.request
        sig = _Signals()
        if cur is not None:
            # What the file imports, and where the names it imports by name are defined
            # (``from pkg import X`` through ``pkg/__init__.py`` to X's module).
            sig.files["imports"] = dict.fromkeys(sorted(cur.import_closure - {cur.path}), 1.0)
        sig.files["recency"] = {
            p: v
            for p, v in recency_scores(request.open_paths, request.recent_paths).items()
            if p in ws.entries and (cur is None or p != cur.path)
        }
        definition_units = self._definition_units(sig)
        lexical_units = self._lexical_units(sig)
        caller_units = self._caller_units(sig)
        mentioned: dict[str, float] = {}
        if self.task == "chat":
            for path, value in sig.files.get("definitions", {}).items():
                mentioned[path] = 0.5 * value
        sig.files["graph"] = self._graph_signal(mentioned)
        sig.files["global"] = self._global_signal()
        imported_units = self._imported_units(sig)
        sig.units = definition_units + imported_units + lexical_units + caller_units
        return sig

    def _exclude(self) -> tuple[str, ...]:
        return (self.cur.path,) if self.cur is not None else ()

    def _graph_signal(self, mentioned: Mapping[str, float]) -> dict[str, float]:
        cur, request, graph = self.cur, self.request, self.ws.graph
        seed = personalization(
            cur.path if cur is not None else None,
            request.open_paths,
            request.recent_paths,
            mentioned,
        )
        seed = {p: w for p, w in seed.items() if p in graph}
        if not seed or len(graph) == 0:
            return {}
        if self.task == "chat":
            ranking = graph.rank(seed)
        else:
            ranking = graph.rank(seed, epsilon=_PUSH_EPSILON, max_work=_PUSH_MAX_WORK)
        return normalised(dict(ranking.top(_RANK_TOP, exclude=self._exclude())))

    def _global_signal(self) -> dict[str, float]:
        exclude = self._exclude()
        top = [(p, v) for p, v in self.ws.global_top() if p not in exclude][:_RANK_TOP]
        return normalised(dict(top))

    def _region(self) -> tuple[int, int]:
        cur = self.cur
        assert cur is not None
        return focus_region(
            cur.stable_symbols.definitions, cur.line, cur.source.line_count, cur.selection
        )

    def _definition_units(self, sig: _Signals) -> list[_Unit]:
        """Definitions of the identifiers near the cursor / in the selection or question."""
        cur, request = self.cur, self.request
        chains: dict[str, float] = {}
        code_names: frozenset[str] | None = None
        if cur is not None:
            a, b = self._region()
            # Words of comments and strings look like identifiers to a regex; only names
            # the parser saw as identifiers in the region are looked up.
            names = {
                r.name
                for symbols in (cur.symbols, cur.stable_symbols)
                for r in symbols.references
                if a <= r.line <= b
            }
            typing = self.task == "complete"
            if typing and a <= cur.line <= b:
                # The line being typed may be missing from the parse that was read (its
                # blanked copy): its words outside strings and comments count.
                names.update(code_words(cur.source.line(cur.line)))
            code_names = frozenset(names)

            def weight_of(n: int) -> float:
                if cur.selection is not None:
                    return 1.0
                return proximity_weight(n - cur.line)

            chains = identifier_chains(
                cur.source.line,
                a,
                b,
                cursor_line=cur.line if typing else None,
                cursor_column=cur.column,
                weight_of=weight_of,
            )
        question = text_identifiers(request.query)
        masses: dict[tuple[str, int, int], _Unit] = {}
        for chain in sorted(chains.keys() | question.keys()):
            parts = chain.split(".")
            lookups = [chain] if len(parts) == 1 else [chain, parts[0]]
            for name in lookups:
                bare = name.rpartition(".")[2]
                weight = question.get(chain, 0.0)
                if code_names is None or bare in code_names:
                    weight = max(weight, chains.get(chain, 0.0))
                if weight > 0:
                    self._resolve_name(name, weight, masses)
        return self._finish_units("definitions", list(masses.values()), sig, reference=1.0)

    def _imported_units(self, sig: _Signals) -> list[_Unit]:
        """Definitions of the names the current file imports, by how near their uses are.

        The cursor's own call is often still unwritten (or the name being typed), so
        "defines `X` used at cursor" cannot see it; what the file imports, and uses
        around the cursor or not at all yet, is the next best guess.
        """
        cur = self.cur
        if cur is None or not cur.imported:
            return []
        anchor = cur.selection or (cur.line, cur.line)
        units: dict[tuple[str, int, int], _Unit] = {}
        for item in cur.imported:
            value = imported_name_value(item.uses, anchor, item.explicit)
            if value <= 0:
                continue
            share = value / len(item.definitions)
            for path, definition in item.definitions:
                if path == cur.path:
                    continue
                key = (path, definition.start_line, definition.end_line)
                unit = units.get(key)
                if unit is None:
                    unit = units[key] = _Unit(
                        path,
                        definition.start_line,
                        definition.end_line,
                        "imported_names",
                        0.0,
                        f"defines `{item.name}` imported by current file",
                        definition,
                    )
                unit.value = max(unit.value, share)
        # Relative: the best imported name is the best guess there is, however far.
        return self._finish_units("imported_names", list(units.values()), sig)

    def _resolve_name(
        self, name: str, weight: float, masses: dict[tuple[str, int, int], _Unit]
    ) -> None:
        cur = self.cur
        bare = name.rpartition(".")[2]
        n_definers = self.ws.definer_count(bare)
        if not n_definers:
            return
        info = name_information(bare, n_definers)
        if info <= 0:
            return
        if cur is not None and "." not in name and bare in cur.local_names:
            # Defined right here: that is what the name means (the symbol table may not
            # know it yet when the live text does not parse).
            for d in cur.stable_symbols.definitions:
                if d.name == bare:
                    self._add_mass(masses, cur.path, d, bare, weight * info)
            return
        matches = self.ws.symbols.lookup(
            name,
            importer=cur.path if cur is not None else None,
            imported=cur.import_closure if cur is not None else frozenset(),
            limit=_LOOKUP_LIMIT,
        )
        if not matches:
            return
        best = matches[0]
        qualified = "." in name
        best_tier = [
            m
            for m in matches
            if m.locality == best.locality and m.qualifier_matched == best.qualifier_matched
        ]
        for match in matches:
            qualifier_ok = not qualified or match.qualifier_matched or not best.qualifier_matched
            share = match_weight(
                match.locality.value, best.locality.value, qualifier_ok, match.definition.kind
            )
            if match.locality in _UNRELATED_LOCALITIES:
                share *= self._unrelated_factor(match.path, match.definition)
            mass = weight * info * share / len(best_tier)
            self._add_mass(masses, match.path, match.definition, bare, mass)

    def _unrelated_factor(self, path: str, definition: Definition) -> float:
        """How much a definition found by name alone (the current file neither is it nor
        imports it) is believed: tests are rarely what code outside tests uses, and a
        variable of a line or three elsewhere is most often a namesake."""
        factor = 1.0
        cur = self.cur
        if is_test_path(path) and (cur is None or not is_test_path(cur.path)):
            factor *= _TEST_DEFINITION_FACTOR
        tiny = definition.end_line - definition.start_line < _TINY_DEFINITION_LINES
        if tiny and definition.kind in _SECONDARY_DEFINITION_KINDS:
            factor *= _TINY_DEFINITION_FACTOR
        return factor

    def _add_mass(
        self,
        masses: dict[tuple[str, int, int], _Unit],
        path: str,
        definition: Definition,
        name: str,
        mass: float,
    ) -> None:
        key = (path, definition.start_line, definition.end_line)
        unit = masses.get(key)
        if unit is None:
            if self.cur is None:
                where = "in the question"
            elif self.task in ("explain", "refactor"):
                where = "in the selection"
            else:
                where = "at cursor"
            unit = masses[key] = _Unit(
                path,
                definition.start_line,
                definition.end_line,
                "definitions",
                0.0,
                f"defines `{name}` used {where}",
                definition,
            )
        unit.value += mass

    def _finish_units(
        self, signal: str, units: list[_Unit], sig: _Signals, *, reference: float = 0.0
    ) -> list[_Unit]:
        """Normalise unit values, drop the negligible, record file-level values.

        Values are divided by the best one, or by ``reference`` when that is larger: a
        signal with an absolute scale (a long name on the cursor line weighs 1) keeps
        weak candidates weak when nothing better was found.
        """
        if not units:
            return []
        best = max(u.value for u in units)
        if best <= 0:
            return []
        top = max(best, reference)
        kept = [u for u in units if u.value >= _UNIT_FLOOR * best]
        per_file: dict[str, float] = {}
        best_reason: dict[str, tuple[float, str]] = {}
        for unit in kept:
            unit.value /= top
            if self.cur is not None and unit.path == self.cur.path:
                continue
            per_file[unit.path] = per_file.get(unit.path, 0.0) + unit.value
            if unit.value > best_reason.get(unit.path, (0.0, ""))[0]:
                best_reason[unit.path] = (unit.value, unit.reason)
        sig.files[signal] = normalised(per_file)
        for path, (_, reason) in best_reason.items():
            sig.reasons[(signal, path)] = reason
        kept.sort(key=lambda u: (u.path, u.start, u.end))
        return kept

    def _lexical_query(self) -> str:
        cur, request = self.cur, self.request
        parts: list[str] = []
        if cur is not None:
            if cur.selection is not None:
                parts.append(cur.source.lines(*cur.selection))
            elif self.task == "complete" or not request.query:
                a, b = self._region()
                # The line being typed changes at every keystroke; leaving it out keeps
                # the query (and the focus section) stable until the line is done.
                parts += [cur.source.line(n) for n in range(a, b + 1) if n != cur.line]
        if request.query:
            parts.append(request.query)
        return "\n".join(parts)

    def _query_terms(self, query: str) -> list[str]:
        """The query's most informative terms: the rarest (live document frequency) ones.

        Choosing them here, by exact live counts, bounds the search's work and keeps the
        choice a function of the indexed content alone (the index's own postings budget
        counts postings of removed chunks too, which vary with the history of edits).
        Repeats are kept: BM25 weighs a repeated query term more (with saturation).
        """
        lexical = self.ws.lexical
        counts = Counter(tokenize(query))
        limit = _QUERY_DF_FRACTION * len(lexical)
        known = sorted(
            (df, term) for term in counts if 0 < (df := lexical.document_frequency(term)) <= limit
        )
        keep = _CHAT_QUERY_TERMS if self.task == "chat" else _QUERY_TERMS
        return [term for _, term in known[:keep] for _ in range(counts[term])]

    def _lexical_units(self, sig: _Signals) -> list[_Unit]:
        query = self._lexical_query()
        if not query.strip():
            return []
        terms = self._query_terms(query)
        if not terms:
            return []
        # Bigger budgets can afford more hits (each is a chunk of up to ~60 lines).
        k = min(_LEXICAL_HITS_MAX, _LEXICAL_HITS + self.request.budget // _TOKENS_PER_EXTRA_HIT)
        hits = self.ws.lexical.search(
            terms, k, exclude_paths=self._exclude(), max_postings=_CHAT_POSTINGS
        )
        if not hits:
            return []
        if self.cur is None:
            what = "the question"
        elif self.cur.selection is not None:
            what = "the selection"
        elif self.task == "complete" or not self.request.query:
            what = "the cursor window"
        else:
            what = "the question"
        demote_text = (
            self.task != "chat"
            and self.cur is not None
            and self.cur.symbols.language != TEXT_LANGUAGE
        )
        units = []
        for hit in hits:
            value = hit.score
            entry = self.ws.entries.get(hit.path)
            if demote_text and entry is not None and entry.symbols.language == TEXT_LANGUAGE:
                value *= _TEXT_HIT_FACTOR
            units.append(
                _Unit(
                    hit.path,
                    hit.start_line,
                    hit.end_line,
                    "lexical",
                    value,
                    f"lexically similar to {what}",
                )
            )
        top = max(u.value for u in units)
        units = [u for u in units if u.value >= _LEXICAL_FLOOR * top]
        return self._finish_units("lexical", units, sig)

    def _caller_units(self, sig: _Signals) -> list[_Unit]:
        """explain/refactor (and chat about a selection): who uses what the selection defines."""
        cur = self.cur
        if cur is None:
            return []
        if self.task == "complete" or (self.task == "chat" and cur.selection is None):
            return []
        units: dict[tuple[str, int, int], _Unit] = {}
        for name in sorted(self._selection_names()):
            info = name_information(name, max(1, self.ws.definer_count(name)))
            if info <= 0:
                continue
            for path in self._referencing_files(name):
                entry = self.ws.entries.get(path)
                if entry is None:
                    continue
                lines = [r.line for r in entry.symbols.references if r.name == name]
                if not lines:
                    continue
                # Importing the current file makes the reference almost surely ours; a
                # bare name elsewhere may mean another definition of the same name.
                likely = cur.path in self.ws.imports.imports_of(path)
                weight = info * math.sqrt(len(lines)) * (1.0 if likely else _UNLIKELY_CALLER)
                self._caller_sites(entry, name, weight, lines[:_CALLER_SITES], units)
        ranked = sorted(units.values(), key=lambda u: (-u.value, u.path, u.start))
        return self._finish_units("callers", ranked[:_CALLER_UNITS], sig)

    def _selection_names(self) -> frozenset[str]:
        cur = self.cur
        assert cur is not None
        a, b = cur.selection or (cur.line, cur.line)
        defs = cur.symbols.definitions
        names = {d.name for d in defs if a <= d.start_line <= b}
        enclosing = enclosing_definition(defs, a)
        if enclosing is not None:
            names.add(enclosing.name)
        return frozenset(names)

    def _referencing_files(self, name: str) -> list[str]:
        """Files (other than the current one) whose text holds the identifier ``name``.

        The BM25 index keeps every identifier lower-cased as a term, so its postings for
        that one term list the candidate chunks; the caller checks each file's parsed
        references for the exact name. Names in more than a quarter of all chunks are
        not looked up (they say nothing about who calls what).
        """
        hits = self.ws.lexical.search(
            [name.lower()],
            _CALLER_SCAN_HITS,
            exclude_paths=self._exclude(),
            max_postings=_CHAT_POSTINGS,
        )
        return sorted({hit.path for hit in hits})

    def _caller_sites(
        self,
        entry: FileEntry,
        name: str,
        weight: float,
        lines: list[int],
        units: dict[tuple[str, int, int], _Unit],
    ) -> None:
        for line in lines:
            host = enclosing_definition(
                entry.symbols.definitions, line, kinds=_CALLER_KINDS, max_lines=_CALLER_MAX_LINES
            )
            if host is not None:
                start, end = host.start_line, host.end_line
            else:
                start = max(1, line - _CALLER_CONTEXT)
                end = min(max(entry.line_count, line), line + _CALLER_CONTEXT)
            key = (entry.path, start, end)
            unit = units.get(key)
            if unit is None:
                unit = units[key] = _Unit(
                    entry.path, start, end, "callers", 0.0, f"caller of `{name}`", host, line
                )
            unit.value += weight / len(lines)

    # -- scores -----------------------------------------------------------------------

    def _stable_scores(self, signals: _Signals) -> dict[str, float]:
        """``T(f)``: completion's cursor-independent, quantised file scores."""
        stable = {k: v for k, v in signals.files.items() if STABLE_WEIGHTS.of(k)}
        return {p: quantise(s) for p, s in fuse(stable, STABLE_WEIGHTS).items()}

    def _reason(self, path: str, signals: _Signals, weights: Weights, mode: Mode) -> str:
        name = dominant_signal(path, signals.files, weights)
        if name is None:
            return "repository outline" if mode == "outline" else "workspace file"
        stored = signals.reasons.get((name, path))
        if stored is not None:
            return stored
        if name == "graph" and signals.files.get("recency", {}).get(path):
            name = "recency"  # its graph rank comes from being a restart point
        if name == "recency":
            return "open buffer" if path in self.request.open_paths else "recently edited"
        return {
            "imports": "imported by current file",
            "graph": "related by references (graph rank)",
            "global": "repository outline (global rank)"
            if mode == "outline"
            else "central to the repository (global rank)",
        }.get(name, name)

    # -- the current file -------------------------------------------------------------

    def _current_cap(self, budget: int) -> int:
        cur = self.cur
        if cur is None:
            return 0
        a, b = cur.selection or (cur.line, cur.line)
        anchor = self.tok(cur.blocks.range(a, b))
        return max(int(self.shares.current * budget), min(budget, anchor))

    def _current_item(self, cap: int) -> _Item | None:
        cur = self.cur
        if cur is None:
            return None
        source = cur.source
        n = source.line_count
        full = self.tok(cur.blocks.total())
        if full <= cap:
            return _Item(cur.path, 1, max(1, n), "full", full, "current file", source.text, 0.0)
        anchor = cur.selection or (cur.line, cur.line)
        a, b = _fit_window(cur.blocks, anchor, self._raw_cap(cap), _BEFORE_SHARE[self.task])
        if a == 0:
            return self._truncated_line(cap)
        # Start the window on a multiple of _WINDOW_QUANTUM lines: typing changes the
        # token count by a little, which must not slide the top line every time (a
        # server caching the lines above the cursor would miss at each slide).
        a = min(anchor[0], -(-(a - 1) // _WINDOW_QUANTUM) * _WINDOW_QUANTUM + 1)
        what = "selection" if cur.selection is not None else "cursor"
        return _Item(
            cur.path,
            a,
            b,
            "snippet",
            self.tok(cur.blocks.range(a, b)),
            f"current file (window around the {what})",
            source.lines(a, b),
            0.0,
        )

    def _raw_cap(self, cap: int) -> int:
        """The largest raw count whose budget count fits ``cap``."""
        if cap <= 0:
            return 0
        raw = math.floor(cap / self.margin)
        while raw > 0 and self.tok(raw) > cap:
            raw -= 1
        return raw

    def _truncated_line(self, cap: int) -> _Item:
        """The cursor line cut to what fits (possibly nothing): the budget is tiny."""
        cur = self.cur
        assert cur is not None
        line = cur.selection[0] if cur.selection else cur.line
        line = min(max(1, line), max(1, cur.source.line_count))
        text = cur.source.line(line)
        raw_cap = self._raw_cap(cap)
        lo, hi = 0, len(text)
        # Binary search on the prefix length: counts grow with the prefix.
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.counter.count(text[:mid]) <= raw_cap:
                lo = mid
            else:
                hi = mid - 1
        cut = text[:lo]
        tokens = self.tok(self.counter.count(cut))
        return _Item(
            cur.path,
            line,
            line,
            "snippet",
            tokens,
            "current file (cursor line, cut to fit)",
            cut,
            0.0,
        )

    # -- everything fits --------------------------------------------------------------

    def _everything_fits(self, budget: int) -> bool:
        ws = self.ws
        if ws.size_total > budget * _MAX_BYTES_PER_TOKEN:
            return False  # cheap bound: cannot fit whatever the token density
        need = 0
        for path in sorted(ws.entries):
            if self.cur is not None and path == self.cur.path:
                continue
            data = ws.data(path)
            if data is not None:
                need += self.tok(data.full_tokens())
            if need > budget:
                return False
        if self.cur is not None:
            need += self.tok(self.cur.blocks.total())
        return need <= budget

    def _pack_everything(
        self, signals: _Signals, scores: dict[str, float]
    ) -> tuple[tuple[Span, ...], int]:
        """Every file whole: sorted by path, the request's best files moved last.

        Completion ranks and explains with its stable (cursor-independent) scores here
        too, so that the order does not move while the user types.
        """
        stable = self.task == "complete"
        weights = STABLE_WEIGHTS if stable else self.weights
        ranked = self._stable_scores(signals) if stable else scores
        items: list[_Item] = []
        for path in sorted(self.ws.entries):
            if self.cur is not None and path == self.cur.path:
                continue
            data = self.ws.data(path)
            if data is None:
                continue
            tokens = self.tok(data.full_tokens())
            score = ranked.get(path, 0.0)
            reason = self._reason(path, signals, weights, "full")
            if reason == "workspace file":
                reason = "workspace file (everything fits)"
            items.append(
                _Item(
                    path,
                    1,
                    max(1, data.source.line_count),
                    "full",
                    tokens,
                    reason,
                    data.source.text,
                    score,
                )
            )
        repo, tail = self._promote(items, [], ranked, signals, weights)
        out = sorted(repo, key=lambda i: i.path)
        out += sorted(tail, key=lambda i: (_band(i.score), i.path))
        current = self._current_item(self.request.budget - _used(out))
        if current is not None:
            out.append(current)
        return tuple(i.span() for i in out), len(repo)

    # -- repository section -----------------------------------------------------------

    def _candidates(self, scores: Mapping[str, float]) -> Iterator[str]:
        """Files by descending score (ties by path), then the rest by global rank."""
        seen: set[str] = set()
        if self.cur is not None:
            seen.add(self.cur.path)
        for path in sorted(scores, key=lambda p: (-scores[p], p)):
            if path not in seen and path in self.ws.entries:
                seen.add(path)
                yield path
        graph = self.ws.graph
        rest: Iterable[str] = graph.global_rank() if len(graph) else ()
        for path in rest:
            if path not in seen and path in self.ws.entries:
                seen.add(path)
                yield path
        for path in sorted(self.ws.entries):
            if path not in seen:
                yield path

    def _repository(
        self,
        scores: Mapping[str, float],
        signals: _Signals,
        tokens: int,
        *,
        focus: list[_Item] | None = None,
    ) -> list[_Item]:
        """Whole files and outlines by rank until ``tokens`` are used (any order)."""
        budget = _Budget(tokens)
        full_cap = max(int(self.shares.full_file * tokens), 0)
        top = max(scores.values(), default=0.0)
        weights = STABLE_WEIGHTS if self.task == "complete" else self.weights
        snippet_tokens: dict[str, int] = {}
        for snippet in focus or ():
            snippet_tokens[snippet.path] = snippet_tokens.get(snippet.path, 0) + snippet.tokens
        items: list[_Item] = []
        misses = 0
        for path in self._candidates(scores):
            if budget.left < _MIN_SPAN_TOKENS or misses >= _MAX_MISSES:
                break
            data = self.ws.data(path)
            if data is None:
                continue
            # The more relevant a file, the more of the section it may fill whole: a big,
            # merely central file is outlined so that more files get in.
            share = min(1.0, 2.0 * scores.get(path, 0.0) / top) if top > 0 else 1.0
            allowance = int(full_cap * max(_MIN_RELEVANCE_SHARE, share))
            item = self._file_item(data, budget, allowance, snippet_tokens.get(path, 0))
            if item is None:
                misses += 1
                continue
            misses = 0
            item.score = scores.get(path, 0.0)
            item.reason = self._reason(path, signals, weights, item.mode)
            items.append(item)
        return items

    def _file_item(
        self, data: _FileData, budget: _Budget, full_cap: int, refund: int
    ) -> _Item | None:
        """``data``'s file whole if allowed, else its outline, else its top-level outline.

        ``refund`` is what the focus section already spends on snippets of this file:
        sending the file whole makes them redundant, so they are dropped (and their
        tokens returned) when the file is taken whole.
        """
        path = data.entry.path
        n = max(1, data.source.line_count)
        full = self.tok(data.full_tokens())
        if full == 0:
            return None  # an empty file says nothing once ranked among others
        if full <= min(budget.left + refund, max(full_cap, refund)):
            budget.left += refund
            budget.take(full)
            return _Item(path, 1, n, "full", full, "", data.source.text, 0.0)
        for depth in (None, 0):
            text = data.outline(depth)
            if not text:
                return None
            tokens = self.tok(data.outline_tokens(depth, self.counter))
            if budget.take(tokens):
                return _Item(path, 1, n, "outline", tokens, "", text, 0.0)
        return None

    # -- focus section ----------------------------------------------------------------

    def _ordered_units(
        self, signals: _Signals, scores: Mapping[str, float]
    ) -> list[tuple[float, _Unit]]:
        """Focus units best first, each with its own quantised value (see rank.py).

        Ordered by the unit's own (quantised) value first, its file's score second: the
        file score moves with the graph at every keystroke, the unit's own value only
        when what is around the cursor changes.
        """
        keyed: list[tuple[tuple[float, float, str, int, int], float, _Unit]] = []
        file_bins: dict[str, float] = {}
        for unit in signals.units:
            own = self.weights.of(unit.signal) * unit.value
            file_score = scores.get(unit.path, 0.0)
            unit.score = own + UNIT_FILE_SHARE * file_score
            q = quantise(own)
            file_bin = file_bins.get(unit.path)
            if file_bin is None:
                file_bin = file_bins[unit.path] = quantise(file_score)
            keyed.append(((-q, -file_bin, unit.path, unit.start, unit.end), q, unit))
        keyed.sort(key=lambda k: k[0])
        return [(q, unit) for _, q, unit in keyed]

    def _focus(
        self,
        ordered: list[tuple[float, _Unit]],
        tokens: int,
        repo: list[_Item],
        current: _Item | None,
    ) -> list[_Item]:
        """Snippets by unit score until ``tokens`` are used (units above the floor)."""
        budget = _Budget(tokens)
        floor = _FOCUS_FLOOR * max((q for q, _ in ordered), default=0.0)
        chosen: list[_Item] = []
        cap = max(int(_UNIT_SHARE * tokens), _MIN_SPAN_TOKENS)
        self._take_units(ordered, floor, budget, cap, chosen, repo, current)
        return chosen

    def _take_units(
        self,
        ordered: list[tuple[float, _Unit]],
        floor: float,
        budget: _Budget,
        cap: int,
        chosen: list[_Item],
        repo: list[_Item],
        current: _Item | None,
    ) -> None:
        """Add ``ordered`` units at or above ``floor`` to ``chosen`` while tokens last.

        A unit overlapping one already chosen, in a file sent whole, or inside the
        current file's window is skipped; a unit bigger than ``cap`` is degraded.
        """
        whole = {i.path for i in repo if i.mode == "full"}
        whole.update(i.path for i in chosen if i.mode == "full")
        taken: dict[str, list[_Item]] = {}
        for done in chosen:
            taken.setdefault(done.path, []).append(done)
        for q, unit in ordered:
            if budget.left < _MIN_SPAN_TOKENS or q < floor:
                break
            if unit.path in whole or self._in_current(unit, current):
                continue
            same_file = taken.get(unit.path, ())
            if any(_overlaps(unit, done) for done in same_file):
                continue
            item = self._unit_item(unit, budget, cap)
            if item is not None:
                chosen.append(item)
                taken.setdefault(item.path, []).append(item)

    def _fill(
        self,
        ordered: list[tuple[float, _Unit]],
        scores: Mapping[str, float],
        tokens: int,
        repo: list[_Item],
        tail: list[_Item],
        current: _Item | None,
    ) -> list[_Item]:
        """Spend what the sections left, so that the budget is used (never exceeded).

        First the focus units below the floor (they rank below everything sent, but
        beat an empty budget), then whole files by score, each replacing the snippets
        of it already in the tail (their tokens are reused), each at most
        :data:`_FILL_FILE_SHARE` of the budget or half of what is left, whichever is
        more; then outlines of the files still absent. Everything goes to the tail.
        """
        budget = _Budget(tokens)
        if budget.left < _MIN_SPAN_TOKENS:
            return tail
        chosen = list(tail)
        cap = max(int(_UNIT_SHARE * (tokens + _used(tail))), _MIN_SPAN_TOKENS)
        self._take_units(ordered, 0.0, budget, cap, chosen, repo, current)
        chosen = self._fill_files(scores, budget, repo, chosen, current)
        self._fill_outlines(scores, budget, repo, chosen, current)
        return chosen

    def _fill_files(
        self,
        scores: Mapping[str, float],
        budget: _Budget,
        repo: list[_Item],
        chosen: list[_Item],
        current: _Item | None,
    ) -> list[_Item]:
        """Whole files by score into ``budget``, replacing their snippets in ``chosen``."""
        whole = {i.path for i in repo if i.mode == "full"}
        whole.update(i.path for i in chosen if i.mode == "full")
        if current is not None:
            whole.add(current.path)
        limit = max(int(_FILL_FILE_SHARE * self.request.budget), budget.left // 2)
        ranked = sorted((-quantise(v), p) for p, v in scores.items() if v > 0 and p not in whole)
        misses = 0
        for _, path in ranked[:_FILL_FILES]:
            if budget.left < _MIN_SPAN_TOKENS or misses >= _MAX_MISSES:
                break
            data = self.ws.data(path)
            if data is None:
                continue
            full = self.tok(data.full_tokens())
            mine = [i for i in chosen if i.path == path]
            refund = _used(mine)
            if full == 0 or full > limit or full > budget.left + refund:
                misses += 1
                continue
            misses = 0
            budget.left += refund - full
            chosen = [i for i in chosen if i.path != path]
            score = max([scores.get(path, 0.0), *(i.score for i in mine)])
            if mine:
                # The file stands in for its snippets: say why the best of them was sent.
                reason = max(mine, key=lambda i: i.score).reason
            else:
                reason = self._reason(path, self.signals, self.weights, "full")
            n = max(1, data.source.line_count)
            chosen.append(_Item(path, 1, n, "full", full, reason, data.source.text, score))
        return chosen

    def _fill_outlines(
        self,
        scores: Mapping[str, float],
        budget: _Budget,
        repo: list[_Item],
        chosen: list[_Item],
        current: _Item | None,
    ) -> None:
        """Outlines (else top-level outlines) of the files still absent, by score."""
        present = {i.path for i in repo} | {i.path for i in chosen}
        if current is not None:
            present.add(current.path)
        misses = 0
        for path in self._candidates(scores):
            if budget.left < _MIN_SPAN_TOKENS or misses >= _MAX_MISSES:
                break
            data = self.ws.data(path) if path not in present else None
            if data is None or data.full_tokens() == 0:
                continue
            item = None
            for depth in (None, 0):
                text = data.outline(depth)
                if not text:
                    break
                tokens = self.tok(data.outline_tokens(depth, self.counter))
                if budget.take(tokens):
                    n = max(1, data.source.line_count)
                    item = _Item(path, 1, n, "outline", tokens, "", text, scores.get(path, 0.0))
                    break
            if item is None:
                misses += 1
                continue
            misses = 0
            item.reason = self._reason(path, self.signals, self.weights, "outline")
            chosen.append(item)

    def _in_current(self, unit: _Unit, current: _Item | None) -> bool:
        """Whether the unit's lines are sent anyway as part of the current file.

        A definition of the current file is worth a focus snippet only when the file is
        cut to a window that does not show it (used at the cursor, defined far above).
        """
        if current is None or unit.path != current.path:
            return False
        return current.mode == "full" or (unit.start <= current.end and current.start <= unit.end)

    def _unit_item(self, unit: _Unit, budget: _Budget, cap: int) -> _Item | None:
        data = self.ws.data(unit.path)
        if data is None:
            return None
        start, end = data.source.clamp(unit.start, unit.end)
        if end < start:
            return None
        tokens = self.tok(data.snippet_tokens(start, end))
        if tokens <= cap and budget.take(tokens):
            text = data.source.lines(start, end)
            return _Item(unit.path, start, end, "snippet", tokens, unit.reason, text, unit.score)
        return self._degraded_unit(unit, data, budget, min(cap, budget.left))

    def _degraded_unit(
        self, unit: _Unit, data: _FileData, budget: _Budget, cap: int
    ) -> _Item | None:
        """A too-big unit cut to what matters most that fits ``cap``.

        A class with a constructor: its lines through the constructor (whole, else its
        header), which is what a call or a subclass needs: the docstring, the class
        attributes and the parameters. Another container: its outline. Otherwise (or if
        those do not fit) its head, or for a caller the lines around the call.
        """
        d = unit.definition
        if d is not None and d.kind in _CONTAINER_KINDS:
            item = self._constructor_head(unit, d, data, budget, cap)
            if item is not None:
                return item
            members = outline_definitions(
                [
                    x
                    for x in data.entry.symbols.definitions
                    if d.start_line <= x.start_line <= d.end_line
                ]
            )
            text = render_outline(data.source, members, d.start_line, d.end_line)
            tokens = self.tok(self.counter.count(text)) if text else 0
            if text and tokens <= cap and budget.take(tokens):
                return _Item(
                    unit.path,
                    d.start_line,
                    d.end_line,
                    "outline",
                    tokens,
                    unit.reason,
                    text,
                    unit.score,
                )
        start, end = data.source.clamp(unit.start, unit.end)
        raw_cap = self._raw_cap(cap)
        if unit.focus_line is not None and start <= unit.focus_line <= end:
            first, last = _fit_around(data.blocks, unit.focus_line, start, end, raw_cap)
            what = "lines around the call"
        else:
            first, last = start, _fit_head(data.blocks, start, end, raw_cap)
            what = "head"
        if last < first:
            return None
        tokens = self.tok(data.snippet_tokens(first, last))
        if not budget.take(tokens):
            return None
        return _Item(
            unit.path,
            first,
            last,
            "snippet",
            tokens,
            f"{unit.reason} ({what})",
            data.source.lines(first, last),
            unit.score,
        )

    def _constructor_head(
        self, unit: _Unit, d: Definition, data: _FileData, budget: _Budget, cap: int
    ) -> _Item | None:
        """``d``'s lines through its constructor (whole, else its header) if they fit."""
        init = constructor(data.entry.symbols.definitions, d)
        if init is None:
            return None
        start = data.source.clamp(d.start_line, d.start_line)[0]
        for end, what in (
            (init.end_line, "through the constructor"),
            (header_range(data.source, init)[1], "through the constructor's signature"),
        ):
            first, last = data.source.clamp(start, end)
            if last < first:
                continue
            tokens = self.tok(data.snippet_tokens(first, last))
            if tokens <= cap and budget.take(tokens):
                text = data.source.lines(first, last)
                reason = f"{unit.reason} ({what})"
                return _Item(unit.path, first, last, "snippet", tokens, reason, text, unit.score)
        return None

    # -- promotion --------------------------------------------------------------------

    @staticmethod
    def _request_specific(path: str, signals: _Signals, weights: Weights) -> bool:
        """Whether any signal but the global rank speaks for ``path``."""
        return any(
            weights.of(name) * values.get(path, 0.0) > 0
            for name, values in signals.files.items()
            if name != "global"
        )

    def _promote(
        self,
        repo: list[_Item],
        tail: list[_Item],
        scores: Mapping[str, float],
        signals: _Signals,
        weights: Weights,
    ) -> tuple[list[_Item], list[_Item]]:
        """Move the best-scoring whole files to the tail (next to the cursor/question).

        Completion outside the everything-fits case promotes nothing: its repository
        section must stay put while the user types.
        """
        whole = [
            i for i in repo if i.mode == "full" and self._request_specific(i.path, signals, weights)
        ]
        whole.sort(key=lambda i: (-scores.get(i.path, 0.0), i.path))
        moved = {i.path for i in whole[:_PROMOTE_FILES]}
        for item in repo:
            if item.path in moved:
                item.score = scores.get(item.path, 0.0)
        return (
            [i for i in repo if i.path not in moved],
            tail + [i for i in repo if i.path in moved],
        )


def _fit_window(
    blocks: _Blocks, anchor: tuple[int, int], raw_cap: int, before_share: float
) -> tuple[int, int]:
    """The largest line window around ``anchor`` whose raw count is within ``raw_cap``.

    ``before_share`` of the added lines go above the anchor (the rest below, and all to
    one side at a file edge). The number of added lines is found by a binary search on
    estimated counts (block counts spread by characters), then the window shrinks on
    exact counts until it fits. An anchor that does not fit is cut from its end;
    ``(0, 0)`` when not even its first line fits.
    """
    source = blocks.source
    n = source.line_count
    if n == 0:
        return 0, 0
    a, b = source.clamp(*anchor)
    if blocks.range(a, a) > raw_cap:
        return 0, 0
    if blocks.range(a, b) > raw_cap:
        return a, _fit_head(blocks, a, b, raw_cap)

    def window(k: int) -> tuple[int, int]:
        up = min(a - 1, max(k - (n - b), math.ceil(before_share * k)))
        return a - up, b + (k - up)

    lo, hi = 0, (a - 1) + (n - b)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.estimate(*window(mid)) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    start, end = window(lo)
    exact = blocks.range(start, end)
    while exact > raw_cap and (start < a or end > b):
        excess = exact - raw_cap
        removed = 0.0
        while removed < excess and (start < a or end > b):
            above, below = a - start, end - b
            if above and (not below or above > before_share * (above + below)):
                removed += max(1.0, blocks.line_estimate(start))
                start += 1
            else:
                removed += max(1.0, blocks.line_estimate(end))
                end -= 1
        exact = blocks.range(start, end)
    return start, end


def _fit_head(blocks: _Blocks, start: int, end: int, raw_cap: int) -> int:
    """The last line ``l`` in ``start..end`` with lines ``start..l`` within ``raw_cap``.

    ``start - 1`` when not even line ``start`` fits. Binary search: counts grow with
    the range.
    """
    lo, hi = start - 1, end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.range(start, mid) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fit_around(blocks: _Blocks, line: int, start: int, end: int, raw_cap: int) -> tuple[int, int]:
    """The widest range ``line - r .. line + r`` (within ``start..end``) fitting ``raw_cap``.

    ``(line, line - 1)`` (empty) when not even ``line`` fits.
    """
    lo, hi = -1, max(line - start, end - line)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks.range(max(start, line - mid), min(end, line + mid)) <= raw_cap:
            lo = mid
        else:
            hi = mid - 1
    if lo < 0:
        return line, line - 1
    return max(start, line - lo), min(end, line + lo)


def _enforce_budget(
    items: tuple[Span, ...], stable: int, budget: int
) -> tuple[tuple[Span, ...], int]:
    """Last line of defence: drop leading spans (never the last) until within budget.

    The planner never overspends by construction; this only guards the contract
    against a bug, loudly.
    """
    total = sum(s.tokens for s in items)
    if total <= budget:
        return items, stable
    logger.error("context pack over budget (%d > %d); dropping spans", total, budget)
    kept = list(items)
    dropped = 0
    while total > budget and len(kept) > 1:
        total -= kept.pop(0).tokens
        dropped += 1
    if total > budget:
        kept = []
    return tuple(kept), max(0, stable - dropped)


def _band(score: float) -> int:
    """The octave of a score: the tail is ordered by band (then path), not by raw score,
    so that a small score change reorders nothing unless it crosses a power of two."""
    return math.floor(math.log2(score)) if score > 0 else -1_000_000


def _used(items: Iterable[_Item]) -> int:
    return sum(i.tokens for i in items)


def _overlaps(unit: _Unit, item: _Item) -> bool:
    return unit.path == item.path and unit.start <= item.end and item.start <= unit.end


def _covered(item: _Item, repo: list[_Item]) -> bool:
    """Whether ``item``'s file is already sent whole in ``repo``."""
    return any(r.path == item.path and r.mode == "full" for r in repo)


def _blanked(source: SourceText, line: int) -> str:
    """``source``'s text with line ``line`` emptied (its newline kept)."""
    start, end = source.clamp(line, line)
    text = source.text
    if end < start:
        return text
    head = source.lines(1, line - 1) if line > 1 else ""
    tail = source.lines(line + 1, source.line_count) if line < source.line_count else ""
    return head + "\n" + tail if tail or text.endswith("\n") else head


def _alternatives(names: Iterable[str]) -> list[str]:
    """``names`` escaped for a regex alternation, longest first (``ab`` before ``a``)."""
    return [re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n))]


def _join_module(module: str, name: str) -> str:
    """``from module import name`` as one dotted module (``.`` + ``x`` -> ``.x``)."""
    return module + name if module.endswith(".") else f"{module}.{name}"


#: Languages whose raw imports bind their last segment (``pkg.F``, ``mod::f``, ``C.m``).
_RAW_BINDING_LANGUAGES: Final = frozenset({"go", "rust", "java", "kotlin", "scala"})
_RAW_SEPARATORS: Final = re.compile(r"::|[./\\]")


def _raw_bindings(imports: Iterable[str]) -> tuple[ImportBinding, ...]:
    """Module bindings from a parser's raw imports, for languages the scanner does not
    read: ``"x/y/z"`` (Go), ``"a::b"`` (Rust), ``"a.b.C"`` (Java) bind their last
    segment to the module (line numbers unknown: 0)."""
    out: list[ImportBinding] = []
    for raw in imports:
        parts = [p for p in _RAW_SEPARATORS.split(raw.strip("<>\"'")) if p]
        if parts and parts[-1].isidentifier():
            out.append(ImportBinding(parts[-1], raw, None, 0, 0))
    return tuple(out)


# --------------------------------------------------------------------------- the engine


class ContextEngine:
    """Ranks and packs the workspace of one :class:`Index` (see the module docstring).

    Parameters
    ----------
    index:
        The workspace index; the engine follows its ``version``.
    counter:
        Token counter (its cache and safety margin); a new default one if ``None``.
    """

    def __init__(self, index: Index, *, counter: TokenCounter | None = None) -> None:
        self.index = index
        self.counter = counter if counter is not None else TokenCounter()
        # _lock serialises packs and syncs (the derived structures are not thread-safe);
        # _build_lock makes the first, slow build happen once, outside _lock.
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._ws: _Workspace | None = None
        # path -> (digest, redacted source, symbols or None if not parsed yet, blocks) of
        # the last live text of a current file the index does not hold (an unsaved
        # buffer the server did not overlay).
        self._texts: OrderedDict[str, tuple[str, SourceText, FileSymbols | None, _Blocks]] = (
            OrderedDict()
        )
        # path -> (digest, symbols) of the last current text with its cursor line blanked.
        self._parses: OrderedDict[str, tuple[str, FileSymbols]] = OrderedDict()
        # path -> ((text digest, skipped line, raw imports), export generation, imported
        # names) of the last current text (see _imported_names; valid while no export
        # answer changed).
        self._imported: OrderedDict[
            str,
            tuple[tuple[str, int | None, tuple[str, ...]], int, tuple[_ImportedName, ...]],
        ] = OrderedDict()

    @property
    def ready(self) -> bool:
        """Whether the derived structures exist (a pack will not have to build them)."""
        return self._ws is not None

    def warm(self) -> None:
        """Build every derived structure now, so that the first request is fast.

        Meant for a worker thread right after indexing. The first build runs outside
        the lock packs take (a pack arriving meanwhile waits for it rather than building
        twice); token counts and outlines of every file are then filled in while packs
        proceed (they are caches of pure functions of each file's text).
        """
        ws = self._workspace()
        with self._lock:
            ws.sync()
            ws.global_top()
        ws.warm_files()

    def _workspace(self) -> _Workspace:
        """The published workspace, built first if there is none yet."""
        ws = self._ws
        if ws is not None:
            return ws
        with self._build_lock:
            if self._ws is None:
                fresh = _Workspace(self.index, self.counter)
                fresh.sync()
                with self._lock:
                    self._ws = fresh
            return self._ws

    def pack(self, request: ContextRequest) -> Manifest:
        """The manifest of what to send for ``request`` (see the module docstring).

        Raises
        ------
        ContextDenied
            When ``request.path`` is outside the root or denied by the workspace policy
            (ignored, secret, vendored, generated, binary, too large).
        """
        ws = self._workspace()
        with self._lock:
            ws.sync()
            current = self._current(ws, request)
            planner = _Planner(ws, request, current, self.counter.margin)
            items, stable = planner.run()
            items, stable = _enforce_budget(items, stable, request.budget)
            tokens = sum(s.tokens for s in items)
            return Manifest(request.task, request.budget, tokens, items, ws.version, stable)

    # -- the current file ---------------------------------------------------------------

    def _current(self, ws: _Workspace, request: ContextRequest) -> _Current | None:
        if request.path is None:
            return None
        policy = self.index.policy
        rel = policy.relative(request.path)
        if rel is None or rel in ("", "."):
            raise ContextDenied(request.path, SkipReason.OUTSIDE_ROOT.value)
        reason = policy.check_path(rel)
        if reason is not None:
            raise ContextDenied(rel, reason.value)
        typing = request.task == "complete" and request.selection is None
        source, symbols, blocks = self._current_text(ws, rel, request.current_text, typing)
        n = source.line_count
        line = min(request.line, max(1, n))
        selection = None
        if request.selection is not None:
            a, b = request.selection
            a = min(a, max(1, n))
            selection = (a, min(max(a, b), max(1, n)))
        if typing and (symbols is None or symbols.has_errors):
            stable, blanked_key = self._stable_symbols(rel, source, line)
        else:
            assert symbols is not None  # only completion leaves the live text unparsed
            stable, blanked_key = symbols, ""
        # The imported names read the text without the line being typed (see below).
        if typing:
            text_key = blanked_key or _digest(_blanked(source, line))
        else:
            text_key = _digest(source.text)
        resolver = ws.resolver
        imports: frozenset[str] = frozenset()
        if resolver is not None:
            resolved = resolver.resolve_all(rel, stable.language, stable.imports)
            imports = frozenset(p for p in resolved if p in ws.entries)
        skip = line if typing else None
        # (The raw imports matter for languages the import scanner does not read.)
        memo_key = (text_key, skip, stable.imports)
        memo = self._imported.get(rel)
        if memo is not None and memo[0] == memo_key and memo[1] == ws.export_generation:
            imported = memo[2]
            self._imported.move_to_end(rel)
        else:
            imported = self._imported_names(ws, rel, source, stable, skip)
            self._imported[rel] = (memo_key, ws.export_generation, imported)
            self._imported.move_to_end(rel)
            if len(self._imported) > _PARSE_MEMO:
                self._imported.popitem(last=False)
        return _Current(
            rel,
            source,
            blocks,
            symbols if symbols is not None else stable,
            line,
            request.column,
            selection,
            imports,
            stable,
            frozenset(d.name for d in stable.definitions),
            imported,
            imports
            | frozenset(p for item in imported if item.explicit for p, _ in item.definitions),
        )

    def _imported_names(
        self,
        ws: _Workspace,
        rel: str,
        source: SourceText,
        symbols: FileSymbols,
        skip_line: int | None,
    ) -> tuple[_ImportedName, ...]:
        """The names the current file imports, resolved, with the lines that use them.

        ``from m import A as B`` and ``import m`` / ``from p import m`` followed by
        ``m.f`` uses; each is resolved to its definitions through :meth:`_Workspace.export`
        (re-exports followed). Uses are found in the text (whole words; a mention in a
        comment counts too), so the answer depends on the text and the workspace only;
        lines of import statements and ``skip_line`` (the line being typed) do not count.
        """
        language = symbols.language
        bindings = import_bindings(source.text, language)
        if not bindings and language in _RAW_BINDING_LANGUAGES:
            bindings = _raw_bindings(symbols.imports)
        if not bindings:
            return ()
        import_lines: set[int] = set()
        for binding in bindings:
            import_lines.update(range(binding.start_line, binding.end_line + 1))
        if skip_line is not None:
            import_lines.add(skip_line)
        named: dict[str, tuple[tuple[str, Definition], ...]] = {}
        modules: dict[str, tuple[str, str]] = {}
        for binding in bindings:
            if not binding.local or binding.local in named or binding.local in modules:
                continue
            target = ws.binding_target(rel, language, binding)
            if target is None:
                continue
            path, name = target
            if name is None:
                module = binding.module
                if binding.name is not None:
                    module = _join_module(binding.module, binding.name)
                modules[binding.local] = (path, module)
            else:
                definitions = ws.export(path, name)
                if definitions:
                    named[binding.local] = definitions
        out: list[_ImportedName] = []
        if named:
            # A name as a whole word, not as an attribute (``x.name``) of something else.
            pattern = re.compile(r"(?<![\w.])(" + "|".join(_alternatives(named)) + r")\b")
            uses: dict[str, set[int]] = {}
            for match in pattern.finditer(source.text):
                line = source.line_at(match.start())
                if line not in import_lines:
                    uses.setdefault(match.group(1), set()).add(line)
            for local in sorted(named):
                lines = tuple(sorted(uses.get(local, ())))
                out.append(_ImportedName(local, named[local], lines, True))
        if modules:
            out += self._module_members(ws, rel, language, source, modules, import_lines)
        return tuple(out)

    @staticmethod
    def _module_members(
        ws: _Workspace,
        rel: str,
        language: str,
        source: SourceText,
        modules: Mapping[str, tuple[str, str]],
        import_lines: set[int],
    ) -> list[_ImportedName]:
        """``m.f`` uses of imported modules ``m``, resolved (sub-modules walked)."""
        pattern = re.compile(
            r"(?<![\w.])(" + "|".join(_alternatives(modules)) + r")((?:\.[^\W\d]\w*){1,4})"
        )
        uses: dict[str, list[int]] = {}
        for match in pattern.finditer(source.text):
            line = source.line_at(match.start())
            if line not in import_lines:
                uses.setdefault(match.group(1) + match.group(2), []).append(line)
        out: list[_ImportedName] = []
        resolved: dict[tuple[str, str], tuple[tuple[str, Definition], ...]] = {}
        for chain in sorted(uses):
            head, *parts = chain.split(".")
            path, module = modules[head]
            definitions: tuple[tuple[str, Definition], ...] = ()
            name = head
            for part in parts[:_MAX_MODULE_DEPTH]:
                name = f"{name}.{part}"
                key = (path, part)
                if key not in resolved:
                    resolved[key] = ws.export(path, part)
                definitions = resolved[key]
                if definitions or language != "python" or ws.resolver is None:
                    break
                # ``import a`` then ``a.b.f``: walk into the sub-module ``a.b``.
                module = f"{module}.{part}"
                found = ws.resolver.resolve(rel, language, module)
                if not found:
                    break
                path = found[0]
            if definitions:
                out.append(_ImportedName(name, definitions, tuple(uses[chain]), False))
        # Several chains may name the same definition (``m.f`` and ``m.f.x``): merge.
        merged: dict[str, _ImportedName] = {}
        for item in out:
            old = merged.get(item.name)
            if old is None:
                merged[item.name] = item
            else:
                lines = tuple(sorted(set(old.uses) | set(item.uses)))
                merged[item.name] = _ImportedName(item.name, item.definitions, lines, False)
        return [merged[k] for k in sorted(merged)]

    def _stable_symbols(self, rel: str, source: SourceText, line: int) -> tuple[FileSymbols, str]:
        """Symbols of the current text with the cursor line blanked (memoised per file),
        and the digest of that text.

        A line being typed is often unbalanced (``f(x, ``), and tree-sitter's error
        recovery then drops or moves definitions far from it, differently at every
        keystroke. Blanking that line gives the same parse for every keystroke on it, so
        the cursor region and the same-file lookups stay put while the user types, and
        it costs one parse per edited line: the last one is kept for each of the
        :data:`_PARSE_MEMO` most recent files.
        """
        blanked = _blanked(source, line)
        digest = _digest(blanked)
        cached = self._parses.get(rel)
        if cached is not None and cached[0] == digest:
            self._parses.move_to_end(rel)
            return cached[1], digest
        raw = blanked.encode("utf-8", "surrogatepass")
        symbols = parse.extract(raw, language_for_path(rel))
        self._parses[rel] = (digest, symbols)
        self._parses.move_to_end(rel)
        if len(self._parses) > _PARSE_MEMO:
            self._parses.popitem(last=False)
        return symbols, digest

    def _current_text(
        self, ws: _Workspace, rel: str, text: str | None, typing: bool
    ) -> tuple[SourceText, FileSymbols | None, _Blocks]:
        """Redacted text, symbols and token blocks of the current file's live text.

        A live text the index does not hold is parsed here, except while typing
        (``typing``: completion without a selection), whose ranking reads the parse of
        the text with the cursor line blanked instead (see :meth:`_stable_symbols`): then
        the symbols are ``None``.
        """
        entry = ws.entries.get(rel)
        data = ws.data(rel) if entry is not None else None
        if text is None:
            if data is not None:
                return data.source, data.entry.symbols, data.blocks
            text = self._read_unindexed(rel)
        digest = _digest(text)
        if data is not None and data.raw_digest == digest:
            return data.source, data.entry.symbols, data.blocks
        cached = self._texts.get(rel)
        if cached is None or cached[0] != digest:
            source = SourceText(redact(text).text)
            # Token counts are per block of lines: an edit recounts the edited block only
            # (the counter caches texts it has seen, the previous version's blocks too).
            cached = (digest, source, None, _Blocks(source, self.counter))
            self._texts[rel] = cached
        self._texts.move_to_end(rel)
        if len(self._texts) > _TEXT_MEMO:
            self._texts.popitem(last=False)
        symbols = cached[2]
        if symbols is None and not typing:
            if entry is not None and entry.content_hash == digest:
                symbols = entry.symbols
            else:
                raw = text.encode("utf-8", "surrogatepass")
                symbols = parse.extract(raw, language_for_path(rel))
            self._texts[rel] = (cached[0], cached[1], symbols, cached[3])
        return cached[1], symbols, cached[3]

    def _read_unindexed(self, rel: str) -> str:
        """Text of a current file the index does not hold (new, or not indexed yet)."""
        verdict = self.index.policy.check_file(rel)
        if isinstance(verdict, SkipReason):
            raise ContextDenied(rel, verdict.value)
        limit = self.index.options.max_file_bytes
        path = Path(self.index.root, rel)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return ""  # a buffer never saved: nothing on disk yet
        except OSError as exc:
            raise ContextDenied(rel, SkipReason.UNREADABLE.value) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ContextDenied(rel, SkipReason.UNREADABLE.value)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(limit + 1)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise ContextDenied(rel, SkipReason.TOO_LARGE.value)
        return data.decode("utf-8", "replace")
