"""The context planner: lays one request's spans out under its token budget.

Contract
--------
``Planner(ws, request, current, margin).run() -> (spans, stable_items)``, the spans in
prompt order (repository section, focus section, current file last), never over
``request.budget`` (every span's tokens are its raw count with ``margin`` applied).
The budget split per task, the sections, the fill pass and the everything-fits case
are documented in ``docs/context.md`` (Packing) and the engine's module docstring.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from minimax_lsp.indexer.context_blocks import fit_around, fit_head, fit_window
from minimax_lsp.indexer.context_current import CurrentFile
from minimax_lsp.indexer.context_records import ContextRequest, Mode, Span
from minimax_lsp.indexer.context_signals import SignalCollector, SignalMemo, Signals, Unit
from minimax_lsp.indexer.context_workspace import FileData, WorkspaceCache
from minimax_lsp.indexer.outline import (
    constructor,
    header_range,
    outline_definitions,
    render_outline,
)
from minimax_lsp.indexer.rank import (
    STABLE_WEIGHTS,
    TASK_WEIGHTS,
    UNIT_FILE_SHARE,
    Task,
    Weights,
    dominant_signal,
    fuse,
    quantise,
)
from minimax_lsp.indexer.records import Definition

__all__ = ["Budget", "Item", "Planner", "enforce_budget"]

logger = logging.getLogger("minimax_lsp.indexer.context")


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
#: Focus units whose own (quantised) score is below this share of the best one are not
#: sent: the budget is better spent on the repository section (or the current file).
_FOCUS_FLOOR: Final = 0.1
#: A focus unit may take at most this share of the focus budget before it is degraded.
_UNIT_SHARE: Final = 0.34
#: A file scoring little may take at least this share of the whole-file allowance.
_MIN_RELEVANCE_SHARE: Final = 0.1
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
_CONTAINER_KINDS: Final = frozenset({"class", "struct", "interface", "enum", "module", "type"})


@dataclass(slots=True)
class Item:
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


class Budget:
    """Tokens left in one section."""

    __slots__ = ("left",)

    def __init__(self, tokens: int) -> None:
        self.left = max(0, tokens)

    def take(self, tokens: int) -> bool:
        if tokens > self.left:
            return False
        self.left -= tokens
        return True


class Planner:
    """Packs one request against a synced workspace (see the module docstring)."""

    def __init__(
        self,
        ws: WorkspaceCache,
        request: ContextRequest,
        current: CurrentFile | None,
        margin: float,
        memo: SignalMemo | None = None,
    ) -> None:
        self.ws = ws
        self.memo = memo
        self.request = request
        self.cur = current
        self.task: Task = request.task
        self.weights: Weights = TASK_WEIGHTS[request.task]
        self.shares = _SHARES[request.task]
        self.margin = margin
        self.counter = ws.counter
        #: The request's signals (set by :meth:`run`).
        self.signals = Signals()
        #: The workspace is not built yet (see ``WorkspaceCache.bootstrap``): only files
        #: a signal names are candidates, and nothing reads the whole workspace.
        self.partial = not ws.built

    # -- tokens -----------------------------------------------------------------------

    def tok(self, raw: int) -> int:
        """Raw count -> budget count (the safety margin applied)."""
        return math.ceil(raw * self.margin) if raw > 0 else 0

    # -- entry point ------------------------------------------------------------------

    def run(self) -> tuple[tuple[Span, ...], int]:
        """The spans in prompt order, and how many lead as the repository section."""
        budget = self.request.budget
        signals = self.signals = SignalCollector(
            self.ws, self.request, self.cur, self.memo
        ).collect()
        scores = fuse(signals.files, self.weights)
        if self._everything_fits(budget):
            return self._pack_everything(signals, scores)
        cap = self._current_cap(budget)
        current = self._current_item(cap)
        rest = budget - self._reserve(current, cap, budget)
        ordered = self._ordered_units(signals, scores)
        if self.task == "complete":
            stable = self._stable_scores(signals)
            repo = self._stable_repository(
                stable, signals, min(rest, int(self.shares.stable * budget))
            )
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

    def _reserve(self, current: Item | None, cap: int, budget: int) -> int:
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

    # -- scores -----------------------------------------------------------------------

    def _stable_scores(self, signals: Signals) -> dict[str, float]:
        """``T(f)``: completion's cursor-independent, quantised file scores."""
        memo, key = self.memo, signals.stable_key
        found: dict[str, float] | None = memo.stable.get(key) if memo and key else None
        if found is None:
            stable = {k: v for k, v in signals.files.items() if STABLE_WEIGHTS.of(k)}
            found = {p: quantise(s) for p, s in fuse(stable, STABLE_WEIGHTS).items()}
            if memo is not None and key is not None:
                memo.stable.put(key, found)
        return found

    def _reason(self, path: str, signals: Signals, weights: Weights, mode: Mode) -> str:
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

    def _current_item(self, cap: int) -> Item | None:
        cur = self.cur
        if cur is None:
            return None
        source = cur.source
        n = source.line_count
        full = self.tok(cur.blocks.total())
        if full <= cap:
            return Item(cur.path, 1, max(1, n), "full", full, "current file", source.text, 0.0)
        anchor = cur.selection or (cur.line, cur.line)
        a, b = fit_window(cur.blocks, anchor, self._raw_cap(cap), _BEFORE_SHARE[self.task])
        if a == 0:
            return self._truncated_line(cap)
        # Start the window on a multiple of _WINDOW_QUANTUM lines: typing changes the
        # token count by a little, which must not slide the top line every time (a
        # server caching the lines above the cursor would miss at each slide).
        a = min(anchor[0], -(-(a - 1) // _WINDOW_QUANTUM) * _WINDOW_QUANTUM + 1)
        what = "selection" if cur.selection is not None else "cursor"
        return Item(
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

    def _truncated_line(self, cap: int) -> Item:
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
        return Item(
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
        if self.partial:
            return False  # it would read every file, in the request
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
        self, signals: Signals, scores: dict[str, float]
    ) -> tuple[tuple[Span, ...], int]:
        """Every file whole: sorted by path, the request's best files moved last.

        Completion ranks and explains with its stable (cursor-independent) scores here
        too, so that the order does not move while the user types.
        """
        stable = self.task == "complete"
        weights = STABLE_WEIGHTS if stable else self.weights
        ranked = self._stable_scores(signals) if stable else scores
        items: list[Item] = []
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
                Item(
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
        if self.partial:
            return
        graph = self.ws.graph
        rest: Iterable[str] = graph.global_rank() if len(graph) else ()
        for path in rest:
            if path not in seen and path in self.ws.entries:
                seen.add(path)
                yield path
        for path in sorted(self.ws.entries):
            if path not in seen:
                yield path

    def _stable_repository(
        self, scores: Mapping[str, float], signals: Signals, tokens: int
    ) -> list[Item]:
        """Completion's repository section, memoised: it depends only on the stable scores
        (their key), the workspace's state and the allowance, never on the cursor."""
        memo, stable_key = self.memo, signals.stable_key
        if memo is None or stable_key is None:
            return self._repository(scores, signals, tokens)
        key = (
            self.ws.generation,
            self.ws.graph.version,
            stable_key,
            tokens,
            self.margin,
            self.request.open_paths,
            self.partial,
        )
        found: tuple[Item, ...] | None = memo.repository.get(key)
        if found is None:
            found = tuple(self._repository(scores, signals, tokens))
            memo.repository.put(key, found)
        # Items are mutable (later passes set scores and reasons): hand out copies.
        return [copy.copy(item) for item in found]

    def _repository(
        self,
        scores: Mapping[str, float],
        signals: Signals,
        tokens: int,
        *,
        focus: list[Item] | None = None,
    ) -> list[Item]:
        """Whole files and outlines by rank until ``tokens`` are used (any order)."""
        budget = Budget(tokens)
        full_cap = max(int(self.shares.full_file * tokens), 0)
        top = max(scores.values(), default=0.0)
        weights = STABLE_WEIGHTS if self.task == "complete" else self.weights
        snippet_tokens: dict[str, int] = {}
        for snippet in focus or ():
            snippet_tokens[snippet.path] = snippet_tokens.get(snippet.path, 0) + snippet.tokens
        items: list[Item] = []
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

    def _file_item(self, data: FileData, budget: Budget, full_cap: int, refund: int) -> Item | None:
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
            return Item(path, 1, n, "full", full, "", data.source.text, 0.0)
        for depth in (None, 0):
            text = data.outline(depth)
            if not text:
                return None
            tokens = self.tok(data.outline_tokens(depth, self.counter))
            if budget.take(tokens):
                return Item(path, 1, n, "outline", tokens, "", text, 0.0)
        return None

    # -- focus section ----------------------------------------------------------------

    def _ordered_units(
        self, signals: Signals, scores: Mapping[str, float]
    ) -> list[tuple[float, Unit]]:
        """Focus units best first, each with its own quantised value (see rank.py).

        Ordered by the unit's own (quantised) value first, its file's score second: the
        file score moves with the graph at every keystroke, the unit's own value only
        when what is around the cursor changes.
        """
        keyed: list[tuple[tuple[float, float, str, int, int], float, Unit]] = []
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
        ordered: list[tuple[float, Unit]],
        tokens: int,
        repo: list[Item],
        current: Item | None,
    ) -> list[Item]:
        """Snippets by unit score until ``tokens`` are used (units above the floor)."""
        budget = Budget(tokens)
        floor = _FOCUS_FLOOR * max((q for q, _ in ordered), default=0.0)
        chosen: list[Item] = []
        cap = max(int(_UNIT_SHARE * tokens), _MIN_SPAN_TOKENS)
        self._take_units(ordered, floor, budget, cap, chosen, repo, current)
        return chosen

    def _take_units(
        self,
        ordered: list[tuple[float, Unit]],
        floor: float,
        budget: Budget,
        cap: int,
        chosen: list[Item],
        repo: list[Item],
        current: Item | None,
    ) -> None:
        """Add ``ordered`` units at or above ``floor`` to ``chosen`` while tokens last.

        A unit overlapping one already chosen, in a file sent whole, or inside the
        current file's window is skipped; a unit bigger than ``cap`` is degraded.
        """
        whole = {i.path for i in repo if i.mode == "full"}
        whole.update(i.path for i in chosen if i.mode == "full")
        taken: dict[str, list[Item]] = {}
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
        ordered: list[tuple[float, Unit]],
        scores: Mapping[str, float],
        tokens: int,
        repo: list[Item],
        tail: list[Item],
        current: Item | None,
    ) -> list[Item]:
        """Spend what the sections left, so that the budget is used (never exceeded).

        First the focus units below the floor (they rank below everything sent, but
        beat an empty budget), then whole files by score, each replacing the snippets
        of it already in the tail (their tokens are reused), each at most
        :data:`_FILL_FILE_SHARE` of the budget or half of what is left, whichever is
        more; then outlines of the files still absent. Everything goes to the tail.
        """
        budget = Budget(tokens)
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
        budget: Budget,
        repo: list[Item],
        chosen: list[Item],
        current: Item | None,
    ) -> list[Item]:
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
            chosen.append(Item(path, 1, n, "full", full, reason, data.source.text, score))
        return chosen

    def _fill_outlines(
        self,
        scores: Mapping[str, float],
        budget: Budget,
        repo: list[Item],
        chosen: list[Item],
        current: Item | None,
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
                    item = Item(path, 1, n, "outline", tokens, "", text, scores.get(path, 0.0))
                    break
            if item is None:
                misses += 1
                continue
            misses = 0
            item.reason = self._reason(path, self.signals, self.weights, "outline")
            chosen.append(item)

    def _in_current(self, unit: Unit, current: Item | None) -> bool:
        """Whether the unit's lines are sent anyway as part of the current file.

        A definition of the current file is worth a focus snippet only when the file is
        cut to a window that does not show it (used at the cursor, defined far above).
        """
        if current is None or unit.path != current.path:
            return False
        return current.mode == "full" or (unit.start <= current.end and current.start <= unit.end)

    def _unit_item(self, unit: Unit, budget: Budget, cap: int) -> Item | None:
        data = self.ws.data(unit.path)
        if data is None:
            return None
        start, end = data.source.clamp(unit.start, unit.end)
        if end < start:
            return None
        tokens = self.tok(data.snippet_tokens(start, end))
        if tokens <= cap and budget.take(tokens):
            text = data.source.lines(start, end)
            return Item(unit.path, start, end, "snippet", tokens, unit.reason, text, unit.score)
        return self._degraded_unit(unit, data, budget, min(cap, budget.left))

    def _degraded_unit(self, unit: Unit, data: FileData, budget: Budget, cap: int) -> Item | None:
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
                return Item(
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
            first, last = fit_around(data.blocks, unit.focus_line, start, end, raw_cap)
            what = "lines around the call"
        else:
            first, last = start, fit_head(data.blocks, start, end, raw_cap)
            what = "head"
        if last < first:
            return None
        tokens = self.tok(data.snippet_tokens(first, last))
        if not budget.take(tokens):
            return None
        return Item(
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
        self, unit: Unit, d: Definition, data: FileData, budget: Budget, cap: int
    ) -> Item | None:
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
                return Item(unit.path, first, last, "snippet", tokens, reason, text, unit.score)
        return None

    # -- promotion --------------------------------------------------------------------

    @staticmethod
    def _request_specific(path: str, signals: Signals, weights: Weights) -> bool:
        """Whether any signal but the global rank speaks for ``path``."""
        return any(
            weights.of(name) * values.get(path, 0.0) > 0
            for name, values in signals.files.items()
            if name != "global"
        )

    def _promote(
        self,
        repo: list[Item],
        tail: list[Item],
        scores: Mapping[str, float],
        signals: Signals,
        weights: Weights,
    ) -> tuple[list[Item], list[Item]]:
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


def enforce_budget(
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


def _used(items: Iterable[Item]) -> int:
    return sum(i.tokens for i in items)


def _overlaps(unit: Unit, item: Item) -> bool:
    return unit.path == item.path and unit.start <= item.end and item.start <= unit.end


def _covered(item: Item, repo: list[Item]) -> bool:
    """Whether ``item``'s file is already sent whole in ``repo``."""
    return any(r.path == item.path and r.mode == "full" for r in repo)
