"""The context engine's per-workspace cache: structures derived from the index.

Contract
--------
- :class:`WorkspaceCache` follows one :class:`~minimax_lsp.indexer.index.Index`: the
  import resolver and graph, the symbol table, the def/ref graph, the BM25 index and
  per-file :class:`FileData` (redacted text, token blocks, outlines, import bindings),
  plus memoised re-export answers. :meth:`WorkspaceCache.sync` brings them to the
  index's version: only files whose content hash changed are re-derived (the import
  graph is rebuilt when files are added or removed or a resolver configuration file
  changes), and of an edited file only its changed BM25 chunks.
- Nothing here is thread-safe: the engine serialises access with its lock.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from minimax_lsp.indexer.context_blocks import TokenBlocks
from minimax_lsp.indexer.graph import RepoGraph
from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.lexical import Chunk, ChunkTerms, LexicalIndex, chunk_file
from minimax_lsp.indexer.outline import SourceText, outline_definitions, render_outline
from minimax_lsp.indexer.rank import STAR, ImportBinding, import_bindings
from minimax_lsp.indexer.records import TEXT_LANGUAGE, Definition, FileEntry
from minimax_lsp.indexer.redact import redact
from minimax_lsp.indexer.resolve import ImportGraph, ImportResolver, SymbolTable, affects_resolution
from minimax_lsp.indexer.tokens import TokenCounter

__all__ = [
    "RANK_TOP",
    "SECONDARY_DEFINITION_KINDS",
    "FileData",
    "Prepared",
    "Stopped",
    "SyncPlan",
    "WorkspaceCache",
    "join_module",
    "text_digest",
]

#: Candidate files taken from each ranked signal (graph, global).
RANK_TOP: Final = 300
#: Definition kinds that a class or function of the same name outranks.
SECONDARY_DEFINITION_KINDS: Final = frozenset({"variable", "field"})
#: A batch changing more files than this rebuilds the import graph instead of patching.
_REBUILD_IMPORTS_FILES: Final = 64
#: Re-export hops followed from an imported module to the defining one.
_EXPORT_HOPS: Final = 4
#: Memo sizes (entries): BM25 chunk terms of the files edited last, snippet counts per
#: file.
_CHUNK_MEMO: Final = 8
_SNIPPET_MEMO: Final = 64


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The index's changes since a workspace's last sync (see :meth:`WorkspaceCache.plan`)."""

    version: int
    entries: dict[str, FileEntry]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    #: Files added or removed, or a resolver configuration changed: the import resolver
    #: and graph are rebuilt.
    structural: bool

    @property
    def files(self) -> int:
        """How many files the plan re-derives or drops."""
        return len(self.changed) + len(self.removed)


@dataclass(frozen=True, slots=True)
class Prepared:
    """The pure work of a :class:`SyncPlan` (see :meth:`WorkspaceCache.prepare`)."""

    #: Changed path -> its derived data and BM25 chunks (``None``: unreadable now).
    files: dict[str, tuple[FileData, list[Chunk]] | None]
    resolver: ImportResolver
    #: The rebuilt import graph, when the plan rebuilds it.
    imports: ImportGraph | None


class Stopped(Exception):
    """A build or update was stopped half-way (see :meth:`WorkspaceCache.build`)."""


def _never() -> bool:
    return False


