"""``minimax-lsp doctor``: settings, key presence (never its value), index health, endpoint.

One test runs the real process; the others call the same entry point (``cli.main``) in
this process against real files, a real index database and the fake MiniMax server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.store import database_path
from minimax_lsp.server.cli import main
from tests.fake_minimax import FakeMiniMax, Fault

CANARY_KEY = "sk-cp-doctor-canary-5e8d2a9f1c7b3e6d"
JSON_KEYS = {
    "ok",
    "failed",
    "checks",
    "settings",
    "key",
    "packages",
    "grammars",
    "index",
    "online",
}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "core.py").write_text("def run():\n    return 1\n\n\nclass Engine:\n    pass\n")
    (root / "pkg" / "util.go").write_text("package pkg\n\nfunc Helper() int { return 2 }\n")
    (root / "notes.md").write_text("# Notes\n")
    return root


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("MINIMAX_LSP_CACHE_DIR", str(path))
    return path


@pytest.fixture
def doctor(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], cache: Path
) -> Callable[..., Run]:
    """Run ``minimax-lsp doctor ARGS`` in this process with a clean MINIMAX_* environment."""

    def run(*args: str, key: str | None = None, **env: str) -> Run:
        for name in list(os.environ):
            if name.startswith("MINIMAX_") and name != "MINIMAX_LSP_CACHE_DIR":
                monkeypatch.delenv(name)
        if key is not None:
            monkeypatch.setenv("MINIMAX_API_KEY", key)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capfd.readouterr()
        code = main(["doctor", *args])
        out, err = capfd.readouterr()
        return Run(code, out, err)

    return run


def _statuses(data: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in data["checks"]}


def test_the_real_process_shows_the_key_as_present_and_never_its_value(
    ws: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIMAX_")}
    env.update(MINIMAX_API_KEY=CANARY_KEY, MINIMAX_LSP_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "minimax_lsp", "doctor", "--root", str(ws)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert CANARY_KEY not in done.stdout + done.stderr
    assert "API key           present (env)" in done.stdout
    assert "model             MiniMax-M3" in done.stdout
    assert "base URL          https://api.minimax.io/anthropic" in done.stdout
    assert "schema            not built" in done.stdout
    assert "warn  index: not built yet" in done.stdout
    assert done.stderr == ""


def test_without_a_key_the_key_check_fails_and_is_listed(
    ws: Path, doctor: Callable[..., Run]
) -> None:
    done = doctor("--root", str(ws))
    assert done.code == 1
    assert "API key           absent" in done.out
    assert done.err == (
        "minimax-lsp doctor: 1 check(s) failed: api key: MINIMAX_API_KEY is not set "
        "(or apiKeyFile/apiKeyCommand)\n"
    )


def test_json_reports_settings_packages_grammars_and_index_health(
    ws: Path, doctor: Callable[..., Run], cache: Path
) -> None:
    before = doctor("--root", str(ws), "--json", key=CANARY_KEY, MINIMAX_MODEL="MiniMax-M2.7")
    assert before.code == 0, before.err
    assert CANARY_KEY not in before.out + before.err
    data = before.json()
    assert set(data) == JSON_KEYS
    assert (data["ok"], data["failed"], data["online"]) == (True, [], None)
    assert data["key"] == {"present": True, "source": "env"}
    settings = data["settings"]
    assert (settings["model"], settings["completion_model"], settings["api"]) == (
        "MiniMax-M2.7",
        "MiniMax-M2.7",
        "anthropic",
    )
    assert settings["context_window"] == 204_800
    chat = settings["tasks"]["chat"]
    assert chat["budget"] == 0 and 0 < chat["effective_budget"] < 204_800 - 16_384
    assert settings["tasks"]["completion"]["effective_budget"] == 6000
    assert data["packages"]["minimax-lsp"] and data["packages"]["pygls"]
    assert data["grammars"]["python"]["ok"] and data["grammars"]["go"]["ok"]
    assert data["index"]["schema"] == "not built" and data["index"]["files"] is None
    assert data["index"]["database"] == str(database_path(ws, cache))
    assert _statuses(data)["index"] == "warn"

    with Index(ws, workers=1) as index:
        index.refresh()
    after = doctor("--root", str(ws), "--json", key=CANARY_KEY).json()
    health = after["index"]
    assert (health["schema"], health["files"], health["symbols"]) == ("ok", 3, 3)
    assert health["last_refresh"].endswith("+00:00")
    assert all(status == "ok" for status in _statuses(after).values())


def test_refresh_builds_the_index_and_a_damaged_database_is_reported_untouched(
    ws: Path, doctor: Callable[..., Run], cache: Path
) -> None:
    built = doctor("--root", str(ws), "--json", "--refresh", key=CANARY_KEY).json()
    assert (built["index"]["schema"], built["index"]["files"]) == ("ok", 3)

    database = database_path(ws, cache)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    damaged = doctor("--root", str(ws), "--json", key=CANARY_KEY)
    assert damaged.code == 0  # the index rebuilds itself: worth a warning, not a failure
    health = damaged.json()["index"]
    assert health["schema"] == "needs rebuild" and health["files"] is None
    assert database.read_bytes() == b"this is not a database" * 100


def test_invalid_settings_warn_and_a_bad_base_url_fails(
    ws: Path, doctor: Callable[..., Run]
) -> None:
    warned = doctor("--root", str(ws), "--json", key=CANARY_KEY, MINIMAX_API="grpc").json()
    assert warned["ok"] is True
    assert _statuses(warned)["settings"] == "warn"
    assert warned["settings"]["api"] == "anthropic"
    assert warned["settings"]["problems"] == ["api (environment): invalid value 'grpc'; ignored"]

    bad = doctor("--root", str(ws), "--json", key=CANARY_KEY, MINIMAX_BASE_URL="ftp://x")
    assert bad.code == 1
    assert bad.json()["failed"] == ["base URL"]


def test_online_check_reports_latency_against_the_fake(
    ws: Path, doctor: Callable[..., Run], fake_minimax: FakeMiniMax
) -> None:
    done = doctor(
        "--root",
        str(ws),
        "--online",
        "--json",
        key="test-key",
        MINIMAX_BASE_URL=fake_minimax.anthropic_base_url,
    )
    assert done.code == 0, done.err
    online = done.json()["online"]
    assert online["ok"] is True and online["error"] is None
    assert 0 < online["latency_seconds"] < 10
    assert online["base_url"] == fake_minimax.anthropic_base_url
    (request,) = fake_minimax.requests
    assert request.body["max_tokens"] == 8
    assert request.body["thinking"] == {"type": "disabled"}

    text = doctor(
        "--root",
        str(ws),
        "--online",
        key="test-key",
        MINIMAX_BASE_URL=fake_minimax.anthropic_base_url,
    )
    assert text.code == 0
    assert "reachable, key accepted" in text.out


def test_online_check_fails_on_a_rejected_key_without_showing_it(
    ws: Path, doctor: Callable[..., Run], fake_minimax: FakeMiniMax
) -> None:
    done = doctor(
        "--root",
        str(ws),
        "--online",
        key=CANARY_KEY,
        MINIMAX_BASE_URL=fake_minimax.anthropic_base_url,
    )
    assert done.code == 1
    assert CANARY_KEY not in done.out + done.err
    assert "FAILED: MiniMax rejected the API key (401" in done.out
    assert done.err.startswith("minimax-lsp doctor: 1 check(s) failed: endpoint: MiniMax rejected")
    assert len(fake_minimax.requests) == 1  # no retries

    fake_minimax.enqueue(Fault.http(529, code=2064))
    busy = doctor(
        "--root",
        str(ws),
        "--online",
        "--json",
        key="test-key",
        MINIMAX_BASE_URL=fake_minimax.anthropic_base_url,
    )
    assert busy.code == 1
    assert busy.json()["online"]["error"].startswith("MiniMax is overloaded")


def test_usage_errors_exit_2(tmp_path: Path, doctor: Callable[..., Run]) -> None:
    missing = doctor("--root", str(tmp_path / "nope"))
    assert missing.code == 2
    assert "no such directory" in missing.err
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--bogus"])
    assert exc.value.code == 2
