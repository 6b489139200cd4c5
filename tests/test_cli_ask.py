"""``minimax-lsp ask`` against the fake MiniMax server.

The streaming, secrecy, Ctrl-C and start-up paths run ``python -m minimax_lsp ask`` as a
real process. The other scenarios call the same entry point (``cli.main``) in this
process, with the real index, context engine, client and fake server: a new interpreter
pays ~1.5-3 s just to load the o200k tokenizer, which would put this file far past its
time budget.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from minimax_lsp.server.cli import main
from tests.fake_minimax import FakeMiniMax, Fault, RecordedRequest, Reply

DOTENV_VALUE = "dotenv-planted-value-4c1e9a7b2f"
AWS_KEY = "AKIAQ3EGRU7LPZ4XKJ2M"
AWS_SECRET = "wJalrXUtnFEMIk7MDENGbPxRfiCYzq4Kt9vQe1Lm"
CANARY_KEY = "sk-cp-canary-7f3a9c1e5b2d4f6a8c0e"

CHECKSUM_PY = '''"""Checksums for uploaded blobs."""


def compute_checksum(data: bytes) -> int:
    """Adler-style rolling sum of the bytes."""
    total = 1
    for byte in data:
        total = (total + byte) % 65521
    return total
'''


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A small workspace: code, prose, a planted .env and a config file holding AWS keys."""
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "src" / "checksum.py").write_text(CHECKSUM_PY)
    (root / "src" / "upload.py").write_text(
        "from src.checksum import compute_checksum\n\n\n"
        "def upload(blob: bytes) -> dict[str, int]:\n"
        "    return {'size': len(blob), 'sum': compute_checksum(blob)}\n"
    )
    for i in range(6):
        body = "".join(
            f"def routine_{i}_{j}(value: int) -> int:\n    return value * {j} + {i}\n\n\n"
            for j in range(12)
        )
        (root / "src" / f"module_{i}.py").write_text(body)
    (root / "README.md").write_text("# Blob store\n\nStores blobs and checks their sums.\n")
    (root / ".env").write_text(f"API_TOKEN={DOTENV_VALUE}\n")
    (root / "config" / "deploy.yaml").write_text(
        f"region: eu-west-1\naws_access_key_id: {AWS_KEY}\naws_secret_access_key: {AWS_SECRET}\n"
    )
    return root


def _env(fake: FakeMiniMax, tmp_path: Path, *, key: str | None = "test-key") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIMAX_")}
    env["MINIMAX_BASE_URL"] = fake.anthropic_base_url
    env["MINIMAX_LSP_CACHE_DIR"] = str(tmp_path / "cache")
    if key is not None:
        env["MINIMAX_API_KEY"] = key
    return env


