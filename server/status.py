"""``minimax/status`` notifications and work-done progress for indexing.

Contract (the wire shapes are documented in ``docs/protocol.md``)
------------------------------------------------------------------
* `Status` is one ``minimax/status`` payload::

      {state, message, files?, symbols?, uri?, usage?}

  ``state`` is one of `STATES`. Without ``uri`` it is the server's overall state:
  a model problem (``no-key``, ``offline``, ``spend-limit``, ``error``) outranks
  ``indexing``, which outranks ``ready``. With ``uri`` it is about one document: only
  ``inactive`` is sent that way (a file the policy denies; nothing of it is sent to
  the model).
* `StatusReporter.publish` sends a status unless it equals the last one sent for the
  same ``uri`` (repeats are dropped, so the status bar does not flicker).
* `IndexProgress` reports one indexing run: ``$/progress`` begin / report (percentage,
  ``"Indexing 120/2800 files"``) / end when the client supports work-done progress
  (a token is created with ``window/workDoneProgress/create`` first), and throttled
  ``indexing`` statuses in every case. `IndexProgress.report` may be called from the
  indexing thread; it is throttled to one update per `MIN_REPORT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

from lsprotocol import types

from minimax_lsp.server.model import LedgerSnapshot
from minimax_lsp.server.notify import Outbox

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

__all__ = [
    "STATES",
    "STATUS_METHOD",
    "STREAM_DELTA_METHOD",
    "IndexProgress",
    "State",
    "Status",
    "StatusReporter",
    "usage_json",
]

#: Our custom notifications (namespaced, STYLE.md "absorb" 18).
STATUS_METHOD: Final = "minimax/status"
STREAM_DELTA_METHOD: Final = "minimax/streamDelta"

State = Literal["indexing", "ready", "error", "inactive", "spend-limit", "offline", "no-key"]
STATES: Final[tuple[str, ...]] = get_args(State)

#: Minimum seconds between two progress updates of one indexing run.
MIN_REPORT_SECONDS: Final = 0.2
#: How long to wait for the client to accept a progress token.
_CREATE_TIMEOUT: Final = 2.0

_log = logging.getLogger("minimax_lsp.status")


def usage_json(snapshot: LedgerSnapshot) -> dict[str, int | float]:
    """The ``usage`` object of statuses and of ``minimax.status``."""
    usage = snapshot.usage
    return {
        "requests": snapshot.calls,
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "cacheReadTokens": usage.cache_read_input_tokens,
        "cacheCreationTokens": usage.cache_creation_input_tokens,
        "cacheHitShare": round(snapshot.cache_hit_share, 4),
    }


@dataclass(frozen=True, slots=True)
class Status:
    """One ``minimax/status`` payload (see the module docstring)."""

    state: State
    message: str
    files: int | None = None
    symbols: int | None = None
    uri: str | None = None
    usage: Mapping[str, int | float] | None = None

    def to_json(self) -> dict[str, object]:
        """The wire form: camelCase keys, absent optional fields left out."""
        data: dict[str, object] = {"state": self.state, "message": self.message}
        if self.files is not None:
            data["files"] = self.files
        if self.symbols is not None:
            data["symbols"] = self.symbols
        if self.uri is not None:
            data["uri"] = self.uri
        if self.usage is not None:
            data["usage"] = dict(self.usage)
        return data


class StatusReporter:
    """Sends `Status` notifications, dropping exact repeats.

    Parameters
    ----------
    send:
        ``send(method, params)``; normally `Outbox.notify` (thread-safe).
    """

    def __init__(self, send: Callable[[str, object], None]) -> None:
        self._send = send
        self._last: dict[str | None, Status] = {}
        self._lock = threading.Lock()

    def publish(self, status: Status) -> bool:
        """Send ``status`` unless it repeats the last one for its ``uri``; True if sent."""
        with self._lock:
            if self._last.get(status.uri) == status:
                return False
            self._last[status.uri] = status
        self._send(STATUS_METHOD, status.to_json())
        return True

    def last(self, uri: str | None = None) -> Status | None:
        """The last status sent (overall, or for ``uri``)."""
        with self._lock:
            return self._last.get(uri)

    def forget(self, uri: str) -> None:
        """Forget a document's last status (it was closed): a reopen reports again."""
        with self._lock:
            self._last.pop(uri, None)


class IndexProgress:
    """Progress of one indexing run of one workspace folder.

    Parameters
    ----------
    server:
        The pygls server (for ``window/workDoneProgress/create``).
    outbox:
        Thread-safe sender.
    title:
        Progress title, e.g. ``"MiniMax: indexing myproject"``.
    enabled:
        Whether the client supports work-done progress; when False only ``on_update``
        is called.
    on_update:
        ``on_update(done, total)`` after each (throttled) report, on the loop thread:
        the session turns it into an ``indexing`` status.
    """

    _ids = itertools.count(1)

    def __init__(
        self,
        server: LanguageServer,
        outbox: Outbox,
        *,
        title: str,
        enabled: bool,
        on_update: Callable[[int, int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._outbox = outbox
        self._title = title
        self._enabled = enabled
        self._on_update = on_update
        self._clock = clock
        self._token: str | None = None
        self._last_time = 0.0
        self._last_percent = -1

    @property
    def token(self) -> str | None:
        """The progress token, once the client accepted it."""
        return self._token

    async def begin(self) -> None:
        """Create the token (if supported) and send ``begin``; never raises."""
        if self._enabled:
            token = f"minimax-index-{next(self._ids)}"
            try:
                await asyncio.wait_for(
                    self._server.work_done_progress.create_async(token), _CREATE_TIMEOUT
                )
            except Exception as exc:
                # A client may refuse or ignore the request; statuses still flow.
                _log.debug("no work-done progress: %s", exc)
            else:
                self._token = token
                begin = types.WorkDoneProgressBegin(
                    title=self._title, cancellable=False, message="Scanning files", percentage=0
                )
                self._outbox.call(lambda: self._server.work_done_progress.begin(token, begin))
        self._outbox.call(lambda: self._on_update(0, 0))

    def report(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` files (thread-safe, throttled)."""
        percent = int(done * 100 / total) if total else 0
        now = self._clock()
        final = total > 0 and done >= total
        if not final and (
            now - self._last_time < MIN_REPORT_SECONDS or percent == self._last_percent
        ):
            return
        self._last_time, self._last_percent = now, percent
        token = self._token
        if token is not None:
            value = types.WorkDoneProgressReport(
                message=f"Indexing {done}/{total} files", percentage=percent
            )
            self._outbox.call(lambda: self._server.work_done_progress.report(token, value))
        self._outbox.call(lambda: self._on_update(done, total))

    def end(self, message: str) -> None:
        """Send ``end`` (if a token was created)."""
        token = self._token
        if token is None:
            return
        value = types.WorkDoneProgressEnd(message=message)
        self._outbox.call(lambda: self._server.work_done_progress.end(token, value))
