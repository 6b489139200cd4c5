"""The workspace index: what every file holds, kept current and persisted.

Contract
--------
- :class:`Index` is the in-memory view of one workspace root: ``path -> FileEntry`` plus
  a symbol table ``name -> {path: definitions}``. It is loaded from the
  :class:`~minimax_lsp.indexer.store.Store` at construction (a warm start parses
  nothing) and brought up to date by :meth:`Index.refresh` and :meth:`Index.update`.
- Refresh: scan, then per file: same size and mtime as the stored row -> reused; else
  read and hash; same hash -> reused (only size/mtime updated, not re-parsed); else
  ``parse.extract`` -> stored. Rows of files that are gone are deleted. A file whose
  mtime is within :data:`RACY_WINDOW_NS` of when it was read is stored with
  ``mtime_ns == 0``, so the next refresh re-hashes it: a second write inside one
  timestamp tick cannot hide behind an unchanged mtime (git's "racily clean" problem).
- Parallelism: tree-sitter holds the GIL while parsing and querying (measured: two
  threads parse no faster than one), so large batches go to a pool of *processes*
  (spawned, safe from a threaded server; forked when the process has a single thread,
  see :func:`_pool_context`), which return pre-serialised symbols; small
  batches run in the calling thread. On Django 5.0.6's 2,774 ``.py`` files a sequential
  cold index costs ~5 s of CPU; with two workers the parent spends ~0.5 s (scan,
  decoding the definitions, bookkeeping, SQLite) and the workers ~5.5 s between them,
  so wall time about halves when two cores are free. ``workers=None`` means one per
  available CPU, capped at :data:`MAX_WORKERS`; ``workers=1`` is always sequential. If
  worker processes cannot start (a script without an ``if __name__ == "__main__"``
  guard, a sandbox) or one dies, the batch finishes sequentially with a warning.
- Content rules (``BINARY``/``SECRET``/``GENERATED`` by content,
  `scan.classify_content`) are applied to the bytes read for indexing, so what is
  judged is exactly what gets indexed. The scan of an empty index leaves its own
  sniff out (``PathPolicy.scan(sniff=False)``): each file is opened once.
- Warm refresh: files with the stored ``(size, mtime_ns)`` are only ``lstat``-ed, not
  opened; the rules are re-read at every refresh but the first after construction.
- Interruption: ``cancel`` is checked between files; what was done is persisted and the
  stats say ``cancelled=True``. Progress is reported through a callback with the phases
  ``"scanning"``, ``"parsing"`` and ``"saving"``.
- Threads: readers (:meth:`get`, :meth:`definitions`, :meth:`read_text`, :meth:`paths`,
  ...) may run on any thread while :meth:`refresh` / :meth:`update` run on another.
  Mutations are serialised; each batch is applied under a lock in one step, so readers
  see the state before or after a batch, never half of it.
- Overlays (unsaved editor buffers) are parsed on :meth:`set_overlay` and win over the
  file on disk in every query until :meth:`clear_overlay`. A path the policy refuses
  (ignored, secret, vendored, outside the root...) never gets an overlay.
- :attr:`version` increases whenever the content of the view changes (a file added,
  changed or removed; an overlay set or cleared). A pure mtime touch does not count.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final

from minimax_lsp.indexer import parse
from minimax_lsp.indexer.languages import language_for_path
from minimax_lsp.indexer.records import Definition, FileEntry, FileSymbols
from minimax_lsp.indexer.scan import (
    HEAD_BYTES,
    PathPolicy,
    ScannedFile,
    ScanOptions,
    SkipReason,
    classify_content,
    is_ignore_file,
)
from minimax_lsp.indexer.store import (
    Store,
    database_path,
    decode_symbols,
    encode_symbols,
    gc_paused,
)

logger = logging.getLogger(__name__)

#: Upper bound of ``workers=None``: past this, process start-up and IPC eat the gain.
MAX_WORKERS: Final = 8
#: Below this many files to read, a batch runs in the calling thread: spawning worker
#: processes costs ~0.3 s, about what one core parses in that many files.
PARALLEL_MIN_FILES: Final = 300
#: Files per task sent to a worker process (amortises IPC; bounds cancel latency).
CHUNK_FILES: Final = 24
#: How often a parallel run checks ``cancel`` while waiting for workers.
_POLL_SECONDS: Final = 0.05
#: During a refresh, results are persisted and published every this many files, so a
#: long cold index shows up progressively and an interruption loses little.
PUBLISH_EVERY: Final = 1000
#: An update naming more paths than this runs a full refresh instead: listing and
#: stat-comparing the tree is cheaper than re-reading thousands of named files.
FULL_REFRESH_PATHS: Final = 2000
#: A file modified this recently when read may be rewritten within the same mtime tick
#: (FAT has 2 s ticks); such entries are stored with mtime 0 and re-hashed next time.
RACY_WINDOW_NS: Final = 2_000_000_000

#: A file that grew while being read is read on in steps of this many bytes.
_READ_STEP: Final = 1 << 20

#: Skip reasons judged on the file's content: an editor buffer is judged on its own text.
_CONTENT_REASONS: Final = frozenset({SkipReason.TOO_LARGE, SkipReason.BINARY})

ProgressCallback = Callable[["Progress"], None]


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report.

    ``phase`` is ``"scanning"``, ``"parsing"`` (``done``/``total`` count files read) or
    ``"saving"``; ``path`` is the file just handled, when there is one.
    """

    phase: str
    done: int
    total: int
    path: str | None = None


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What the index holds and what the last refresh did.

    ``files``/``symbols``/``languages`` describe the current view (overlays included);
    ``skipped`` counts files the last scan left out by reason; ``parsed``/``reused``/
    ``removed``/``seconds`` describe the last refresh; ``database`` is the cache file
    (``":memory:"`` when the cache dir was unusable).
    """

    root: str
    files: int
    symbols: int
    languages: Mapping[str, int]
    skipped: Mapping[str, int]
    parsed: int
    reused: int
    removed: int
    seconds: float
    database: str
    cancelled: bool = False


# --------------------------------------------------------------------------- per-file work
# Module-level and made of plain records so that worker processes can run it.


@dataclass(frozen=True, slots=True)
class _Job:
    """A file to read: the stat taken *before* reading, and the hash it had."""

    path: str
    size: int
    mtime_ns: int
    previous_hash: str | None


@dataclass(frozen=True, slots=True)
class _Done:
    """The outcome of one job.

    ``status`` is ``"parsed"``, ``"same"`` (hash unchanged), ``"gone"``, or a
    :class:`SkipReason` value. A parsed result carries ``symbols`` (in-process) or
    ``blob`` (from a worker process, already serialised for the store).
    """

    job: _Job
    status: str
    content_hash: str = ""
    line_count: int = 0
    symbols: FileSymbols | None = None
    blob: bytes | None = None


def _content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def read_regular(path: Path, max_bytes: int) -> bytes | str | None:
    """The bytes of a regular file, ``None`` if it is gone, or a SkipReason value.

    The one bounded reader of files for the index, the context engine and the server.
    Opened non-blocking and checked with fstat on the open descriptor, so a FIFO or
    device (or one that replaced a file since the scan) cannot hang the caller, and
    without becoming a controlling terminal. The read size is bounded by the file's size
    as well as ``max_bytes``: a huge limit from the settings (``10**12``) must not become
    the size of a buffer allocated up front (MemoryError, or OverflowError past 2**63).
    A file that grew since the fstat is read on, up to one byte past the limit, so it
    is neither cut short nor taken for smaller than it is.
    """
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, name, 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return SkipReason.UNREADABLE.value
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return SkipReason.UNREADABLE.value
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(min(max_bytes, info.st_size) + 1)
            # It grew since the fstat (or reports no size, like procfs): read on in
            # bounded steps until the end or just past the limit.
            while info.st_size < len(data) <= max_bytes:
                more = handle.read(min(max_bytes + 1 - len(data), _READ_STEP))
                if not more:
                    break
                data += more
    except OSError:
        return SkipReason.UNREADABLE.value
    finally:
        os.close(fd)
    return SkipReason.TOO_LARGE.value if len(data) > max_bytes else data


def _extract(data: bytes, path: str) -> FileSymbols:
    try:
        return parse.extract(data, language_for_path(path))
    except Exception:  # parse.extract promises not to raise; a bug must not stop indexing
        logger.exception("symbol extraction failed for %s; indexing it as text", path)
        return parse.extract(data, None)


def _work(root: str, job: _Job, max_bytes: int, *, serialise: bool) -> _Done:
    data = read_regular(Path(root, job.path), max_bytes)
    if data is None:
        return _Done(job, "gone")
    if isinstance(data, str):
        return _Done(job, data)
    # The content rules judge the bytes that get indexed (a cold refresh's scan leaves
    # the sniff to us: see `Index._refresh`).
    reason = classify_content(data[:HEAD_BYTES])
    if reason is not None:
        return _Done(job, reason.value)
    digest = _content_hash(data)
    if digest == job.previous_hash:
        return _Done(job, "same", digest)
    symbols = _extract(data, job.path)
    if serialise:
        return _Done(job, "parsed", digest, _line_count(data), blob=encode_symbols(symbols))
    return _Done(job, "parsed", digest, _line_count(data), symbols=symbols)


def _work_chunk(root: str, jobs: list[_Job], max_bytes: int) -> list[_Done]:
    """Worker-process entry point."""
    return [_work(root, job, max_bytes, serialise=True) for job in jobs]


def _init_worker() -> None:
    # Ctrl-C goes to the whole foreground process group; the parent handles it (and
    # cancels us), workers must not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's paused collector (see Index._refresh).
    gc.enable()


def _pool_context() -> multiprocessing.context.BaseContext:
    """How parse workers start: ``fork`` when that is safe, else ``spawn``.

    A spawned worker starts an interpreter and imports the indexer and tree-sitter
    (~0.2 s of CPU and 0.3-0.9 s of wall time each, measured on a 2-CPU machine), which
    is a tenth of a cold index of 3,000 files; a forked one starts in milliseconds with
    everything loaded. Forking is only safe in a process with a single thread (a
    thread holding a lock at fork time deadlocks the child: the language server has an
    event loop, a watcher...), and only used on Linux (macOS system libraries are not
    fork-safe, Windows cannot fork). The CLI and benchmarks are single-threaded.
    ``ProcessPoolExecutor`` forks all its workers before starting its own threads.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


