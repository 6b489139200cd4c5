"""Workspace folders: one index, context engine and file watcher per root.

Contract
--------
* `Workspaces` holds one `Workspace` per workspace folder (multi-root). With no folders
  the server runs in single-file mode: `Workspaces.locate` returns ``None`` for every
  document and features work with the open buffer alone (`single_file_manifest`).
* `Workspaces.locate(uri)` maps a document URI to ``(workspace, relative path)`` by the
  longest root prefix; non-``file:`` URIs and files outside every root map to ``None``.
* **Startup never blocks.** `Workspaces.start` schedules an indexing run as a background
  task: open the `Index` (loads the previous session's cache) in a worker thread, make
  the `ContextEngine`, start the server-side `Watcher` (unless the client watches
  files for us) and ``refresh`` with progress and a cancel event -- all off the event
  loop. The workspace is then ``ready``, and the engine is warmed in a daemon thread
  (exit never waits for it). Requests made before that use what is known: the cached
  index as soon as it is open (`Workspace.opened`), or just the open buffer; the engine
  runs in background mode, so a request never waits for its build or for a large
  update (the manifest is marked partial meanwhile). A second `start` while a run is in
  progress returns ``False`` (``again=True`` queues one more run after it).
* **Overlays** (unsaved buffers): `Workspaces.set_overlay` / `save` / `clear_overlay`
  queue operations per document; ``set`` is debounced (`OVERLAY_DELAY`) and latest-wins,
  ``save`` (re-read the file from disk) and ``clear`` apply in order after whatever is
  pending, and every operation runs in a worker thread once the index is open.
* **File changes** reported by the client (``workspace/didChangeWatchedFiles``) are
  queued per workspace with `Workspaces.changed_paths` and applied with one
  ``index.update`` per batch, in one worker thread per workspace at most (a long refresh
  holding the index's write lock cannot exhaust the thread pool).
* Removing a folder or shutting down sets the run's cancel event (the refresh stops
  between two files), stops the watcher and closes the index in a worker thread.
* `document_denial` decides whether a document may be sent to the model (see
  `PRIVACY_REASONS`).

No pygls here: the session passes an `IndexingSink` for progress and status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol, TypeVar, cast
from urllib.parse import unquote, urlsplit

from minimax_lsp.indexer.context import ContextEngine, Manifest, Span, Task
from minimax_lsp.indexer.context_current import live_window
from minimax_lsp.indexer.index import Index, IndexStats, Progress
from minimax_lsp.indexer.redact import redact
from minimax_lsp.indexer.scan import (
    HEAD_BYTES,
    PathPolicy,
    ScanOptions,
    SkipReason,
    classify_content,
    is_ignore_file,
)
from minimax_lsp.indexer.tokens import TokenCounter
from minimax_lsp.indexer.watch import Watcher
from minimax_lsp.server.tasks import TaskSet

__all__ = [
    "OVERLAY_DELAY",
    "PRIVACY_REASONS",
    "Folder",
    "IndexingSink",
    "Location",
    "RunProgress",
    "Workspace",
    "WorkspaceState",
    "Workspaces",
    "document_denial",
    "single_file_manifest",
    "uri_to_path",
]

_log = logging.getLogger("minimax_lsp.workspaces")

T = TypeVar("T")

#: Seconds an overlay update waits for more typing before it is parsed (latest wins).
OVERLAY_DELAY: Final = 0.15
#: Bounded waits during shutdown and folder removal (seconds).
_CLOSE_TIMEOUT: Final = 3.0
#: `single_file_manifest` reads at most this many characters around the cursor: a huge
#: buffer is never redacted or counted whole (counting costs ~0.5 s per MB).
_SINGLE_FILE_CHARS: Final = 256 * 1024
#: More characters per token than this does not happen with the model's tokenizer
#: outside degenerate texts: a longer buffer cannot fit the budget, so it is not
#: counted whole.
_MAX_CHARS_PER_TOKEN: Final = 12

#: Skip reasons that make a document *inactive*: its content must never reach the
#: model. Other reasons (vendored, generated, too large, binary) only keep a file out of
#: the index; the open buffer itself may still be used.
PRIVACY_REASONS: Final = frozenset(
    {
        SkipReason.SECRET,
        SkipReason.AI_IGNORED,
        SkipReason.USER_IGNORED,
        SkipReason.IGNORED,
        SkipReason.OUTSIDE_ROOT,
    }
)

WorkspaceState = Literal["pending", "indexing", "ready", "error", "closed"]
WatchMode = Literal["server", "client"]


# --------------------------------------------------------------------------- paths


def uri_to_path(uri: str) -> Path | None:
    """The filesystem path of a ``file:`` URI, or ``None`` for any other scheme."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    if parts.netloc and parts.netloc != "localhost":
        path = f"//{parts.netloc}{path}"  # UNC share
    elif len(path) >= 3 and path[0] == "/" and path[2] == ":":
        path = path[1:]  # /C:/x -> C:/x
    return Path(path) if path else None


