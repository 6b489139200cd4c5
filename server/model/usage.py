"""Per-session accumulation of token usage (`UsageLedger`).

Contract
--------
`UsageLedger.record(usage, model=...)` adds one call's `Usage`. `snapshot()` returns a
frozen `LedgerSnapshot` with the totals, the number of calls, per-model totals and the
cache-hit share ``cache_read / total_input`` (what `minimax.status` reports and what the
prompt-caching layout is measured by). The ledger lives on a client or session object,
never at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Usage

__all__ = ["LedgerSnapshot", "UsageLedger"]


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """Totals at one moment."""

    calls: int
    usage: Usage
    by_model: dict[str, Usage] = field(default_factory=dict)

    @property
    def cache_hit_share(self) -> float:
        """Share of input tokens served from the prompt cache (0.0 when nothing was sent)."""
        total = self.usage.total_input
        return self.usage.cache_read_input_tokens / total if total else 0.0


class UsageLedger:
    """Accumulates usage over a session."""

    def __init__(self) -> None:
        self._calls = 0
        self._total = Usage()
        self._by_model: dict[str, Usage] = {}

    def record(self, usage: Usage, *, model: str) -> None:
        """Add one call's usage under `model`."""
        self._calls += 1
        self._total = self._total + usage
        self._by_model[model] = self._by_model.get(model, Usage()) + usage

    @property
    def total(self) -> Usage:
        """Sum of all recorded usage."""
        return self._total

    @property
    def calls(self) -> int:
        """Number of recorded calls."""
        return self._calls

    @property
    def cache_hit_share(self) -> float:
        """Share of input tokens that were cache reads."""
        return self.snapshot().cache_hit_share

    def snapshot(self) -> LedgerSnapshot:
        """A frozen copy of the current totals."""
        return LedgerSnapshot(self._calls, self._total, dict(self._by_model))

    def reset(self) -> None:
        """Forget everything (new session)."""
        self._calls = 0
        self._total = Usage()
        self._by_model = {}
