"""The file watcher on real files: events reach the index, churn does not, storms converge."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.records import FileSymbols
from minimax_lsp.indexer.scan import ScanOptions
from minimax_lsp.indexer.watch import Watcher
from tests.indexer.test_scan import git, git_env  # noqa: F401 - git_env is a fixture

OPTIONS = ScanOptions(use_git=False)


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class _Recorder:
    """The ``on_change`` callback: remembers every batch and when the last one came."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, paths: list[str]) -> None:
        with self._lock:
            self.batches.append(paths)
            self.last = time.monotonic()

    def paths(self) -> set[str]:
        with self._lock:
            return {p for batch in self.batches for p in batch}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    _write(root, "src/app.py", "def main():\n    pass\n")
    _write(root, "src/util.py", "def helper():\n    pass\n")
    return root


@pytest.fixture
def idx(ws: Path, tmp_path: Path) -> Iterator[Index]:
    with Index(ws, options=OPTIONS, cache_dir=tmp_path / "cache", workers=1) as index:
        yield index


@pytest.fixture
def recorder() -> _Recorder:
    return _Recorder()


@pytest.fixture
def watcher(idx: Index, recorder: _Recorder) -> Iterator[Watcher]:
    w = Watcher(idx, on_change=recorder, debounce_ms=400, step_ms=30)
    w.start()
    idx.refresh()  # start, then refresh: nothing can fall between the two
    yield w
    w.stop()


def _snapshot(index: Index) -> dict[str, tuple[str, FileSymbols]]:
    return {e.path: (e.content_hash, e.symbols) for e in index.entries()}


def _names(index: Index, path: str) -> set[str]:
    entry = index.get(path)
    return {d.name for d in entry.symbols.definitions} if entry else set()


def test_create_modify_rename_delete(
    ws: Path, idx: Index, watcher: Watcher, recorder: _Recorder
) -> None:
    assert watcher.running
    _write(ws, "src/new.py", "def created():\n    pass\n")
    assert _wait_for(lambda: _names(idx, "src/new.py") == {"created"})

    _write(ws, "src/new.py", "def modified():\n    pass\n")
    assert _wait_for(lambda: _names(idx, "src/new.py") == {"modified"})

    (ws / "src" / "new.py").rename(ws / "src" / "renamed.py")
    assert _wait_for(
        lambda: idx.get("src/new.py") is None and idx.get("src/renamed.py") is not None
    )

    (ws / "src" / "renamed.py").unlink()
    assert _wait_for(lambda: "src/renamed.py" not in idx.paths())
    assert idx.paths() == ["src/app.py", "src/util.py"]
    assert {"src/new.py", "src/renamed.py"} <= recorder.paths()


def test_churn_in_skipped_folders_is_not_reported(
    ws: Path, idx: Index, watcher: Watcher, recorder: _Recorder
) -> None:
    for i in range(20):
        _write(ws, f"node_modules/pkg/f{i}.js", "x")
        _write(ws, f".git/objects/{i:02}/obj", "x")
        _write(ws, f"build/.venv/lib/m{i}.py", "x")
    _write(ws, ".env", "KEY=1\n")
    # A visible file written afterwards: once it arrives, the churn before it has been seen.
    _write(ws, "src/after.py", "def after():\n    pass\n")
    assert _wait_for(lambda: idx.get("src/after.py") is not None)
    reported = recorder.paths()
    assert reported == {"src/after.py"}
    assert idx.paths() == ["src/after.py", "src/app.py", "src/util.py"]


def test_an_ignore_file_change_applies_the_new_rules(
    ws: Path, idx: Index, watcher: Watcher
) -> None:
    assert idx.get("src/util.py") is not None
    _write(ws, ".aiignore", "src/util.py\n")
    assert _wait_for(lambda: idx.get("src/util.py") is None)
    assert idx.definitions("helper") == []