def _relative_to(path: Path, root: Path) -> str | None:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return None
    return rel if rel not in ("", ".") else None


@dataclass(frozen=True, slots=True)
class Folder:
    """A workspace folder as the client named it."""

    uri: str
    root: Path
    name: str

    @classmethod
    def from_uri(cls, uri: str, name: str | None = None) -> Folder | None:
        """A folder for a ``file:`` URI, or ``None`` (other schemes are not indexed)."""
        path = uri_to_path(uri)
        if path is None:
            return None
        return cls(uri, Path(os.path.normpath(path)), name or path.name or str(path))


# --------------------------------------------------------------------------- one root


class Workspace:
    """One workspace folder and what the server keeps for it.

    Attributes
    ----------
    index, engine:
        ``None`` until the indexing run has opened the index (see `opened`).
    state:
        ``pending`` (not indexed yet), ``indexing``, ``ready``, ``error`` or ``closed``.
    opened:
        Set once `index` and `engine` exist (the cached index is usable).
    ready:
        Set once the first refresh has completed.
    """

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self.uri = folder.uri
        self.name = folder.name
        self.root = folder.root
        # Resolved once: the index works on resolved paths; documents may come through
        # a symlinked spelling of the same folder.
        try:
            self.real_root = folder.root.resolve()
        except OSError:
            self.real_root = folder.root
        self.index: Index | None = None
        self.engine: ContextEngine | None = None
        self.watcher: Watcher | None = None
        self.state: WorkspaceState = "pending"
        self.error: str | None = None
        self.stats: IndexStats | None = None
        self.opened = asyncio.Event()
        self.ready = asyncio.Event()
        self.cancel = threading.Event()
        self.run: asyncio.Task[None] | None = None
        self.running = False
        #: Run once more when the current run ends (settings changed meanwhile).
        self.again = False
        self._policy: PathPolicy | None = None
        self._policy_options: ScanOptions | None = None

    def __repr__(self) -> str:
        return f"Workspace({self.uri!r}, state={self.state!r})"

    @property
    def indexing(self) -> bool:
        """True while an indexing run is in progress."""
        return self.running

    @property
    def policy(self) -> PathPolicy:
        """The path rules of this root (the index's own once it is open)."""
        if self.index is not None:
            return self.index.policy
        return self.policy_for(ScanOptions())

    def policy_for(self, options: ScanOptions) -> PathPolicy:
        """The rules under ``options``: the index's if it uses them, else a standalone copy.

        Settings may change the rules before the index has reopened with them; privacy
        checks must use the new rules at once.
        """
        if self.index is not None and self.index.options == options:
            return self.index.policy
        if self._policy is None or self._policy_options != options:
            self._policy = PathPolicy(self.real_root, options)
            self._policy_options = options
        return self._policy

    def relative(self, path: Path) -> str | None:
        """``path`` relative to this root (POSIX), or ``None`` if it lies outside."""
        return _relative_to(path, self.root) or _relative_to(path, self.real_root)

    def counts(self) -> tuple[int, int]:
        """(files, symbols) in the index right now, overlays included (0, 0 before it is
        open). Walks every entry: call it in a worker thread."""
        if self.index is None:
            return 0, 0
        stats = self.index.stats()
        return stats.files, stats.symbols

    def to_json(self) -> dict[str, object]:
        """The ``workspaces[]`` item of ``minimax.status`` (blocking: see `counts`)."""
        files, symbols = self.counts()
        data: dict[str, object] = {
            "root": str(self.root),
            "uri": self.uri,
            "name": self.name,
            "files": files,
            "symbols": symbols,
            "ready": self.ready.is_set(),
            "indexing": self.indexing,
            "state": self.state,
        }
        if self.stats is not None:
            data["lastRefresh"] = {
                "parsed": self.stats.parsed,
                "reused": self.stats.reused,
                "removed": self.stats.removed,
                "seconds": round(self.stats.seconds, 3),
            }
        if self.error:
            data["error"] = self.error
        return data

    def close_now(self) -> None:
        """Stop the watcher and close the index (blocking: call in a worker thread)."""
        self.cancel.set()
        if self.engine is not None:
            self.engine.close()  # its background build must not slow the index's close
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.index is not None:
            self.index.close()
        self.state = "closed"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a document lives: its workspace and its path relative to the root."""

    workspace: Workspace
    rel: str


# --------------------------------------------------------------------------- sinks


class RunProgress(Protocol):
    """Progress of one indexing run (`minimax_lsp.server.status.IndexProgress`)."""

    async def begin(self) -> None: ...

    def report(self, done: int, total: int) -> None: ...

    def end(self, message: str) -> None: ...


class IndexingSink(Protocol):
    """What the session provides to the indexing runs."""

    def progress(self, workspace: Workspace) -> RunProgress:
        """A progress reporter for a new run of ``workspace``."""
        ...

    def changed(self, workspace: Workspace) -> None:
        """``workspace`` changed state (on the loop thread)."""
        ...

    def opened(self, workspace: Workspace) -> None:
        """``workspace``'s index just opened: re-send the open buffers' overlays."""
        ...


# --------------------------------------------------------------------------- privacy


def document_denial(
    policy: PathPolicy | None, path: Path, rel: str | None, text: str | None
) -> SkipReason | None:
    """Why a document must not be sent to the model, or ``None`` when it may be.

    Parameters
    ----------
    policy:
        The workspace's rules; ``None`` for a file outside every workspace (then the
        file's name is checked against the built-in deny-lists of its own folder).
    path:
        The document's filesystem path.
    rel:
        Its path relative to the workspace root (``None`` outside every workspace).
    text:
        The buffer's text, sniffed for private keys.

    Blocking (may read the file head and run git once): call in a worker thread.
    """
    if policy is None or rel is None:
        policy = PathPolicy(path.parent, ScanOptions(use_git=False))
        rel = path.name
    reason = policy.check_path(rel)
    if reason in PRIVACY_REASONS:
        return reason
    if os.path.lexists(policy.root / rel):
        # A link named `notes.txt` pointing at `.env` is judged by its target.
        verdict = policy.check_file(rel)
        if isinstance(verdict, SkipReason) and verdict in PRIVACY_REASONS:
            return verdict
    if text:
        head = text[:HEAD_BYTES].encode("utf-8", "surrogatepass")[:HEAD_BYTES]
        if classify_content(head) is SkipReason.SECRET:
            return SkipReason.SECRET
    return None


# --------------------------------------------------------------------------- no index


def single_file_manifest(
    path: str,
    text: str,
    *,
    line: int,
    task: Task,
    budget: int,
    counter: TokenCounter,
) -> Manifest:
    """A manifest holding only the current buffer (no workspace, or none open yet).

    The whole file when it fits ``budget``, else a window of lines around ``line``
    (1-based) grown alternately downwards and upwards while it fits. Secrets are
    redacted as the engine would. A buffer too long to fit (over ``budget`` times
    `_MAX_CHARS_PER_TOKEN` characters) or over `_SINGLE_FILE_CHARS` is never split,
    redacted or counted whole: only the lines around ``line`` within that many
    characters are (nothing when the cursor line alone is longer).
    """
    bound = min(max(budget, 1) * _MAX_CHARS_PER_TOKEN, _SINGLE_FILE_CHARS)
    offset = 0
    if len(text) <= bound:
        lines = text.splitlines(keepends=True) or [""]
        whole = redact(text).text
        tokens = counter.budget_count(whole)
        if tokens <= budget:
            span = Span(path, 1, len(lines), "full", tokens, "current file", whole)
            return Manifest(task, budget, tokens, (span,), 0)
    else:
        region = live_window(text, max(line, 1), bound, 0.5)
        if region is None:
            return Manifest(task, budget, 0, (), 0)
        piece, offset = region
        lines = piece.splitlines(keepends=True) or [""]
    cursor = min(max(line - offset, 1), len(lines))
    window = _window(lines, cursor, budget, counter)
    while window is not None:
        start, end = window
        piece = redact("".join(lines[start - 1 : end])).text
        tokens = counter.budget_count(piece)
        if tokens <= budget:
            reason = "current file (around the cursor)"
            span = Span(path, start + offset, end + offset, "snippet", tokens, reason, piece)
            return Manifest(task, budget, tokens, (span,), 0)
        # Per-line counts under-estimated the joined text (rare): drop the far end.
        window = (start, end - 1) if end - cursor >= cursor - start and end > start else None
        if window is None and start < end:
            window = (start + 1, end)
    return Manifest(task, budget, 0, (), 0)


def _window(
    lines: list[str], line: int, budget: int, counter: TokenCounter
) -> tuple[int, int] | None:
    """Lines around ``line`` (1-based, inclusive) whose summed counts fit ``budget``.

    Grows one line at a time, alternately below and above the cursor; each line is
    counted once (and cached by the counter), so this is linear in the window.
    """
    used = counter.count(lines[line - 1])
    if counter.with_margin(used) > budget:
        return None
    start = end = line
    below = True
    while True:
        steps = ((start, end + 1), (start - 1, end))
        for s, e in steps if below else steps[::-1]:
            if s < 1 or e > len(lines):
                continue
            extra = counter.count(lines[(e if e != end else s) - 1])
            if counter.with_margin(used + extra) <= budget:
                start, end, used = s, e, used + extra
                break
        else:
            return start, end
        below = not below


# --------------------------------------------------------------------------- all roots

_Op = tuple[Literal["set", "save", "clear"], str]


class Workspaces:
    """All workspace folders of the session (see the module docstring).

    Parameters
    ----------
    tasks:
        Where indexing runs and queued work run.
    sink:
        Progress, status and overlay re-sync callbacks.
    options:
        Returns the scan options in force (from the settings); a run reopens an index
        whose options differ.
    counter:
        Token counter shared by every context engine.
    watch_mode:
        Returns ``"client"`` when the client reports file changes for us, else
        ``"server"`` (a `Watcher` thread per root).
    cache_dir:
        Index cache directory (``None``: ``$MINIMAX_LSP_CACHE_DIR`` or the user cache).
    """

    def __init__(
        self,
        *,
        tasks: TaskSet,
        sink: IndexingSink,
        options: Callable[[], ScanOptions],
        counter: TokenCounter,
        watch_mode: Callable[[], WatchMode],
        cache_dir: Path | None = None,
    ) -> None:
        self._tasks = tasks
        self._sink = sink
        self._options = options
        self._counter = counter
        self._watch_mode = watch_mode
        self._cache_dir = cache_dir
        self._by_uri: dict[str, Workspace] = {}
        self._ops: dict[tuple[str, str], list[_Op]] = {}
        self._due: dict[tuple[str, str], float] = {}
        self._op_workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._changed: dict[str, set[str]] = {}
        self._change_workers: dict[str, asyncio.Task[None]] = {}

    # -- folders ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_uri)

    @property
    def all(self) -> list[Workspace]:
        """Every workspace, in the order they were added."""
        return list(self._by_uri.values())

    def get(self, uri: str) -> Workspace | None:
        """The workspace of folder ``uri``."""
        return self._by_uri.get(uri)

    def add(self, folder: Folder) -> Workspace:
        """Add a folder (no indexing yet: call `start`). Adding twice returns the first."""
        existing = self._by_uri.get(folder.uri)
        if existing is not None:
            return existing
        workspace = Workspace(folder)
        self._by_uri[folder.uri] = workspace
        _log.info("workspace folder added: %s", folder.root)
        return workspace

    async def remove(self, uri: str) -> bool:
        """Remove a folder: cancel its run, stop watching, close its index."""
        workspace = self._by_uri.pop(uri, None)
        if workspace is None:
            return False
        _log.info("workspace folder removed: %s", workspace.root)
        await self._close(workspace)
        self._sink.changed(workspace)
        return True

    def locate(self, uri: str) -> Location | None:
        """The workspace holding document ``uri`` (longest root wins), or ``None``."""
        path = uri_to_path(uri)
        if path is None:
            return None
        return self.locate_path(Path(os.path.normpath(path)))

    def locate_path(self, path: Path) -> Location | None:
        """Like `locate`, for a filesystem path."""
        best: Location | None = None
        depth = -1
        for workspace in self._by_uri.values():
            rel = workspace.relative(path)
            if rel is not None and len(workspace.root.parts) > depth:
                best, depth = Location(workspace, rel), len(workspace.root.parts)
        return best

    # -- indexing runs ---------------------------------------------------------------

    def start(
        self, workspace: Workspace, *, reload_rules: bool = False, again: bool = False
    ) -> bool:
        """Start an indexing run of ``workspace`` unless one is in progress.

        With ``again`` (the settings changed), a run in progress is followed by another
        one, so the new rules apply; the call still returns False.
        """
        if workspace.indexing and again:
            workspace.again = True
        if workspace.indexing or workspace.state == "closed" or self._tasks.closed:
            return False
        workspace.cancel = threading.Event()
        workspace.state = "indexing"
        workspace.running = True
        workspace.run = self._tasks.run(
            self._index(workspace, workspace.cancel, reload_rules), name=f"index {workspace.name}"
        )
        self._sink.changed(workspace)
        return True

    def start_all(self, *, reload_rules: bool = False) -> list[Workspace]:
        """Start a run for every workspace not already indexing; returns those started."""
        return [w for w in self.all if self.start(w, reload_rules=reload_rules)]

    async def _index(
        self, workspace: Workspace, cancel: threading.Event, reload_rules: bool
    ) -> None:
        progress = self._sink.progress(workspace)
        await progress.begin()
        outcome = "Indexing failed"
        try:
            index = await self._open(workspace)
            if reload_rules:
                await asyncio.to_thread(index.policy.reload)
            await self._watch(workspace, index)

            def report(step: Progress) -> None:
                if step.phase == "parsing":
                    progress.report(step.done, step.total)

            stats = await asyncio.to_thread(index.refresh, progress=report, cancel=cancel)
            if stats.cancelled:
                outcome = "Indexing cancelled"
                workspace.state = "pending"
                return
            workspace.stats = stats
            workspace.state = "ready"
            workspace.error = None
            workspace.ready.set()
            outcome = f"Indexed {stats.files} files ({stats.symbols} symbols)"
            _log.info(
                "indexed %s: %d files, %d symbols, %d parsed, %d reused in %.2f s",
                workspace.root,
                stats.files,
                stats.symbols,
                stats.parsed,
                stats.reused,
                stats.seconds,
            )
        except asyncio.CancelledError:
            cancel.set()
            outcome = "Indexing cancelled"
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if not workspace.root.is_dir():
                # A folder that is gone or was never a folder is the client's (or the
                # user's) doing, not a bug: one line, again only if the reason changes.
                if workspace.error != reason:
                    _log.warning("cannot index %s: %s", workspace.root, reason)
            else:
                _log.exception("indexing %s failed", workspace.root)
            workspace.state = "error"
            workspace.error = reason
        finally:
            workspace.running = False
            progress.end(outcome)
            if workspace.state == "indexing":
                workspace.state = "ready" if workspace.ready.is_set() else "pending"
            self._sink.changed(workspace)
        if workspace.again:
            workspace.again = False
            self.start(workspace)
            return
        # After "ready": requests already work (from what the engine has; the first
        # pack would start its build itself); building now, in a worker thread, makes
        # the next requests complete.
        engine = workspace.engine
        if engine is not None and workspace.state == "ready":
            started = time.perf_counter()
            await in_daemon_thread(engine.warm, name=f"warm {workspace.name}")
            _log.debug(
                "context engine of %s warm in %.2f s", workspace.name, time.perf_counter() - started
            )

    async def _open(self, workspace: Workspace) -> Index:
        """Open (or reopen, when the scan options changed) the workspace's index."""
        options = self._options()
        current = workspace.index
        if current is not None and current.options == options:
            return current
        if current is not None:
            _log.info("scan settings changed: reopening the index of %s", workspace.root)
            watcher, workspace.watcher = workspace.watcher, None
            if workspace.engine is not None:
                workspace.engine.close()  # no background work on an index being closed
            workspace.index = workspace.engine = None
            workspace.opened.clear()
            await asyncio.to_thread(_close_quietly, current, watcher)

        def build() -> tuple[Index, ContextEngine]:
            index = Index(workspace.real_root, options=options, cache_dir=self._cache_dir)
            # Background mode: a request never waits for the engine's first build or a
            # large update (a 4,000-file workspace takes seconds); it is served from
            # what is ready, and the manifest says it is partial.
            return index, ContextEngine(index, counter=self._counter, background=True)

        index, engine = await asyncio.to_thread(build)
        workspace.index, workspace.engine = index, engine
        workspace.opened.set()
        self._sink.opened(workspace)
        return index

    async def _watch(self, workspace: Workspace, index: Index) -> None:
        if self._watch_mode() != "server" or workspace.watcher is not None:
            return
        watcher = Watcher(index)
        await asyncio.to_thread(watcher.start)
        workspace.watcher = watcher

    async def _close(self, workspace: Workspace) -> None:
        workspace.cancel.set()
        run = workspace.run
        if run is not None and not run.done():
            run.cancel()
            await asyncio.wait([run], timeout=_CLOSE_TIMEOUT)
        for key in [k for k in self._op_workers if k[0] == workspace.uri]:
            self._op_workers[key].cancel()
        worker = self._change_workers.get(workspace.uri)
        if worker is not None:
            worker.cancel()
        try:
            await asyncio.wait_for(asyncio.to_thread(workspace.close_now), _CLOSE_TIMEOUT)
        except TimeoutError:
            _log.warning("closing the index of %s timed out", workspace.root)

    async def close(self) -> None:
        """Close every workspace (shutdown)."""
        for workspace in self.all:
            workspace.cancel.set()  # all runs stop between two files, in parallel
        await asyncio.gather(*(self._close(w) for w in self.all), return_exceptions=True)
        self._by_uri.clear()

    def cancel_all_now(self) -> None:
        """Ask every run to stop (no waiting): for ``exit`` without ``shutdown``."""
        for workspace in self._by_uri.values():
            workspace.cancel.set()
            if workspace.engine is not None:
                workspace.engine.close()
            if workspace.watcher is not None:
                workspace.watcher.stop(timeout=0.1)

    # -- overlays --------------------------------------------------------------------

    def set_overlay(self, location: Location, text: str) -> None:
        """Queue ``text`` as the unsaved content of a document (debounced, latest wins)."""
        key = (location.workspace.uri, location.rel)
        ops = self._ops.setdefault(key, [])
        if ops and ops[-1][0] == "set":
            ops[-1] = ("set", text)
        else:
            ops.append(("set", text))
        self._due[key] = asyncio.get_running_loop().time() + OVERLAY_DELAY
        self._drain_ops(key)

    def save(self, location: Location) -> None:
        """Queue a re-read of the saved file from disk (after any pending overlay)."""
        self._queue(location, ("save", ""))

    def clear_overlay(self, location: Location) -> None:
        """Queue dropping a closed document's overlay (pending edits are discarded)."""
        key = (location.workspace.uri, location.rel)
        # An overlay about to be cleared need not be parsed; a pending save still runs.
        self._ops[key] = [op for op in self._ops.get(key, []) if op[0] != "set"]
        self._queue(location, ("clear", ""))

    def _queue(self, location: Location, op: _Op) -> None:
        key = (location.workspace.uri, location.rel)
        self._ops.setdefault(key, []).append(op)
        self._drain_ops(key)

    def _drain_ops(self, key: tuple[str, str]) -> None:
        if key not in self._op_workers and not self._tasks.closed:
            self._op_workers[key] = self._tasks.run(self._apply_ops(key), name=f"overlay {key[1]}")

    async def _apply_ops(self, key: tuple[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._ops.get(key):
                workspace = self._by_uri.get(key[0])
                if workspace is None:
                    break
                await workspace.opened.wait()
                ops = self._ops[key]
                if ops[0][0] == "set":
                    # Debounce: typing moves the deadline; the newest text wins.
                    # The deadline moves with each keystroke (noqa: no event to wait for).
                    while (delay := self._due.get(key, 0.0) - loop.time()) > 0:  # noqa: ASYNC110
                        await asyncio.sleep(delay)
                    ops = self._ops.get(key, [])
                    if not ops:
                        break
                kind, text = ops.pop(0)
                index = workspace.index
                if index is not None:
                    engine = workspace.engine
                    await asyncio.to_thread(_apply_op, index, engine, kind, key[1], text)
        finally:
            self._op_workers.pop(key, None)
            if not self._ops.get(key):
                self._ops.pop(key, None)
                self._due.pop(key, None)

    async def flush(self) -> None:
        """Wait until every queued overlay and file change has been applied (tests)."""
        while self._op_workers or self._change_workers:
            await asyncio.gather(
                *self._op_workers.values(), *self._change_workers.values(), return_exceptions=True
            )

    # -- file changes reported by the client -----------------------------------------

    def changed_paths(self, paths: Iterable[Path]) -> int:
        """Queue changed files (from ``didChangeWatchedFiles``); returns how many were kept.

        Paths the index could never hold (``.git/`` churn, ignored, secret) are dropped
        here, except ignore files, whose change changes the rules.
        """
        kept = 0
        for path in paths:
            location = self.locate_path(Path(os.path.normpath(path)))
            if location is None:
                continue
            workspace, rel = location.workspace, location.rel
            if not (is_ignore_file(rel) or workspace.policy.check_path(rel) is None):
                continue
            self._changed.setdefault(workspace.uri, set()).add(rel)
            kept += 1
            if workspace.uri not in self._change_workers and not self._tasks.closed:
                self._change_workers[workspace.uri] = self._tasks.run(
                    self._apply_changes(workspace), name=f"changes {workspace.name}"
                )
        return kept

    async def _apply_changes(self, workspace: Workspace) -> None:
        try:
            # Changes during the first refresh are applied after it (it may have
            # scanned past them already).
            await workspace.ready.wait()
            while paths := self._changed.pop(workspace.uri, set()):
                index = workspace.index
                if index is None or workspace.state == "closed":
                    break
                engine = workspace.engine
                changed, stats = await asyncio.to_thread(_update, index, engine, sorted(paths))
                if changed:
                    _log.info("%s: %d file(s) changed", workspace.name, len(changed))
                    workspace.stats = stats
                    self._sink.changed(workspace)
        finally:
            self._change_workers.pop(workspace.uri, None)


async def in_daemon_thread(function: Callable[[], T], *, name: str) -> T:
    """Run ``function`` in a new daemon thread and await its result.

    For work that cannot be interrupted and need not finish (warming caches): unlike
    ``asyncio.to_thread``, the process does not wait for it when it exits.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))

    def target() -> None:
        try:
            result = function()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(deliver, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, result, None)

    threading.Thread(target=target, name=f"minimax-lsp {name}", daemon=True).start()
    return await future


def _update(
    index: Index, engine: ContextEngine | None, paths: list[str]
) -> tuple[list[str], IndexStats]:
    """Apply file changes and count the result (worker thread)."""
    changed = index.update(paths)
    if changed:
        _sync_engine(engine)
    return changed, index.stats()


def _apply_op(index: Index, engine: ContextEngine | None, kind: str, rel: str, text: str) -> None:
    """One overlay operation (worker thread); a closed index is silently skipped.

    The context engine then catches up here, off the request path: the next completion
    request finds its structures up to date instead of re-deriving the file itself.
    """
    try:
        if kind == "set":
            index.set_overlay(rel, text)
        elif kind == "save":
            index.update([rel])
        else:
            index.clear_overlay(rel)
    except RuntimeError:  # the index was closed meanwhile (folder removed, shutdown)
        _log.debug("overlay %s of %s dropped: index closed", kind, rel)
        return
    _sync_engine(engine)


def _sync_engine(engine: ContextEngine | None) -> None:
    """`ContextEngine.sync` after an index change (worker thread); never raises."""
    if engine is None:
        return
    try:
        engine.sync()
    except Exception:  # the next pack catches up (or reports) by itself
        _log.debug("context engine could not catch up", exc_info=True)


def _close_quietly(index: Index, watcher: Watcher | None) -> None:
    if watcher is not None:
        watcher.stop()
    with contextlib.suppress(Exception):
        index.close()
