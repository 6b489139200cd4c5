"""Lexical search: BM25 over definition-aligned chunks of workspace files.

Contract
--------
- :func:`chunk_file` splits a file's text into :class:`Chunk` records. Top-level
  definitions (``scope == ""``) are chunk boundaries: one definition is one chunk; a run of
  tiny definitions (constants, one-line helpers) is grouped until it reaches
  :data:`MIN_CHUNK_LINES`; a definition longer than :data:`MAX_CHUNK_LINES` is split into
  windows of :data:`WINDOW_LINES` lines overlapping by :data:`WINDOW_OVERLAP`. Code between
  definitions (imports, module statements) and files without definitions (plain text) get
  the same line windows. A short gap (comments, decorators, blank lines) sticks to the
  definition that follows it. The chunks' 1-based inclusive ranges cover every line of the
  file, in order; only window overlaps are covered twice.
- :func:`tokenize` turns code into search terms: every identifier gives its lower-cased
  sub-words (split on ``_``, camelCase and digit runs) plus the whole identifier
  lower-cased; terms shorter than two characters and a small stop-list (language keywords,
  a few English words) are dropped. Pure regex, no grammar.
- :class:`LexicalIndex` holds an inverted index (term -> chunk ids with each one's BM25
  term-frequency part, computed at index time against a fixed length pivot) and scores
  with BM25 (Lucene's non-negative idf, always live). It is incremental:
  :meth:`LexicalIndex.add_file` replaces a file's chunks, :meth:`LexicalIndex.remove_file`
  drops them, and document frequencies and postings follow along, so an index built by
  any sequence of adds and removes answers every query exactly as an index rebuilt from
  the surviving files would.
- Search latency is bounded: only postings of the query's terms are read; terms present in
  more than ``max_df_fraction`` of the chunks are skipped (BM25 would give them almost no
  weight anyway); terms are read rarest first and reading stops once ``max_postings``
  postings have been scored. Ties are broken by path, then start line, so results are
  deterministic.

Not thread-safe: the owner serialises writes and reads (one writer, or a lock).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from array import array
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

from minimax_lsp.indexer.records import TEXT_LANGUAGE, FileSymbols

__all__ = [
    "DEFAULT_MAX_POSTINGS",
    "DEFAULT_PIVOT",
    "MAX_CHUNK_LINES",
    "MIN_CHUNK_LINES",
    "STOP_WORDS",
    "WINDOW_LINES",
    "WINDOW_OVERLAP",
    "Chunk",
    "ChunkTerms",
    "LexicalIndex",
    "LexicalStats",
    "ScoredChunk",
    "chunk_file",
    "chunk_key",
    "line_windows",
    "make_chunk",
    "split_identifier",
    "tokenize",
]

#: Lines per window when a span (a long definition, module code, plain text) is windowed.
WINDOW_LINES: Final = 50
#: Lines shared by consecutive windows, so a statement cut by a window edge is whole in one.
WINDOW_OVERLAP: Final = 10
#: A definition (or gap) up to this long stays one chunk; longer ones are windowed.
MAX_CHUNK_LINES: Final = 60
#: Consecutive tiny definitions are grouped until the group has at least this many lines.
MIN_CHUNK_LINES: Final = 10
#: A gap between definitions up to this long joins the next definition (comments, decorators).
ATTACH_GAP_LINES: Final = 8

#: Terms never indexed: keywords of the supported languages and a few English fillers.
#: They occur in nearly every chunk, so BM25 gives them no weight; dropping them keeps the
#: postings lists short and queries fast. Keywords that are also common identifier parts
#: (``case`` in ``TestCase``, ``new``, ``default``, ``type``, ``match``, ``end``) stay.
STOP_WORDS: Final = frozenset(
    """
    and as assert async await break catch class cls const continue def del do elif else
    except export extends false finally fn for from func function if impl import in is lambda
    let mut nil none not null or pass pub raise return self static struct super switch this
    throw throws true try undefined var void while with yield the an to of on at by it be we
    that are was
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# An identifier: a letter or underscore (any script), then word characters.
_IDENT_RE: Final = re.compile(r"[^\W\d]\w*")
# Sub-words of one underscore-free ASCII part: acronyms (``HTTP`` in ``HTTPServer``),
# capitalised or lower-case words, digit runs.
_SUBWORD_RE: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

