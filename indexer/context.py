"""The context engine: rank the workspace for one request and pack it under a token budget.

Contract
--------
``ContextEngine(index).pack(ContextRequest(...)) -> Manifest`` (the public contract in
``docs/context.md`` and the engine contract note):

- **Never over budget.** Every span's ``tokens`` is its ``TokenCounter`` count with the
  safety margin applied (``ceil(count * margin)``, the margin read once per pack);
  ``Manifest.tokens`` is their sum and is ``<= request.budget`` for every budget,
  ``0`` included.
- **Prompt order.** ``items`` are in the order they are to be sent: the *repository
  section* (``items[:stable_items]``: whole files and outlines, sorted by path), then
  the *focus section* (cursor-, selection- or question-specific snippets and the files
  this request singles out, by ascending score octave, then path), then the current
  file, always last when ``request.path`` is set: ``"full"``, or a ``"snippet"`` window
  around the cursor/selection when the whole file does not fit (cut to the characters
  that fit when not even the cursor line does).
- **Graceful degradation.** When the whole indexed workspace fits, every file is sent
  whole. Otherwise a file is sent whole when it fits its section's allowance, else as an
  outline (signatures only, see :mod:`outline` for the text format), else as a
  top-level-only outline; a definition too big for the focus section becomes its lines
  through its constructor (a class), its outline, or its head. A final *fill pass*
  spends what the sections leave (more focus units, then whole files, then outlines), so
  that manifests use nearly all of the budget.
- **Prompt caching.** For ``task="complete"`` the repository section depends only on
  the budget, the current file's path and imports, the open/recent buffers and the
  (quantised) graph ranks, never on the cursor position or on the text being typed;
  its share of the budget is fixed. So while the user types, everything before the
  focus section stays byte-identical unless the workspace itself changes materially.
  The focus section is keyed on quantised inputs (the enclosing definition as the
  cursor region, the line being typed left out of the lexical query, the identifier
  being typed left out of the definition lookup, quantised unit scores).
- **Secrets.** Every text is passed through :func:`redact.redact` before it enters a
  span; token counts are of the redacted text. Files the policy denies are not in the
  index, and a denied current file raises :class:`ContextDenied`.
- **Overlays.** The index's overlays (unsaved buffers) win over disk;
  ``request.current_text`` wins over both for the current file.
- **Determinism.** The same index state and request give a byte-identical manifest:
  every ordering breaks ties by path and line, and nothing depends on timing or on
  earlier requests (caches only memoise pure functions of content). Caveat: the
  def/ref graph keeps its global rank incrementally, so after a different history of
  edits its numbers may differ within its push tolerance (quantised scores make that
  rarely visible); a fresh engine on the same index always agrees with itself.
- **Speed.** Derived structures (import resolver and graph, symbol table, def/ref
  graph, BM25 index, per-file redacted text, token counts and outlines, re-export
  answers) are built by :meth:`ContextEngine.warm` (or the first pack) and updated
  incrementally when ``index.version`` changes: only files whose content hash changed
  are re-derived, and of an edited file only its changed BM25 chunks. A completion on a
  live text the index does not hold never parses it: it reads the parse of the text
  with the cursor line blanked, kept per file (one parse per edited line).
- **Never waiting on a build** (``background=True``, what the server uses). A pack
  never waits for the first build nor for a large update (more than
  :data:`INLINE_SYNC_FILES` files changed): those run in a background thread (or in
  :meth:`ContextEngine.warm`) and hold the lock only for short steps, while packs use
  what is there and say so in ``Manifest.partial``. Before the first build that is the
  current file and the files it imports (the import resolver only: milliseconds); during
  an update, the structures as they are, some files not re-derived yet. A workspace of
  at most :data:`INLINE_BUILD_BYTES` is built by the pack itself (it takes
  milliseconds), and small updates are applied by the pack, so that the manifest
  reflects the edit just made. With ``background=False`` (the default: the CLI,
  benchmarks) a pack builds and syncs everything first, as ``warm`` does.
- **Threads.** :meth:`ContextEngine.pack` and :meth:`ContextEngine.warm` may be called
  from any thread; packs are serialised by one lock (the derived structures are not
  thread-safe), which background work takes only for short steps.

The scoring formula (signals and their fusion) is in :mod:`rank`'s docstring.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import Final

from minimax_lsp.indexer.context_current import LiveTexts
from minimax_lsp.indexer.context_planner import Planner, enforce_budget
from minimax_lsp.indexer.context_records import (
    ContextDenied,
    ContextRequest,
    Manifest,
    Mode,
    Span,
    Task,
)
from minimax_lsp.indexer.context_signals import SignalMemo
from minimax_lsp.indexer.context_workspace import Stopped, WorkspaceCache
from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.tokens import TokenCounter

__all__ = [
    "INLINE_BUILD_BYTES",
    "INLINE_SYNC_FILES",
    "ContextDenied",
    "ContextEngine",
    "ContextRequest",
    "Manifest",
    "Mode",
    "Span",
    "Task",
]

logger = logging.getLogger(__name__)

#: In background mode, a pack applies an update of at most this many files itself
#: (milliseconds each); a larger one goes to the background.
INLINE_SYNC_FILES: Final = 16
#: In background mode, a workspace of at most this many bytes is built by the first pack
#: itself (well under 100 ms).
INLINE_BUILD_BYTES: Final = 256 * 1024
#: Background work holds the lock for at most about this long at a time (seconds).
_STEP_SECONDS: Final = 0.01
#: ``Manifest.partial`` reasons.
PARTIAL_BUILDING: Final = "building the workspace structures: current file and its imports only"
PARTIAL_UPDATING: Final = "applying workspace changes: some files are not re-derived yet"


class ContextEngine:
    """Ranks and packs the workspace of one :class:`Index` (see the module docstring).

    Parameters
    ----------
    index:
        The workspace index; the engine follows its ``version``.
    counter:
        Token counter (its cache and safety margin); a new default one if ``None``.
    background:
        Build and apply large updates in a background thread instead of in the pack
        that finds them: packs never wait for them, and are marked partial meanwhile.
    """

    def __init__(
        self, index: Index, *, counter: TokenCounter | None = None, background: bool = False
    ) -> None:
        self.index = index
        self.counter = counter if counter is not None else TokenCounter()
        self.background = background
        # _lock guards the workspace and the live-text memos (not thread-safe); _job_lock
        # is held by whoever builds or updates the workspace in steps (the background
        # thread or warm()); _job_active (under _lock) tells packs not to sync meanwhile.
        self._lock = threading.RLock()
        self._job_lock = threading.Lock()
        self._job_active = False
        self._job_failed_at: int | None = None
        # Packs waiting for _lock (counted under _waiting_lock): background steps yield
        # the GIL when there are any.
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._ws: WorkspaceCache | None = None
        self._live = LiveTexts(index, self.counter)
        self._memo = SignalMemo()
        # Set by close(): background work stops at its next step, and none starts.
        self._closed = threading.Event()

    @property
    def ready(self) -> bool:
        """Whether every derived structure exists (a pack will not be partial or build)."""
        ws = self._ws
        return ws is not None and ws.built

    def warm(self) -> None:
        """Build every derived structure now, so that the first request is fast.

        Meant for a worker thread right after indexing. Builds (or brings up to date) in
        this thread; a build already running in the background is waited for rather
        than repeated. Token counts and outlines of every file are then filled in while
        packs proceed (caches of pure functions of each file's text).
        """
        self._run_job(complete=True)
        ws = self._ws
        if ws is None or not ws.built or self._closed.is_set():
            return
        with self._lock:
            ws.global_top()
        ws.warm_files(self._closed.is_set)

    def close(self) -> None:
        """Stop background work (at its next step) and start none again: for shutdown,
        so that closing the index does not compete with a build. Packs still answer."""
        self._closed.set()

    def sync(self) -> None:
        """Catch up with the index now, from the thread that just changed it.

        Once the workspace is built, a small update is applied here, so that the next
        pack does not pay for it, and a large one starts in the background (background
        mode) or runs here. The first build is left to :meth:`warm` or the first pack.
        Never needed for correctness: a pack catches up by itself.
        """
        if not self.background:
            with self._job_lock, self._lock:
                if self._ws is not None and self._ws.built:
                    self._serving()
            return
        with self._lock:
            if self._ws is not None and self._ws.built and not self._job_active:
                self._serving()

    def pack(self, request: ContextRequest) -> Manifest:
        """The manifest of what to send for ``request`` (see the module docstring).

        Raises
        ------
        ContextDenied
            When ``request.path`` is outside the root or denied by the workspace policy
            (ignored, secret, vendored, generated, binary, too large).
        """
        if not self.background:
            # Wait for a warm() in progress rather than building twice.
            with self._job_lock:
                return self._pack(request)
        return self._pack(request)

    def _pack(self, request: ContextRequest) -> Manifest:
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            ws, partial = self._serving()
            current = self._live.current(ws, request)
            planner = Planner(ws, request, current, self.counter.margin, self._memo)
            items, stable = planner.run()
            items, stable = enforce_budget(items, stable, request.budget)
            if current is not None and current.windowed and items:
                items = (*items[:-1], _in_file(items[-1], current.offset))
            tokens = sum(s.tokens for s in items)
            return Manifest(
                request.task, request.budget, tokens, items, ws.version, stable, partial
            )
        finally:
            self._lock.release()

    # -- keeping up with the index (under _lock) ----------------------------------------

    def _serving(self) -> tuple[WorkspaceCache, str]:
        """The workspace to pack from, and why it is partial (``""``: it is not)."""
        ws = self._ws
        if ws is None:
            ws = self._ws = WorkspaceCache(self.index, self.counter)
        if not self.background:
            if not ws.built:
                ws.build()
                self._workspace_changed()
            ws.sync()
            return ws, ""
        if not ws.built:
            ws.bootstrap()
            if self._job_active:
                return ws, PARTIAL_BUILDING
            if ws.size_total <= INLINE_BUILD_BYTES:
                ws.build()
                self._workspace_changed()
                return ws, ""
            self._start_job()
            return ws, PARTIAL_BUILDING
        if self._job_active:
            return ws, PARTIAL_UPDATING if ws.version != self.index.version else ""
        plan = ws.plan()
        if plan is None:
            return ws, ""
        if plan.files <= INLINE_SYNC_FILES or ws.size_total <= INLINE_BUILD_BYTES:
            ws.apply(plan)
            return ws, ""
        self._start_job()
        return ws, PARTIAL_UPDATING

    def _workspace_changed(self) -> None:
        """The structures were replaced: forget what was memoised about the old ones."""
        self._live.workspace_changed()
        self._memo.clear()

    def _start_job(self) -> None:
        """Start the background thread that builds or updates the workspace (under _lock)."""
        if self._job_active or self._job_failed_at == self.index.version:
            return
        if self._closed.is_set():
            return
        self._job_active = True
        thread = threading.Thread(target=self._job, name="minimax-lsp context engine", daemon=True)
        thread.start()

    def _job(self) -> None:
        try:
            self._run_job(complete=False)
        except Exception:
            if self._closed.is_set():  # the index closed under it: shutting down
                logger.debug("context engine: background update stopped", exc_info=True)
                return
            # Not retried until the index changes; packs keep what they have.
            logger.exception("context engine: background update failed")

    # -- background work (outside _lock, in steps under it) -----------------------------

    def _run_job(self, *, complete: bool) -> None:
        """Build or update the workspace in this thread, in steps (see :meth:`_catch_up`).

        On failure the workspace is dropped (an update may have stopped half-way) and no
        background job starts again until the index changes.
        """
        with self._job_lock:
            with self._lock:
                self._job_active = True
            try:
                self._catch_up(complete)
                with self._lock:
                    self._job_failed_at = None
            except Stopped:
                return  # closing: nothing to report
            except BaseException:
                with self._lock:
                    self._job_failed_at = self.index.version
                    if self._ws is not None and self._ws.built:
                        self._ws = None
                        self._workspace_changed()
                raise
            finally:
                with self._lock:
                    self._job_active = False

    def _catch_up(self, complete: bool) -> None:
        """Build the workspace if there is none, then apply the index's changes, until
        what is left is nothing or (unless ``complete``) small enough for a pack."""
        stop = self._closed.is_set
        while not stop():
            with self._lock:
                ws = self._ws
                plan = ws.plan() if ws is not None and ws.built else None
                if ws is not None and ws.built and plan is None:
                    return
                if plan is not None and plan.files <= INLINE_SYNC_FILES and not complete:
                    return  # the next pack applies it itself
            if ws is None or not ws.built:
                fresh = WorkspaceCache(self.index, self.counter)
                fresh.build(stop)  # a private object: no lock needed
                with self._lock:
                    self._ws = fresh
                    self._workspace_changed()
                continue
            assert plan is not None
            prepared = ws.prepare(plan, stop) if plan.files > INLINE_SYNC_FILES else None
            self._in_steps(ws.commit(plan, prepared))

    def _in_steps(self, steps: Iterator[None]) -> None:
        """Run ``steps`` under the lock, releasing it every :data:`_STEP_SECONDS`."""
        done = False
        while not done:
            if self._closed.is_set():
                raise Stopped  # the workspace is left half-updated: it is not used again
            with self._lock:
                deadline = time.perf_counter() + _STEP_SECONDS
                done = True
                for _ in steps:
                    if time.perf_counter() >= deadline:
                        done = False
                        break
            if not done and self._waiting:
                # Let a waiting pack take the lock (Python locks are not fair).
                time.sleep(0.001)


def _in_file(span: Span, offset: int) -> Span:
    """The current file's span of a windowed live text, in the file's line numbers.

    What the planner saw as the whole (windowed) text is only a snippet of the file.
    """
    if span.mode != "full":
        return dataclasses.replace(
            span, start_line=span.start_line + offset, end_line=span.end_line + offset
        )
    return dataclasses.replace(
        span,
        start_line=span.start_line + offset,
        end_line=span.end_line + offset,
        mode="snippet",
        reason="current file (window around the cursor: the file is over the size limit)",
    )
