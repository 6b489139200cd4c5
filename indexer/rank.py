"""Relevance scoring for the context engine: signals, their fusion, and quantisation.

Pure functions over plain data (paths, line numbers, identifier strings, source text);
the engine in :mod:`context` computes the raw signals from the index and calls these
to combine them. This module also reads import statements out of source text
(:func:`import_bindings`) and recognises test files (:func:`is_test_path`).
``docs/context.md`` explains the design; the formula is restated here because this
module is where it lives.

Signals
-------
Every signal maps a file ``f`` (other than the current file) to ``s_k(f)`` in
``[0, 1]``, by dividing raw values by their maximum (:func:`normalised`):

``imports``
    1 when the current file imports ``f`` (resolved by :mod:`resolve`), or when ``f``
    defines a name the current file imports by name (re-exports followed), else 0.
``definitions``
    For each identifier chain near the cursor (or in the selection / the question),
    weighted by :func:`proximity_weight` and :func:`name_information`, the symbol
    table's best matches (same file, imported, same directory, workspace; see
    :func:`match_weight`) share the weight; ``f`` sums what its definitions received.
``imported_names``
    The definitions of the names the current file's import statements bind
    (:func:`import_bindings`; ``from m import X`` and ``m.f`` uses of ``import m``),
    each valued by :func:`imported_name_value`: the proximity of its nearest use to
    the cursor, or :data:`UNUSED_IMPORT_VALUE` for a name imported by name and not used
    yet; ``f`` sums what its definitions received.
``graph``
    Personalised PageRank over the def/ref graph (:mod:`graph`), restarting at the
    current file, the open buffers and the recently edited files
    (:func:`personalization`), plus, for chat, the definers of names in the question.
``lexical``
    The best BM25 score (:mod:`lexical`) of ``f``'s chunks for the cursor window (the
    lines around the cursor minus the line being typed), the selection or the question.
``callers``
    explain/refactor: how strongly ``f`` references the names defined in (or around)
    the selection: the def/ref graph's edge weights into the current file for them.
``recency``
    :func:`recency_scores`: ``1 / (1 + i)`` for the ``i``-th open buffer (most recent
    first), ``0.6 / (1 + i)`` for the ``i``-th recently edited file; the larger wins.
``global``
    The unpersonalised PageRank (how central ``f`` is to the repository).

Fusion
------
A file's score is the weighted sum ``S(f) = sum_k w_k(task) * s_k(f)`` with the
weights of :data:`TASK_WEIGHTS`. A snippet unit ``u`` (a definition, a lexical chunk,
a caller's function) proposed by signal ``k`` scores
``U(u) = w_k(task) * s_k(u) + UNIT_FILE_SHARE * S(file of u)``, where ``s_k(u)`` is the
unit's own raw value divided by the largest of its signal; units are taken in the order
of ``(quantise(w_k * s_k(u)), quantise(S(file of u)))``, best first, then by path.

Completion's repository section must not move while the user types, so it is ranked
by the *stable score* ``T(f) = quantise(sum_k w'_k * s_k(f))`` over the cursor-
independent signals only (:data:`STABLE_WEIGHTS`: imports, graph, recency, global) and
quantised to quarter-octave bins (:func:`quantise`), ties broken by path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Final, Literal

from minimax_lsp.indexer.graph import identifier_weight
from minimax_lsp.indexer.lexical import STOP_WORDS
from minimax_lsp.indexer.records import Definition

__all__ = [
    "GRAPH_WEIGHTS_OPEN",
    "GRAPH_WEIGHTS_RECENT",
    "LINE_CACHE_SIZE",
    "REGION_BUCKET_LINES",
    "REGION_MAX_LINES",
    "SIGNALS",
    "STABLE_WEIGHTS",
    "STAR",
    "TASKS",
    "TASK_WEIGHTS",
    "UNIT_FILE_SHARE",
    "UNUSED_IMPORT_VALUE",
    "USE_DISTANCE_SCALE",
    "ImportBinding",
    "Task",
    "Weights",
    "code_words",
    "dominant_signal",
    "focus_region",
    "fuse",
    "identifier_chains",
    "import_bindings",
    "imported_name_value",
    "is_test_path",
    "line_chains",
    "match_weight",
    "name_information",
    "normalised",
    "personalization",
    "proximity_weight",
    "quantise",
    "recency_scores",
    "split_chain",
    "text_identifiers",
    "use_proximity",
]

Task = Literal["complete", "explain", "refactor", "chat"]
#: Every task, in the order the documentation lists them.
TASKS: Final[tuple[Task, ...]] = ("complete", "explain", "refactor", "chat")

#: Signal names, in the order of :class:`Weights` fields.
SIGNALS: Final = (
    "imports",
    "definitions",
    "imported_names",
    "graph",
    "lexical",
    "callers",
    "recency",
    "global",
)


@dataclass(frozen=True, slots=True)
class Weights:
    """One weight per signal (see the module docstring)."""

    imports: float = 0.0
    definitions: float = 0.0
    imported_names: float = 0.0
    graph: float = 0.0
    lexical: float = 0.0
    callers: float = 0.0
    recency: float = 0.0
    global_: float = 0.0

    def of(self, signal: str) -> float:
        """The weight of ``signal`` (a name from :data:`SIGNALS`)."""
        return float(getattr(self, "global_" if signal == "global" else signal))

    def as_dict(self) -> dict[str, float]:
        """``{signal: weight}`` in :data:`SIGNALS` order."""
        return {f.name.rstrip("_"): float(getattr(self, f.name)) for f in fields(self)}


#: ``w_k(task)``. Completion leans on what the cursor is about to use (definitions,
#: imports); explain/refactor add the selection's callers; chat trusts the words of the
#: question (lexical) and the repository's shape (global rank) more.
TASK_WEIGHTS: Final[Mapping[Task, Weights]] = {
    "complete": Weights(3.0, 4.0, 4.0, 2.0, 1.5, 0.0, 1.0, 0.5),
    "explain": Weights(2.0, 4.0, 2.0, 2.0, 1.0, 3.0, 0.5, 0.5),
    "refactor": Weights(2.0, 4.0, 2.0, 2.0, 1.0, 3.0, 0.5, 0.5),
    "chat": Weights(1.0, 4.0, 1.0, 2.0, 3.0, 1.0, 0.5, 1.0),
}
#: ``w'_k``: completion's stable (repository-level) section, cursor-independent signals.
STABLE_WEIGHTS: Final = Weights(imports=3.0, graph=2.0, recency=1.0, global_=0.5)
#: ``lambda`` in ``U(u)``: how much a unit inherits from its file's score.
UNIT_FILE_SHARE: Final = 0.25

#: Lines over which the proximity of an imported name's nearest use halves.
USE_DISTANCE_SCALE: Final = 10.0
#: ``s_imported_names`` of a name imported by name and not used anywhere yet.
UNUSED_IMPORT_VALUE: Final = 1.0

#: Restart weight of the i-th open buffer / recent file in the graph's personalisation.
GRAPH_WEIGHTS_OPEN: Final = 0.5
GRAPH_WEIGHTS_RECENT: Final = 0.3

#: The cursor region is quantised to buckets of this many lines (stable while typing).
REGION_BUCKET_LINES: Final = 40
#: An enclosing definition up to this long is the cursor region as a whole.
REGION_MAX_LINES: Final = 80

#: Quarter-octave bins: a score must change by ~19 % to move to another bin.
_QUANTUM_STEPS_PER_OCTAVE: Final = 4

# A string literal (possibly unterminated), a comment marker, an identifier.
_STRING_RE: Final = re.compile(r"""'(?:[^'\\]|\\.)*(?:'|$)|"(?:[^"\\]|\\.)*(?:"|$)|`[^`]*(?:`|$)""")
_COMMENT_RE: Final = re.compile(r"#|//")
_WORD_RE: Final = re.compile(r"[^\W\d]\w*")
_SELF_HEADS: Final = frozenset({"self", "this", "cls", "Self", "super", "$this"})
# An identifier chain: ``name`` or ``a.b.c`` (no spaces around the dots).
_CHAIN_RE: Final = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
#: Lines a ``line_cache`` of :func:`identifier_chains` holds before it is emptied.
LINE_CACHE_SIZE: Final = 4096
# Locality weights of a symbol-table match (see resolve.Locality).
_LOCALITY_WEIGHT: Final[Mapping[str, float]] = {
    "same-file": 1.0,
    "imported": 1.0,
    "same-directory": 0.7,
    "workspace": 0.4,
}
_LOCALITY_ORDER: Final[Mapping[str, int]] = {
    "same-file": 0,
    "imported": 1,
    "same-directory": 2,
    "workspace": 3,
}
#: A match below the best tier of its lookup keeps this share of the weight.
_LESSER_MATCH_FACTOR: Final = 0.15
_SECONDARY_KINDS: Final = frozenset({"variable", "field"})
_SECONDARY_KIND_FACTOR: Final = 0.5


# --------------------------------------------------------------------------- fusion


def normalised(raw: Mapping[str, float]) -> dict[str, float]:
    """``raw`` divided by its maximum; non-positive entries dropped. Order: by key."""
    positive = {k: v for k, v in raw.items() if v > 0 and math.isfinite(v)}
    if not positive:
        return {}
    top = max(positive.values())
    return {k: positive[k] / top for k in sorted(positive)}


def fuse(signals: Mapping[str, Mapping[str, float]], weights: Weights) -> dict[str, float]:
    """``S(f) = sum_k w_k * s_k(f)`` for every file present in any signal.

    Parameters
    ----------
    signals:
        ``{signal name: {path: value in [0, 1]}}`` (already normalised).
    weights:
        The task's weights.
    """
    scores: dict[str, float] = {}
    for name in SIGNALS:
        weight = weights.of(name)
        values = signals.get(name)
        if not weight or not values:
            continue
        for path, value in values.items():
            scores[path] = scores.get(path, 0.0) + weight * value
    return {path: scores[path] for path in sorted(scores)}


def dominant_signal(
    path: str, signals: Mapping[str, Mapping[str, float]], weights: Weights
) -> str | None:
    """The signal contributing most to ``path``'s score (ties: :data:`SIGNALS` order)."""
    best: str | None = None
    best_value = 0.0
    for name in SIGNALS:
        value = weights.of(name) * signals.get(name, {}).get(path, 0.0)
        if value > best_value:
            best, best_value = name, value
    return best


def quantise(score: float) -> float:
    """``score`` rounded down to a quarter-octave bin (``0`` stays ``0``).

    Used where a ranking must not flicker: two scores in the same bin tie, and ties
    are then broken by path, which never changes while the user types.
    """
    if score <= 0 or not math.isfinite(score):
        return 0.0
    # The epsilon keeps values computed as exactly a bin edge (2.0 = 4 * 0.5) from
    # falling to the bin below through floating-point error.
    steps = math.floor(math.log2(score) * _QUANTUM_STEPS_PER_OCTAVE + 1e-9)
    return float(2.0 ** (steps / _QUANTUM_STEPS_PER_OCTAVE))


def recency_scores(open_paths: Sequence[str], recent_paths: Sequence[str]) -> dict[str, float]:
    """``s_recency``: open buffers ``1/(1+i)``, recent files ``0.6/(1+i)``, max of both."""
    scores: dict[str, float] = {}
    for i, path in enumerate(open_paths):
        scores[path] = max(scores.get(path, 0.0), 1.0 / (1 + i))
    for i, path in enumerate(recent_paths):
        scores[path] = max(scores.get(path, 0.0), 0.6 / (1 + i))
    return {p: scores[p] for p in sorted(scores)}


def personalization(
    current: str | None,
    open_paths: Sequence[str],
    recent_paths: Sequence[str],
    mentioned: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Restart weights of the personalised PageRank.

    The current file 1.0, the ``i``-th open buffer ``0.5/(1+i)``, the ``i``-th recent
    file ``0.3/(1+i)`` (the larger when a file is both), plus ``mentioned`` (e.g. the
    definers of the names in a chat question) added on top.
    """
    seed: dict[str, float] = {}
    if current is not None:
        seed[current] = 1.0
    for i, path in enumerate(open_paths):
        seed[path] = max(seed.get(path, 0.0), GRAPH_WEIGHTS_OPEN / (1 + i))
    for i, path in enumerate(recent_paths):
        seed[path] = max(seed.get(path, 0.0), GRAPH_WEIGHTS_RECENT / (1 + i))
    for path, weight in (mentioned or {}).items():
        seed[path] = seed.get(path, 0.0) + weight
    return {p: seed[p] for p in sorted(seed)}


# --------------------------------------------------------------------------- imported names


def use_proximity(uses: Sequence[int], anchor: tuple[int, int]) -> float:
    """How close the nearest of ``uses`` (line numbers) is to ``anchor`` (a line range).

    ``1 / (1 + d / USE_DISTANCE_SCALE)``, ``d`` the distance in lines from the range
    (0 inside it); ``0`` without uses.
    """
    a, b = anchor
    best: int | None = None
    for line in uses:
        d = a - line if line < a else line - b if line > b else 0
        if best is None or d < best:
            best = d
    if best is None:
        return 0.0
    return 1.0 / (1.0 + best / USE_DISTANCE_SCALE)


def imported_name_value(uses: Sequence[int], anchor: tuple[int, int], explicit: bool) -> float:
    """``s_imported_names`` of one imported name before normalisation.

    The proximity of its nearest use to the cursor (:func:`use_proximity`); a name
    imported by name (``from m import X``) and not used yet gets
    :data:`UNUSED_IMPORT_VALUE` instead: it was imported to be used, most likely
    where the user is typing now.
    """
    if not uses:
        return UNUSED_IMPORT_VALUE if explicit else 0.0
    return use_proximity(uses, anchor)


# --------------------------------------------------------------------------- identifiers


def name_information(name: str, n_definers: int) -> float:
    """How much a use of ``name`` says about where to look, in ``[0, 1]``.

    ``sqrt(identifier_weight / 10)``, the graph's weighting (long descriptive names 10x,
    private/short/common names 0.1x each) rescaled so that a long descriptive name
    defined in a few files scores 1 and ``x`` or ``get`` defined everywhere almost 0.
    """
    weight = identifier_weight(name, max(1, n_definers))
    return min(1.0, math.sqrt(weight / 10.0)) if weight > 0 else 0.0


def proximity_weight(distance: int) -> float:
    """Weight of an identifier ``distance`` lines from the cursor (quantised steps)."""
    distance = abs(distance)
    if distance == 0:
        return 1.0
    if distance <= 3:
        return 0.8
    if distance <= 10:
        return 0.6
    return 0.4


def match_weight(locality: str, best_locality: str, qualifier_ok: bool, kind: str) -> float:
    """Share of an identifier's weight one symbol-table match receives (before splitting).

    Locality (same file / imported 1.0, same directory 0.7, workspace 0.4); matches in a
    worse tier than the lookup's best keep only 15 %; so do qualified lookups whose
    qualifier did not match; variables and fields count half.
    """
    weight = _LOCALITY_WEIGHT.get(locality, 0.4)
    if _LOCALITY_ORDER.get(locality, 3) > _LOCALITY_ORDER.get(best_locality, 3):
        weight *= _LESSER_MATCH_FACTOR
    if not qualifier_ok:
        weight *= _LESSER_MATCH_FACTOR
    if kind in _SECONDARY_KINDS:
        weight *= _SECONDARY_KIND_FACTOR
    return weight


def split_chain(chain: str) -> tuple[str, ...]:
    """``"self.a.b"`` -> ``("a", "b")``: segments without a self-like receiver."""
    parts = tuple(p for p in chain.split(".") if p)
    while parts and parts[0] in _SELF_HEADS:
        parts = parts[1:]
    return parts


def identifier_chains(
    line_text: Callable[[int], str],
    start: int,
    end: int,
    *,
    cursor_line: int | None = None,
    cursor_column: int = 0,
    weight_of: Callable[[int], float] | None = None,
    limit: int = 400,
    line_cache: dict[str, tuple[tuple[str, int, int], ...]] | None = None,
) -> dict[str, float]:
    """Identifier chains in lines ``start..end`` with the best weight each occurrence had.

    Parameters
    ----------
    line_text:
        ``line_text(n)`` returns line ``n`` (1-based) without its newline.
    start, end:
        The line range to read.
    cursor_line, cursor_column:
        The chain touching the cursor on its line is the one being typed: it is left
        out (a half-typed name must not pull in whatever it happens to match).
    weight_of:
        Weight of an occurrence on line ``n`` (default 1.0).
    limit:
        At most this many distinct chains (the first ones met).
    line_cache:
        Memo of each line text's chains (see :func:`line_chains`), so that reading the
        same region again (the next keystroke) only reads the line that changed. It is
        emptied when it holds more than :data:`LINE_CACHE_SIZE` lines.

    Returns
    -------
    dict[str, float]
        ``{chain: weight}``, chains without self-like heads (``self.x.y`` -> ``x.y``);
        keywords and stop words alone are skipped. Ordered by chain.
    """
    found: dict[str, float] = {}
    for number in range(start, end + 1):
        text = line_text(number)
        if not text:
            continue
        weight = weight_of(number) if weight_of is not None else 1.0
        if line_cache is None:
            chains = line_chains(text)
        else:
            cached = line_cache.get(text)
            if cached is None:
                if len(line_cache) >= LINE_CACHE_SIZE:
                    line_cache.clear()
                cached = line_cache[text] = line_chains(text)
            chains = cached
        for chain, chain_start, chain_end in chains:
            if number == cursor_line and chain_start < cursor_column <= chain_end:
                continue
            if chain not in found and len(found) >= limit:
                continue
            if weight > found.get(chain, 0.0):
                found[chain] = weight
    return {c: found[c] for c in sorted(found)}


def line_chains(text: str) -> tuple[tuple[str, int, int], ...]:
    """The identifier chains of one line: ``(chain, start column, end column)`` each, in
    order; self-like heads dropped, keywords and stop words alone skipped."""
    out: list[tuple[str, int, int]] = []
    for match in _CHAIN_RE.finditer(text):
        parts = split_chain(match.group())
        if not parts or (len(parts) == 1 and parts[0].lower() in STOP_WORDS):
            continue
        out.append((".".join(parts), match.start(), match.end()))
    return tuple(out)


def code_words(line: str) -> list[str]:
    """Identifiers of one line of code outside its string literals and comments.

    A heuristic for a line the parser did not see (the one being typed): quoted runs
    are dropped (an unterminated quote runs to the end of the line), then everything
    from a ``#`` or ``//`` comment marker.
    """
    code = _STRING_RE.sub(" ", line)
    code = _COMMENT_RE.split(code, maxsplit=1)[0]
    return _WORD_RE.findall(code)


_TEST_DIRS: Final = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs"})
_TEST_FILE_RE: Final = re.compile(
    r"(?:^test_.*|.*_tests?\.[^.]+|.*[._-](?:test|spec)\.[^.]+|conftest\.py|.*Tests?\.[^.]+)$"
)


def is_test_path(path: str) -> bool:
    """Whether ``path`` looks like a test file: under a ``test``/``tests``/``testing``/
    ``spec`` folder, or named ``test_*``, ``*_test.*``, ``*.test.*``, ``*.spec.*``,
    ``*Test.*``/``*Tests.*`` or ``conftest.py``."""
    folder, _, name = path.rpartition("/")
    if folder and not _TEST_DIRS.isdisjoint(folder.split("/")):
        return True
    return bool(_TEST_FILE_RE.match(name))


def text_identifiers(text: str, *, limit: int = 200) -> dict[str, float]:
    """Identifier chains of free text (a chat question), each with weight 1.0.

    Plain lower-case English words are kept too (they may name a function); the symbol
    table decides which ones mean something.
    """
    lines = text.split("\n")
    return identifier_chains(lambda n: lines[n - 1], 1, len(lines), limit=limit)


# --------------------------------------------------------------------------- regions


def focus_region(
    definitions: Iterable[Definition],
    line: int,
    line_count: int,
    selection: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The lines whose identifiers steer a request (quantised, stable while typing).

    The selection when there is one. Otherwise the innermost function, method or class
    around the cursor when it is at most :data:`REGION_MAX_LINES` long; else the
    cursor's bucket of :data:`REGION_BUCKET_LINES` lines widened by half a bucket on
    each side, cut to the enclosing definition. Typing inside one function therefore
    keeps the same region (and the same ranking) until the function changes shape.
    """
    if line_count <= 0:
        return 1, 0
    if selection is not None:
        a, b = selection
        a = min(max(1, a), line_count)
        return a, min(max(a, b), line_count)
    line = min(max(1, line), line_count)
    enclosing = _innermost(definitions, line)
    if enclosing is not None and enclosing[1] - enclosing[0] + 1 <= REGION_MAX_LINES:
        return enclosing
    bucket = (line - 1) // REGION_BUCKET_LINES * REGION_BUCKET_LINES + 1
    half = REGION_BUCKET_LINES // 2
    lo, hi = bucket - half, bucket + REGION_BUCKET_LINES + half - 1
    if enclosing is not None:
        lo, hi = max(lo, enclosing[0]), min(hi, enclosing[1])
    return max(1, lo), min(line_count, hi)


_REGION_KINDS: Final = frozenset({"function", "method", "class", "struct", "interface", "enum"})


def _innermost(definitions: Iterable[Definition], line: int) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for d in definitions:
        if d.kind in _REGION_KINDS and d.start_line <= line <= d.end_line:
            span = (d.start_line, d.end_line)
            if best is None or span[1] - span[0] < best[1] - best[0]:
                best = span
    return best


# --------------------------------------------------------------------------- imported names


@dataclass(frozen=True, slots=True)
class ImportBinding:
    """A name an import statement binds in a file (see :func:`import_bindings`).

    ``module`` is written as the resolver reads raw imports (``"django.db"``,
    ``".fields"``, ``"./util"``). ``name`` is the imported name, ``None`` when the local
    name is bound to the module itself (``import numpy as np``, ``import * as ns``, a
    JavaScript default import), or ``"*"`` for a star import / ``export *`` (whose
    ``local`` is ``""``). ``start_line..end_line`` is the whole statement.
    """

    local: str
    module: str
    name: str | None
    start_line: int
    end_line: int


#: Star imports bind no name of their own.
STAR: Final = "*"
# A Python import statement's first physical line (any indentation: imports inside
# functions and ``if TYPE_CHECKING:`` blocks bind names too).
_PY_IMPORT_RE: Final = re.compile(
    r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import\b|import[ \t]+[\w.])", re.M
)
_PY_DOTTED_RE: Final = re.compile(r"\.*[^\W\d]\w*(?:\.[^\W\d]\w*)*|\.+")
_IDENT_ONLY_RE: Final = re.compile(r"[^\W\d]\w*|\$[\w$]*|[A-Za-z_$][\w$]*")
#: A statement longer than this (characters) is not an import worth reading.
_MAX_IMPORT_CHARS: Final = 4_000
#: Bindings read per file (a generated module with thousands of imports).
_MAX_BINDINGS: Final = 2_000
# JavaScript / TypeScript: ``import … from 'm'``, ``export … from 'm'``, ``import 'm'``
# and ``require('m')`` bound by ``const``/``let``/``var``.
_JS_FROM_RE: Final = re.compile(
    r"""^[ \t]*(import|export)\b((?:(?!\b(?:import|export|from)\b)[\w$\s,{}*])*)"""
    r"""\bfrom[ \t]*(['"])([^'"\n]+)\3""",
    re.M,
)
_JS_REQUIRE_RE: Final = re.compile(
    r"""^[ \t]*(?:const|let|var)[ \t]+(\{[^}]*\}|[A-Za-z_$][\w$]*)[ \t]*=[ \t]*"""
    r"""require\([ \t]*(['"])([^'"\n]+)\2[ \t]*\)""",
    re.M,
)
_JS_LANGUAGES: Final = frozenset({"javascript", "typescript", "tsx"})


