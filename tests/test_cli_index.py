"""``minimax-lsp index`` as a real process: JSON, summary, bad paths, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

JSON_KEYS = {
    "root",
    "files",
    "symbols",
    "languages",
    "skipped",
    "parsed",
    "reused",
    "removed",
    "seconds",
    "database",
}


def _run(
    *args: str, cache: Path, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINIMAX_LSP_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "minimax_lsp", "index", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 0\n\nclass App:\n    pass\n")
    (root / "src" / "lib.rs").write_text("pub fn run() {}\n")
    (root / "notes.txt").write_text("plain words here\n")
    (root / ".env").write_text("TOKEN=x\n")
    return root


def test_json_output_and_a_second_run_reuses_everything(ws: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run(str(ws), "--json", cache=cache)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no progress bar when stderr is not a terminal
    data = json.loads(first.stdout)
    assert set(data) == JSON_KEYS
    assert data["root"] == str(ws.resolve())
    assert (data["files"], data["symbols"], data["parsed"], data["reused"]) == (3, 3, 3, 0)
    assert data["languages"] == {"python": 1, "rust": 1, "text": 1}
    assert data["skipped"] == {"secret": 1}
    assert data["removed"] == 0
    assert isinstance(data["seconds"], float)
    assert Path(data["database"]).is_file()
    assert Path(data["database"]).is_relative_to(cache)

    (ws / "notes.txt").unlink()
    second = json.loads(_run(str(ws), "--json", cache=cache).stdout)
    assert (second["files"], second["parsed"], second["reused"], second["removed"]) == (2, 0, 2, 1)


def test_default_root_is_the_current_directory_and_summary_is_readable(
    ws: Path, tmp_path: Path
) -> None:
    result = _run(cache=tmp_path / "cache", cwd=ws)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert str(ws.resolve()) in out
    assert "3 symbols" in out
    assert "python 1" in out and "rust 1" in out
    assert "secret 1" in out
    assert "3 parsed, 0 reused, 0 removed" in out


def test_cache_dir_option_wins(ws: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    result = _run(str(ws), "--json", "--cache-dir", str(chosen), cache=tmp_path / "env")
    assert Path(json.loads(result.stdout)["database"]).parent == chosen / "index"
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_bad_root_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "nope"
    if kind == "file":
        target.write_text("not a folder")
    result = _run(str(target), "--json", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("minimax-lsp index:") and str(target) in lines[0]


def test_bad_workers_is_a_usage_error(ws: Path, tmp_path: Path) -> None:
    result = _run(str(ws), "--workers", "0", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert "at least 1" in result.stderr


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "big"
    for i in range(1500):
        folder = root / f"d{i % 30}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{i}_{j}(a, b):\n    return a + b * {j}\n\n" for j in range(40))
        (folder / f"m{i}.py").write_text(body)
    cache = tmp_path / "cache"
    env = {**os.environ, "MINIMAX_LSP_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "minimax_lsp", "index", str(root), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # The database appears when the index opens, before the refresh starts.
    deadline = time.monotonic() + 20
    while not list(cache.glob("index/*.sqlite3")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.strip() == "minimax-lsp index: interrupted"
    assert "Traceback" not in err
    assert out == ""
