"""Whole-file baselines for the retrieval benchmark, packed under the engine's rules.

Contract
--------
- Every method gets the same *current-file span* (the file being edited, always last,
  as the engine contract requires) and fills only what is left of the budget:
  ``budget - current.tokens``. The runner hands baselines the span the engine chose for
  the same case and budget (recounted here), so that engine and baselines compete for
  exactly the same remainder; :func:`current_file_span` is the harness' own policy,
  used when the engine's manifest has no current-file item.
- Token accounting is the engine's: :meth:`TokenCounter.budget_count` (the o200k count
  with the safety margin) of each span's text, summed, never above the budget.
- Baselines send whole files only, in their own ranking order, greedily: a file that
  does not fit what is left is skipped and the next one is tried (stronger than
  stopping at the first misfit).
- :class:`BM25Baseline` ranks files by Okapi BM25 (k1 1.2, b 0.75) with the cursor
  window of the masked file as the query. It is written here, independent of
  ``indexer/lexical.py``. Terms are identifiers, lower-cased, plus their
  ``snake_case``/``camelCase`` parts.
- :class:`ImportsBaseline` sends the project modules the current file imports, in
  import order (:func:`dataset.imported_modules`).
- :class:`RandomBaseline` sends files in a random order seeded by the case id.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from minimax_lsp.indexer.tokens import TokenCounter

from .dataset import Case, Resolver, imported_modules

__all__ = [
    "BM25_B",
    "BM25_K1",
    "QUERY_LINES_AFTER",
    "QUERY_LINES_BEFORE",
    "BM25Baseline",
    "Baseline",
    "Corpus",
    "ImportsBaseline",
    "PackedSpan",
    "RandomBaseline",
    "current_file_span",
    "terms",
]

BM25_K1: Final = 1.2
BM25_B: Final = 0.75
#: The BM25 query: this many lines above the cursor line ...
QUERY_LINES_BEFORE: Final = 30
#: ... and this many below it (of the masked file).
QUERY_LINES_AFTER: Final = 10
#: Greedy filling gives up after this many files that did not fit (keeps 1M-file
#: corpora cheap; by then the remainder is tiny).
MAX_MISFITS: Final = 400

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@dataclass(frozen=True, slots=True)
class PackedSpan:
    """One span a method sends (the same fields the engine's manifest has)."""

    path: str
    start_line: int
    end_line: int
    mode: str  #: "full", "snippet" or "outline"
    tokens: int  #: budget count (with the safety margin)
    text: str
    reason: str = ""


class Corpus:
    """The indexed files' texts and budget counts, read lazily and cached.

    Parameters
    ----------
    paths:
        Workspace files the methods may send (the index's paths).
    read:
        Text of one of them (None if it cannot be read).
    counter:
        The token counter the engine uses.
    """

    def __init__(
        self,
        paths: Iterable[str],
        read: _Reader,
        counter: TokenCounter,
    ) -> None:
        self.paths: tuple[str, ...] = tuple(sorted(paths))
        self._read = read
        self.counter = counter
        self._texts: dict[str, str | None] = {}
        self._tokens: dict[str, int] = {}

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def tokens(self, path: str) -> int:
        """Budget count of the whole file (0 for an unreadable one)."""
        if path not in self._tokens:
            text = self.text(path)
            self._tokens[path] = self.counter.budget_count(text) if text else 0
        return self._tokens[path]

    def whole(self, path: str, reason: str) -> PackedSpan | None:
        text = self.text(path)
        if not text:
            return None
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        return PackedSpan(path, 1, max(lines, 1), "full", self.tokens(path), text, reason)

    def fill(
        self, ranked: Iterable[str], room: int, *, exclude: str, reason: str
    ) -> list[PackedSpan]:
        """Whole files from ``ranked`` (in order, skipping misfits) within ``room`` tokens."""
        spans: list[PackedSpan] = []
        misfits = 0
        for path in ranked:
            if room <= 0 or misfits >= MAX_MISFITS:
                break
            if path == exclude:
                continue
            tokens = self.tokens(path)
            if tokens <= 0:
                continue
            if tokens > room:
                misfits += 1
                continue
            span = self.whole(path, reason)
            if span is not None:
                spans.append(span)
                room -= tokens
        return spans


class _Reader(Protocol):
    def __call__(self, path: str, /) -> str | None: ...


class Baseline(Protocol):
    """A retrieval method the runner can score next to the engine."""

    name: str

    def pack(self, case: Case, budget: int, current: PackedSpan) -> list[PackedSpan]:
        """Spans in prompt order, the current-file span last, within ``budget`` tokens."""
        ...


def current_file_span(case: Case, budget: int, counter: TokenCounter) -> PackedSpan:
    """The harness' own current-file span: the whole masked file if it fits half the
    budget, else the widest window of lines centred on the cursor that does."""
    text = case.masked_text
    lines = text.split("\n")
    half = budget // 2
    whole = counter.budget_count(text)
    if whole <= half:
        return PackedSpan(case.path, 1, len(lines), "full", whole, text, "current file")
    lo = hi = case.line
    best = (lo, hi, counter.budget_count(lines[lo - 1] + "\n"))
    step = 1
    while lo > 1 or hi < len(lines):
        new_lo, new_hi = max(1, lo - step), min(len(lines), hi + step)
        tokens = counter.budget_count("\n".join(lines[new_lo - 1 : new_hi]) + "\n")
        if tokens > half:
            if step == 1:
                break
            step = 1  # close in on the limit one line at a time
            continue
        lo, hi, best = new_lo, new_hi, (new_lo, new_hi, tokens)
        step *= 2
    lo, hi, tokens = best
    snippet = "\n".join(lines[lo - 1 : hi]) + "\n"
    return PackedSpan(case.path, lo, hi, "snippet", tokens, snippet, "current file")


def terms(text: str) -> list[str]:
    """BM25 terms: lower-cased identifiers plus their snake/camel parts (length >= 2)."""
    out: list[str] = []
    for ident in _IDENT.findall(text):
        lower = ident.lower()
        out.append(lower)
        parts = [p for chunk in ident.split("_") for p in _CAMEL.findall(chunk)]
        if len(parts) > 1:
            out.extend(p.lower() for p in parts if len(p) >= 2)
    return out


def query_window(case: Case) -> str:
    """The masked file's lines around the cursor (the BM25 query)."""
    lines = case.masked_text.split("\n")
    lo = max(0, case.line - 1 - QUERY_LINES_BEFORE)
    hi = min(len(lines), case.line + QUERY_LINES_AFTER)
    return "\n".join(lines[lo:hi])


class BM25Baseline:
    """Okapi BM25 over whole files; the query is the cursor window."""

    name = "bm25"

    def __init__(self, corpus: Corpus, *, k1: float = BM25_K1, b: float = BM25_B) -> None:
        self.corpus = corpus
        self.k1 = k1
        self.b = b
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lengths: list[int] = []
        for doc, path in enumerate(corpus.paths):
            counts = Counter(terms(corpus.text(path) or ""))
            self._lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self._postings[term].append((doc, tf))
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        self._ranked: dict[str, list[str]] = {}

    def idf(self, term: str) -> float:
        n = len(self._lengths)
        df = len(self._postings.get(term, ()))
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def rank(self, query: str, *, exclude: str | None = None) -> list[str]:
        """Paths by descending BM25 score (ties by path); files scoring 0 are left out."""
        scores: dict[int, float] = defaultdict(float)
        average = self._average or 1.0
        for term in set(terms(query)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for doc, tf in postings:
                norm = self.k1 * (1.0 - self.b + self.b * self._lengths[doc] / average)
                scores[doc] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        paths = self.corpus.paths
        ranked = sorted(scores, key=lambda d: (-scores[d], paths[d]))
        return [paths[d] for d in ranked if paths[d] != exclude]

    def pack(self, case: Case, budget: int, current: PackedSpan) -> list[PackedSpan]:
        if case.id not in self._ranked:
            self._ranked[case.id] = self.rank(query_window(case), exclude=case.path)
        room = budget - current.tokens
        spans = self.corpus.fill(self._ranked[case.id], room, exclude=case.path, reason="bm25")
        return [*spans, current]


class ImportsBaseline:
    """The current file's directly imported project modules, whole, in import order."""

    name = "imports"

    def __init__(self, corpus: Corpus, resolver: Resolver) -> None:
        self.corpus = corpus
        self.resolver = resolver

    def pack(self, case: Case, budget: int, current: PackedSpan) -> list[PackedSpan]:
        modules = imported_modules(case, self.resolver)
        room = budget - current.tokens
        spans = self.corpus.fill(modules, room, exclude=case.path, reason="imported")
        return [*spans, current]


class RandomBaseline:
    """Random whole files (seeded by the run seed and the case id)."""

    name = "random"

    def __init__(self, corpus: Corpus, *, seed: int) -> None:
        self.corpus = corpus
        self.seed = seed

    def pack(self, case: Case, budget: int, current: PackedSpan) -> list[PackedSpan]:
        order = list(self.corpus.paths)
        random.Random(f"{self.seed}:{case.id}").shuffle(order)
        room = budget - current.tokens
        spans = self.corpus.fill(order, room, exclude=case.path, reason="random")
        return [*spans, current]


def total_tokens(spans: Sequence[PackedSpan]) -> int:
    return sum(span.tokens for span in spans)
