"""The signals of one context request: per-file values and focus units.

Contract
--------
``SignalCollector(ws, request, current).collect() -> Signals``: the eight signals of
:mod:`rank` (``imports``, ``definitions``, ``imported_names``, ``graph``, ``lexical``,
``callers``, ``recency``, ``global``), each normalised over the candidate files (the
current file excluded), and the focus units proposed by the unit signals, with a human
reason per (signal, file). A pure function of the workspace state and the request;
ties are broken by path and line. The scoring formula is in :mod:`rank`'s docstring.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from minimax_lsp.indexer.context_current import CurrentFile
from minimax_lsp.indexer.context_records import ContextRequest
from minimax_lsp.indexer.context_workspace import (
    RANK_TOP,
    SECONDARY_DEFINITION_KINDS,
    WorkspaceCache,
)
from minimax_lsp.indexer.lexical import ScoredChunk, tokenize
from minimax_lsp.indexer.outline import enclosing_definition
from minimax_lsp.indexer.rank import (
    TASK_WEIGHTS,
    Task,
    Weights,
    code_words,
    focus_region,
    identifier_chains,
    imported_name_value,
    is_test_path,
    match_weight,
    name_information,
    normalised,
    personalization,
    proximity_weight,
    recency_scores,
    text_identifiers,
)
from minimax_lsp.indexer.records import TEXT_LANGUAGE, Definition, FileEntry
from minimax_lsp.indexer.resolve import Locality

__all__ = ["SignalCollector", "SignalMemo", "Signals", "Unit"]

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
#: BM25 hits in plain-text files (docs, notes) count this much when the current file
#: is code and the task is not chat (code context first; a question may be about docs).
_TEXT_HIT_FACTOR: Final = 0.5
#: A definition found by name alone (not the current file, not imported by it) counts
#: this much when it is in a test file and the current file is not, and this much when
#: it is a variable or field of fewer than _TINY_DEFINITION_LINES lines.
_TEST_DEFINITION_FACTOR: Final = 0.25
_TINY_DEFINITION_FACTOR: Final = 0.5
_TINY_DEFINITION_LINES: Final = 3
_UNRELATED_LOCALITIES: Final = frozenset({Locality.SAME_DIRECTORY, Locality.WORKSPACE})
_CALLER_KINDS: Final = frozenset({"function", "method"})
#: Keys kept per memo of :class:`SignalMemo` (a few files edited in turn), and names
#: whose symbol-table matches are kept (a few cursor regions' worth).
_MEMO_SIZE: Final = 8
_NAME_MEMO: Final = 1024


@dataclass(slots=True)
class Unit:
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
class Signals:
    """Per-file signal values (normalised) and the focus units of one request."""

    files: dict[str, dict[str, float]] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    #: Human reason per (signal, path), from the unit that contributed most.
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    #: What the cursor-independent signals (imports, graph, recency, global) depend on
    #: (``None``: not memoised); see :class:`SignalMemo`.
    stable_key: tuple[object, ...] | None = None


class Lru:
    """A small least-recently-used memo (``None`` is never a stored value)."""

    __slots__ = ("_data", "_size")

    def __init__(self, size: int) -> None:
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size

    def get(self, key: Hashable) -> Any:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self._size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


class SignalMemo:
    """What consecutive requests share, memoised by exactly what it depends on.

    While the user types inside a function, the personalised graph rank (current file,
    open and recent buffers, graph version), the BM25 hits of the cursor region (the
    line being typed is not part of the query; BM25 index version), the global rank and
    the stable file scores do not change: each is kept for the last few keys. Every
    value is a pure function of its key, so memoising changes no manifest. One per
    engine, used under its lock; :meth:`clear` when the workspace object is replaced
    (versions restart with a new graph or BM25 index).
    """

    def __init__(self) -> None:
        self.graph = Lru(_MEMO_SIZE)
        self.global_rank = Lru(_MEMO_SIZE)
        self.lexical = Lru(_MEMO_SIZE)
        self.stable = Lru(_MEMO_SIZE)
        self.repository = Lru(_MEMO_SIZE)
        #: Symbol-table matches per looked-up name (see SignalCollector._matches).
        self.names = Lru(_NAME_MEMO)
        #: Identifier chains per line text (see rank.identifier_chains).
        self.lines: dict[str, tuple[tuple[str, int, int], ...]] = {}

    def clear(self) -> None:
        for lru in (self.graph, self.global_rank, self.lexical, self.stable, self.repository):
            lru.clear()
        self.names.clear()
        self.lines.clear()


class SignalCollector:
    """Computes the signals of one request against a synced workspace (see rank.py)."""

    def __init__(
        self,
        ws: WorkspaceCache,
        request: ContextRequest,
        current: CurrentFile | None,
        memo: SignalMemo | None = None,
    ) -> None:
        self.ws = ws
        self.request = request
        self.cur = current
        self.task: Task = request.task
        self.weights: Weights = TASK_WEIGHTS[request.task]
        self.memo = memo

    # -- signals ----------------------------------------------------------------------

    def collect(self) -> Signals:
        """Per-file signal values and the focus units of the request."""
        ws, cur, request = self.ws, self.cur, self.request
        sig = Signals()
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
        graph_key = self._graph_key(mentioned)
        sig.files["graph"] = self._graph_signal(mentioned, graph_key)
        sig.files["global"] = self._global_signal()
        if self.memo is not None:
            sig.stable_key = (
                graph_key,
                self._exclude(),
                tuple(sig.files.get("imports", ())),
                tuple(sorted(sig.files["recency"].items())),
            )
        imported_units = self._imported_units(sig)
        sig.units = definition_units + imported_units + lexical_units + caller_units
        if cur is not None and cur.windowed:
            # Their lines are the window's, not the file's (nor the index's copy's).
            sig.units = [u for u in sig.units if u.path != cur.path]
        return sig

    def _exclude(self) -> tuple[str, ...]:
        return (self.cur.path,) if self.cur is not None else ()

    def _graph_key(self, mentioned: Mapping[str, float]) -> tuple[object, ...]:
        """What the graph signal depends on (the graph's version and the restarts)."""
        cur, request = self.cur, self.request
        return (
            self.ws.graph.version,
            cur.path if cur is not None else None,
            request.open_paths,
            request.recent_paths,
            tuple(sorted(mentioned.items())),
            self.task == "chat",
        )

    def _graph_signal(
        self, mentioned: Mapping[str, float], key: tuple[object, ...]
    ) -> dict[str, float]:
        memo = self.memo
        if memo is None:
            return self._graph_ranks(mentioned)
        found: dict[str, float] | None = memo.graph.get(key)
        if found is None:
            found = self._graph_ranks(mentioned)
            memo.graph.put(key, found)
        return found

    def _graph_ranks(self, mentioned: Mapping[str, float]) -> dict[str, float]:
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
        return normalised(dict(ranking.top(RANK_TOP, exclude=self._exclude())))

    def _global_signal(self) -> dict[str, float]:
        exclude = self._exclude()
        key = (self.ws.graph.version, exclude)
        found: dict[str, float] | None = self.memo.global_rank.get(key) if self.memo else None
        if found is None:
            top = [(p, v) for p, v in self.ws.global_top() if p not in exclude][:RANK_TOP]
            found = normalised(dict(top))
            if self.memo is not None:
                self.memo.global_rank.put(key, found)
        return found

    def _region(self) -> tuple[int, int]:
        cur = self.cur
        assert cur is not None
        return focus_region(
            cur.stable_symbols.definitions, cur.line, cur.source.line_count, cur.selection
        )

    def _definition_units(self, sig: Signals) -> list[Unit]:
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
                line_cache=self.memo.lines if self.memo is not None else None,
            )
        question = text_identifiers(request.query)
        masses: dict[tuple[str, int, int], Unit] = {}
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

    def _imported_units(self, sig: Signals) -> list[Unit]:
        """Definitions of the names the current file imports, by how near their uses are.

        The cursor's own call is often still unwritten (or the name being typed), so
        "defines `X` used at cursor" cannot see it; what the file imports, and uses
        around the cursor or not at all yet, is the next best guess.
        """
        cur = self.cur
        if cur is None or not cur.imported:
            return []
        anchor = cur.selection or (cur.line, cur.line)
        units: dict[tuple[str, int, int], Unit] = {}
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
                    unit = units[key] = Unit(
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
        self, name: str, weight: float, masses: dict[tuple[str, int, int], Unit]
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
        for path, definition, share, tier in self._matches(name):
            mass = weight * info * share / tier
            self._add_mass(masses, path, definition, bare, mass)

    def _matches(self, name: str) -> tuple[tuple[str, Definition, float, int], ...]:
        """What ``name`` may mean: ``(path, definition, share, best tier size)`` each
        (memoised per workspace generation, current file and its imports)."""
        cur = self.cur
        importer = cur.path if cur is not None else None
        imported = cur.import_closure if cur is not None else frozenset()
        key = (name, importer, imported, self.ws.generation)
        memo = self.memo
        found: tuple[tuple[str, Definition, float, int], ...] | None = (
            memo.names.get(key) if memo is not None else None
        )
        if found is not None:
            return found
        matches = self.ws.symbols.lookup(
            name, importer=importer, imported=imported, limit=_LOOKUP_LIMIT
        )
        out: list[tuple[str, Definition, float, int]] = []
        if matches:
            best = matches[0]
            qualified = "." in name
            tier = sum(
                1
                for m in matches
                if m.locality == best.locality and m.qualifier_matched == best.qualifier_matched
            )
            for match in matches:
                qualifier_ok = (
                    not qualified or match.qualifier_matched or not best.qualifier_matched
                )
                share = match_weight(
                    match.locality.value, best.locality.value, qualifier_ok, match.definition.kind
                )
                if match.locality in _UNRELATED_LOCALITIES:
                    share *= self._unrelated_factor(match.path, match.definition)
                out.append((match.path, match.definition, share, tier))
        found = tuple(out)
        if memo is not None:
            memo.names.put(key, found)
        return found

    def _unrelated_factor(self, path: str, definition: Definition) -> float:
        """How much a definition found by name alone (the current file neither is it nor
        imports it) is believed: tests are rarely what code outside tests uses, and a
        variable of a line or three elsewhere is most often a namesake."""
        factor = 1.0
        cur = self.cur
        if is_test_path(path) and (cur is None or not is_test_path(cur.path)):
            factor *= _TEST_DEFINITION_FACTOR
        tiny = definition.end_line - definition.start_line < _TINY_DEFINITION_LINES
        if tiny and definition.kind in SECONDARY_DEFINITION_KINDS:
            factor *= _TINY_DEFINITION_FACTOR
        return factor

    def _add_mass(
        self,
        masses: dict[tuple[str, int, int], Unit],
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
            unit = masses[key] = Unit(
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
        self, signal: str, units: list[Unit], sig: Signals, *, reference: float = 0.0
    ) -> list[Unit]:
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

    def _search(self, query: str, k: int) -> tuple[ScoredChunk, ...]:
        """The BM25 hits of ``query`` (memoised by the BM25 index's version)."""
        key = (self.ws.lexical.version, query, self.task == "chat", k, self._exclude())
        found: tuple[ScoredChunk, ...] | None = self.memo.lexical.get(key) if self.memo else None
        if found is None:
            terms = self._query_terms(query)
            found = ()
            if terms:
                found = tuple(
                    self.ws.lexical.search(
                        terms, k, exclude_paths=self._exclude(), max_postings=_CHAT_POSTINGS
                    )
                )
            if self.memo is not None:
                self.memo.lexical.put(key, found)
        return found

    def _lexical_units(self, sig: Signals) -> list[Unit]:
        query = self._lexical_query()
        if not query.strip():
            return []
        # Bigger budgets can afford more hits (each is a chunk of up to ~60 lines).
        k = min(_LEXICAL_HITS_MAX, _LEXICAL_HITS + self.request.budget // _TOKENS_PER_EXTRA_HIT)
        hits = self._search(query, k)
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
                Unit(
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

    def _caller_units(self, sig: Signals) -> list[Unit]:
        """explain/refactor (and chat about a selection): who uses what the selection defines."""
        cur = self.cur
        if cur is None:
            return []
        if self.task == "complete" or (self.task == "chat" and cur.selection is None):
            return []
        units: dict[tuple[str, int, int], Unit] = {}
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
        units: dict[tuple[str, int, int], Unit],
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
                unit = units[key] = Unit(
                    entry.path, start, end, "callers", 0.0, f"caller of `{name}`", host, line
                )
            unit.value += weight / len(lines)
