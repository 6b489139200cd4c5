"""Spend guard (rolling caps, injectable clock) and usage accumulation."""

from __future__ import annotations

import pytest

from minimax_lsp.server.model import SpendCaps, SpendGuard, SpendLimitReached, Usage, UsageLedger


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_automatic_requests_per_minute() -> None:
    clock = Clock()
    guard = SpendGuard(SpendCaps(automatic_requests_per_minute=3), clock=clock)
    for _ in range(3):
        guard.admit("automatic")
        clock.now += 1
    with pytest.raises(SpendLimitReached) as info:
        guard.admit("automatic")
    err = info.value
    assert err.limit == "requests_per_minute" and not err.retryable
    assert "Inline completions paused" in str(err)
    assert err.retry_after == pytest.approx(57.0)
    # Explicit user requests are not limited by the automatic rate.
    guard.admit("explicit")
    # The window rolls: 60 s after the first request one slot frees up.
    clock.now = 1000.0 + 60.0
    guard.admit("automatic")
    assert guard.automatic_last_minute() == 3


def test_daily_token_cap_blocks_everyone() -> None:
    clock = Clock()
    guard = SpendGuard(
        SpendCaps(automatic_requests_per_minute=None, tokens_per_day=1000), clock=clock
    )
    guard.admit("explicit", estimated_tokens=400)
    guard.record(700)
    with pytest.raises(SpendLimitReached) as info:
        guard.admit("explicit", estimated_tokens=400)  # would cross the cap
    assert info.value.limit == "tokens_per_day"
    assert "700 of 1,000" in str(info.value)
    guard.admit("explicit", estimated_tokens=300)  # fits exactly
    guard.record(300)
    with pytest.raises(SpendLimitReached):
        guard.admit("automatic")
    clock.now += 86_400
    assert guard.tokens_last_day() == 0
    guard.admit("automatic", estimated_tokens=10)


def test_daily_window_keeps_one_entry_per_minute_of_calls() -> None:
    clock = Clock()
    guard = SpendGuard(SpendCaps(tokens_per_day=10**9), clock=clock)
    for _ in range(3_600):  # a call every second for an hour
        guard.record(10)
        clock.now += 1
    assert guard.tokens_last_day() == 36_000
    assert len(guard._tokens) == 60  # not 3,600
    # A bucket leaves the window with its first call, a day later.
    clock.now = 1000.0 + 86_400
    assert guard.tokens_last_day() == 36_000 - 600
    clock.now = 1000.0 + 86_400 + 3_600
    assert guard.tokens_last_day() == 0


def test_caps_validation() -> None:
    with pytest.raises(ValueError, match="tokens_per_day"):
        SpendCaps(tokens_per_day=-1)


def test_usage_arithmetic_and_ledger() -> None:
    a = Usage(
        input_tokens=100,
        output_tokens=20,
        cache_read_input_tokens=900,
        cache_creation_input_tokens=0,
    )
    b = Usage(
        input_tokens=50,
        output_tokens=10,
        cache_read_input_tokens=0,
        cache_creation_input_tokens=950,
    )
    assert a.total_input == 1000 and a.total == 1020
    ledger = UsageLedger()
    assert ledger.cache_hit_share == 0.0
    ledger.record(a, model="MiniMax-M3")
    ledger.record(b, model="MiniMax-M2.7")
    ledger.record(a, model="MiniMax-M3")
    snap = ledger.snapshot()
    assert snap.calls == 3
    assert snap.usage == Usage(250, 50, 1800, 950)
    assert snap.by_model["MiniMax-M3"] == a + a
    assert snap.cache_hit_share == pytest.approx(1800 / 3000)
    ledger.reset()
    assert ledger.calls == 0 and ledger.total == Usage()
