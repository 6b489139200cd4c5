"""Rate-limited user messages, the secret-scrubbing log filter and the LSP log channel."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from typing import Any

import pytest
from lsprotocol import types

from minimax_lsp.server.app import MiniMaxLanguageServer
from minimax_lsp.server.notify import LogSetup, Notifier, Outbox, SecretScrubber, Severity

KEY = "sk-cp-SECRET-canary-123"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Shown:
    def __init__(self) -> None:
        self.messages: list[tuple[Severity, str]] = []

    def __call__(self, severity: Severity, message: str) -> None:
        self.messages.append((severity, message))


class Wire:
    """A pygls writer that keeps the bytes and the threads that wrote them."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.threads: set[int] = set()

    def write(self, data: bytes) -> None:
        self.data += data
        self.threads.add(threading.get_ident())

    def close(self) -> None:
        pass

    def messages(self) -> list[dict[str, Any]]:
        out = []
        rest = bytes(self.data)
        while rest:
            header, _, rest = rest.partition(b"\r\n\r\n")
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            out.append(json.loads(rest[:length]))
            rest = rest[length:]
        return out


def wired_server() -> tuple[MiniMaxLanguageServer, Wire]:
    server = MiniMaxLanguageServer(environ={"MINIMAX_API_KEY": KEY})
    wire = Wire()
    server.protocol.set_writer(wire)
    return server, wire


# --------------------------------------------------------------------------- Notifier


def test_problem_is_shown_once_then_rate_limited_per_kind() -> None:
    clock, shown = Clock(), Shown()
    notifier = Notifier(shown, interval=600, clock=clock)
    assert notifier.problem("offline", "MiniMax is unreachable") is True
    assert notifier.problem("offline", "MiniMax is unreachable") is False
    clock.now += 599
    assert notifier.problem("offline", "still unreachable") is False
    assert notifier.problem("bad-key", "key rejected") is True  # another kind: its own limit
    clock.now += 1
    assert notifier.problem("offline", "unreachable again") is True
    assert shown.messages == [
        ("error", "MiniMax is unreachable"),
        ("error", "key rejected"),
        ("error", "unreachable again"),
    ]


def test_forget_lets_the_next_problem_show_at_once() -> None:
    clock, shown = Clock(), Shown()
    notifier = Notifier(shown, clock=clock)
    notifier.problem("settings", "bad value", severity="warning")
    notifier.forget("settings")
    notifier.problem("settings", "another bad value", severity="warning")
    assert shown.messages == [("warning", "bad value"), ("warning", "another bad value")]


@pytest.mark.parametrize(
    ("mode", "problem_shown", "info_shown"),
    [("off", False, False), ("onError", True, False), ("always", True, True)],
)
def test_show_notifications_setting_gates_messages(
    mode: str, problem_shown: bool, info_shown: bool
) -> None:
    shown = Shown()
    notifier = Notifier(shown, mode=lambda: mode)
    assert notifier.problem("quota", "quota exhausted") is problem_shown
    assert notifier.info("indexed 12 files") is info_shown
    assert len(shown.messages) == problem_shown + info_shown


def test_mode_off_does_not_use_up_the_rate_limit() -> None:
    mode = ["off"]
    shown = Shown()
    notifier = Notifier(shown, mode=lambda: mode[0])
    notifier.problem("offline", "unreachable")
    mode[0] = "onError"
    assert notifier.problem("offline", "unreachable") is True


def test_messages_are_scrubbed() -> None:
    scrubber = SecretScrubber()
    scrubber.add(KEY)
    shown = Shown()
    notifier = Notifier(shown, scrub=scrubber.scrub)
    notifier.problem("bad-key", f"key {KEY} rejected")
    assert shown.messages == [("error", "key *** rejected")]


# --------------------------------------------------------------------------- scrubbing


@pytest.fixture
def captured() -> Any:
    """A logger whose handler carries the scrubber, writing to a string."""
    scrubber = SecretScrubber()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(scrubber)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    parent = logging.getLogger("test_notify_scrub")
    parent.addHandler(handler)
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    try:
        yield scrubber, stream, logging.getLogger("test_notify_scrub.child")
    finally:
        parent.removeHandler(handler)


def test_scrubber_masks_message_args_tracebacks_and_stacks(captured: Any) -> None:
    scrubber, stream, log = captured
    scrubber.add(f"  {KEY}\n")  # stripped like a key read from a file
    log.info("key is %s", KEY)
    log.warning(f"inline {KEY} and %d", 3)
    try:
        raise RuntimeError(f"server echoed Authorization: Bearer {KEY}")
    except RuntimeError:
        log.exception("request failed")
    log.debug("where", stack_info=True, extra={"x": KEY})
    text = stream.getvalue()
    assert KEY not in text
    assert "key is ***" in text
    assert "inline *** and 3" in text
    assert "Bearer ***" in text  # inside the formatted traceback
    assert "test_notify_scrub.child" in text  # a child logger's record was filtered too


def test_scrubber_ignores_short_values_and_keeps_bad_format_strings(captured: Any) -> None:
    scrubber, stream, log = captured
    scrubber.add("abc")  # too short to be a key: would mask ordinary words
    scrubber.add(None)
    scrubber.add(KEY)
    log.info("abc %s %s", "only-one-arg")  # a broken format string must not crash
    assert "abc" in stream.getvalue()
    assert scrubber.scrub(f"{KEY}{KEY}") == "******"


# --------------------------------------------------------------------------- LSP channel


def test_log_records_reach_window_log_message_scrubbed() -> None:
    server, wire = wired_server()
    scrubber = server.session.scrubber
    stream = io.StringIO()
    setup = LogSetup(scrubber, stream=stream, level="debug")
    try:
        setup.attach(server.session.outbox)
        logging.getLogger("minimax_lsp.test").info("indexed with key %s", KEY)
        logging.getLogger("minimax_lsp.test").debug("debug stays in the log")
        logging.getLogger("minimax_lsp.outbox").warning("never forwarded")
        logging.getLogger("httpx").warning("third-party: not forwarded")
        logging.getLogger("pygls.protocol").info("pygls is held at WARNING")
    finally:
        setup.close()
    logged = [m["params"] for m in wire.messages() if m.get("method") == "window/logMessage"]
    assert logged == [
        {"type": types.MessageType.Info.value, "message": "minimax_lsp.test: indexed with key ***"}
    ]
    console = stream.getvalue()
    assert "indexed with key ***" in console
    assert "debug stays in the log" in console
    assert "pygls is held at WARNING" not in console
    assert KEY not in console


async def test_outbox_sends_from_worker_threads_on_the_loop_thread() -> None:
    server, wire = wired_server()
    outbox = Outbox(server)
    outbox.bind(asyncio.get_running_loop())

    def worker() -> None:
        for i in range(20):
            outbox.notify("minimax/status", {"state": "indexing", "message": f"step {i}"})

    await asyncio.to_thread(worker)
    await asyncio.sleep(0.05)  # the loop runs the queued sends
    sent = [m["params"]["message"] for m in wire.messages()]
    assert sent == [f"step {i}" for i in range(20)]  # all of them, in order
    assert wire.threads == {threading.get_ident()}
    outbox.close()
    outbox.notify("minimax/status", {"state": "ready", "message": "late"})
    assert len(wire.messages()) == 20
