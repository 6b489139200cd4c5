"""Spend guard: caps that refuse requests instead of spending money.

Contract
--------
* Two caps (`SpendCaps`): requests per minute for *automatic* triggers (inline completion
  fired by typing) and tokens per rolling 24 hours for all requests.
* `SpendGuard.admit(trigger, estimated_tokens)` is called before a request is sent. It
  raises `SpendLimitReached` (a `ModelError` whose ``str()`` is the status-bar text) when
  a cap would be exceeded; otherwise it counts the request. Explicit user requests are
  only ever blocked by the token cap: the user asked, so a burst of them is intended.
* `SpendGuard.record(tokens)` adds a finished call's total tokens (input incl. cache +
  output).
* Time comes from an injectable monotonic clock; windows are rolling (60 s and 24 h), so
  there is no reliance on wall-clock dates.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .errors import ModelError
from .records import Trigger

__all__ = ["SpendCaps", "SpendGuard", "SpendLimitReached"]

_MINUTE = 60.0
_DAY = 86_400.0
#: Token records closer than this share one entry of the daily window.
_BUCKET = 60.0


@dataclass(frozen=True, slots=True)
class SpendCaps:
    """Configurable spend limits; ``None`` disables a cap.

    Attributes
    ----------
    automatic_requests_per_minute:
        Automatic (typing-triggered) requests allowed in any 60 s window.
    tokens_per_day:
        Input + output tokens allowed in any 24 h window, all requests.
    """

    automatic_requests_per_minute: int | None = 30
    tokens_per_day: int | None = None

    def __post_init__(self) -> None:
        for name in ("automatic_requests_per_minute", "tokens_per_day"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative integer or None, not {value!r}")


class SpendLimitReached(ModelError):
    """A spend cap refused the request before anything was sent.

    ``limit`` is ``"requests_per_minute"`` or ``"tokens_per_day"``; ``retry_after`` the
    seconds until the window frees up (best effort).
    """

    def __init__(
        self,
        message: str,
        *,
        limit: Literal["requests_per_minute", "tokens_per_day"],
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retryable=False, retry_after=retry_after)
        self.limit = limit


class SpendGuard:
    """Enforces `SpendCaps` with rolling windows.

    Parameters
    ----------
    caps:
        The limits.
    clock:
        Monotonic seconds; injectable for tests.
    """

    def __init__(self, caps: SpendCaps, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._caps = caps
        self._clock = clock
        self._automatic: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._token_sum = 0

    @property
    def caps(self) -> SpendCaps:
        """The limits in force."""
        return self._caps

    def tokens_last_day(self) -> int:
        """Tokens recorded in the last 24 h."""
        self._prune(self._clock())
        return self._token_sum

    def automatic_last_minute(self) -> int:
        """Automatic requests admitted in the last 60 s."""
        self._prune(self._clock())
        return len(self._automatic)

    def admit(self, trigger: Trigger, estimated_tokens: int = 0) -> None:
        """Admit one request or raise `SpendLimitReached`.

        Parameters
        ----------
        trigger:
            ``"automatic"`` or ``"explicit"``.
        estimated_tokens:
            Expected input tokens of the request; a request that would cross the daily
            cap is refused up front.
        """
        now = self._clock()
        self._prune(now)
        day_cap = self._caps.tokens_per_day
        if day_cap is not None and (
            self._token_sum >= day_cap or self._token_sum + estimated_tokens > day_cap
        ):
            wait = _DAY - (now - self._tokens[0][0]) if self._tokens else None
            raise SpendLimitReached(
                f"MiniMax daily token limit reached ({self._token_sum:,} of {day_cap:,} tokens "
                "in the last 24 hours); requests are paused.",
                limit="tokens_per_day",
                retry_after=wait,
            )
        rpm = self._caps.automatic_requests_per_minute
        if trigger == "automatic" and rpm is not None:
            if len(self._automatic) >= rpm:
                wait = _MINUTE - (now - self._automatic[0]) if self._automatic else _MINUTE
                raise SpendLimitReached(
                    f"Inline completions paused: {rpm} automatic requests per minute reached.",
                    limit="requests_per_minute",
                    retry_after=wait,
                )
            self._automatic.append(now)

    def record(self, tokens: int) -> None:
        """Count a finished call's tokens against the daily cap.

        Calls within `_BUCKET` seconds of the newest entry join it, so the window holds
        at most ~1,440 entries a day however fast the user types (one per call was a
        tuple per keystroke for 24 h). A bucket expires with its first call: tokens
        leave the window up to `_BUCKET` seconds early, a negligible slack on a day.
        """
        if tokens <= 0:
            return
        now = self._clock()
        if self._tokens and now - self._tokens[-1][0] < _BUCKET:
            started, sum_ = self._tokens[-1]
            self._tokens[-1] = (started, sum_ + tokens)
        else:
            self._tokens.append((now, tokens))
        self._token_sum += tokens

    def _prune(self, now: float) -> None:
        while self._automatic and now - self._automatic[0] >= _MINUTE:
            self._automatic.popleft()
        while self._tokens and now - self._tokens[0][0] >= _DAY:
            self._token_sum -= self._tokens.popleft()[1]
