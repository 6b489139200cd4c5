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
  then fails fast, so an offline machine never spins: for ``cooldown`` seconds (2 s by
  default) when a connection failure opened it -- the endpoint may be back any moment,
  and a refused connection costs nothing -- and for ``overload_cooldown`` (30 s) when an
  overload (529, 2064) did, since MiniMax asked for patience. After the cool-down calls go
  through again (half-open): the first failure reopens it, any success closes it.
* `ModelHealth` keeps what recent calls said about the endpoint for *automatic* requests
  (inline completion and its fallback): consecutive connection failures (one dropped
  connection is a blip, `offline_after` in a row are "offline"), and the automatic-request
  hold (`AutomaticHold`): after a rejected key (401, 1004, 2049) nothing automatic is sent
  until the settings change or a call succeeds; after an exhausted quota or balance
  (2056, 1028, 1030, 402/1008) until the server's ``retry-after`` or `quota_probe`
  seconds pass (then one request probes again), or a call succeeds. User-invoked calls
  are never held.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from .errors import (
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
)

__all__ = [
    "CONNECTION_COOLDOWN",
    "OVERLOAD_COOLDOWN",
    "AutomaticHold",
    "CircuitBreaker",
    "HoldKind",
    "ModelHealth",
    "RetryPolicy",
    "retry_delay",
    "retry_hints",
]

#: Default cool-down of a circuit opened by connection failures (seconds).
CONNECTION_COOLDOWN: Final = 2.0
#: Default cool-down of a circuit opened by an overload (seconds).
OVERLOAD_COOLDOWN: Final = 30.0


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
        How long a circuit opened by a connection failure fails fast.
    breaker_overload_cooldown:
        How long a circuit opened by an overload (529, 2064) fails fast (at least
        ``breaker_cooldown``). `CircuitBreaker` defaults to the same value.
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
    breaker_cooldown: float = CONNECTION_COOLDOWN
    breaker_overload_cooldown: float = OVERLOAD_COOLDOWN

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if (
            self.breaker_threshold < 0
            or self.breaker_cooldown < 0
            or self.breaker_overload_cooldown < 0
        ):
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
        Seconds the circuit stays open when a connection failure (re)opened it.
    overload_cooldown:
        Seconds it stays open when an overload (re)opened it; default
        `OVERLOAD_COOLDOWN`, never shorter than ``cooldown``.
    clock:
        Monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        *,
        overload_cooldown: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._overload_cooldown = max(
            cooldown, OVERLOAD_COOLDOWN if overload_cooldown is None else overload_cooldown
        )
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._open_for = cooldown

    @property
    def consecutive_failures(self) -> int:
        """Counted failures since the last success."""
        return self._failures

    def remaining(self) -> float | None:
        """Seconds left while open; ``None`` when calls may go through."""
        if self._opened_at is None:
            return None
        left = self._open_for - (self._clock() - self._opened_at)
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
            # (Re)open; after a failed half-open trial this restarts the cool-down. The
            # failure that opens it decides how long: an unreachable endpoint is tried
            # again soon (it may be back any moment), an overloaded one is left alone.
            overloaded = isinstance(error, Overloaded)
            self._open_for = self._overload_cooldown if overloaded else self._cooldown
            self._opened_at = self._clock()


# --------------------------------------------------------------------------- health

HoldKind = Literal["key", "quota"]


@dataclass(frozen=True, slots=True)
class AutomaticHold:
    """Automatic requests are not sent now (see `ModelHealth`).

    Attributes
    ----------
    kind:
        ``"key"`` (the key was rejected) or ``"quota"`` (quota or balance used up).
    until:
        Monotonic deadline after which one automatic request may probe again; ``None``
        holds until the settings change or a call succeeds.
    """

    kind: HoldKind
    until: float | None = None

    def describe(self, now: float) -> str:
        """How long the hold lasts, as the end of a sentence for the user."""
        if self.until is None:
            return "until the API key or the settings change"
        minutes = max(1, round((self.until - now) / 60.0))
        return f"for about {minutes} min, or until a command succeeds"


class ModelHealth:
    """Connection-failure streak and automatic-request hold (module docstring).

    Not thread-safe: used on the event loop only.

    Parameters
    ----------
    offline_after:
        Consecutive connection failures that count as "offline" (one is a blip).
    quota_probe:
        Seconds an exhausted quota holds automatic requests when the server named no
        ``retry-after``.
    max_quota_hold:
        Longest hold taken from a server's ``retry-after``.
    clock:
        Monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        *,
        offline_after: int = 3,
        quota_probe: float = 300.0,
        max_quota_hold: float = 6 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if offline_after < 1 or quota_probe <= 0 or max_quota_hold <= 0:
            raise ValueError("offline_after, quota_probe and max_quota_hold must be positive")
        self._offline_after = offline_after
        self._quota_probe = quota_probe
        self._max_quota_hold = max_quota_hold
        self._clock = clock
        self._connection_failures = 0
        self._hold: AutomaticHold | None = None

    @property
    def connection_failures(self) -> int:
        """Connection failures reported since the last success (or other answer)."""
        return self._connection_failures

    def now(self) -> float:
        """The clock's current reading."""
        return self._clock()

    def record_failure(self, error: ModelError) -> bool:
        """Take one failed call into account; True when it shows the endpoint offline.

        A `CircuitOpen` is offline at once; a `ConnectionFailed` once it is the
        ``offline_after``-th in a row. An error the server itself sent (it is
        reachable) ends the streak. A rejected key or a used-up quota arms the hold.
        """
        if isinstance(error, CircuitOpen):
            return True
        if isinstance(error, ConnectionFailed):
            self._connection_failures += 1
            return self._connection_failures >= self._offline_after
        if error.status is not None:
            self._connection_failures = 0
        if isinstance(error, AuthError) and not isinstance(error, MissingApiKey | PermissionDenied):
            # A missing key never reaches the endpoint (nothing to spare), and a 403 is
            # about one model, not the key: neither holds the completions.
            self._hold = AutomaticHold("key")
        elif isinstance(error, QuotaExceeded | InsufficientBalance):
            hint = error.retry_after
            wait = min(hint, self._max_quota_hold) if hint and hint > 0 else self._quota_probe
            self._hold = AutomaticHold("quota", self._clock() + wait)
        return False

    def record_success(self) -> None:
        """A call succeeded: the streak ends and any hold is lifted."""
        self._connection_failures = 0
        self._hold = None

    def clear_hold(self) -> None:
        """Lift the hold (the user changed the settings: worth one more try)."""
        self._hold = None

    def hold(self) -> AutomaticHold | None:
        """The hold in force, or ``None`` when automatic requests may be sent.

        A quota hold past its deadline is dropped here, so the next automatic request
        probes the endpoint; failing again re-arms it.
        """
        hold = self._hold
        if hold is not None and hold.until is not None and self._clock() >= hold.until:
            self._hold = hold = None
        return hold
