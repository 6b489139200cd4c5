"""Smoke test of ``tests/bench/bench_index.py``: it runs end to end on a tiny tree.

The benchmark itself is not a test (its numbers go to docs/benchmarks.md); this only
checks that the script, its measuring child processes and its JSON report work, so that
the real run does not break unnoticed. No aider, one run per measurement, 3 edits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("bench_index.py")


def _tree(root: Path) -> Path:
    package = root / "pkg"
    package.mkdir(parents=True)
    for i in range(8):
        (package / f"mod{i}.py").write_text(f"def f{i}():\n    return {i}\n", encoding="utf-8")
    (root / "README.md").write_text("A tiny tree.\n", encoding="utf-8")
    return root


def test_bench_index_runs_and_reports(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    before = {p: p.read_bytes() for p in tree.rglob("*.py")}
    out = tmp_path / "report.json"
    argv = [sys.executable, str(SCRIPT), "--tree", str(tree), "--skip-aider"]
    argv += ["--edits", "3", "--runs", "1", "--work", str(tmp_path / "work"), "--json", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr

    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"machine", "tree", "ours", "update", "watcher", "aider", "targets"} <= report.keys()
    full = report["ours"]["full"]
    assert full["cold"]["files"] == 9  # 8 modules + README
    assert full["cold"]["parsed"] == 9
    assert full["warm"]["parsed"] == 0  # a warm restart re-parses nothing
    assert full["warm"]["index_s"] > 0
    assert full["cold"]["rss_main_mib"] > 0
    assert report["update"]["n"] == 3 and report["watcher"]["n"] == 3
    assert report["update_lost"] == 0 and report["watcher_lost"] == 0
    assert report["update"]["p50_ms"] <= report["update"]["p95_ms"]
    assert set(report["watcher"]["params"]) == {"debounce_ms", "step_ms"}
    assert report["aider"] is None and report["ratios"] == {}
    assert len(report["targets"]) == 4  # no aider: no ratio target
    assert all(isinstance(t["pass"], bool) for t in report["targets"])
    assert "| target | reached |" in proc.stdout
    # The edited files are restored byte for byte.
    assert {p: p.read_bytes() for p in tree.rglob("*.py")} == before
