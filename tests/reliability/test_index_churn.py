"""The index under churn (docs/reliability.md): storms of file changes, convergence, latency.

``test_churn_converges_while_serving`` is the CI-sized run of
``tests/reliability/churn.py``: ~2,000 files switched between two git revisions three
times, with hostile changes in between (binary files, dangling symlinks, a FIFO, a
symlink loop, a folder renamed and one deleted, a workspace folder deleted from disk),
while a prober measures ``minimax.status`` / ``minimax.showContext`` latency. The
server's index must converge to a fresh index of the final tree, entry by entry.

``test_tracked_set_follows_git`` is a bug the churn exposed (fixed): git's tracked set
was cached until the rules were reloaded, and a checkout or ``git rm --cached`` that
changes only ``.git/index`` never reloaded it. The watcher now reports ``.git/index``
and the index re-asks git for the tracked set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.watch import Watcher
from tests.fake_minimax import FakeMiniMax
from tests.reliability.churn import compare_entries, fresh_entries, git, run_churn


@pytest.mark.slow
def test_churn_converges_while_serving(fake_minimax: FakeMiniMax, tmp_path: Path) -> None:
    report = run_churn(tmp_path, fake_minimax)
    print(json.dumps(report.summary(), indent=1)[:8000])  # kept in the test report

    assert report.files_a > 1500 and sum(report.diff_a_to_b.values()) > 1000
    assert report.converged, (
        f"server: {report.server_files} files / {report.server_symbols} symbols, "
        f"fresh index: {report.fresh_files} / {report.fresh_symbols}"
    )
    assert report.stored_vs_fresh == {"missing": [], "extra": [], "different": []}
    assert report.probe_failures == []
    assert report.latency["status"]["n"] > 10 and report.latency["showContext"]["n"] > 10
    assert report.latency["status"]["max"] < 10 and report.latency["showContext"]["max"] < 10
    assert report.second_folder == {"answers_after_rmtree": True, "removed_from_status": True}
    assert report.server_alive and report.exit_status == 0


def _settle(index: Index, watcher: Watcher, seconds: float = 4.0) -> None:
    """Wait until the watcher has applied a batch and then stayed quiet for a while."""
    deadline = time.monotonic() + seconds
    batches = watcher.batches
    while time.monotonic() < deadline and watcher.batches == batches:
        time.sleep(0.05)
    time.sleep(0.5)


def test_tracked_set_follows_git(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text("local_*.py\n", encoding="utf-8")
    (root / "a.py").write_text("def a():\n    return 1\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "A")
    first = git(root, "rev-parse", "HEAD").strip()
    (root / "local_tracked.py").write_text("def forced():\n    return 2\n", encoding="utf-8")
    git(root, "add", "-f", "local_tracked.py")
    git(root, "commit", "-q", "-m", "B")
    second = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-f", first)
    # 1. A checkout brings a tracked file that .gitignore matches: it must be indexed.
    with Index(root, cache_dir=tmp_path / "cache-1", workers=1) as index:
        watcher = Watcher(index)
        watcher.start()
        try:
            index.refresh()
            git(root, "checkout", "-q", "-f", second)
            _settle(index, watcher)
            arrived = compare_entries(index.entries(), fresh_entries(root, tmp_path / "f1")[0])
        finally:
            watcher.stop()
    # 2. `git rm --cached` leaves it on disk, only ignored now: it must leave the index.
    with Index(root, cache_dir=tmp_path / "cache-2", workers=1) as index:
        watcher = Watcher(index)
        watcher.start()
        try:
            index.refresh()
            assert "local_tracked.py" in index.paths()
            git(root, "rm", "-q", "--cached", "local_tracked.py")
            (root / "local_tracked.py").write_text("SECRET = 'x'\n", encoding="utf-8")
            _settle(index, watcher)
            left = compare_entries(index.entries(), fresh_entries(root, tmp_path / "f2")[0])
        finally:
            watcher.stop()
    assert arrived.same, arrived
    assert left.same, left
