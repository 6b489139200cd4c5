"""The VS Code extension (``editors/vscode/``): settings sync, unit tests, checks, e2e.

* ``test_settings_match_server``: ``package.json``'s contributed settings equal the
  server's ``Settings`` dataclass (``scripts/sync_settings.py --check``).
* ``test_unit``: the extension's TypeScript unit tests (esbuild bundles, ``node --test``).
* ``test_typecheck_and_lint``: ``tsc --noEmit`` (strict) and ESLint.
* ``test_e2e``: package the ``.vsix`` and run ``test/e2e/e2e.js`` in a real VS Code
  (code-server) driven by Playwright + Debian Chromium, against the real language server
  and the fake MiniMax of ``tests/vscode/e2e_fake.py`` (which reports the Authorization
  headers it saw). Screenshots and logs go to ``test-artifacts/vscode/``.

Prerequisites come from ``editors/vscode/scripts/ci-setup.sh`` (Node, the extension's npm
dependencies, code-server, Chromium). When one is missing the test is skipped with the
reason, except in CI (``CI=true``), where a missing prerequisite is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"
ARTIFACTS = REPO / "test-artifacts" / "vscode"
CODE_SERVER = Path(
    os.environ.get(
        "MINIMAX_CODE_SERVER",
        EXTENSION / ".cache/code-server-4.100.3/node_modules/code-server/out/node/entry.js",
    )
)
CHROMIUM = Path(os.environ.get("MINIMAX_E2E_CHROMIUM", "/usr/bin/chromium"))
SETUP_HINT = "run `bash editors/vscode/scripts/ci-setup.sh`"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _require(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) when a prerequisite is missing."""
    if condition:
        return
    message = f"{reason}; {SETUP_HINT}"
    if _in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def _require_node() -> str:
    npm = shutil.which("npm")
    _require(shutil.which("node") is not None and npm is not None, "node/npm not found")
    _require(
        (EXTENSION / "node_modules" / ".bin" / "esbuild").exists(), "extension npm deps missing"
    )
    assert npm is not None
    return npm


def _run(args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run a command in the extension folder; fail the test with its output on error."""
    proc = subprocess.run(
        args,
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{output[-6000:]}")
    return output


def test_settings_match_server() -> None:
    """package.json settings are generated from the server's Settings (cannot drift)."""
    proc = subprocess.run(
        [sys.executable, str(EXTENSION / "scripts" / "sync_settings.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    names = {
        name
        for section in package["contributes"]["configuration"]
        for name in section["properties"]
    }
    # The server's settings plus the extension's own two; never the key itself.
    assert {"minimax.model", "minimax.tasks.chat.budget", "minimax.showNotifications"} <= names
    assert {"minimax.interpreter", "minimax.trace.server"} <= names
    assert not any(n.lower().endswith("apikey") for n in names)


@pytest.mark.slow
def test_unit() -> None:
    """The TypeScript unit tests pass (node --test on the esbuild bundles)."""
    npm = _require_node()
    output = _run([npm, "test", "--silent"], timeout=120)
    assert "# fail 0" in output, output[-3000:]


@pytest.mark.slow
def test_typecheck_and_lint() -> None:
    """tsc --noEmit (strict) and ESLint report nothing."""
    npm = _require_node()
    _run([npm, "run", "--silent", "typecheck"], timeout=180)
    _run([npm, "run", "--silent", "lint"], timeout=300)


def _e2e_result(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("E2E-RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("E2E-RESULT "))
            return result
    pytest.fail(f"the e2e printed no result line:\n{output[-6000:]}")


@pytest.mark.slow
def test_e2e(tmp_path: Path) -> None:
    """The packaged extension in code-server + Chromium, against the real server.

    The e2e driver starts the fake MiniMax itself (``tests/vscode/e2e_fake.py``) and checks
    that the key typed into ``MiniMax: Set API Key`` reached it as ``Authorization:
    Bearer`` on every model request and appears in no file; this test runs it and fails
    on a failed step. Steps skipped for a missing server feature become warnings.
    """
    npm = _require_node()
    _require(CODE_SERVER.exists(), f"code-server not installed at {CODE_SERVER}")
    _require(CHROMIUM.exists(), f"chromium not found at {CHROMIUM}")
    _run([npm, "run", "--silent", "package"], timeout=300)
    _run([npm, "run", "--silent", "build", "--", "--only=e2e"], timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "MINIMAX_API_KEY"}
    env.update(
        MINIMAX_E2E_PYTHON=sys.executable,
        MINIMAX_E2E_API_KEY="e2e-" + secrets.token_hex(16),
        MINIMAX_E2E_ARTIFACTS=str(ARTIFACTS),
        MINIMAX_CODE_SERVER=str(CODE_SERVER),
        MINIMAX_E2E_CHROMIUM=str(CHROMIUM),
        TMPDIR=str(tmp_path),
    )
    proc = subprocess.run(
        ["node", "out/e2e/e2e.js"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    output = proc.stdout + proc.stderr
    result = _e2e_result(output)
    failed = [s["name"] for s in result["steps"] if s["status"] == "failed"]
    assert proc.returncode == 0 and not failed, f"failed: {failed}\n{output[-6000:]}"
    names = [s["name"] for s in result["steps"]]
    assert names[:2] == ["start", "set-api-key"] and names[-1] == "key-nowhere-else", names
    for step in result["steps"]:
        if step["status"] == "skipped":
            message = f"VS Code e2e step {step['name']} skipped: {step['detail']}"
            warnings.warn(message, stacklevel=1)


def test_e2e_fake_answers_by_task_and_reports_the_key(tmp_path: Path) -> None:
    """The e2e's fake answers per task and counts how the key arrived (never writing it)."""
    from tests.fake_minimax.script import RecordedRequest
    from tests.vscode.e2e_fake import COMPLETION, REFACTOR_MARKER, Responder

    key = "k-" + secrets.token_hex(8)
    report = tmp_path / "report.json"
    responder = Responder(key, report)
    assert json.loads(report.read_text()) == {"modelRequests": 0, "bearerKey": 0, "keyInBody": 0}

    def request(prompt: str, authorization: str, raw: bytes = b"{}") -> RecordedRequest:
        body = {"system": prompt, "messages": []}
        headers = {"authorization": authorization}
        return RecordedRequest("POST", "/anthropic/v1/messages", headers, body, raw, 0.0)

    completion = responder(request("answer inside <completion>", f"Bearer {key}"))
    edit = responder(request("answer between <replacement> tags", f"Bearer {key}"))
    other = responder(request("explain this", "Bearer other", raw=key.encode()))
    assert completion.text == f"<completion>{COMPLETION}</completion>"
    assert edit.text.splitlines()[1] == REFACTOR_MARKER
    assert other.text.startswith("**fake answer**")
    text = report.read_text()
    assert json.loads(text) == {"modelRequests": 3, "bearerKey": 2, "keyInBody": 1}
    assert key not in text
