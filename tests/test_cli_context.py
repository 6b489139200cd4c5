"""``minimax-lsp context`` as a real process: JSON, table, root detection, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minimax_lsp.server.cli import main
from minimax_lsp.server.cli.context import find_root

SERVICE = """\
from app.models import load_accounts


def greet(path):
    accounts = load_accounts(path)
    return [a.name for a in accounts]
"""
MODELS = """\
class Account:
    def __init__(self, name):
        self.name = name


def load_accounts(path):
    return [Account(line) for line in open(path)]
"""


def _run(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINIMAX_LSP_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "minimax_lsp", "context", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / ".git").mkdir()  # a VCS marker: the root of FILE's repository
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "service.py").write_text(SERVICE)
    (root / "app" / "models.py").write_text(MODELS)
    (root / ".env").write_text("API_TOKEN=ghp_R8x2Lq9Vt4Zm7Wk1Pn5Bc3Hd6Jf0Gs2Ya8Ue\n")
    return root


def test_json_manifest(ws: Path, tmp_path: Path) -> None:
    result = _run(
        "app/service.py",
        "--line",
        "5",
        "--column",
        "34",
        "--budget",
        "3000",
        "--json",
        cwd=ws,
        cache=tmp_path / "cache",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress line when stderr is not a terminal
    data = json.loads(result.stdout)
    assert data["task"] == "complete"
    assert data["budget"] == 3000
    assert 0 < data["tokens"] <= 3000
    items = data["items"]
    assert data["tokens"] == sum(item["tokens"] for item in items)
    assert items[-1]["path"] == "app/service.py"
    assert items[-1]["reason"] == "current file"
    assert "app/models.py" in {item["path"] for item in items}
    assert all(item["path"] != ".env" for item in items)
    for item in items:
        assert {"path", "start_line", "end_line", "mode", "tokens", "reason"} <= set(item)
        assert "text" not in item


def _main(*args: str, cwd: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the command line in this process (fast: no interpreter start, tokenizer loaded)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("MINIMAX_LSP_CACHE_DIR", str(cache))
    try:
        return main(["context", *args])
    except SystemExit as exc:  # argparse rejects bad values itself
        return int(exc.code or 0)


def test_explain_selection_with_text_and_explicit_root(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main(
        str(ws / "app" / "models.py"),
        "--line",
        "6",
        "--selection",
        "6-7",
        "--root",
        str(ws),
        "--budget",
        "5000",
        "--json",
        "--text",
        cwd=tmp_path,
        cache=tmp_path / "cache",
        monkeypatch=monkeypatch,
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    assert data["task"] == "explain"
    assert data["items"][-1]["path"] == "app/models.py"
    assert "def load_accounts" in data["items"][-1]["text"]
    assert any(item["path"] == "app/service.py" for item in data["items"])


def test_table_output(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main(
        "app/service.py",
        "--line",
        "5",
        "--budget",
        "2000",
        cwd=ws,
        cache=tmp_path / "cache",
        monkeypatch=monkeypatch,
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0].split() == ["#", "path", "lines", "mode", "tokens", "reason"]
    assert "app/service.py" in lines[-3] and "current file" in lines[-3]
    assert lines[-1].startswith("total ") and "of 2,000 tokens" in lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["app/missing.py", "--line", "1"], "no such file"),
        (["app/service.py", "--line", "99"], "has 6 lines"),
        (["app/service.py", "--line", "2", "--selection", "5-20"], "has 6 lines"),
        (["app/service.py", "--line", "0"], "at least 1"),
        (["app/service.py", "--line", "2", "--selection", "4-1"], "A <= B"),
    ],
)
def test_usage_errors_exit_2(
    ws: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code = _main(*args, cwd=ws, cache=tmp_path / "cache", monkeypatch=monkeypatch)
    out = capsys.readouterr()
    assert code == 2
    assert message in out.err
    assert out.out == ""


def test_file_outside_root_exits_2(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    code = _main(
        str(outside),
        "--line",
        "1",
        "--root",
        str(ws),
        cwd=ws,
        cache=tmp_path / "c",
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert "outside the workspace root" in capsys.readouterr().err


def test_default_root_is_the_repository_of_file(ws: Path, tmp_path: Path) -> None:
    (ws / "app" / "deep").mkdir()
    assert find_root(ws / "app" / "deep" / "x.py") == ws.resolve()


def test_denied_file_exits_1_with_one_line(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _main(".env", "--line", "1", cwd=ws, cache=tmp_path / "cache", monkeypatch=monkeypatch)
    out = capsys.readouterr()
    assert code == 1
    assert out.out == ""
    assert out.err.count("\n") == 1
    assert "not sent to the model (secret)" in out.err
    assert "ghp_" not in out.err