def _ask(
    fake: FakeMiniMax, tmp_path: Path, *args: str, key: str | None = "test-key", cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minimax_lsp", "ask", *args],
        capture_output=True,
        text=True,
        env=_env(fake, tmp_path, key=key),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def _prompt_text(request: RecordedRequest) -> str:
    """Every text the request carried (system and messages), decoded from the JSON."""
    body: dict[str, Any] = request.body
    texts = [block["text"] for block in body.get("system", [])]
    for message in body["messages"]:
        texts += [block.get("text", "") for block in message["content"]]
    return "\n".join(texts)


def _final_user_texts(request: RecordedRequest) -> list[str]:
    body: dict[str, Any] = request.body
    return [block["text"] for block in body["messages"][-1]["content"]]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def ask_here(
    fake_minimax: FakeMiniMax,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Callable[..., Run]:
    """Run ``minimax-lsp ask ARGS`` in this process (same env as the subprocess runs)."""

    def run(*args: str, key: str | None = "test-key") -> Run:
        for name in list(os.environ):
            if name.startswith("MINIMAX_"):
                monkeypatch.delenv(name)
        for name, value in _env(fake_minimax, tmp_path, key=key).items():
            if name.startswith("MINIMAX_"):
                monkeypatch.setenv(name, value)
        capfd.readouterr()
        code = main(["ask", *args])
        out, err = capfd.readouterr()
        return Run(code, out, err)

    return run


# --------------------------------------------------------------------------- real processes


def test_answer_streams_and_the_request_carries_the_definition_but_no_secret(
    fake_minimax: FakeMiniMax, ws: Path, tmp_path: Path
) -> None:
    answer = " ".join(f"word{i}" for i in range(20))
    fake_minimax.enqueue(Reply(text=answer, chunks=10, tps=80))
    proc = subprocess.Popen(
        [sys.executable, "-m", "minimax_lsp", "ask", "What does compute_checksum return?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(fake_minimax, tmp_path),
        cwd=ws,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = os.read(proc.stdout.fileno(), 4096).decode()
        # The first piece is on stdout while the fake is still writing the rest.
        assert first and answer.startswith(first)
        assert fake_minimax.open_streams == 1
        rest = proc.stdout.read().decode()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=30) == 0, err
    finally:
        proc.kill()
        proc.wait()
    assert first + rest == answer + "\n"
    (request,) = fake_minimax.requests
    sent = _prompt_text(request)
    assert 'path="src/checksum.py"' in sent
    assert "def compute_checksum(data: bytes) -> int:" in sent
    assert request.body["messages"][-1]["content"][-1]["text"] == (
        "What does compute_checksum return?"
    )
    # The config file went out with its keys redacted; the .env file never went out.
    assert 'path="config/deploy.yaml"' in sent and "region: eu-west-1" in sent
    for secret in (DOTENV_VALUE, AWS_KEY, AWS_SECRET):
        assert secret not in sent
        assert secret.encode() not in request.raw_body
    assert request.body["thinking"] == {"type": "adaptive"}
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("MiniMax-M3: ") and "files in context" in summary
    assert "from cache" in summary and "output" in summary


@pytest.mark.slow  # a second interpreter start (~2-5 s with the tokenizer load)
def test_ctrl_c_closes_the_stream_and_exits_130(
    fake_minimax: FakeMiniMax, ws: Path, tmp_path: Path
) -> None:
    words = " ".join(f"w{i}" for i in range(400))
    fake_minimax.enqueue(Reply(text=words, chunks=200, tps=50))
    proc = subprocess.Popen(
        [sys.executable, "-m", "minimax_lsp", "ask", "talk", "--root", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(fake_minimax, tmp_path),
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert os.read(proc.stdout.fileno(), 64)  # the answer has started
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert fake_minimax.wait_for(lambda: fake_minimax.client_disconnects == 1)
    assert fake_minimax.wait_for(lambda: fake_minimax.open_streams == 0)
    assert err.strip().endswith("minimax-lsp ask: interrupted")


def test_no_key_exits_1_before_anything_is_sent(
    fake_minimax: FakeMiniMax, ws: Path, tmp_path: Path
) -> None:
    done = _ask(fake_minimax, tmp_path, "hi?", "--root", str(ws), key=None, cwd=ws)
    assert done.returncode == 1
    assert done.stderr == (
        "minimax-lsp ask: MINIMAX_API_KEY is not set (or apiKeyFile/apiKeyCommand)\n"
    )
    assert done.stdout == ""
    assert fake_minimax.requests == []


def test_a_bad_argument_exits_2_from_the_command_line(
    fake_minimax: FakeMiniMax, ws: Path, tmp_path: Path
) -> None:
    done = _ask(fake_minimax, tmp_path, "q?", "--lines", "3-1", cwd=ws)
    assert done.returncode == 2
    assert "expected 1 <= A <= B" in done.stderr


# --------------------------------------------------------------------------- in process


def test_thinking_is_hidden_by_default_and_shown_on_stderr_on_request(
    fake_minimax: FakeMiniMax, ws: Path, ask_here: Callable[..., Run]
) -> None:
    thought = "pondering the rolling sum carefully"
    fake_minimax.enqueue(Reply(text="Modulo 65521.", thinking=thought))
    hidden = ask_here("What modulus?", "--root", str(ws))
    assert hidden.code == 0, hidden.err
    assert hidden.out == "Modulo 65521.\n"
    assert thought not in hidden.err

    fake_minimax.enqueue(Reply(text="Modulo 65521.", thinking=thought))
    shown = ask_here("What modulus?", "--root", str(ws), "--show-thinking")
    assert shown.code == 0, shown.err
    assert shown.out == "Modulo 65521.\n"
    assert thought in shown.err
    assert "\x1b[" not in shown.err  # not a terminal: no dimming codes


def test_file_and_lines_put_the_selection_next_to_the_question(
    fake_minimax: FakeMiniMax,
    ws: Path,
    ask_here: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ws / "src")  # --file is relative to the current directory
    done = ask_here("Why 65521?", "--root", str(ws), "--file", "checksum.py", "--lines", "7-8")
    assert done.code == 0, done.err
    (request,) = fake_minimax.requests
    current, selection, question = _final_user_texts(request)[-3:]
    assert current.startswith('<current_file>\n<file path="src/checksum.py"')
    assert selection == (
        '<selection path="src/checksum.py" lines="7-8">\n'
        "    for byte in data:\n"
        "        total = (total + byte) % 65521\n"
        "</selection>\n"
    )
    assert question.startswith("Explain the selected code (`src/checksum.py`, lines 7-8)")
    assert question.endswith("Why 65521?")
    assert "explained" in request.body["system"][0]["text"]


def test_a_rejected_key_exits_1_with_one_sentence_and_never_the_key(
    fake_minimax: FakeMiniMax, ws: Path, ask_here: Callable[..., Run]
) -> None:
    done = ask_here("hi?", "--root", str(ws), key=CANARY_KEY)
    assert done.code == 1
    assert done.out == ""
    line = done.err.strip()
    assert "\n" not in line
    assert line.startswith("minimax-lsp ask: MiniMax rejected the API key (401")
    assert CANARY_KEY not in done.err + done.out
    assert len(fake_minimax.requests) == 1  # 401 is not retried


def test_an_overloaded_endpoint_is_retried_then_answers(
    fake_minimax: FakeMiniMax, ws: Path, ask_here: Callable[..., Run]
) -> None:
    fake_minimax.enqueue(Fault.http(529, retry_after_ms=20), Reply(text="Recovered."))
    done = ask_here("still there?", "--root", str(ws))
    assert done.code == 0, done.err
    assert done.out == "Recovered.\n"
    assert len(fake_minimax.requests) == 2


def test_a_context_overflow_shrinks_the_pack_and_retries_once(
    fake_minimax: FakeMiniMax, ws: Path, ask_here: Callable[..., Run]
) -> None:
    overflow = Fault.http(400, code=2013, message="invalid params, context window exceeds limit")
    fake_minimax.enqueue(overflow, Reply(text="Smaller now."))
    done = ask_here("Summarise compute_checksum", "--root", str(ws))
    assert done.code == 0, done.err
    assert done.out == "Smaller now.\n"
    first, second = fake_minimax.requests
    assert len(second.raw_body) < len(first.raw_body)
    assert "smaller context" in done.err

    # A second overflow in a row is reported, not retried again.
    fake_minimax.enqueue(overflow, overflow)
    again = ask_here("Summarise compute_checksum", "--root", str(ws))
    assert again.code == 1
    assert again.err.strip().splitlines()[-1].startswith("minimax-lsp ask: The prompt is too long")
    assert len(fake_minimax.requests) == 4


def test_json_prints_one_object_with_answer_usage_and_manifest(
    fake_minimax: FakeMiniMax,
    ws: Path,
    ask_here: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ws)
    fake_minimax.enqueue(Reply(text="A sum.", thinking="let me think"))
    done = ask_here("compute_checksum?", "--json", "--show-thinking")
    assert done.code == 0, done.err
    assert done.err == ""
    data = json.loads(done.out)
    assert set(data) == {
        "answer",
        "thinking",
        "model",
        "stop_reason",
        "usage",
        "manifest",
        "context_retries",
    }
    # MiniMax's blank lines between thinking and text are dropped.
    assert (data["answer"], data["thinking"]) == ("A sum.", "let me think")
    assert (data["model"], data["stop_reason"], data["context_retries"]) == (
        "MiniMax-M3",
        "end_turn",
        0,
    )
    usage = data["usage"]
    assert usage["total_input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_input_tokens"] == (
        usage["input_tokens"]
        + usage["cache_read_input_tokens"]
        + usage["cache_creation_input_tokens"]
    )
    manifest = data["manifest"]
    assert manifest["task"] == "chat" and 0 < manifest["tokens"] <= manifest["budget"]
    paths = {item["path"] for item in manifest["items"]}
    assert "src/checksum.py" in paths and ".env" not in paths
    assert manifest["files"] == len(paths)
    assert all("text" not in item for item in manifest["items"])

    fake_minimax.enqueue(Reply(text="B.", thinking="secret musings"))
    plain = json.loads(ask_here("q?", "--json").out)
    assert "thinking" not in plain and plain["answer"] == "B."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lines", "1-2"), "--lines needs --file"),
        (("--file", ".env"), ".env: not in the index"),
        (("--file", "/etc/hostname"), "not inside the workspace"),
        (("--file", "src/checksum.py", "--lines", "50-60"), "has 9 lines"),
        (("--root", "no/such/dir"), "no such directory"),
        (("  ",), "the question is empty"),
    ],
)
def test_usage_errors_exit_2(
    fake_minimax: FakeMiniMax,
    ws: Path,
    ask_here: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(ws)
    question = () if args == ("  ",) else ("q?",)
    done = ask_here(*question, *args)
    assert done.code == 2
    assert message in done.err
    assert fake_minimax.requests == []
