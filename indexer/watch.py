"""Keep an :class:`~minimax_lsp.indexer.index.Index` current from file-system events.

Contract
--------
- :class:`Watcher` runs ``watchfiles.watch`` on the index root in a daemon thread.
- Only paths the index's policy accepts are reported (``watch_filter``): churn in
  ``.git/``, vendored folders, ignored or secret files never reaches the index. Ignore
  files (``.gitignore``, ``.aiignore``...) are always reported, since a change to one
  changes the rules (the index then reloads them and refreshes). So is git's index
  (``.git/index``; its folder is watched too when it lies outside the root): a
  checkout or ``git rm --cached`` may change nothing else, yet changes which files
  are tracked, and tracked files are exempt from gitignore rules. The index then asks
  git for the tracked set again and re-checks the files whose status flipped, once
  per batch (watchfiles' batching is the debounce: a checkout's burst of writes to
  the index arrives as one or a few batches).
- Events are batched by watchfiles (a batch closes after ``step_ms`` of quiet, or after
  ``debounce_ms`` at most), so a ``git checkout`` touching thousands of files arrives as
  a few batches; each batch is applied with one :meth:`Index.update`, and ``on_change``
  is called with the paths whose content changed (when there are any).
- Latency: watchfiles checks for events every ``step_ms`` and closes a batch one quiet
  step after the last event, so a single save is applied 1-2 steps after it happens
  (~1.5 on average) plus the update itself (~1 ms for a typical source file). The
  default ``step_ms=20`` puts a save in the index in ~30-40 ms (the benchmark's p50 was
  102 ms at 50 ms); the cost is a watcher thread waking 50 times a second, each time
  for microseconds. Storms still batch: events keep coming faster than one per step,
  and ``debounce_ms`` caps how long a batch can grow.
- Convergence: every event makes the index re-read that path, and events arriving while
  a batch is being applied are queued by watchfiles, so once a storm ends the index
  equals what a fresh refresh of the final tree gives.
- :meth:`Watcher.stop` returns promptly (< 1 s): the stop event ends the watch loop and
  interrupts an update in progress between two files.
- A failing update or callback is logged and the watcher keeps going.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

import watchfiles

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.scan import is_ignore_file

logger = logging.getLogger(__name__)

#: How long the watch loop waits for events before checking in (also how long
#: :meth:`Watcher.start` may wait for the watcher to be armed).
_IDLE_TIMEOUT_MS: Final = 250

ChangeCallback = Callable[[list[str]], None]


class Watcher:
    """Watches ``index.root`` and applies changes to ``index``.

    Parameters
    ----------
    index:
        The index to keep current.
    on_change:
        Called from the watcher thread after each applied batch that changed something,
        with the sorted relative paths whose content changed.
    debounce_ms:
        Upper bound on how long one batch may gather events.
    step_ms:
        A batch closes after this much quiet (see the latency note in the module doc).
    force_polling:
        Poll instead of using OS notifications (network drives, some containers).
    """

    def __init__(
        self,
        index: Index,
        *,
        on_change: ChangeCallback | None = None,
        debounce_ms: int = 1600,
        step_ms: int = 20,
        force_polling: bool | None = None,
    ) -> None:
        self.index = index
        self._on_change = on_change
        self._debounce_ms = debounce_ms
        self._step_ms = step_ms
        self._force_polling = force_polling
        self._stop = threading.Event()
        self._armed = threading.Event()
        self._thread: threading.Thread | None = None
        #: Number of batches applied so far (for status reports and tests).
        self.batches = 0

    @property
    def running(self) -> bool:
        """True while the watcher thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, wait: float = 2.0) -> None:
        """Start watching; waits up to ``wait`` seconds for the watcher to be armed.

        Events from before the watcher is armed are not seen: start the watcher, then
        :meth:`Index.refresh`, and nothing falls between the two.
        """
        if self.running:
            return
        self._stop.clear()
        self._armed.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"minimax-lsp watch {self.index.root.name}", daemon=True
        )
        self._thread.start()
        self._armed.wait(wait)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop watching and wait (at most ``timeout`` seconds) for the thread to end."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the file watcher did not stop within %.1f s", timeout)
        self._thread = None

    # -- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            # yield_on_timeout: an empty batch every _IDLE_TIMEOUT_MS tells us the watcher
            # is armed (the first yield can only come after it is).
            for changes in watchfiles.watch(
                *self._watched_folders(),
                watch_filter=self._accepts,
                debounce=self._debounce_ms,
                step=self._step_ms,
                stop_event=self._stop,
                rust_timeout=_IDLE_TIMEOUT_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
                force_polling=self._force_polling,
                ignore_permission_denied=True,
            ):
                self._armed.set()
                if changes and not self._stop.is_set():
                    self._apply(sorted({path for _, path in changes}))
        except Exception:
            logger.exception("the file watcher for %s stopped", self.index.root)
        finally:
            self._armed.set()

    def _apply(self, paths: list[str]) -> None:
        try:
            changed = self.index.update(paths, cancel=self._stop)
        except Exception:
            logger.exception("could not apply %d file changes to the index", len(paths))
            return
        self.batches += 1
        if changed and self._on_change is not None:
            try:
                self._on_change(changed)
            except Exception:
                logger.exception("the index change callback failed")

    def _watched_folders(self) -> list[Path]:
        """The root, plus the folder of git's index when it lies outside the root (the
        root is a sub-folder of the repository, or a linked work tree)."""
        root = self.index.root
        git_index = self.index.policy.git_index_file()
        if git_index is None or git_index.parent.is_relative_to(root):
            return [root]
        if not git_index.parent.is_dir():
            return [root]
        return [root, git_index.parent]

    def _accepts(self, change: watchfiles.Change, path: str) -> bool:
        """``watch_filter``: report only paths the index could hold, or rule files.

        Rule files are the ignore files and git's index (``.git/index``: a checkout or
        ``git rm --cached`` may change only it, and with it which files are tracked,
        hence exempt from gitignore rules).
        """
        policy = self.index.policy
        rel = policy.relative(Path(path))
        if rel is None or rel in ("", "."):
            return policy.is_git_index(path)
        if is_ignore_file(rel):
            # Only this root's git index matters (not a nested repository's, nor any
            # when git is not used).
            return not rel.endswith(".git/index") or policy.is_git_index(rel)
        return policy.check_path(rel) is None