def test_a_storm_converges_to_a_fresh_refresh(
    ws: Path, tmp_path: Path, idx: Index, watcher: Watcher, recorder: _Recorder
) -> None:
    # A few hundred files across folders, then edits, deletions, a folder rename, all
    # as fast as the disk takes them (a `git checkout` in miniature).
    for i in range(300):
        _write(ws, f"pkg{i % 6}/sub{i % 3}/m{i}.py", f"def f{i}():\n    return {i}\n")
    for i in range(0, 300, 3):
        _write(ws, f"pkg{i % 6}/sub{i % 3}/m{i}.py", f"def g{i}():\n    return -{i}\n")
    for i in range(1, 300, 7):
        (ws / f"pkg{i % 6}/sub{i % 3}/m{i}.py").unlink()
    (ws / "pkg5").rename(ws / "moved")
    _write(ws, "moved/late.py", "def late():\n    pass\n")

    # The final tree is fixed now: what a fresh index of it holds is the target.
    with Index(ws, options=OPTIONS, cache_dir=tmp_path / "fresh", workers=1) as fresh:
        fresh.refresh()
        expected = _snapshot(fresh)
    assert len(expected) == 2 + 300 - len(range(1, 300, 7)) + 1
    assert _wait_for(lambda: _snapshot(idx) == expected, timeout=4.0)
    # Batched: far fewer callbacks than files touched.
    assert len(recorder.batches) < 50


def test_stop_is_prompt_and_idempotent(idx: Index) -> None:
    w = Watcher(idx)
    w.start()
    assert w.running
    started = time.monotonic()
    w.stop()
    assert time.monotonic() - started < 1.0
    assert not w.running
    w.stop()


def test_a_failing_callback_does_not_stop_the_watcher(ws: Path, idx: Index) -> None:
    calls: list[list[str]] = []

    def explode(paths: list[str]) -> None:
        calls.append(paths)
        raise RuntimeError("callback bug")

    w = Watcher(idx, on_change=explode, debounce_ms=200, step_ms=30)
    w.start()
    try:
        _write(ws, "a.py", "def a(): pass\n")
        assert _wait_for(lambda: len(calls) >= 1)
        _write(ws, "b.py", "def b(): pass\n")
        assert _wait_for(lambda: idx.get("b.py") is not None)
        assert w.running
    finally:
        w.stop()


def test_events_outside_indexable_files_are_filtered(idx: Index, ws: Path) -> None:
    w = Watcher(idx)
    accepts = w._accepts  # the watch_filter handed to watchfiles
    from watchfiles import Change

    assert accepts(Change.added, str(ws / "src" / "x.py"))
    assert accepts(Change.deleted, str(ws / "gone" / "y.py"))
    assert accepts(Change.modified, str(ws / ".gitignore"))
    assert not accepts(Change.modified, str(ws / ".git" / "index"))
    assert not accepts(Change.added, str(ws / "node_modules" / "a" / "b.js"))
    assert not accepts(Change.added, str(ws / ".env"))
    assert not accepts(Change.added, str(ws.parent / "elsewhere.py"))
    assert not accepts(Change.modified, str(ws))
    assert os.path.isdir(ws)


@pytest.mark.usefixtures("git_env")
def test_git_index_outside_the_root_is_watched(tmp_path: Path) -> None:
    # The root is a sub-folder of the repository: .git/index is outside what the root
    # watch sees, and `git rm --cached` changes nothing else.
    repo = tmp_path / "repo"
    _write(repo, ".gitignore", "local_*.py\n")
    _write(repo, "pkg/a.py", "def a():\n    return 1\n")
    _write(repo, "pkg/local_forced.py", "def forced():\n    return 2\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "add", "-f", "pkg/local_forced.py")
    with Index(repo / "pkg", cache_dir=tmp_path / "cache", workers=1) as index:
        w = Watcher(index, debounce_ms=400, step_ms=30)
        accepts = w._accepts
        from watchfiles import Change

        assert accepts(Change.modified, str(repo / ".git" / "index"))
        assert not accepts(Change.modified, str(repo / ".git" / "index.lock"))
        assert not accepts(Change.modified, str(repo / "pkg" / "sub" / ".git" / "index"))
        w.start()
        try:
            index.refresh()
            assert index.paths() == ["a.py", "local_forced.py"]
            git(repo, "rm", "-q", "--cached", "pkg/local_forced.py")
            assert _wait_for(lambda: index.paths() == ["a.py"])
            git(repo, "add", "-f", "pkg/local_forced.py")
            assert _wait_for(lambda: index.paths() == ["a.py", "local_forced.py"])
        finally:
            w.stop()