#: Reference chunk length (terms) for BM25 length normalisation; see :class:`LexicalIndex`.
#: (128 is the mean chunk length measured on the CPython standard library.)
DEFAULT_PIVOT: Final = 128.0
#: Default postings budget per query (see :class:`LexicalIndex`); bounds search latency
#: to ~2-3 ms on a 2-core machine (about 0.2 us per posting scored).
DEFAULT_MAX_POSTINGS: Final = 10_000


# --------------------------------------------------------------------------- tokenizer


def split_identifier(identifier: str) -> list[str]:
    """Search terms for one identifier: lower-cased sub-words, then the whole identifier.

    ``parseHTTPResponse2`` gives ``["parse", "http", "response", "parsehttpresponse2"]``
    (``"2"`` is dropped: shorter than two characters); ``snake_case`` gives
    ``["snake", "case", "snake_case"]``; ``value`` gives ``["value"]``. Stop words and
    one-character terms are dropped, so the result may be empty.
    """
    if identifier.isalpha() and identifier.islower():
        # The common case (a plain lower-case word) needs no regex work.
        return [] if len(identifier) < 2 or identifier in STOP_WORDS else [identifier]
    # camelCase and digit splitting is ASCII-only; identifiers in other scripts split on
    # underscores alone (the regex cannot tell case in every script).
    parts = identifier.split("_")
    subs = (
        [sub for part in parts for sub in _SUBWORD_RE.findall(part)]
        if identifier.isascii()
        else parts
    )
    terms: list[str] = []
    for sub in subs:
        low = sub.lower()
        if len(low) >= 2 and low not in STOP_WORDS:
            terms.append(low)
    whole = identifier.lower()
    if len(whole) >= 2 and whole not in STOP_WORDS and (len(terms) != 1 or terms[0] != whole):
        terms.append(whole)
    return terms


def tokenize(text: str) -> list[str]:
    """Search terms of ``text`` in order of occurrence (see :func:`split_identifier`).

    Numbers on their own and punctuation are ignored. Identifiers are split once per call
    (a call-local memo), which matters because code repeats its identifiers a lot.
    """
    memo: dict[str, list[str]] = {}
    out: list[str] = []
    extend = out.extend
    for ident in _IDENT_RE.findall(text):
        terms = memo.get(ident)
        if terms is None:
            terms = memo[ident] = split_identifier(ident)
        extend(terms)
    return out


# --------------------------------------------------------------------------- chunking


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a file and its term frequencies, the unit BM25 ranks.

    Parameters
    ----------
    path:
        Workspace-relative POSIX path of the file.
    start_line, end_line:
        1-based inclusive line range.
    terms:
        ``(term, frequency)`` pairs sorted by term.
    length:
        Total number of terms (the BM25 document length).
    key:
        A digest of the chunk's text (``b""``: unknown). :meth:`LexicalIndex.add_file`
        keeps the postings of a file's chunk whose key comes again, moved to its new
        lines, instead of removing and re-adding them.
    """

    path: str
    start_line: int
    end_line: int
    terms: tuple[tuple[str, int], ...]
    length: int
    key: bytes = b""


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A search hit: the chunk's span and its BM25 score (higher is better)."""

    path: str
    start_line: int
    end_line: int
    score: float


#: What :func:`chunk_file` remembers of a chunk text: its terms and length.
ChunkTerms = tuple[tuple[tuple[str, int], ...], int]


