"""``python -m tests.fake_minimax`` as a separate process, as editor-shim tests start it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SECRET = "sk-standalone-secret-123"


def test_standalone_server_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_minimax", "--port", "0", "--api-key", SECRET],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        response = httpx.post(
            url + "/anthropic/v1/messages",
            json={
                "model": "MiniMax-M3",
                "max_tokens": 20,
                "messages": [{"role": "user", "content": "ping"}],
            },
            headers={"authorization": f"Bearer {SECRET}"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["content"][0]["text"] == "fake answer to: ping"
        denied = httpx.post(url + "/v1/chat/completions", json={}, timeout=10)
        assert denied.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert SECRET not in out and SECRET not in err
