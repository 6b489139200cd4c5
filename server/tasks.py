"""Background tasks of the language server: a set that keeps them alive and accountable.

Contract
--------
* `TaskSet.run(coro)` schedules ``coro`` on the running event loop and keeps a strong
  reference to the task until it finishes (asyncio itself keeps only weak ones, so an
  unreferenced task can be garbage-collected mid-flight -- STYLE.md "absorb" 8).
* When a task ends with an exception, the exception is logged with its traceback, once,
  by a done-callback. Cancellation is normal and is not logged.
* `TaskSet.cancel_all` cancels every pending task and waits (bounded) for them to
  finish; it is called on ``shutdown``. After `TaskSet.close`, `run` refuses new work
  (the coroutine is closed, never started), so nothing new starts during shutdown.
* The set is per server (it lives on the `Session`), never module-level.

Handlers never block the event loop: model calls are ``async``; CPU-heavy or blocking
work (parsing, SQLite, git) goes to a worker thread with ``asyncio.to_thread`` inside a
task started here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["TaskSet"]

_log = logging.getLogger("minimax_lsp.tasks")

T = TypeVar("T")


class TaskSet:
    """Holds the server's background tasks (see the module docstring).

    Parameters
    ----------
    name:
        Used in log messages and as the prefix of task names.
    """

    def __init__(self, name: str = "minimax-lsp") -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        """True once `close` (or `cancel_all`) was called: no new tasks start."""
        return self._closed

    def run(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a task on the running loop and keep it referenced.

        Raises
        ------
        RuntimeError
            When the set is closed (the server is shutting down) or no loop is running.
        """
        if self._closed:
            coro.close()  # never started: no "coroutine was never awaited" warning
            raise RuntimeError(f"{self._name}: shutting down, no new background tasks")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}:{name or '?'}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            _log.error(
                "background task %s failed",
                task.get_name(),
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def close(self) -> None:
        """Refuse new tasks from now on."""
        self._closed = True

    async def cancel_all(self, grace: float = 2.0) -> None:
        """Close the set, cancel every pending task and wait up to ``grace`` seconds."""
        self.close()
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current and not t.done()]
        for task in pending:
            task.cancel()
        if not pending:
            return
        _done, still = await asyncio.wait(pending, timeout=grace)
        if still:
            _log.warning(
                "%d background task(s) did not stop within %.1f s: %s",
                len(still),
                grace,
                ", ".join(sorted(t.get_name() for t in still)),
            )