def chunk_key(text: str) -> bytes:
    """The :attr:`Chunk.key` of a chunk text (BLAKE2b-64 of its UTF-8 bytes)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def make_chunk(
    path: str,
    start_line: int,
    end_line: int,
    text: str,
    *,
    known: ChunkTerms | None = None,
) -> Chunk:
    """Build the :class:`Chunk` for ``text`` (the lines ``start_line..end_line``).

    ``known``: the terms and length of this very text, from an earlier chunking (they
    are then not recomputed).
    """
    if start_line < 1 or end_line < start_line:
        raise ValueError(f"bad chunk range {start_line}-{end_line} for {path!r}")
    if known is None:
        counts = Counter(tokenize(text))
        known = (tuple(sorted(counts.items())), sum(counts.values()))
    return Chunk(
        path=path,
        start_line=start_line,
        end_line=end_line,
        terms=known[0],
        length=known[1],
        key=chunk_key(text),
    )


def line_windows(
    start: int, end: int, size: int = WINDOW_LINES, overlap: int = WINDOW_OVERLAP
) -> list[tuple[int, int]]:
    """Cover ``start..end`` (1-based inclusive) with windows of ``size`` lines.

    Consecutive windows share ``overlap`` lines. The last window is pulled back so that it
    ends at ``end`` and is still full-size (no stub window of three lines at the end).
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"bad window size {size} / overlap {overlap}")
    if end < start:
        return []
    if end - start + 1 <= size:
        return [(start, end)]
    step = size - overlap
    windows: list[tuple[int, int]] = []
    lo = start
    while lo + size - 1 < end:
        windows.append((lo, lo + size - 1))
        lo += step
    windows.append((max(start, end - size + 1), end))
    return windows


def _split_lines(text: str) -> list[str]:
    # Lines end at "\n" only, as tree-sitter counts them (str.splitlines would also break
    # at form feeds and U+2028, shifting every later line number).
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _definition_spans(symbols: FileSymbols, n_lines: int) -> list[tuple[int, int]]:
    """Top-level definition ranges clamped to the file, sorted, overlaps merged."""
    if symbols.language == TEXT_LANGUAGE:
        return []
    raw = sorted(
        (max(1, d.start_line), min(n_lines, d.end_line))
        for d in symbols.definitions
        if not d.scope and d.start_line <= d.end_line and d.start_line <= n_lines
    )
    spans: list[tuple[int, int]] = []
    for lo, hi in raw:
        if hi < lo:
            continue
        if spans and lo <= spans[-1][1]:
            # Overlapping "top-level" ranges (a parser quirk, a decorated duplicate):
            # keep one span covering both so no line is chunked twice.
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _units(spans: list[tuple[int, int]], n_lines: int) -> list[tuple[int, int, bool]]:
    """Partition ``1..n_lines`` into ``(start, end, is_definition)`` units."""
    units: list[tuple[int, int, bool]] = []
    cursor = 1
    for lo, hi in spans:
        if lo > cursor:
            gap = lo - cursor
            if gap <= ATTACH_GAP_LINES:
                lo = cursor  # short gap: comments/decorators belong to what follows
            else:
                units.append((cursor, lo - 1, False))
        units.append((lo, hi, True))
        cursor = hi + 1
    if cursor <= n_lines:
        tail = n_lines - cursor + 1
        if units and units[-1][2] and tail <= ATTACH_GAP_LINES:
            units[-1] = (units[-1][0], n_lines, True)
        else:
            units.append((cursor, n_lines, False))
    return units


