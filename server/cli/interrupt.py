"""Ctrl-C handling shared by the subcommands that refresh the index."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cancel_on_sigint(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C sets ``cancel`` (stop cleanly between files); the second aborts.

    Signal handlers can only be installed from the main thread; elsewhere (tests that
    call ``main`` from a worker) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
