"""Retry policy (minimax-api.md §13), server retry hints, and the circuit breaker.

Contract
--------
* `RetryPolicy` holds the bounds: total attempts, and the exponential backoff
  ``base * 2**n`` (capped, with up to 25 % downward jitter) for three families: ordinary
  transient failures (0.5 s, cap 8 s), rate limits (2 s, cap 30 s) and overload (3 s,
  cap 60 s).
* `retry_delay` returns the server's ``retry-after-ms`` / ``retry-after`` when given and
  within ``max_retry_after`` (60 s); otherwise the family's backoff. Randomness comes from
  an injectable ``rng`` so tests are deterministic.
* `retry_hints(headers)` parses ``retry-after-ms``, ``retry-after`` (seconds or HTTP date)
  and ``x-should-retry``.
* `CircuitBreaker` opens after ``threshold`` consecutive overload/connection failures and
  then fails fast for ``cooldown`` seconds, so an offline machine never spins; one trial
  call is let through after the cool-down (half-open), and any success closes it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ConnectionFailed, ModelError, Overloaded, RateLimited

__all__ = ["CircuitBreaker", "RetryPolicy", "retry_delay", "retry_hints"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retry loop (all times in seconds).

    Attributes
    ----------
    max_attempts:
        Total HTTP attempts per call, first included (1 disables retries).
    breaker_threshold:
        Consecutive overload/connection failures that open the circuit (0 disables it).
    breaker_cooldown:
        How long an open circuit fails fast.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    rate_limit_base_delay: float = 2.0
    rate_limit_max_delay: float = 30.0
    overload_base_delay: float = 3.0
    overload_max_delay: float = 60.0
    max_retry_after: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.breaker_threshold < 0 or self.breaker_cooldown < 0:
            raise ValueError("breaker settings must be non-negative")
        for name in ("base_delay", "max_delay", "rate_limit_base_delay", "overload_base_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative")


def retry_delay(
    policy: RetryPolicy, error: ModelError, retry_index: int, rng: Callable[[], float]
) -> float:
    """Seconds to wait before retry number ``retry_index`` (0 = first retry).

    Parameters
    ----------
    policy:
        The bounds.
    error:
        The failure being retried; its ``retry_after`` (from the server) wins when it is
        within ``policy.max_retry_after``.
    retry_index:
        How many retries have already been made.
    rng:
        Returns a float in [0, 1); drives the jitter.
    """
    hint = error.retry_after
    if hint is not None and 0.0 <= hint <= policy.max_retry_after:
        return hint
    if isinstance(error, Overloaded):
        base, cap = policy.overload_base_delay, policy.overload_max_delay
    elif isinstance(error, RateLimited):
        base, cap = policy.rate_limit_base_delay, policy.rate_limit_max_delay
    else:
        base, cap = policy.base_delay, policy.max_delay
    delay = min(base * 2.0 ** min(retry_index, 30), cap)
    # Jitter downwards only, so the cap stays a cap (same shape as the Anthropic SDK).
    return delay * (1.0 - 0.25 * rng())


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_hints(headers: Mapping[str, str]) -> tuple[float | None, bool | None]:
    """Return ``(retry_after_seconds, should_retry)`` from response headers.

    ``retry-after-ms`` takes precedence over ``retry-after``. ``x-should-retry`` is
    ``"true"``/``"false"``; anything else counts as absent.
    """
    after: float | None = None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            after = float(raw_ms) / 1000.0
        except ValueError:
            after = None
    if after is None and (raw := headers.get("retry-after")) is not None:
        after = _parse_retry_after(raw)
    flag = (headers.get("x-should-retry") or "").strip().lower()
    should = True if flag == "true" else False if flag == "false" else None
    return after, should


def counts_for_breaker(error: ModelError) -> bool:
    """Whether a failure says "unreachable or overloaded" (what the breaker counts)."""
    return isinstance(error, ConnectionFailed | Overloaded)


class CircuitBreaker:
    """Fail fast after repeated overload/connection failures.

    Parameters
    ----------
    threshold:
        Consecutive counted failures that open the circuit (0 = never open).
    cooldown:
        Seconds the circuit stays open.
    clock:
        Monotonic seconds; injectable for tests.
    """

    def __init__(
        self, threshold: int, cooldown: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def consecutive_failures(self) -> int:
        """Counted failures since the last success."""
        return self._failures

    def remaining(self) -> float | None:
        """Seconds left while open; ``None`` when calls may go through."""
        if self._opened_at is None:
            return None
        left = self._cooldown - (self._clock() - self._opened_at)
        return left if left > 0 else None

    def record_success(self) -> None:
        """The endpoint answered: close the circuit."""
        self._failures = 0
        self._opened_at = None

    def record_failure(self, error: ModelError) -> None:
        """Count `error` if it is an overload/connection failure."""
        if not counts_for_breaker(error):
            # The server answered (e.g. 401, 429): it is reachable and not overloaded.
            self.record_success()
            return
        self._failures += 1
        if self._threshold and self._failures >= self._threshold:
            # (Re)open; after a failed half-open trial this restarts the cool-down.
            self._opened_at = self._clock()
