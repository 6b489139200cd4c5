"""Crash safety of the index cache (docs/reliability.md).

The CI-sized run of ``tests/reliability/crash.py``: ``minimax-lsp index`` (sequential
and with parser processes) and ``minimax-lsp serve`` are killed with SIGKILL at random
points while indexing a changing tree, a dozen times in a row on one cache. After every
kill the SQLite file passes ``PRAGMA quick_check`` and no stored row that a refresh
would trust describes anything but the file on disk; after a final complete run the
persisted index equals a fresh index of the tree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.store import database_path
from tests.reliability.churn import compare_entries, fresh_entries, stored_entries
from tests.reliability.crash import CI_KILLS, run_crashes, untrustworthy_rows


@pytest.mark.slow
def test_sigkill_while_indexing_never_leaves_a_wrong_index(tmp_path: Path) -> None:
    report = run_crashes(tmp_path)
    print(json.dumps(report.summary(), indent=1))  # kept in the test report

    assert report.kills == CI_KILLS
    assert sum(report.killed.values()) >= CI_KILLS // 2, "most kills should land mid-run"
    assert report.quick_check == {"ok": CI_KILLS}
    assert report.untrustworthy == []
    assert report.final_exit_status == 0
    assert report.final_vs_fresh == {"missing": [], "extra": [], "different": []}
    assert report.final_files == report.fresh_files > 1000


def test_same_size_same_mtime_rewrite_is_not_trusted_after_a_kill(tmp_path: Path) -> None:
    """A file rewritten (same size, same mtime) just after indexing, then a killed run.

    The racy-timestamp rule (a file modified within 2 s of being read is stored with
    mtime 0) is what keeps such a rewrite from being trusted after a restart.
    """
    root = tmp_path / "tree"
    root.mkdir()
    path = root / "racy.py"
    path.write_text("def one():\n    return 1\n", encoding="utf-8")
    cache = tmp_path / "cache"
    with Index(root, cache_dir=cache, workers=1) as index:
        index.refresh()
    stat = path.stat()
    path.write_text("def two():\n    return 2\n", encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime too
    # A server indexing the tree is killed right away; the row must not be trusted.
    env = {**os.environ, "MINIMAX_LSP_CACHE_DIR": str(cache)}
    process = subprocess.Popen(
        [sys.executable, "-m", "minimax_lsp", "index", str(root), "--cache-dir", str(cache)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    assert database_path(root, cache).exists()
    assert untrustworthy_rows(root, stored_entries(root, cache)) == []
    with Index(root, cache_dir=cache, workers=1) as index:
        index.refresh()
        diff = compare_entries(index.entries(), fresh_entries(root, tmp_path / "fresh")[0])
    assert diff.same, diff
