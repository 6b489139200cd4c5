"""Logging and user notifications: two channels, one rate limit, no secrets.

Contract (STYLE.md "absorb" 16/17, DESIGN.md §2)
-------------------------------------------------
* **Logs** (full detail) go to Python ``logging``: stderr, an optional log file
  (``--log-file`` / the ``logFile`` setting) and, through `LspLogHandler`, to
  ``window/logMessage`` (INFO and above, our own ``minimax_lsp.*`` loggers only). pygls'
  own loggers are held at WARNING: at INFO they print every message body, file
  contents included. Nothing is ever written to stdout (the protocol channel).
* **Messages** (`Notifier`): the user sees one short ``window/showMessage`` per
  *persistent* problem kind (no key, bad key, quota, offline, spend limit, invalid
  settings, internal error): the first occurrence at once, then at most one every
  `Notifier.interval` seconds. ``showNotifications`` gates it: ``off`` never,
  ``onError`` errors and warnings (the default), ``always`` informational messages too.
* **Secrets**: `SecretScrubber` is a logging filter installed on every handler we own;
  each value registered with `SecretScrubber.add` (the API key read from the
  environment at start) is replaced by ``***`` in the message, its arguments, and the
  formatted traceback of every record, and in every shown message. Defence in depth:
  the model client never logs the key in the first place.
* **Threads**: `Outbox` is the only way this package sends notifications. Called from a
  worker thread, it hands the send to the event loop (``call_soon_threadsafe``), so
  two threads never interleave bytes on stdout; order is preserved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

__all__ = [
    "LEVELS",
    "LogSetup",
    "LspLogHandler",
    "Notifier",
    "Outbox",
    "SecretScrubber",
    "Severity",
]

Severity = Literal["error", "warning", "info"]

#: Setting value -> logging level.
LEVELS: Final[dict[str, int]] = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

#: Our package's logger; the LSP log handler hangs here (third-party noise stays out).
PACKAGE_LOGGER: Final = "minimax_lsp"
#: Failures to send are logged here, and never forwarded to the client (no loops).
_OUTBOX_LOGGER: Final = "minimax_lsp.outbox"
#: Default seconds between two messages of the same problem kind.
DEFAULT_INTERVAL: Final = 600.0
#: Registered secrets shorter than this are ignored (they would mask ordinary words).
_MIN_SECRET: Final = 6
_MASK: Final = "***"

_log = logging.getLogger("minimax_lsp.notify")
_outbox_log = logging.getLogger(_OUTBOX_LOGGER)

_SEVERITY_TYPES: Final[dict[str, types.MessageType]] = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}


# --------------------------------------------------------------------------- secrets


class SecretScrubber(logging.Filter):
    """Replaces registered secret values by ``***`` in log records and texts.

    Install it on *handlers* (a filter on a logger does not see records propagated from
    child loggers). Thread-safe.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Register one secret value (stripped; too-short values are ignored)."""
        value = (value or "").strip()
        if len(value) < _MIN_SECRET:
            return
        with self._lock:
            if value not in self._secrets:
                # Longest first, so a secret containing another is masked whole.
                self._secrets = tuple(sorted({*self._secrets, value}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw text, scrubbed
            message = str(record.msg)
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


# --------------------------------------------------------------------------- outbox


class Outbox:
    """Thread-safe sender of notifications to the client (see the module docstring).

    Parameters
    ----------
    server:
        The pygls server whose protocol writes the messages.
    scrub:
        Applied to every user-visible text (shown and logged messages).
    """

    def __init__(self, server: LanguageServer, scrub: Callable[[str], str] = str) -> None:
        self._server = server
        self._scrub = scrub
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the event loop (call from the loop's thread, e.g. in ``initialize``)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def close(self) -> None:
        """Stop sending (after ``exit``, when the output stream is gone)."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the event loop thread: now if we are on it, else soon."""
        if self._closed:
            return
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self._run(action)
            return
        # A closed loop means the server is exiting: the message has nowhere to go.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._run, action)

    def _run(self, action: Callable[[], None]) -> None:
        if self._closed:
            return
        try:
            action()
        except Exception:
            _outbox_log.debug("could not send a message to the client", exc_info=True)

    def notify(self, method: str, params: Any) -> None:
        """Send a (custom) notification, e.g. ``minimax/status``."""
        self.call(lambda: self._server.protocol.notify(method, params))

    def log_message(self, severity: types.MessageType, message: str) -> None:
        """``window/logMessage``."""
        params = types.LogMessageParams(type=severity, message=self._scrub(message))
        self.call(lambda: self._server.window_log_message(params))

    def show_message(self, severity: Severity, message: str) -> None:
        """``window/showMessage`` (use `Notifier` for rate limiting and gating)."""
        params = types.ShowMessageParams(
            type=_SEVERITY_TYPES[severity], message=self._scrub(message)
        )
        self.call(lambda: self._server.window_show_message(params))


# --------------------------------------------------------------------------- messages