def import_bindings(text: str, language: str) -> tuple[ImportBinding, ...]:
    """The names ``text``'s import statements bind, in source order.

    Parameters
    ----------
    text:
        A file's text (it need not parse: this is a line scanner, so the live text of a
        half-typed buffer works).
    language:
        The file's language id; Python, JavaScript and TypeScript are read, any other
        language gives ``()`` (the engine falls back on the parser's raw imports).

    Returns
    -------
    tuple[ImportBinding, ...]
        ``from m import A as B`` binds ``B`` to ``(m, A)``; ``import a.b as c`` binds
        ``c`` to module ``a.b``; ``import a.b`` binds ``a`` to module ``a`` (a chain
        ``a.b.f`` walks on from there); ``from m import *`` gives a :data:`STAR`
        binding. JavaScript: ``import D, {A, B as C} from 'm'``, ``import * as N from
        'm'``, ``export {A} from 'm'``, ``export * from 'm'``, ``const {A, B: C} =
        require('m')``, ``const M = require('m')``.
    """
    if language == "python":
        found = _python_bindings(text)
    elif language in _JS_LANGUAGES:
        found = _js_bindings(text)
    else:
        return ()
    return tuple(found[:_MAX_BINDINGS])


def _line_at(text: str, offset: int, memo: list[int]) -> int:
    """1-based line of ``offset``; ``memo`` holds [last offset, its line] (a forward scan)."""
    last, line = memo
    if offset < last:
        last, line = 0, 1
    line += text.count("\n", last, offset)
    memo[0], memo[1] = offset, line
    return line


