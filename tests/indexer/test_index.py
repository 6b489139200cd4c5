"""The workspace index on real files: caching, invalidation, updates, overlays, threads."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minimax_lsp.indexer import index as index_module
from minimax_lsp.indexer.index import Index, Progress
from minimax_lsp.indexer.records import FileSymbols
from minimax_lsp.indexer.scan import ScanOptions
from tests.indexer.test_scan import git, git_env  # noqa: F401 - git_env is a fixture

OPTIONS = ScanOptions(use_git=False)
#: An mtime safely outside the racy window (files older than that are trusted by stat).
OLD_NS = time.time_ns() - 3600 * 10**9


def _write(root: Path, rel: str, text: str, *, old: bool = True) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if old:
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    _write(root, "src/app.py", "from .util import helper\n\ndef main():\n    return helper()\n")
    _write(root, "src/util.py", "def helper():\n    return 1\n\nclass Box:\n    pass\n")
    _write(root, "web/app.js", "export function render(x) { return x }\n")
    _write(root, "README.md", "Use main to start.\n")
    _write(root, ".env", "API_KEY=hunter2\n")
    _write(root, "node_modules/pkg/index.js", "function vendored() {}\n")
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def idx(ws: Path, cache: Path) -> Iterator[Index]:
    with Index(ws, options=OPTIONS, cache_dir=cache, workers=1) as index:
        index.refresh()
        yield index


def _open(ws: Path, cache: Path, workers: int = 1) -> Index:
    return Index(ws, options=OPTIONS, cache_dir=cache, workers=workers)


def _snapshot(index: Index) -> dict[str, tuple[str, int, FileSymbols]]:
    return {e.path: (e.content_hash, e.line_count, e.symbols) for e in index.entries()}


def _names(index: Index, path: str) -> set[str]:
    entry = index.get(path)
    assert entry is not None
    return {d.name for d in entry.symbols.definitions}


# --------------------------------------------------------------------------- refresh


def test_cold_refresh_indexes_what_the_policy_allows(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        stats = index.refresh()
        assert index.paths() == ["README.md", "src/app.py", "src/util.py", "web/app.js"]
        assert (stats.files, stats.parsed, stats.reused, stats.removed) == (4, 4, 0, 0)
        assert dict(stats.languages) == {"javascript": 1, "python": 2, "text": 1}
        assert stats.skipped["secret"] == 1
        assert stats.skipped["vendored"] >= 1
        assert stats.symbols == 4  # main, helper, Box, render
        assert not stats.cancelled
        assert Path(stats.database).is_file()
        assert Path(stats.database).is_relative_to(cache)
        assert index.definitions("helper") == [
            ("src/util.py", index.get("src/util.py").symbols.definitions[0])  # type: ignore[union-attr]
        ]
        assert index.definitions("nothing") == []
        entry = index.get("src/app.py")
        assert entry is not None and entry.line_count == 4
        assert "..util" not in entry.symbols.imports and ".util" in entry.symbols.imports


def test_plain_text_is_indexed_without_references(idx: Index) -> None:
    readme = idx.get("README.md")
    assert readme is not None and readme.line_count == 1
    assert readme.symbols == FileSymbols("text")  # lexical search reads the text itself
    app = idx.get("src/app.py")
    assert app is not None
    assert ("helper", 4) in {(r.name, r.line) for r in app.symbols.references}


def test_a_restarted_index_parses_nothing(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as first:
        first.refresh()
        expected = _snapshot(first)
    with _open(ws, cache) as second:
        # Loaded from the database before any refresh.
        assert _snapshot(second) == expected
        assert second.definitions("render")[0][0] == "web/app.js"
        stats = second.refresh()
        assert (stats.parsed, stats.reused, stats.removed) == (0, 4, 0)
        assert _snapshot(second) == expected


def test_new_mtime_with_the_same_content_is_not_reparsed(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        index.refresh()
        version = index.version
        before = index.get("src/util.py")
        util = ws / "src" / "util.py"
        util.write_bytes(util.read_bytes())  # rewritten, same bytes
        os.utime(util, ns=(OLD_NS + 5 * 10**9, OLD_NS + 5 * 10**9))
        stats = index.refresh()
        assert (stats.parsed, stats.reused) == (0, 4)
        after = index.get("src/util.py")
        assert after is not None and before is not None
        assert after.mtime_ns == OLD_NS + 5 * 10**9
        assert after.symbols is before.symbols
        assert index.version == version  # a touch is not a content change
    with _open(ws, cache) as again:  # the new mtime was persisted: trusted by stat now
        assert again.refresh().parsed == 0


def test_changed_content_is_reparsed(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        index.refresh()
        version = index.version
        _write(ws, "src/util.py", "def helper2():\n    return 2\n")
        stats = index.refresh()
        assert (stats.parsed, stats.reused) == (1, 3)
        assert _names(index, "src/util.py") == {"helper2"}
        assert index.definitions("helper") == []
        assert index.definitions("Box") == []
        assert [p for p, _ in index.definitions("helper2")] == ["src/util.py"]
        assert index.version > version


def test_an_extractor_change_reparses_everything(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        index.refresh()
        database = index.database
    conn = sqlite3.connect(database)
    conn.execute("UPDATE meta SET value = 'written-by-an-older-parser' WHERE key = 'extractor'")
    conn.commit()
    conn.close()
    with _open(ws, cache) as index:
        assert index.paths() == []
        assert index.refresh().parsed == 4


def test_deleted_files_are_removed_everywhere(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        index.refresh()
        (ws / "src" / "util.py").unlink()
        stats = index.refresh()
        assert (stats.removed, stats.files) == (1, 3)
        assert index.get("src/util.py") is None
        assert index.definitions("helper") == []
    with _open(ws, cache) as index:
        assert "src/util.py" not in index.paths()


def test_a_racy_rewrite_within_one_mtime_tick_is_caught(ws: Path, cache: Path) -> None:
    path = _write(ws, "src/racy.py", "def one(): pass\n", old=False)
    with _open(ws, cache) as index:
        index.refresh()
        stamp = path.stat().st_mtime_ns
        path.write_text("def two(): pass\n")  # same size...
        os.utime(path, ns=(stamp, stamp))  # ...and the same mtime: stat cannot tell
        assert index.refresh().parsed == 1
        assert _names(index, "src/racy.py") == {"two"}


def test_refresh_without_changes_keeps_the_version(idx: Index) -> None:
    version = idx.version
    stats = idx.refresh()
    assert stats.parsed == 0
    assert idx.version == version


def test_a_hostile_file_does_not_stop_indexing(ws: Path, cache: Path) -> None:
    (ws / "src" / "weird.py").write_bytes(b"def \xff\xfe(:\n" + b"([{\n" * 3000 + b"\x1b[0m\n")
    with _open(ws, cache) as index:
        stats = index.refresh()
        assert "src/weird.py" in index.paths()
        assert stats.files == 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_source_never_blocks(idx: Index, ws: Path) -> None:
    os.mkfifo(ws / "src" / "pipe.py")
    assert idx.update([ws / "src" / "pipe.py"]) == []
    assert idx.refresh().files == 4
    assert "src/pipe.py" not in idx.paths()


def test_content_rules_judge_the_bytes_that_get_indexed(ws: Path, cache: Path) -> None:
    # The refresh's scan does not sniff: the content rules run on what is read.
    _write(ws, "src/keys.py", 'KEY = """\n-----BEGIN RSA PRIVATE KEY-----\nMII=\n"""\n')
    _write(ws, "src/blob.py", "x = 1\x00\n")
    _write(ws, "src/gen.py", "# @generated by a tool\nx = 1\n")
    with _open(ws, cache) as index:
        stats = index.refresh()
        assert not {"src/keys.py", "src/blob.py", "src/gen.py"} & set(index.paths())
        assert stats.skipped == {"secret": 2, "binary": 1, "generated": 1, "vendored": 1}
        assert stats.files == 4
        # A file that turns into a key is dropped, however it is noticed.
        _write(ws, "src/util.py", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3A=\n", old=False)
        assert index.update([ws / "src" / "util.py"]) == ["src/util.py"]
        assert index.get("src/util.py") is None


@pytest.mark.parametrize("limit", [10**12, 2**63])
def test_a_huge_size_limit_is_not_used_as_a_read_size(ws: Path, cache: Path, limit: int) -> None:
    # The limit once became the size of the read buffer: MemoryError / OverflowError.
    options = ScanOptions(max_file_bytes=limit, use_git=False)
    with Index(ws, options=options, cache_dir=cache, workers=1) as index:
        assert index.refresh().files == 4
        assert index.read_text("src/util.py") == (ws / "src" / "util.py").read_text()
        _write(ws, "src/util.py", "def grown():\n    return 2\n" * 1000)
        assert index.update([ws / "src" / "util.py"]) == ["src/util.py"]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="no procfs")
def test_a_file_larger_than_its_stat_size_is_read_whole_up_to_the_limit() -> None:
    # procfs files report size 0, like a file that grew between fstat and read.
    status = Path("/proc/self/status")
    whole = index_module.read_regular(status, 1_000_000)
    assert isinstance(whole, bytes) and whole.startswith(b"Name:") and len(whole) > 100
    assert index_module.read_regular(status, 10) == "too-large"


# --------------------------------------------------------------------------- update


def test_update_handles_created_modified_and_deleted_paths(idx: Index, ws: Path) -> None:
    version = idx.version
    _write(ws, "src/new.py", "def fresh():\n    pass\n")
    _write(ws, "src/app.py", "def main2():\n    pass\n")
    (ws / "web" / "app.js").unlink()
    changed = idx.update([ws / "src" / "new.py", "src/app.py", str(ws / "web" / "app.js")])
    assert changed == ["src/app.py", "src/new.py", "web/app.js"]
    assert idx.paths() == ["README.md", "src/app.py", "src/new.py", "src/util.py"]
    assert _names(idx, "src/app.py") == {"main2"}
    assert idx.definitions("render") == []
    assert idx.version > version


def test_update_ignores_denied_and_outside_paths(idx: Index, ws: Path, tmp_path: Path) -> None:
    version = idx.version
    _write(ws, ".env", "API_KEY=changed\n")
    _write(ws, "node_modules/pkg/more.js", "function x() {}\n")
    outside = _write(tmp_path, "elsewhere.py", "def nope(): pass\n")
    assert idx.update([ws / ".env", ws / "node_modules/pkg/more.js", outside, "../x.py"]) == []
    assert idx.version == version
    assert idx.get(".env") is None


def test_update_rereads_a_named_file_even_if_its_stat_is_unchanged(idx: Index, ws: Path) -> None:
    path = ws / "src" / "util.py"
    before = path.stat()
    path.write_text("def helpxr():\n    return 1\n\nclass Box:\n    pass\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert idx.update([path]) == ["src/util.py"]
    assert "helpxr" in _names(idx, "src/util.py")


def test_update_of_a_skipped_folder_indexes_nothing_in_it(idx: Index, ws: Path) -> None:
    _write(ws, "node_modules/pkg/extra.js", "function extra() {}\n")
    assert idx.update([ws / "node_modules", ws / "node_modules" / "pkg"]) == []
    assert not [p for p in idx.paths() if p.startswith("node_modules/")]


def test_update_of_an_unchanged_file_changes_nothing(idx: Index, ws: Path) -> None:
    version = idx.version
    assert idx.update([ws / "src" / "util.py"]) == []
    assert idx.version == version


def test_update_follows_a_moved_folder(idx: Index, ws: Path) -> None:
    (ws / "src").rename(ws / "lib")
    changed = idx.update([ws / "src", ws / "lib"])
    assert changed == ["lib/app.py", "lib/util.py", "src/app.py", "src/util.py"]
    assert [p for p, _ in idx.definitions("helper")] == ["lib/util.py"]
    assert idx.get("src/app.py") is None


def test_a_changed_ignore_file_reloads_the_rules(idx: Index, ws: Path) -> None:
    idx.set_overlay("src/util.py", "def edited():\n    pass\n")
    _write(ws, ".aiignore", "src/util.py\n")
    changed = idx.update([ws / ".aiignore"])
    assert "src/util.py" in changed
    assert idx.get("src/util.py") is None  # the overlay went too
    assert idx.read_text("src/util.py") is None
    assert idx.definitions("helper") == []
    assert idx.stats().skipped.get("ai-ignored") == 1
    (ws / ".aiignore").unlink()
    assert "src/util.py" in idx.update([ws / ".aiignore"])
    assert idx.get("src/util.py") is not None


def test_refresh_rereads_the_rules_without_being_told(idx: Index, ws: Path) -> None:
    _write(ws, ".aiignore", "web/\n")  # nobody calls update() for it
    stats = idx.refresh()
    assert "web/app.js" not in idx.paths()
    assert stats.skipped.get("ai-ignored") == 1
    assert idx.policy.check_path("web/app.js") is not None  # the policy itself too


def test_rows_denied_by_new_rules_are_not_served_after_a_restart(ws: Path, cache: Path) -> None:
    with _open(ws, cache) as index:
        index.refresh()
    _write(ws, ".aiignore", "web/\n")
    with _open(ws, cache) as index:
        assert "web/app.js" not in index.paths()  # before any refresh
        assert index.definitions("render") == []


# --------------------------------------------------------------------- git's tracked set


def _git_repo(tmp_path: Path) -> Path:
    """A repository whose .gitignore matches ``local_*.py``, with one forced in."""
    root = tmp_path / "repo"
    _write(root, ".gitignore", "local_*.py\n")
    _write(root, "pkg/a.py", "def a():\n    return 1\n")
    _write(root, "pkg/local_forced.py", "def forced():\n    return 2\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "add", "-f", "pkg/local_forced.py")
    git(root, "commit", "-q", "-m", "one")
    return root


@pytest.mark.usefixtures("git_env")
def test_a_rewritten_git_index_rechecks_the_files_whose_tracking_flipped(
    tmp_path: Path, cache: Path
) -> None:
    root = _git_repo(tmp_path)
    with Index(root, cache_dir=cache, workers=1) as index:
        index.refresh()
        assert "pkg/local_forced.py" in index.paths()  # tracked: gitignore does not apply
        last_refresh = index.stats().seconds
        git(root, "rm", "-q", "--cached", "pkg/local_forced.py")
        index.set_overlay("pkg/local_forced.py", "def typed():\n    pass\n")
        assert index.update([root / ".git" / "index"]) == ["pkg/local_forced.py"]
        assert "pkg/local_forced.py" not in index.paths()
        assert index.get("pkg/local_forced.py") is None  # no overlay either
        assert index.policy.check_path("pkg/local_forced.py") is not None
        git(root, "add", "-f", "pkg/local_forced.py")
        assert index.update([".git/index"]) == ["pkg/local_forced.py"]
        assert [p for p, _ in index.definitions("forced")] == ["pkg/local_forced.py"]
        # Nothing flipped: nothing to re-check. And none of it was a full refresh.
        assert index.update([".git/index"]) == []
        assert index.stats().seconds == last_refresh


@pytest.mark.usefixtures("git_env")
def test_a_root_below_the_repository_top_follows_its_git_index(tmp_path: Path, cache: Path) -> None:
    repo = _git_repo(tmp_path)
    with Index(repo / "pkg", cache_dir=cache, workers=1) as index:
        index.refresh()
        git_index = index.policy.git_index_file()
        assert git_index == repo / ".git" / "index"
        assert index.policy.is_git_index(git_index)
        assert not index.policy.is_git_index(repo / "pkg" / "a.py")
        git(repo, "rm", "-q", "--cached", "pkg/local_forced.py")
        assert index.update([git_index]) == ["local_forced.py"]
        assert index.paths() == ["a.py"]


@pytest.mark.usefixtures("git_env")
def test_git_init_in_a_walked_root_applies_the_tracked_set(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "plain"
    _write(root, ".gitignore", "local_*.py\n")
    _write(root, "local_x.py", "def x():\n    return 1\n")
    with Index(root, cache_dir=cache, workers=1) as index:
        index.refresh()
        assert "local_x.py" not in index.paths()  # walked: .gitignore applies
        git(root, "init", "-q")
        git(root, "add", "-f", "local_x.py")
        assert index.update([root / ".git" / "index"]) == ["local_x.py"]


def test_git_index_changes_are_ignored_without_git(idx: Index, ws: Path) -> None:
    last_refresh = idx.stats().seconds
    assert not idx.policy.is_git_index(".git/index")
    _write(ws, ".git/index", "not really an index")
    assert idx.update([ws / ".git" / "index", "sub/.git/index"]) == []
    assert idx.stats().seconds == last_refresh  # no reload, no refresh


# --------------------------------------------------------------------------- overlays


def test_overlay_wins_in_every_query_until_cleared(idx: Index, ws: Path) -> None:
    version = idx.version
    text = "def helper_v2():\n    return 2\n\n\n"
    idx.set_overlay("src/util.py", text)
    assert idx.version > version
    entry = idx.get("src/util.py")
    assert entry is not None and entry.line_count == 4
    assert _names(idx, "src/util.py") == {"helper_v2"}
    assert idx.read_text("src/util.py") == text
    assert idx.definitions("helper") == []
    assert [p for p, _ in idx.definitions("helper_v2")] == ["src/util.py"]
    assert [e.path for e in idx.entries()] == idx.paths()
    assert idx.stats().symbols == 4 - 2 + 1

    # A refresh while the overlay is set updates the disk entry underneath, not the view.
    _write(ws, "src/util.py", "def from_disk():\n    pass\n")
    idx.refresh()
    assert _names(idx, "src/util.py") == {"helper_v2"}
    assert idx.definitions("from_disk") == []

    idx.clear_overlay("src/util.py")
    assert _names(idx, "src/util.py") == {"from_disk"}
    assert idx.read_text("src/util.py") == "def from_disk():\n    pass\n"
    assert idx.definitions("helper_v2") == []


def test_overlay_of_an_unsaved_new_file(idx: Index, ws: Path) -> None:
    idx.set_overlay(str(ws / "src" / "draft.py"), "class Draft:\n    pass\n")
    assert "src/draft.py" in idx.paths()
    assert [p for p, _ in idx.definitions("Draft")] == ["src/draft.py"]
    idx.clear_overlay("src/draft.py")
    assert "src/draft.py" not in idx.paths()
    assert idx.definitions("Draft") == []
    assert idx.read_text("src/draft.py") is None


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (".env", "API_KEY=typed-in-the-editor\n"),
        ("config/.env.production", "X=1\n"),
        ("node_modules/pkg/index.js", "function v() {}\n"),
        ("../outside.py", "def out(): pass\n"),
        ("src/nul.py", "def a(): pass\n\x00\n"),
        ("src/huge.py", "x = 1\n" * 200_000),
    ],
)
def test_overlay_on_a_denied_path_is_refused(idx: Index, path: str, text: str) -> None:
    version = idx.version
    idx.set_overlay(path, text)
    assert idx.get(path) is None
    assert idx.read_text(path) is None
    assert idx.paths() == ["README.md", "src/app.py", "src/util.py", "web/app.js"]
    assert idx.version == version


def test_overlay_through_a_symlink_to_a_secret_is_refused(idx: Index, ws: Path) -> None:
    (ws / "notes.txt").symlink_to(ws / ".env")
    idx.set_overlay("notes.txt", "API_KEY=hunter2\n")
    assert idx.get("notes.txt") is None


def test_read_text_reads_indexed_files_only(idx: Index, ws: Path) -> None:
    assert idx.read_text("README.md") == "Use main to start.\n"
    assert idx.read_text(str(ws / "README.md")) == "Use main to start.\n"
    assert idx.read_text(".env") is None
    assert idx.read_text("node_modules/pkg/index.js") is None
    assert idx.read_text("missing.py") is None
    # Swapped for a symlink out of the root after indexing: not read.
    outside = ws.parent / "outside.txt"
    outside.write_text("private\n")
    (ws / "README.md").unlink()
    (ws / "README.md").symlink_to(outside)
    assert idx.read_text("README.md") is None


# --------------------------------------------------------------------------- cancel, threads


def _many(root: Path, count: int) -> None:
    for i in range(count):
        _write(root, f"gen/m{i:03}.py", f"def func_{i}():\n    return {i}\n")


def test_cancel_mid_refresh_keeps_what_was_done(ws: Path, cache: Path) -> None:
    _many(ws, 60)
    cancel = threading.Event()
    seen: list[Progress] = []

    def progress(report: Progress) -> None:
        seen.append(report)
        if report.phase == "parsing" and report.done == 10:
            cancel.set()

    with _open(ws, cache) as index:
        stats = index.refresh(progress=progress, cancel=cancel)
        assert stats.cancelled
        assert stats.parsed == 10
        assert len(index.paths()) == 10
        assert {p.phase for p in seen} == {"scanning", "parsing", "saving"}
        assert all(p.total == 64 for p in seen if p.phase == "parsing")
    with _open(ws, cache) as index:  # what was done was persisted
        assert len(index.paths()) == 10
        assert index.refresh().parsed == 54


def test_cancelled_scan_deletes_nothing(idx: Index) -> None:
    cancel = threading.Event()

    def progress(report: Progress) -> None:
        cancel.set()  # at the very start of the scan

    stats = idx.refresh(progress=progress, cancel=cancel)
    assert stats.cancelled
    assert stats.removed == 0
    assert idx.paths() == ["README.md", "src/app.py", "src/util.py", "web/app.js"]


def test_readers_never_see_half_a_batch(ws: Path, cache: Path) -> None:
    count = 100
    for i in range(count):
        _write(ws, f"gen/m{i:03}.py", f"def gen_1_{i}():\n    pass\n")
    errors: list[BaseException] = []
    generations: set[frozenset[str]] = set()
    stop = threading.Event()
    with _open(ws, cache) as index:
        index.refresh()

        def reader() -> None:
            try:
                while not stop.is_set():
                    marks = frozenset(
                        d.name.split("_")[1]
                        for e in index.entries()
                        if e.path.startswith("gen/")
                        for d in e.symbols.definitions
                    )
                    generations.add(marks)
                    index.definitions("gen_1_0")
                    index.get("gen/m000.py")
                    index.paths()
                    time.sleep(0.001)  # let the writer have the GIL too
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for generation in (2, 3):
                for i in range(count):
                    _write(ws, f"gen/m{i:03}.py", f"def gen_{generation}_{i}():\n    pass\n")
                index.update([ws / "gen"])
        finally:
            stop.set()
            thread.join()
    assert errors == []
    assert generations  # the reader did run
    assert generations <= {frozenset({"1"}), frozenset({"2"}), frozenset({"3"})}


def test_parallel_workers_give_the_same_index(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _many(ws, 40)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_FILES", 10)
    caplog.set_level(logging.WARNING)
    with _open(ws, tmp_path / "c1", workers=1) as one, _open(ws, tmp_path / "c2", workers=2) as two:
        assert one.refresh().parsed == two.refresh().parsed == 44
        assert _snapshot(one) == _snapshot(two)
    assert caplog.records == []  # no fallback to sequential parsing
    with _open(ws, tmp_path / "c2", workers=2) as again:  # blobs from workers persisted
        assert again.refresh().parsed == 0


def test_workers_fork_only_from_a_single_threaded_process() -> None:
    if sys.platform != "linux" or threading.active_count() != 1:
        pytest.skip("needs Linux and no other thread in the test process")
    assert index_module._pool_context().get_start_method() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert index_module._pool_context().get_start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_corrupted_cache_is_rebuilt_by_the_index(
    ws: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _open(ws, cache) as index:
        index.refresh()
        database = Path(index.database)
    database.write_bytes(b"\x00garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    caplog.set_level(logging.WARNING)
    with _open(ws, cache) as index:
        assert index.refresh().parsed == 4
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_constructor_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        Index(tmp_path / "missing", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="workers"):
        Index(tmp_path, cache_dir=tmp_path / "c", workers=0)


def test_a_closed_index_refuses_work(ws: Path, cache: Path) -> None:
    index = _open(ws, cache)
    index.close()
    index.close()  # idempotent
    with pytest.raises(RuntimeError):
        index.refresh()


def test_copying_the_workspace_gives_an_identical_index(ws: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ws, copy, symlinks=True)
    with _open(ws, tmp_path / "c1") as a, _open(copy, tmp_path / "c2") as b:
        a.refresh()
        b.refresh()
        assert _snapshot(a) == _snapshot(b)
        assert a.database != b.database


def test_cancel_stops_parallel_workers_promptly(
    ws: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many(ws, 300)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_FILES", 10)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def progress(report: Progress) -> None:
        if report.phase == "parsing" and report.done == 30:
            cancel.set()
            cancelled_at.append(time.monotonic())

    with _open(ws, cache, workers=2) as index:
        stats = index.refresh(progress=progress, cancel=cancel)
        returned = time.monotonic()
        assert stats.cancelled
        assert 30 <= stats.parsed < 304
        assert returned - cancelled_at[0] < 1.0
        kept = len(index.paths())
        assert kept == stats.parsed
    with _open(ws, cache) as index:
        assert len(index.paths()) == kept