def _group_small(units: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
    """Merge runs of adjacent tiny definition units into groups of ``MIN_CHUNK_LINES``."""
    groups: list[tuple[int, int]] = []
    open_group = False  # is groups[-1] a definition group still below the minimum?
    for lo, hi, is_def in units:
        if is_def and open_group and hi - groups[-1][0] + 1 <= MAX_CHUNK_LINES:
            groups[-1] = (groups[-1][0], hi)
        else:
            groups.append((lo, hi))
        open_group = is_def and groups[-1][1] - groups[-1][0] + 1 < MIN_CHUNK_LINES
    return groups


def chunk_file(
    path: str,
    text: str,
    symbols: FileSymbols,
    *,
    cache: dict[str, ChunkTerms] | None = None,
) -> list[Chunk]:
    """Split one file into chunks aligned to its top-level definitions.

    Parameters
    ----------
    path:
        Workspace-relative POSIX path, copied into every chunk.
    text:
        The file's decoded text.
    symbols:
        Its extracted symbols; only top-level definitions (``scope == ""``) are used.
        Plain-text files (``TEXT_LANGUAGE``) and files without definitions are windowed.
    cache:
        Optional memo of chunk texts seen before (the previous version of the same
        file, typically) and their terms: a chunk whose text is in it is not tokenized
        again, which makes re-chunking a big file after a small edit cheap. On return
        it holds exactly this call's chunk texts (so it does not grow across edits).

    Returns
    -------
    list[Chunk]
        In line order; their ranges cover ``1..line count`` (overlapping only within
        windowed spans). Empty text gives no chunks.
    """
    lines = _split_lines(text)
    n_lines = len(lines)
    if n_lines == 0:
        return []
    groups = _group_small(_units(_definition_spans(symbols, n_lines), n_lines))
    chunks: list[Chunk] = []
    seen: dict[str, ChunkTerms] = {}
    for lo, hi in groups:
        windows = [(lo, hi)] if hi - lo + 1 <= MAX_CHUNK_LINES else line_windows(lo, hi)
        for w_lo, w_hi in windows:
            body = "\n".join(lines[w_lo - 1 : w_hi])
            known = seen.get(body)
            if known is None and cache is not None:
                known = cache.get(body)
            chunk = make_chunk(path, w_lo, w_hi, body, known=known)
            seen[body] = (chunk.terms, chunk.length)
            chunks.append(chunk)
    if cache is not None:
        cache.clear()
        cache.update(seen)
    return chunks


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True, slots=True)
class LexicalStats:
    """Size of a :class:`LexicalIndex` (for logs and benchmarks)."""

    files: int
    chunks: int
    terms: int
    postings: int
    dead_chunks: int


@dataclass(frozen=True, slots=True)
class _FileRecord:
    chunk_ids: tuple[int, ...]
    # Per chunk, its distinct terms: exactly the df increments to undo on removal.
    chunk_terms: tuple[tuple[str, ...], ...]
    # Per chunk, its Chunk.key (b"" when unknown): what add_file may keep.
    chunk_keys: tuple[bytes, ...]


class _Postings:
    """Chunk ids holding one term, and each one's precomputed BM25 term-frequency part."""

    __slots__ = ("df", "ids", "term", "weights")

    def __init__(self, term: str) -> None:
        # The one copy of the term string that per-file records point to (each chunk's
        # tokenizer output is a fresh string; keeping those alive would double memory).
        self.term = term
        self.ids: array[int] = array("i")
        self.weights: array[float] = array("f")
        #: Live chunks holding the term; ``ids`` may also hold removed ones until rewritten.
        self.df = 0