def _python_statement(text: str, start: int) -> tuple[str, int]:
    """The logical line starting at ``start`` (comments dropped), and its end offset.

    Parentheses and backslashes continue a statement over several physical lines; a
    ``;`` ends it.
    """
    depth = 0
    out: list[str] = []
    i = start
    n = min(len(text), start + _MAX_IMPORT_CHARS)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "\\" and text.startswith("\n", i + 1):
            i += 2
            out.append(" ")
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" or (c == "\n" and depth == 0):
            break
        out.append(" " if c in "\n\r\t()" else c)
        i += 1
    return "".join(out), i


def _aliasable(name: str, alias: str) -> bool:
    return name.isidentifier() and alias.isidentifier()


def _python_bindings(text: str) -> list[ImportBinding]:
    found: list[ImportBinding] = []
    memo = [0, 1]
    for match in _PY_IMPORT_RE.finditer(text):
        statement, end = _python_statement(text, match.start())
        first = _line_at(text, match.start(), memo)
        last = _line_at(text, max(match.start(), end - 1), memo)
        words = statement.split()
        if not words:
            continue
        if words[0] == "from":
            if len(words) < 4 or words[2] != "import" or not _PY_DOTTED_RE.fullmatch(words[1]):
                continue
            module = words[1]
            for part in " ".join(words[3:]).split(","):
                item = part.split()
                if item == ["*"]:
                    found.append(ImportBinding("", module, STAR, first, last))
                elif len(item) == 1 and item[0].isidentifier():
                    found.append(ImportBinding(item[0], module, item[0], first, last))
                elif len(item) == 3 and item[1] == "as" and _aliasable(item[0], item[2]):
                    found.append(ImportBinding(item[2], module, item[0], first, last))
        else:
            for part in " ".join(words[1:]).split(","):
                item = part.split()
                if not item or not _PY_DOTTED_RE.fullmatch(item[0]) or item[0].startswith("."):
                    continue
                if len(item) == 3 and item[1] == "as" and item[2].isidentifier():
                    found.append(ImportBinding(item[2], item[0], None, first, last))
                elif len(item) == 1:
                    head = item[0].partition(".")[0]
                    found.append(ImportBinding(head, head, None, first, last))
    return found


