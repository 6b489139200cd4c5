"""Backoff arithmetic, retry hints, and the circuit breaker (unit level)."""

from __future__ import annotations

import email.utils
import time

import pytest

from minimax_lsp.server.model import (
    ConnectionFailed,
    Overloaded,
    RateLimited,
    RetryPolicy,
    ServerError,
)
from minimax_lsp.server.model.errors import AuthError
from minimax_lsp.server.model.retry import CircuitBreaker, retry_delay, retry_hints

POLICY = RetryPolicy()


def test_exponential_backoff_per_family_with_cap() -> None:
    no_jitter = lambda: 0.0  # noqa: E731
    assert [retry_delay(POLICY, ServerError("x"), n, no_jitter) for n in range(6)] == [
        0.5,
        1,
        2,
        4,
        8,
        8,
    ]
    assert [retry_delay(POLICY, RateLimited("x"), n, no_jitter) for n in range(6)] == [
        2,
        4,
        8,
        16,
        30,
        30,
    ]
    assert [retry_delay(POLICY, Overloaded("x"), n, no_jitter) for n in range(6)] == [
        3,
        6,
        12,
        24,
        48,
        60,
    ]


def test_jitter_only_shortens() -> None:
    assert retry_delay(POLICY, ServerError("x"), 2, lambda: 0.999) == pytest.approx(
        2 * 0.75025, rel=1e-3
    )


def test_retry_after_honoured_up_to_sixty_seconds() -> None:
    assert retry_delay(POLICY, RateLimited("x", retry_after=7.5), 0, lambda: 0.5) == 7.5
    assert retry_delay(POLICY, RateLimited("x", retry_after=0.0), 3, lambda: 0.5) == 0.0
    # Beyond 60 s the hint is ignored (as the Anthropic SDK does) and backoff applies.
    assert retry_delay(POLICY, RateLimited("x", retry_after=120), 0, lambda: 0.0) == 2.0


def test_retry_hints_parsing() -> None:
    assert retry_hints({"retry-after-ms": "250", "retry-after": "9"}) == (0.25, None)
    assert retry_hints({"retry-after": "1.5"}) == (1.5, None)
    assert retry_hints({"x-should-retry": "false"}) == (None, False)
    assert retry_hints({"x-should-retry": "TRUE"}) == (None, True)
    assert retry_hints({"retry-after": "soon", "x-should-retry": "maybe"}) == (None, None)
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    after, _ = retry_hints({"retry-after": date})
    assert after is not None and 25 <= after <= 31


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_circuit_breaker_opens_cools_down_and_half_opens() -> None:
    now = [100.0]
    breaker = CircuitBreaker(3, 30.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure(ConnectionFailed("x"))
    assert breaker.remaining() is None
    breaker.record_failure(Overloaded("x"))
    assert breaker.remaining() == 30.0
    now[0] += 29.0
    assert breaker.remaining() == pytest.approx(1.0)
    now[0] += 2.0
    assert breaker.remaining() is None  # half-open: one trial goes through
    breaker.record_failure(ConnectionFailed("x"))
    assert breaker.remaining() == 30.0  # the trial failed: open again at once
    now[0] += 31.0
    breaker.record_success()
    assert breaker.consecutive_failures == 0 and breaker.remaining() is None


def test_breaker_ignores_answers_from_a_reachable_server() -> None:
    breaker = CircuitBreaker(2, 10.0, clock=lambda: 0.0)
    breaker.record_failure(ConnectionFailed("x"))
    breaker.record_failure(AuthError("x"))  # the server answered: reachable
    breaker.record_failure(ConnectionFailed("x"))
    assert breaker.remaining() is None