class Notifier:
    """One short, rate-limited message per persistent problem kind.

    Parameters
    ----------
    show:
        Displays a message (normally `Outbox.show_message`).
    mode:
        Returns the current ``showNotifications`` setting (read on every call, so a
        settings change applies at once).
    interval:
        Minimum seconds between two messages of the same kind.
    clock:
        Monotonic seconds (injectable for tests).
    scrub:
        Applied to every message text.
    """

    def __init__(
        self,
        show: Callable[[Severity, str], None],
        *,
        mode: Callable[[], str] = lambda: "onError",
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        scrub: Callable[[str], str] = str,
    ) -> None:
        self._show = show
        self._mode = mode
        self.interval = interval
        self._clock = clock
        self._scrub = scrub
        self._last_shown: dict[str, float] = {}
        self._lock = threading.Lock()

    def problem(self, kind: str, message: str, *, severity: Severity = "error") -> bool:
        """Report a persistent problem; returns True when a message was shown.

        The message is logged at WARNING when shown and at DEBUG when rate-limited, so
        a per-keystroke failure does not flood the log either.
        """
        text = self._scrub(message)
        if self._mode() == "off" or not self._due(kind):
            _log.debug("not shown (%s): %s", kind, text)
            return False
        _log.warning("%s", text)
        self._show(severity, text)
        return True

    def info(self, message: str) -> bool:
        """An informational message: shown only with ``showNotifications: always``."""
        text = self._scrub(message)
        _log.info("%s", text)
        if self._mode() != "always":
            return False
        self._show("info", text)
        return True

    def forget(self, kind: str) -> None:
        """Let the next problem of ``kind`` show at once (the user changed something)."""
        with self._lock:
            self._last_shown.pop(kind, None)

    def _due(self, kind: str) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last_shown.get(kind)
            if last is not None and now - last < self.interval:
                return False
            self._last_shown[kind] = now
            return True


# --------------------------------------------------------------------------- logging


class LspLogHandler(logging.Handler):
    """Forwards log records (INFO and above) to ``window/logMessage``.

    Records logged while a record is being forwarded (on the same thread) are dropped,
    as are records of the outbox logger: a failing send cannot loop.
    """

    def __init__(self, outbox: Outbox, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._outbox = outbox
        self._local = threading.local()
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_OUTBOX_LOGGER) or getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            self._outbox.log_message(_message_type(record.levelno), self.format(record))
        except Exception:
            self.handleError(record)
        finally:
            self._local.busy = False


def _message_type(levelno: int) -> types.MessageType:
    if levelno >= logging.ERROR:
        return types.MessageType.Error
    if levelno >= logging.WARNING:
        return types.MessageType.Warning
    if levelno >= logging.INFO:
        return types.MessageType.Info
    return types.MessageType.Log


#: Third-party loggers that are chatty at INFO/DEBUG, and the level they are held at.
_QUIET: Final[dict[str, int]] = {
    "pygls": logging.WARNING,
    "watchfiles": logging.WARNING,
    "httpcore": logging.INFO,
    "asyncio": logging.WARNING,
}


class LogSetup:
    """Owns the server process's logging handlers.

    Parameters
    ----------
    scrubber:
        Installed on every handler.
    stream:
        Where the console handler writes (stderr; never stdout).
    level, log_file:
        From the command line; when given they win over the settings.
    """

    def __init__(
        self,
        scrubber: SecretScrubber,
        *,
        stream: TextIO | None = None,
        level: str | None = None,
        log_file: str | None = None,
    ) -> None:
        self._scrubber = scrubber
        self._cli_level = level
        self._cli_file = log_file
        self._formatter = logging.Formatter(
            "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", "%H:%M:%S"
        )
        self._console = logging.StreamHandler(stream or sys.stderr)
        self._install(self._console)
        self._file: logging.Handler | None = None
        self._file_path: str | None = None
        self._lsp: LspLogHandler | None = None
        root = logging.getLogger()
        self._previous_level = root.level
        root.addHandler(self._console)
        for name, quiet in _QUIET.items():
            logging.getLogger(name).setLevel(quiet)
        # Python warnings become log records (stderr), never stray text on stdout.
        logging.captureWarnings(True)
        self.apply("info", "")

    def _install(self, handler: logging.Handler) -> None:
        handler.addFilter(self._scrubber)
        handler.setFormatter(self._formatter)

    def attach(self, outbox: Outbox) -> None:
        """Start forwarding our INFO+ records to ``window/logMessage``."""
        if self._lsp is not None:
            return
        self._lsp = LspLogHandler(outbox)
        self._lsp.addFilter(self._scrubber)
        self._lsp.setLevel(max(logging.INFO, logging.getLogger().level))
        logging.getLogger(PACKAGE_LOGGER).addHandler(self._lsp)

    def apply(self, level: str, log_file: str) -> None:
        """Apply the ``logLevel`` / ``logFile`` settings (command-line values win)."""
        number = LEVELS.get(self._cli_level or level, logging.INFO)
        logging.getLogger().setLevel(number)
        if self._lsp is not None:
            self._lsp.setLevel(max(logging.INFO, number))
        self._set_file(self._cli_file or log_file)

    def _set_file(self, path: str) -> None:
        if path == (self._file_path or ""):
            return
        root = logging.getLogger()
        if self._file is not None:
            root.removeHandler(self._file)
            self._file.close()
            self._file, self._file_path = None, None
        if not path:
            return
        try:
            target = Path(path).expanduser()
            target.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(target, encoding="utf-8")
        except OSError as exc:
            _log.warning("cannot write the log file %s: %s", path, exc.strerror or exc)
            return
        self._install(handler)
        root.addHandler(handler)
        self._file, self._file_path = handler, path

    def close(self) -> None:
        """Detach and close every handler (flushes the log file); restore the root level."""
        root = logging.getLogger()
        for handler in (self._console, self._file):
            if handler is not None:
                root.removeHandler(handler)
                handler.flush()
                handler.close()
        if self._lsp is not None:
            logging.getLogger(PACKAGE_LOGGER).removeHandler(self._lsp)
        self._file = self._lsp = None
        root.setLevel(self._previous_level)
        logging.captureWarnings(False)