class LexicalIndex:
    """Incremental BM25 index over :class:`Chunk` records.

    Scoring is BM25 with Lucene's idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``, and the
    term-frequency part ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / pivot))``.
    ``pivot`` is a fixed reference chunk length instead of the live average: it lets each
    posting's term-frequency part be computed once, at index time, so a query only
    multiplies stored floats by the idf (the live average would change with every update
    and force a rescoring of every posting). With chunks of ~50 lines the live average
    sits near the default pivot anyway. idf is always live.

    Parameters
    ----------
    k1, b:
        BM25 term-frequency saturation and length normalisation.
    pivot:
        Reference chunk length in terms (see above).
    max_df_fraction:
        Query terms present in more than this fraction of the chunks are not scored.
    max_postings:
        Scoring stops after the term that takes the postings read past this budget.
        Terms are read rarest first, so what is skipped is the least informative part.
    """

    def __init__(
        self,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        pivot: float = DEFAULT_PIVOT,
        max_df_fraction: float = 0.25,
        max_postings: int = DEFAULT_MAX_POSTINGS,
    ) -> None:
        if k1 <= 0 or not 0.0 <= b <= 1.0 or pivot <= 0:
            raise ValueError(f"bad BM25 parameters k1={k1} b={b} pivot={pivot}")
        if not 0.0 < max_df_fraction <= 1.0 or max_postings < 1:
            raise ValueError("max_df_fraction must be in (0, 1] and max_postings >= 1")
        self._k1 = k1
        self._b = b
        self._pivot = pivot
        self._max_df_fraction = max_df_fraction
        self._max_postings = max_postings
        self._postings: dict[str, _Postings] = {}
        self._path_ids: dict[str, int] = {}
        self._paths: list[str] = []
        self._files: dict[str, _FileRecord] = {}
        # Per chunk id; a removed chunk keeps its slot with path id -1 until compaction.
        self._chunk_path: list[int] = []
        self._chunk_start: list[int] = []
        self._chunk_end: list[int] = []
        self._live = 0
        #: Moves on every change (added or removed file): what a query returns is a
        #: function of the query and this version, so callers may memoise by it.
        self.version = 0

    # ------------------------------------------------------------------ updates

    def add_file(self, path: str, chunks: Iterable[Chunk]) -> None:
        """Index ``chunks`` as the whole content of ``path``, replacing what it had.

        A chunk whose :attr:`Chunk.key` the file's previous chunks had keeps that chunk's
        postings (its text, hence its terms and weights, are the same); only its lines
        move. So an edit costs the postings of the chunks it changed, not of the file.
        """
        chunk_list = list(chunks)
        for chunk in chunk_list:
            if chunk.path != path:
                raise ValueError(f"chunk of {chunk.path!r} given for {path!r}")
        self.version += 1
        old = self._files.pop(path, None)
        reusable: dict[bytes, list[int]] = {}
        if old is not None:
            for slot, key in enumerate(old.chunk_keys):
                if key:
                    reusable.setdefault(key, []).append(slot)
        pid = self._path_ids.get(path)
        if pid is None:
            pid = self._path_ids[path] = len(self._paths)
            self._paths.append(path)
        ids: list[int] = []
        chunk_terms: list[tuple[str, ...]] = []
        kept: set[int] = set()
        added = 0
        for chunk in chunk_list:
            slots = reusable.get(chunk.key) if chunk.key else None
            if slots and old is not None:
                slot = slots.pop(0)
                kept.add(slot)
                cid = old.chunk_ids[slot]
                self._chunk_start[cid] = chunk.start_line
                self._chunk_end[cid] = chunk.end_line
                ids.append(cid)
                chunk_terms.append(old.chunk_terms[slot])
                continue
            ids.append(self._add_chunk(pid, chunk, chunk_terms))
            added += 1
        self._live += added
        self._files[path] = _FileRecord(
            tuple(ids), tuple(chunk_terms), tuple(c.key for c in chunk_list)
        )
        if old is not None:
            gone = [i for i in range(len(old.chunk_ids)) if i not in kept]
            self._drop_chunks([old.chunk_ids[i] for i in gone], [old.chunk_terms[i] for i in gone])

    def _add_chunk(self, pid: int, chunk: Chunk, chunk_terms: list[tuple[str, ...]]) -> int:
        """Append one chunk's postings; returns its id (its distinct terms go to
        ``chunk_terms``)."""
        postings = self._postings
        k1 = self._k1
        cid = len(self._chunk_path)
        self._chunk_path.append(pid)
        self._chunk_start.append(chunk.start_line)
        self._chunk_end.append(chunk.end_line)
        norm = k1 * (1.0 - self._b + self._b * chunk.length / self._pivot)
        terms: list[str] = []
        for term, tf in chunk.terms:
            plist = postings.get(term)
            if plist is None:
                plist = postings[term] = _Postings(term)
            plist.ids.append(cid)
            plist.weights.append(tf * (k1 + 1.0) / (tf + norm))
            plist.df += 1
            terms.append(plist.term)
        chunk_terms.append(tuple(terms))
        return cid

    def remove_file(self, path: str) -> bool:
        """Drop every chunk of ``path``; returns whether it was indexed."""
        record = self._files.pop(path, None)
        if record is None:
            return False
        self.version += 1
        self._drop_chunks(list(record.chunk_ids), list(record.chunk_terms))
        return True

    def _drop_chunks(self, ids: list[int], chunk_terms: list[tuple[str, ...]]) -> None:
        """Mark chunks dead and undo their document frequencies."""
        if not ids:
            return
        for cid in ids:
            self._chunk_path[cid] = -1
        self._live -= len(ids)
        postings = self._postings
        for terms in chunk_terms:
            for term in terms:
                plist = postings[term]
                plist.df -= 1
                left = plist.df
                if left == 0:
                    del postings[term]
                    continue
                # Dead postings are skipped lazily; once they outnumber the live ones
                # the list is rewritten, so the amortised cost per removal stays O(1).
                if len(plist.ids) > 2 * left + 16:
                    self._drop_dead(plist)
        if len(self._chunk_path) - self._live > max(4096, self._live):
            self.compact()

    def _drop_dead(self, plist: _Postings) -> None:
        owner = self._chunk_path
        keep = [i for i, cid in enumerate(plist.ids) if owner[cid] >= 0]
        plist.ids = array("i", [plist.ids[i] for i in keep])
        plist.weights = array("f", [plist.weights[i] for i in keep])

    def compact(self) -> None:
        """Renumber chunk ids densely and drop every dead posting.

        Runs by itself once removed chunks outnumber live ones (so its cost is amortised
        over the removals); call it when idle to reclaim memory sooner. Results do not
        change.
        """
        remap = [-1] * len(self._chunk_path)
        new_path: list[int] = []
        new_start: list[int] = []
        new_end: list[int] = []
        for cid, pid in enumerate(self._chunk_path):
            if pid >= 0:
                remap[cid] = len(new_path)
                new_path.append(pid)
                new_start.append(self._chunk_start[cid])
                new_end.append(self._chunk_end[cid])
        for plist in self._postings.values():
            pairs = [
                (remap[c], w)
                for c, w in zip(plist.ids, plist.weights, strict=True)
                if remap[c] >= 0
            ]
            plist.ids = array("i", [c for c, _ in pairs])
            plist.weights = array("f", [w for _, w in pairs])
        for path, record in self._files.items():
            self._files[path] = _FileRecord(
                tuple(remap[c] for c in record.chunk_ids), record.chunk_terms, record.chunk_keys
            )
        self._chunk_path = new_path
        self._chunk_start = new_start
        self._chunk_end = new_end

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """Number of live chunks."""
        return self._live

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def paths(self) -> list[str]:
        """Indexed paths, sorted."""
        return sorted(self._files)

    def chunk_ranges(self, path: str) -> list[tuple[int, int]]:
        """The ``(start_line, end_line)`` of each chunk of ``path`` (empty if unknown)."""
        record = self._files.get(path)
        if record is None:
            return []
        return [(self._chunk_start[c], self._chunk_end[c]) for c in record.chunk_ids]

    def document_frequency(self, term: str) -> int:
        """Number of live chunks containing ``term``."""
        plist = self._postings.get(term)
        return plist.df if plist else 0

    def idf(self, term: str) -> float:
        """BM25 idf of ``term`` (Lucene's form, never negative; 0 for an unknown term)."""
        df = self.document_frequency(term)
        if df == 0:
            return 0.0
        return math.log(1.0 + (self._live - df + 0.5) / (df + 0.5))

    def stats(self) -> LexicalStats:
        """Counts of files, live chunks, distinct terms, stored postings, dead slots."""
        return LexicalStats(
            files=len(self._files),
            chunks=self._live,
            terms=len(self._postings),
            postings=sum(len(p.ids) for p in self._postings.values()),
            dead_chunks=len(self._chunk_path) - self._live,
        )

    def query_terms(
        self, query: str | Iterable[str], *, max_postings: int | None = None
    ) -> list[tuple[str, float]]:
        """The terms a search for ``query`` scores, rarest first, with their weights.

        The weight is ``query weight * idf``, the query weight growing with repeats but
        saturating (``2 q / (1 + q)`` for a term seen ``q`` times: 1, 1.33, 1.5, ... 2).
        Terms unknown to the index, above ``max_df_fraction``, or past the postings budget
        are left out.
        """
        terms = tokenize(query) if isinstance(query, str) else list(query)
        counts = Counter(terms)
        postings = self._postings
        max_df = self._max_df_fraction * self._live
        chosen = sorted(
            (plist.df, t) for t in counts if (plist := postings.get(t)) and plist.df <= max_df
        )
        if max_postings is not None and max_postings < 1:
            raise ValueError(f"max_postings must be >= 1, not {max_postings}")
        budget = self._max_postings if max_postings is None else max_postings
        out: list[tuple[str, float]] = []
        for df, term in chosen:
            if budget <= 0:
                break
            # Live postings only: dead ones (removed chunks not yet compacted away) vary
            # with the history of edits, and the choice of terms must not.
            budget -= df
            qtf = counts[term]
            out.append((term, 2.0 * qtf / (1.0 + qtf) * self.idf(term)))
        return out

    def search(
        self,
        query: str | Iterable[str],
        k: int = 10,
        *,
        exclude_paths: Collection[str] = (),
        restrict_paths: Collection[str] | None = None,
        max_postings: int | None = None,
    ) -> list[ScoredChunk]:
        """Best ``k`` chunks for ``query`` by BM25, best first.

        Parameters
        ----------
        query:
            Text to tokenize (a cursor window, a question) or already-made terms.
        k:
            Maximum number of hits.
        exclude_paths:
            Files whose chunks are never returned (the current file, say).
        restrict_paths:
            If given, only chunks of these files are returned.
        max_postings:
            Overrides the index's postings budget for this query (a chat question can
            afford an exhaustive search; a keystroke cannot).

        Returns
        -------
        list[ScoredChunk]
            Chunks with a positive score, by descending score, then path, then start
            line.
        """
        if k <= 0 or self._live == 0:
            return []
        query_terms = self.query_terms(query, max_postings=max_postings)
        if not query_terms:
            return []
        scores, touched = self._accumulate(query_terms)
        return self._top(scores, touched, k, exclude_paths, restrict_paths)

    def _accumulate(self, query_terms: list[tuple[str, float]]) -> tuple[list[float], set[int]]:
        # A dense accumulator indexed by chunk id is the fastest pure-Python choice (list
        # item assignment beats dict get/set by ~2x); ``touched`` keeps the top-k
        # selection proportional to the chunks actually hit.
        scores = [0.0] * len(self._chunk_path)
        touched: set[int] = set()
        for term, weight in query_terms:
            plist = self._postings[term]
            touched.update(plist.ids)
            for cid, tf_part in zip(plist.ids, plist.weights, strict=True):
                scores[cid] += weight * tf_part
        return scores, touched

    def _top(
        self,
        scores: list[float],
        touched: set[int],
        k: int,
        exclude_paths: Collection[str],
        restrict_paths: Collection[str] | None,
    ) -> list[ScoredChunk]:
        owner = self._chunk_path
        excluded = {self._path_ids[p] for p in exclude_paths if p in self._path_ids}
        if restrict_paths is not None:
            allowed = {self._path_ids[p] for p in restrict_paths if p in self._path_ids}
            allowed -= excluded
            candidates = [c for c in touched if owner[c] in allowed]
        else:
            excluded.add(-1)  # removed chunks
            candidates = [c for c in touched if owner[c] not in excluded]
        score_of = scores.__getitem__
        best = heapq.nlargest(k, candidates, key=score_of)
        if not best:
            return []
        # Everything tied with the k-th score competes on (path, start) for determinism.
        threshold = scores[best[-1]]
        pool = [c for c in candidates if scores[c] >= threshold]
        paths = self._paths
        start = self._chunk_start
        pool.sort(key=lambda c: (-scores[c], paths[owner[c]], start[c]))
        return [
            ScoredChunk(paths[owner[c]], start[c], self._chunk_end[c], scores[c]) for c in pool[:k]
        ]