def text_digest(text: str) -> str:
    """The index's content hash of ``text`` (BLAKE2b-128 of its UTF-8 bytes)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def join_module(module: str, name: str) -> str:
    """``from module import name`` as one dotted module (``.`` + ``x`` -> ``.x``)."""
    return module + name if module.endswith(".") else f"{module}.{name}"


class FileData:
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
        self.raw_digest = text_digest(raw_text)
        self.source = SourceText(redact(raw_text).text)
        self.blocks = TokenBlocks(self.source, counter)
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


class WorkspaceCache:
    """Structures derived from the index, kept in step with ``index.version``."""

    def __init__(self, index: Index, counter: TokenCounter) -> None:
        self.index = index
        self.counter = counter
        self.version = -1
        self.entries: dict[str, FileEntry] = {}
        self.files: dict[str, FileData] = {}
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
        self._built = False
        #: Moves whenever a structure may have changed (each step of a sync): what is
        #: read from this object may be memoised by it.
        self.generation = 0

    # -- sync -------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        """Whether every structure exists (else only the entries and the resolver do)."""
        return self._built

    def sync(self) -> None:
        """Bring every structure up to the index's current version (all work here)."""
        if not self._built:
            self.build()
            return
        plan = self.plan()
        if plan is not None:
            self.apply(plan)

    def build(self, stop: Callable[[], bool] = _never) -> None:
        """Build every structure from the index as it is now.

        ``stop`` is polled between files: when it answers true the build ends early with
        :class:`Stopped` (the engine is closing) and this object must not be used.
        """
        # Version first, entries second: a change in between is seen again next time.
        version = self.index.version
        entries = {e.path: e for e in self.index.entries()}
        self._build(entries, stop)
        self._built = True
        self._finish(version, entries)

    def bootstrap(self) -> None:
        """Follow the index with the entries and the import resolver only.

        What a workspace not :attr:`built` yet offers: the current file's imports resolve
        and files can be read, in milliseconds, while :meth:`build` runs elsewhere.
        """
        version = self.index.version
        if version == self.version and self.resolver is not None:
            return
        entries = {e.path: e for e in self.index.entries()}
        if self.resolver is None or entries.keys() != self.entries.keys():
            self.resolver = ImportResolver(sorted(entries), self.index.read_text)
        self.entries = entries
        self._forget_exports(None)
        self._finish(version, entries)

    def plan(self) -> SyncPlan | None:
        """What changed in the index since the last sync (``None``: nothing)."""
        version = self.index.version
        if version == self.version:
            return None
        entries = {e.path: e for e in self.index.entries()}
        old = self.entries
        changed = sorted(
            p
            for p, e in entries.items()
            if (o := old.get(p)) is None or o.content_hash != e.content_hash
        )
        removed = sorted(old.keys() - entries.keys())
        structural = bool(removed) or any(p not in old for p in changed)
        structural = structural or any(affects_resolution(p) for p in changed)
        return SyncPlan(version, entries, tuple(changed), tuple(removed), structural)

    def apply(self, plan: SyncPlan) -> None:
        """Apply ``plan`` in one go (see :meth:`commit`)."""
        for _ in self.commit(plan):
            pass

    def prepare(self, plan: SyncPlan, stop: Callable[[], bool] = _never) -> Prepared:
        """The pure work of ``plan``, done without touching any structure.

        Reads and redacts the changed files, chunks them for BM25 and, when the plan
        rebuilds them, makes the new import resolver and graph: so that a large update
        holds the engine's lock only for the short steps of :meth:`commit`.
        """
        files: dict[str, tuple[FileData, list[Chunk]] | None] = {}
        for path in plan.changed:
            if stop():
                raise Stopped
            entry = plan.entries[path]
            text = self.index.read_text(path)
            if text is None:
                files[path] = None
                continue
            data = FileData(entry, text, self.counter)
            files[path] = (data, chunk_file(path, data.source.text, entry.symbols))
        resolver = self.resolver
        if plan.structural or resolver is None:
            resolver = ImportResolver(sorted(plan.entries), self.index.read_text)
        imports = None
        if plan.structural or len(plan.changed) > _REBUILD_IMPORTS_FILES:
            symbols = {p: e.symbols for p, e in plan.entries.items()}
            imports = ImportGraph.build(symbols, resolver)
        return Prepared(files, resolver, imports)

    def commit(self, plan: SyncPlan, prepared: Prepared | None = None) -> Iterator[None]:
        """Apply ``plan`` (with the work :meth:`prepare` did, if given), step by step.

        A generator: it yields between small steps, where the caller may release its
        lock and let requests read the structures (usable, if partly stale, at every
        step); the version moves at the end. The result does not depend on
        ``prepared`` or on the steps: both only move work out of the lock.
        """
        old = self.entries
        self.entries = plan.entries
        self._definer_counts.clear()
        # The total size moves by what changed (summing every entry costs a keystroke).
        size_total = self.size_total + sum(plan.entries[p].size for p in plan.changed)
        size_total -= sum(e.size for p in (*plan.changed, *plan.removed) if (e := old.get(p)))
        if not plan.changed and not plan.removed:
            self._finish(plan.version, plan.entries, size_total)
            return
        self._forget_exports(None if plan.structural else [*plan.changed, *plan.removed])
        for path in plan.removed:
            self._chunk_memo.pop(path, None)
            self.files.pop(path, None)
            self.symbols.update(path, None)
            self.graph.remove_file(path)
            self.lexical.remove_file(path)
            self.generation += 1
            yield
        for path in plan.changed:
            ready = prepared.files.get(path) if prepared is not None else None
            if ready is not None:
                self.files[path] = ready[0]
            else:
                self.files.pop(path, None)
            before = old.get(path)
            symbols = plan.entries[path].symbols
            # Typing inside a body rarely moves a definition: then the table stands.
            if before is None or before.symbols.definitions != symbols.definitions:
                self.symbols.update(path, symbols)
            self.generation += 1
            yield
        regraph = self._update_imports(list(plan.changed), plan.structural, prepared)
        self.generation += 1
        yield
        for path in sorted(regraph):
            entry = plan.entries.get(path)
            if entry is not None:
                self.graph.update_file(path, entry.symbols, self.imports.imports_of(path))
            self.generation += 1
            yield
        for path in plan.changed:
            if prepared is None:
                self._index_text(path, edited=True)
            else:
                self._chunk_memo.pop(path, None)
                ready = prepared.files.get(path)
                if ready is None:
                    self.lexical.remove_file(path)
                else:
                    self.lexical.add_file(path, ready[1])
            self.generation += 1
            yield
        self._finish(plan.version, plan.entries, size_total)

    def _finish(
        self, version: int, entries: Mapping[str, FileEntry], size_total: int | None = None
    ) -> None:
        self.generation += 1
        self._definer_counts.clear()
        if size_total is None:
            size_total = sum(e.size for e in entries.values())
        self.size_total = size_total
        self.version = version

    def _build(self, entries: dict[str, FileEntry], stop: Callable[[], bool]) -> None:
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
            if stop():
                raise Stopped
            self._index_text(path)

    def _update_imports(
        self, changed: list[str], structural: bool, prepared: Prepared | None
    ) -> set[str]:
        """Re-resolve imports; return the files whose graph rows need an update."""
        assert self.resolver is not None
        if structural or len(changed) > _REBUILD_IMPORTS_FILES:
            before = self.imports
            if prepared is not None and prepared.imports is not None:
                self.resolver, self.imports = prepared.resolver, prepared.imports
            else:
                if structural:
                    self.resolver = ImportResolver(sorted(self.entries), self.index.read_text)
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
        """The best :data:`RANK_TOP` + 1 files by global rank (cached per graph version)."""
        version, top = self._global_top
        if version != self.graph.version:
            top = self.graph.global_rank().top(RANK_TOP + 1) if len(self.graph) else []
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
            sub = join_module(binding.module, name)
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
        primary = [(p, d) for p, d in own if d.kind not in SECONDARY_DEFINITION_KINDS]
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

    def data(self, path: str) -> FileData | None:
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
        data = FileData(entry, text, self.counter)
        self.files[path] = data
        return data

    def warm_files(self, stop: Callable[[], bool] = _never) -> None:
        """Count tokens and render outlines of every file now (they are cached).

        May run without the engine's lock, while packs proceed: it only fills caches of
        pure functions of each file's text (a race computes a value twice, or stores a
        file's data that the next :meth:`data` call sees is stale and replaces).
        """
        for path in sorted(self.entries):
            if stop():
                return
            data = self.data(path)
            if data is not None:
                data.full_tokens()
                data.outline_tokens(None, self.counter)
