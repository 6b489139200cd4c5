"""Circuit-breaker cool-downs by cause, and `ModelHealth` (offline streak, automatic hold)."""

from __future__ import annotations

import pytest

from minimax_lsp.server.model import (
    AuthError,
    CircuitOpen,
    ConnectionFailed,
    InsufficientBalance,
    MissingApiKey,
    ModelError,
    Overloaded,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
)
from minimax_lsp.server.model.retry import (
    CONNECTION_COOLDOWN,
    OVERLOAD_COOLDOWN,
    AutomaticHold,
    CircuitBreaker,
    ModelHealth,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- breaker


def test_default_policy_cools_down_briefly_after_connection_failures() -> None:
    policy = RetryPolicy()
    assert policy.breaker_cooldown == CONNECTION_COOLDOWN == 2.0
    assert policy.breaker_overload_cooldown == OVERLOAD_COOLDOWN == 30.0


def test_connection_failures_open_the_circuit_for_the_short_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 2.0, clock=clock)
    for _ in range(3):
        breaker.record_failure(ConnectionFailed("x"))
    assert breaker.remaining() == 2.0
    clock.now += 2.01
    assert breaker.remaining() is None  # half-open: a trial may go
    breaker.record_failure(ConnectionFailed("x"))  # the trial failed: 2 s more
    assert breaker.remaining() == 2.0
    clock.now += 2.01
    breaker.record_success()
    assert breaker.remaining() is None and breaker.consecutive_failures == 0


def test_an_overload_opens_the_circuit_for_the_long_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 2.0, clock=clock)
    breaker.record_failure(ConnectionFailed("x"))
    breaker.record_failure(ConnectionFailed("x"))
    breaker.record_failure(Overloaded("x"))  # the failure that opens it decides
    assert breaker.remaining() == OVERLOAD_COOLDOWN
    clock.now += 29.0
    assert breaker.remaining() == pytest.approx(1.0)


def test_overload_cool_down_is_never_shorter_than_the_connection_one() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 45.0, overload_cooldown=10.0, clock=clock)
    breaker.record_failure(Overloaded("x"))
    assert breaker.remaining() == 45.0


def test_policy_rejects_a_negative_overload_cool_down() -> None:
    with pytest.raises(ValueError, match="breaker"):
        RetryPolicy(breaker_overload_cooldown=-1.0)


# --------------------------------------------------------------------------- health


def test_one_dropped_connection_is_a_blip_three_are_offline() -> None:
    health = ModelHealth(offline_after=3)
    assert health.record_failure(ConnectionFailed("x")) is False
    assert health.record_failure(ConnectionFailed("x")) is False
    assert health.record_failure(ConnectionFailed("x")) is True
    assert health.connection_failures == 3
    health.record_success()
    assert health.record_failure(ConnectionFailed("x")) is False


def test_an_answer_from_the_server_ends_the_streak_and_circuit_open_is_offline() -> None:
    health = ModelHealth(offline_after=2)
    health.record_failure(ConnectionFailed("x"))
    health.record_failure(RateLimited("x", status=429))  # reachable after all
    assert health.record_failure(ConnectionFailed("x")) is False
    assert health.record_failure(CircuitOpen("x")) is True


@pytest.mark.parametrize(
    "error",
    [AuthError("x", status=401, code=1004), AuthError("x", status=401, code=2049)],
)
def test_a_rejected_key_holds_until_cleared(error: AuthError) -> None:
    clock = Clock()
    health = ModelHealth(clock=clock)
    assert health.record_failure(error) is False
    assert health.hold() == AutomaticHold("key")
    clock.now += 10_000.0
    assert health.hold() == AutomaticHold("key")  # no deadline: the settings must change
    assert "until the API key or the settings change" in AutomaticHold("key").describe(0.0)
    health.clear_hold()
    assert health.hold() is None


@pytest.mark.parametrize(
    "error", [MissingApiKey("x"), PermissionDenied("x", status=403), RateLimited("x")]
)
def test_no_hold_for_a_missing_key_a_403_or_a_rate_limit(error: ModelError) -> None:
    health = ModelHealth()
    health.record_failure(error)
    assert health.hold() is None


def test_a_used_up_quota_holds_until_the_probe_time_then_one_request_probes() -> None:
    clock = Clock()
    health = ModelHealth(quota_probe=300.0, clock=clock)
    health.record_failure(QuotaExceeded("x", status=429, code=2056))
    hold = health.hold()
    assert hold is not None and hold.kind == "quota" and hold.until == 400.0
    assert hold.describe(clock.now) == "for about 5 min, or until a command succeeds"
    clock.now += 299.0
    assert health.hold() is not None
    clock.now += 1.0
    assert health.hold() is None  # the deadline passed: the next request probes
    health.record_failure(InsufficientBalance("x", status=402, code=1008))
    assert health.hold() is not None  # still used up: held again


def test_the_server_retry_after_sets_the_quota_hold_within_bounds() -> None:
    clock = Clock()
    health = ModelHealth(quota_probe=300.0, max_quota_hold=3600.0, clock=clock)
    health.record_failure(QuotaExceeded("x", status=429, code=2056, retry_after=90.0))
    hold = health.hold()
    assert hold is not None and hold.until == clock.now + 90.0
    health.record_failure(QuotaExceeded("x", status=429, code=2056, retry_after=86_400.0))
    hold = health.hold()
    assert hold is not None and hold.until == clock.now + 3600.0


def test_a_success_lifts_the_hold_and_ends_the_streak() -> None:
    health = ModelHealth()
    health.record_failure(ConnectionFailed("x"))
    health.record_failure(QuotaExceeded("x", status=429, code=2056))
    health.record_success()
    assert health.hold() is None and health.connection_failures == 0


def test_health_rejects_nonsense_bounds() -> None:
    with pytest.raises(ValueError, match="positive"):
        ModelHealth(offline_after=0)