def _js_names(clause: str, module: str, first: int, last: int, out: list[ImportBinding]) -> None:
    """Bindings of an import/export clause (``D, {A, B as C}``, ``* as N``, ``*``)."""
    clause = clause.strip()
    if clause.startswith(("type ", "typeof ")):
        clause = clause.partition(" ")[2].strip()
    braces = ""
    if "{" in clause:
        head, _, rest = clause.partition("{")
        braces, _, tail = rest.partition("}")
        clause = (head + " " + tail).strip()
    for part in clause.split(","):
        words = part.split()
        if not words:
            continue
        if words[0] == "*":
            if len(words) == 3 and words[1] == "as":
                out.append(ImportBinding(words[2], module, None, first, last))
            else:
                out.append(ImportBinding("", module, STAR, first, last))
        elif len(words) == 1 and _IDENT_ONLY_RE.fullmatch(words[0]):
            out.append(ImportBinding(words[0], module, None, first, last))  # default import
    for part in braces.split(","):
        words = part.replace(":", " as ").split()
        if words and words[0] == "type":
            words = words[1:]
        if len(words) == 1 and _IDENT_ONLY_RE.fullmatch(words[0]):
            out.append(ImportBinding(words[0], module, words[0], first, last))
        elif len(words) == 3 and words[1] == "as" and _IDENT_ONLY_RE.fullmatch(words[2]):
            if words[0] == "default":
                out.append(ImportBinding(words[2], module, None, first, last))
            else:
                out.append(ImportBinding(words[2], module, words[0], first, last))


def _js_bindings(text: str) -> list[ImportBinding]:
    found: list[tuple[int, list[ImportBinding]]] = []
    memo = [0, 1]
    for match in _JS_FROM_RE.finditer(text):
        keyword, clause, module = match.group(1), match.group(2), match.group(4)
        if len(clause) > _MAX_IMPORT_CHARS:
            continue
        first = _line_at(text, match.start(), memo)
        last = _line_at(text, match.end(), memo)
        items: list[ImportBinding] = []
        if keyword == "export" and clause.strip().startswith("*") and " as " not in clause:
            items.append(ImportBinding("", module, STAR, first, last))
        else:
            _js_names(clause, module, first, last, items)
        found.append((match.start(), items))
    memo = [0, 1]
    for match in _JS_REQUIRE_RE.finditer(text):
        target, module = match.group(1), match.group(3)
        line = _line_at(text, match.start(), memo)
        items = []
        if target.startswith("{"):
            _js_names(target, module, line, line, items)
        else:
            items.append(ImportBinding(target, module, None, line, line))
        found.append((match.start(), items))
    found.sort(key=lambda pair: pair[0])
    return [b for _, items in found for b in items]