# --------------------------------------------------------------------------- batches


@dataclass(slots=True)
class _Batch:
    """Results gathered between two commits, plus the counters of the whole run."""

    upserted: list[FileEntry] = field(default_factory=list)
    touched: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    parsed: int = 0
    reused: int = 0
    removed_total: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    changed: list[str] = field(default_factory=list)

    def pending(self) -> int:
        return len(self.upserted) + len(self.touched) + len(self.removed)


# --------------------------------------------------------------------------- the index


class Index:
    """The index of one workspace (see the module docstring).

    Parameters
    ----------
    root:
        The workspace folder; must exist.
    options:
        What to scan (size limit, extra ignore globs, vendored folders, git).
    cache_dir:
        Overrides the cache directory (see :func:`~minimax_lsp.indexer.store.database_path`).
    workers:
        Processes used to parse large batches; ``None`` = one per CPU (capped),
        ``1`` = sequential in the calling thread.
    """

    def __init__(
        self,
        root: Path,
        *,
        options: ScanOptions = ScanOptions(),  # noqa: B008 - frozen, shared safely
        cache_dir: Path | None = None,
        workers: int | None = None,
    ) -> None:
        root = Path(root)
        if not root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.policy = PathPolicy(root, options)
        self.root: Path = self.policy.root
        self.options = options
        self.workers = workers if workers is not None else _default_workers()
        self._store = Store(database_path(self.root, cache_dir), root=str(self.root))
        # _write_lock: one mutation (refresh / update) at a time; held for its whole run.
        # _lock: guards the published view; held only for dictionary operations.
        self._write_lock = threading.Lock()
        self._lock = threading.RLock()
        self._disk: dict[str, FileEntry] = {}
        self._overlays: dict[str, tuple[FileEntry, str]] = {}
        self._table: dict[str, dict[str, tuple[Definition, ...]]] = {}
        self._version = 0
        self._skipped: Mapping[str, int] = MappingProxyType({})
        self._last = (0, 0, 0, 0.0)  # parsed, reused, removed, seconds of the last refresh
        self._closed = False
        #: The policy's rules were (re)loaded since the last refresh.
        self._rules_fresh = True
        self._load()

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- properties ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Increases on every content change of the view (caches upstream key on it)."""
        return self._version

    @property
    def database(self) -> str:
        """The cache file, or ``":memory:"`` when it could not be used."""
        return str(self._store.path) if self._store.persistent else ":memory:"

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        # The records built here hold no cycles; see gc_paused for the measured gain.
        with gc_paused():
            loaded = self._store.load()
            # The rules may have changed since the rows were written (a new .aiignore
            # line): a file denied now must not be served even before the first refresh.
            denied = [p for p in loaded if self.policy.check_path(p, is_dir=False) is not None]
            for path in denied:
                del loaded[path]
            with self._lock:
                self._publish(loaded.values(), [])
        if denied:
            self._store.write(deleted=denied)

    # -- refresh ---------------------------------------------------------------------------

    def refresh(
        self,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexStats:
        """Bring the index up to date with the tree on disk (see the module docstring).

        Parameters
        ----------
        progress:
            Called with a :class:`Progress` at each step (from the calling thread).
        cancel:
            When set, the refresh stops between files, persists what it did and returns
            stats with ``cancelled=True``. Files the interrupted scan did not reach are
            kept as they were, never deleted.
        """
        self._check_open()
        with self._write_lock:
            stats, _ = self._refresh(progress, cancel)
        return stats

    def _refresh(
        self, progress: ProgressCallback | None, cancel: threading.Event | None
    ) -> tuple[IndexStats, list[str]]:
        started = time.perf_counter()
        report = progress or _ignore_progress
        report(Progress("scanning", 0, 0))
        # The rules are re-read for every refresh (an ignore file may have changed while
        # nobody watched), except right after they were loaded; reusing the policy also
        # keeps the folder verdicts the construction just computed.
        if not self._rules_fresh:
            self.policy.reload()
        self._rules_fresh = False
        known = {p: (e.size, e.mtime_ns) for p, e in self._disk.items() if e.mtime_ns}
        # An empty index reads every file the scan lists: the content sniff is left to
        # `_work` then, so each file is opened once. Otherwise the scan sniffs what it
        # does not know, so that a file skipped by content (a generated or binary one)
        # is not read whole at every refresh to be skipped again.
        result = self.policy.scan(cancel=cancel, known=known, sniff=bool(self._disk))
        # A cancelled scan is partial: files it did not reach must not count as deleted.
        scan_complete = not result.cancelled and not _is_set(cancel)
        report(Progress("scanning", len(result.files), len(result.files)))
        batch = _Batch(skipped=Counter(result.skipped))
        jobs: list[_Job] = []
        for scanned in result.files:
            previous = self._disk.get(scanned.path)
            if _unchanged(previous, scanned):
                batch.reused += 1
            else:
                jobs.append(_job(scanned, previous))
        # Parsing (or decoding workers' results) builds ~20 acyclic records per file;
        # the cyclic collector's passes over them cost the parent 10-15 % of a cold
        # refresh (see store.gc_paused).
        with gc_paused():
            self._run(jobs, batch, report, cancel)
            if scan_complete and not _is_set(cancel):
                present = {f.path for f in result.files}
                batch.removed += [p for p in self._disk if p not in present]
            self._commit(batch, report)
        self._drop_denied_overlays()
        seconds = time.perf_counter() - started
        self._skipped = MappingProxyType(dict(batch.skipped))
        self._last = (batch.parsed, batch.reused, batch.removed_total, seconds)
        return self.stats(cancelled=_is_set(cancel)), batch.changed

    def _run(
        self,
        jobs: list[_Job],
        batch: _Batch,
        report: ProgressCallback,
        cancel: threading.Event | None,
    ) -> None:
        """Read/parse ``jobs``, committing every :data:`PUBLISH_EVERY` results."""
        now = time.time_ns()
        for done, outcome in enumerate(self._outcomes(jobs, cancel), start=1):
            self._record(outcome, batch, now)
            report(Progress("parsing", done, len(jobs), outcome.job.path))
            if batch.pending() >= PUBLISH_EVERY:
                self._commit(batch, report)

    def _outcomes(self, jobs: list[_Job], cancel: threading.Event | None) -> Iterator[_Done]:
        if self.workers > 1 and len(jobs) >= PARALLEL_MIN_FILES:
            yield from self._outcomes_parallel(jobs, cancel)
            return
        root, limit = str(self.root), self.options.max_file_bytes
        for job in jobs:
            if _is_set(cancel):
                return
            yield _work(root, job, limit, serialise=False)

    def _outcomes_parallel(
        self, jobs: list[_Job], cancel: threading.Event | None
    ) -> Iterator[_Done]:
        root, limit = str(self.root), self.options.max_file_bytes
        chunks = [jobs[i : i + CHUNK_FILES] for i in range(0, len(jobs), CHUNK_FILES)]
        finished: set[int] = set()
        try:
            pool = ProcessPoolExecutor(
                min(self.workers, len(chunks)),
                mp_context=_pool_context(),
                initializer=_init_worker,
            )
            try:
                numbers: dict[Future[list[_Done]], int] = {
                    pool.submit(_work_chunk, root, chunk, limit): i
                    for i, chunk in enumerate(chunks)
                }
                pending = set(numbers)
                while pending:
                    # A short timeout, not a blocking wait: cancel must be seen even
                    # while the workers are still starting up.
                    done, pending = wait(
                        pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED
                    )
                    if _is_set(cancel):
                        return
                    for future in sorted(done, key=numbers.__getitem__):
                        outcomes = future.result()
                        finished.add(numbers[future])
                        yield from outcomes
            finally:
                # On cancel, do not wait for the chunks in flight (they end on their own).
                pool.shutdown(wait=not _is_set(cancel), cancel_futures=True)
        except (BrokenProcessPool, OSError) as exc:
            # A worker died (out of memory, a crash in a grammar) or processes cannot be
            # started here: finish in this thread rather than lose the refresh.
            logger.warning("parallel parsing failed (%s); continuing sequentially", exc)
            for i, chunk in enumerate(chunks):
                if i in finished:
                    continue
                for job in chunk:
                    if _is_set(cancel):
                        return
                    yield _work(root, job, limit, serialise=False)

    def _record(self, outcome: _Done, batch: _Batch, now_ns: int) -> None:
        job = outcome.job
        previous = self._disk.get(job.path)
        # A file read right after being written may change again within the same mtime
        # tick; store mtime 0 so the next refresh re-hashes instead of trusting stat.
        mtime = 0 if now_ns - job.mtime_ns < RACY_WINDOW_NS else job.mtime_ns
        if outcome.status == "parsed":
            symbols = outcome.symbols
            if symbols is None:
                assert outcome.blob is not None
                symbols = decode_symbols(outcome.blob)
                batch.blobs[job.path] = outcome.blob
            entry = FileEntry(
                job.path, job.size, mtime, outcome.content_hash, symbols, outcome.line_count
            )
            batch.upserted.append(entry)
            batch.parsed += 1
        elif outcome.status == "same":
            # "same" implies a previous entry: its hash was the one compared against.
            if previous is not None:
                batch.touched.append(replace(previous, size=job.size, mtime_ns=mtime))
            batch.reused += 1
        else:
            if outcome.status != "gone":
                batch.skipped[outcome.status] += 1
            if previous is not None:
                batch.removed.append(job.path)

    def _commit(self, batch: _Batch, report: ProgressCallback) -> None:
        """Publish and persist the pending part of ``batch``, then clear it."""
        if not batch.pending():
            return
        report(Progress("saving", 0, batch.pending()))
        with self._lock:
            batch.changed += self._publish(batch.upserted + batch.touched, batch.removed)
        resets = self._store.resets
        written = self._store.write(
            upserted=batch.upserted, touched=batch.touched, deleted=batch.removed, blobs=batch.blobs
        )
        if not written and self._store.resets != resets:
            # The database was found corrupted and rebuilt empty: write the whole view.
            self._store.replace_all(list(self._disk.values()))
        report(Progress("saving", batch.pending(), batch.pending()))
        batch.removed_total += len(set(batch.removed))
        batch.upserted, batch.touched, batch.removed, batch.blobs = [], [], [], {}

    # -- update ----------------------------------------------------------------------------

    def update(
        self, paths: Iterable[str | Path], *, cancel: threading.Event | None = None
    ) -> list[str]:
        """Apply changes to ``paths`` (created, modified, deleted, renamed, now ignored).

        Paths may be absolute or relative to the root; paths outside it are ignored. A
        directory stands for everything under it. Every named file is re-read and
        re-hashed (an event says it changed even if its stat looks the same). A changed
        ignore file (``.gitignore``, ``.aiignore``...) reloads the rules and runs a full
        refresh, which is cheap because almost everything is reused; so does a batch of
        more than :data:`FULL_REFRESH_PATHS` paths. git's index file (``.git/index``, or
        the repository's index given as an absolute path when the root is a sub-folder,
        see :meth:`PathPolicy.is_git_index`) makes git list the tracked set again, and
        the files whose tracked status flipped are re-checked (tracked files are exempt
        from gitignore rules): one ``git ls-files``, not a refresh.

        Returns
        -------
        list[str]
            Sorted relative paths whose content changed (added, modified or removed).
        """
        self._check_open()
        with self._write_lock:
            given = list(paths)
            is_git_index = self.policy.is_git_index
            relative = {r for r in self._relative_paths(given) if not is_git_index(r)}
            rules_changed = any(is_ignore_file(r) and self._rules_file_matters(r) for r in relative)
            if not rules_changed and any(map(is_git_index, given)):
                # git's index was rewritten (checkout, `git rm --cached`, add...): only
                # files whose tracked status flipped can change verdict.
                flipped = self.policy.refresh_tracked()
                if flipped is None:
                    rules_changed = True  # not a repository before, or git failed
                elif flipped:
                    relative |= flipped
                    self._drop_denied_overlays()
            if rules_changed:
                self.policy.reload()
                self._rules_fresh = True
            if rules_changed or len(relative) > FULL_REFRESH_PATHS:
                _, changed = self._refresh(None, cancel)
                return sorted(set(changed))
            batch = _Batch()
            jobs: list[_Job] = []
            for rel in sorted(relative):
                self._plan(rel, jobs, batch)
            self._run(jobs, batch, _ignore_progress, cancel)
            self._commit(batch, _ignore_progress)
            return sorted(set(batch.changed))

    def _relative_paths(self, paths: Iterable[str | Path]) -> set[str]:
        found: set[str] = set()
        for path in paths:
            rel = self.policy.relative(path)
            if rel is not None and rel not in ("", "."):
                found.add(rel)
        return found

    def _rules_file_matters(self, rel: str) -> bool:
        """An ignore file counts unless it sits inside a folder we skip anyway.

        git's index counts only as this root's (handled apart, see :meth:`update`): a
        nested repository's, or any when git is not used, changes no rule.
        """
        if rel == ".git/index" or rel.endswith("/.git/index"):
            return False
        parent = rel.rpartition("/")[0]
        return not parent or rel.startswith(".git/") or self.policy.check_path(parent) is None

    def _plan(self, rel: str, jobs: list[_Job], batch: _Batch) -> None:
        """Turn one changed path into jobs (files to read) and removals."""
        absolute = self.root / rel
        if absolute.is_dir() and not absolute.is_symlink():
            # A folder the rules skip (node_modules, an ignored build dir) is not walked.
            allowed = self.policy.check_path(rel, is_dir=True) is None
            seen = set(self._walk(rel)) if allowed else set()
            for path in sorted(seen):
                self._plan_file(path, jobs, batch)
            prefix = rel + "/"
            batch.removed += [p for p in self._disk if p.startswith(prefix) and p not in seen]
            return
        if not os.path.lexists(absolute):
            # A deleted (or moved away) folder is reported as one event for the folder.
            prefix = rel + "/"
            batch.removed += [p for p in self._disk if p == rel or p.startswith(prefix)]
            return
        self._plan_file(rel, jobs, batch)

    def _plan_file(self, rel: str, jobs: list[_Job], batch: _Batch) -> None:
        verdict = self.policy.check_file(rel)
        if isinstance(verdict, ScannedFile):
            previous = self._disk.get(verdict.path)
            jobs.append(
                _Job(
                    verdict.path,
                    verdict.size,
                    verdict.mtime_ns,
                    previous.content_hash if previous else None,
                )
            )
        elif rel in self._disk:
            batch.removed.append(rel)

    def _walk(self, rel_dir: str) -> Iterator[str]:
        """Files under ``rel_dir`` (not following symlinked folders), denied folders pruned."""
        for folder, dirs, files in os.walk(self.root / rel_dir):
            base = Path(folder).relative_to(self.root).as_posix()
            dirs[:] = [
                d for d in dirs if self.policy.check_path(f"{base}/{d}", is_dir=True) is None
            ]
            for name in files:
                yield f"{base}/{name}"

    # -- overlays --------------------------------------------------------------------------

    def set_overlay(self, rel_path: str, text: str) -> None:
        """Make ``text`` (an unsaved buffer) the content of ``rel_path`` for every query.

        Refused (a no-op) for paths the policy denies: ignored, secret, vendored,
        generated, outside the root, or a buffer over the size limit or with NUL bytes.
        """
        self._check_open()
        rel = self._overlay_path(rel_path, text)
        if rel is None:
            # The rules may have changed since an earlier overlay for this path.
            normalised = self.policy.relative(rel_path)
            if normalised is not None:
                self.clear_overlay(normalised)
            return
        data = text.encode("utf-8", "surrogatepass")
        digest = _content_hash(data)
        with self._lock:
            current = self._overlays.get(rel)
            if current is not None and current[1] == text:
                return
        symbols = _extract(data, rel)
        with self._lock:
            disk = self._disk.get(rel)
            entry = FileEntry(
                rel, len(data), disk.mtime_ns if disk else 0, digest, symbols, _line_count(data)
            )
            before = self._effective(rel)
            self._overlays[rel] = (entry, text)
            self._retable(rel, before, entry)
            if before is None or before.content_hash != digest:
                self._version += 1

    def clear_overlay(self, rel_path: str) -> None:
        """Drop the overlay of ``rel_path``; the file on disk (if indexed) shows again."""
        rel = self._key(rel_path)
        if rel is None:
            return
        with self._lock:
            item = self._overlays.pop(rel, None)
            if item is None:
                return
            disk = self._disk.get(rel)
            self._retable(rel, item[0], disk)
            if disk is None or disk.content_hash != item[0].content_hash:
                self._version += 1

    def _overlay_path(self, rel_path: str, text: str) -> str | None:
        rel = self.policy.relative(rel_path)
        if rel is None or rel in ("", ".") or self.policy.check_path(rel) is not None:
            return None
        if os.path.lexists(self.root / rel):
            # What is on disk decides the rules that need I/O (a symlink pointing out of
            # the root, a secret detected by content); size and binary-ness are judged
            # on the buffer itself below.
            verdict = self.policy.check_file(rel)
            if isinstance(verdict, SkipReason) and verdict not in _CONTENT_REASONS:
                return None
        if (
            "\x00" in text
            or len(text.encode("utf-8", "surrogatepass")) > self.options.max_file_bytes
        ):
            return None
        return rel

    def _drop_denied_overlays(self) -> None:
        for rel in list(self._overlays):
            if self.policy.check_path(rel) is not None:
                self.clear_overlay(rel)

    # -- queries ---------------------------------------------------------------------------

    def read_text(self, rel_path: str) -> str | None:
        """The overlay text, else the current text on disk of an indexed file, else None.

        Disk text is decoded as UTF-8 with replacement characters. The file is re-checked
        to still be a regular file inside the root (it may have been replaced by a
        symlink since it was indexed).
        """
        rel = self._key(rel_path)
        if rel is None:
            return None
        with self._lock:
            overlay = self._overlays.get(rel)
            indexed = rel in self._disk
        if overlay is not None:
            return overlay[1]
        if not indexed:
            return None
        absolute = self.root / rel
        if not Path(os.path.realpath(absolute)).is_relative_to(self.root):
            return None
        data = read_regular(absolute, self.options.max_file_bytes)
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else None

    def get(self, rel_path: str) -> FileEntry | None:
        """The entry of ``rel_path`` (the overlay's when there is one), or None."""
        rel = self._key(rel_path)
        if rel is None:
            return None
        with self._lock:
            return self._effective(rel)

    def paths(self) -> list[str]:
        """Every indexed path, sorted (overlay-only files included)."""
        with self._lock:
            return sorted(self._disk.keys() | self._overlays.keys())

    def entries(self) -> list[FileEntry]:
        """Every entry, sorted by path, overlays winning."""
        with self._lock:
            keys = sorted(self._disk.keys() | self._overlays.keys())
            return [e for e in map(self._effective, keys) if e is not None]

    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        """Definitions named ``name`` (bare name) as ``(path, definition)``, sorted by path."""
        with self._lock:
            bucket = self._table.get(name)
            if not bucket:
                return []
            items = sorted(bucket.items())
        return [(path, d) for path, defs in items for d in defs]

    def stats(self, *, cancelled: bool = False) -> IndexStats:
        """Statistics of the current view and of the last refresh."""
        with self._lock:
            entries = [
                e for e in map(self._effective, self._disk.keys() | self._overlays.keys()) if e
            ]
        languages = Counter(e.symbols.language for e in entries)
        parsed, reused, removed, seconds = self._last
        return IndexStats(
            root=str(self.root),
            files=len(entries),
            symbols=sum(len(e.symbols.definitions) for e in entries),
            languages=MappingProxyType(dict(sorted(languages.items()))),
            skipped=self._skipped,
            parsed=parsed,
            reused=reused,
            removed=removed,
            seconds=seconds,
            database=self.database,
            cancelled=cancelled,
        )

    def close(self) -> None:
        """Close the cache database. The index must not be used afterwards."""
        with self._write_lock:
            if not self._closed:
                self._closed = True
                self._store.close()

    # -- internals (callers hold self._lock) ----------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the index is closed")

    def _key(self, rel_path: str) -> str | None:
        # Fast path: callers mostly pass the exact keys we handed out.
        if rel_path in self._disk or rel_path in self._overlays:
            return rel_path
        return self.policy.relative(rel_path)

    def _effective(self, rel: str) -> FileEntry | None:
        overlay = self._overlays.get(rel)
        return overlay[0] if overlay is not None else self._disk.get(rel)

    def _publish(self, entries: Iterable[FileEntry], removed: Iterable[str]) -> list[str]:
        """Apply one batch to the view; returns the paths whose content changed."""
        changed: list[str] = []
        for entry in entries:
            old = self._disk.get(entry.path)
            self._disk[entry.path] = entry
            if (
                old is not None
                and old.content_hash == entry.content_hash
                and old.symbols is entry.symbols
            ):
                continue  # a touch: same content, new size/mtime
            if entry.path not in self._overlays:
                self._retable(entry.path, old, entry)
            changed.append(entry.path)
        for path in removed:
            old = self._disk.pop(path, None)
            if old is None:
                continue
            if path not in self._overlays:
                self._retable(path, old, None)
            changed.append(path)
        if changed:
            self._version += 1
        return changed

    def _retable(self, path: str, old: FileEntry | None, new: FileEntry | None) -> None:
        """Move ``path``'s definitions in the symbol table from ``old`` to ``new``."""
        if old is not None:
            for name in {d.name for d in old.symbols.definitions}:
                bucket = self._table.get(name)
                if bucket is not None:
                    bucket.pop(path, None)
                    if not bucket:
                        del self._table[name]
        if new is not None:
            grouped: dict[str, list[Definition]] = {}
            for d in new.symbols.definitions:
                grouped.setdefault(d.name, []).append(d)
            for name, defs in grouped.items():
                self._table.setdefault(name, {})[path] = tuple(defs)


def _ignore_progress(_: Progress) -> None:
    return None


def _is_set(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _unchanged(previous: FileEntry | None, scanned: ScannedFile) -> bool:
    return (
        previous is not None
        and previous.mtime_ns != 0  # 0 marks a racy entry: always re-hash it
        and previous.size == scanned.size
        and previous.mtime_ns == scanned.mtime_ns
    )


def _job(scanned: ScannedFile, previous: FileEntry | None) -> _Job:
    return _Job(
        scanned.path, scanned.size, scanned.mtime_ns, previous.content_hash if previous else None
    )


__all__ = ["MAX_WORKERS", "Index", "IndexStats", "Progress", "ProgressCallback", "read_regular"]
