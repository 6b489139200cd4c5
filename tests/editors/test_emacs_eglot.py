"""The Emacs configuration of ``docs/editors.md``, run in a real Emacs against the real server.

``emacs --batch -Q`` loads Eglot (built in, or Debian's ``elpa-eglot``), then the init
snippet that ``docs/editors.md`` shows between ``<!-- begin tested emacs init -->`` and
``<!-- end tested emacs init -->`` (read from the doc, so the doc cannot drift), which
loads ``editors/emacs/minimax-eglot.el`` (the doc shows that file verbatim; checked here
too). The driver ``emacs/minimax-eglot-test.el`` then opens a Python file of a small git
workspace and, as a user would:

1. lets ``eglot-ensure`` start ``minimax-lsp serve`` (this venv's console script, found
   on ``PATH``) and checks that the server answered as ``minimax-lsp``;
2. opens Eglot's code-action menu inside a function, checks the MiniMax actions, picks
   *MiniMax: Add docstring* and confirms Eglot's "Server wants to edit" question: the
   fake model's ``<replacement>`` lands in the buffer; then *MiniMax: Refactor…*, which
   asks for an instruction that reaches the model;
3. calls ``completion-at-point`` after ``return hel``: Eglot has no inline completion,
   so the server's ``textDocument/completion`` fallback item is completed into the line;
4. picks *MiniMax: Explain*: the answer streams (``minimax/streamDelta``) into the
   ``*MiniMax*`` buffer.

The model is the fake MiniMax (``fake_minimax``), answering by task. The server gets
``MINIMAX_API_KEY`` / ``MINIMAX_BASE_URL`` / ``MINIMAX_LSP_CACHE_DIR`` from Emacs's
environment, as the doc tells users to do. Without Emacs or Eglot the test is skipped
(``CI=true``: it fails). Emacs is killed after 60 s; the driver ends itself after 45 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fake_minimax import FakeMiniMax, RecordedRequest, Reply

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "editors.md"
HELPER = REPO / "editors" / "emacs" / "minimax-eglot.el"
DRIVER = Path(__file__).parent / "emacs" / "minimax-eglot-test.el"
#: The console script the documented config starts (``minimax-lsp serve``).
SERVER_SCRIPT = Path(sys.executable).with_name("minimax-lsp")
INIT_BLOCK = re.compile(
    r"<!-- begin tested emacs init -->\s*```elisp\n(.*?)```\s*<!-- end tested emacs init -->",
    re.DOTALL,
)
#: Seconds before Emacs is killed, whatever it is doing.
EMACS_TIMEOUT = 60.0

SOURCE = (
    "def helper(value):\n"
    "    return value * 2\n"
    "\n"
    "\n"
    "def add(a, b):\n"
    "    return a + b\n"
    "\n"
    "\n"
    "def quadruple(x):\n"
    "    return hel\n"
)
DOCUMENTED_ADD = 'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b'
INSTRUCTION = "add type hints"
TYPED_ADD = DOCUMENTED_ADD.replace("add(a, b)", "add(a: float, b: float) -> float")
COMPLETION = "per(helper(x))"
EXPLANATION = (
    "`helper` doubles its argument: `helper(21)` is `42`.\n\n"
    "- one parameter, `value`\n- returns `value * 2`\n"
)


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1"}


def _missing(reason: str) -> None:
    """Skip, or fail under CI (where tests/setup.sh installs Emacs and Eglot)."""
    if _ci():
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)


def _answer(request: RecordedRequest) -> Reply:
    """The fake model answers by task, recognised from the prompt's answer format."""
    prompt = json.dumps(request.body)
    if "<completion>" in prompt:
        return Reply(text=f"<completion>{COMPLETION}</completion>")
    if "<replacement>" in prompt:
        code = TYPED_ADD if INSTRUCTION in prompt else DOCUMENTED_ADD
        return Reply(text=f"<replacement>\n```python\n{code}\n```\n</replacement>")
    return Reply(text=EXPLANATION, chunks=4)


def _emacs_env(fake: FakeMiniMax, home: Path, cache: Path, **extra: str) -> dict[str, str]:
    """Emacs's environment (the server inherits it): ours minus MINIMAX_*, plus the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINIMAX", "XDG_"))}
    env.update(
        HOME=str(home),  # Emacs and git write nothing outside the test's folder
        PATH=f"{SERVER_SCRIPT.parent}{os.pathsep}{env.get('PATH', '')}",
        MINIMAX_API_KEY="test-key",
        MINIMAX_BASE_URL=fake.anthropic_base_url,
        MINIMAX_LSP_CACHE_DIR=str(cache),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _run_emacs(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``emacs --batch -Q -l DRIVER``, killed after `EMACS_TIMEOUT` seconds."""
    emacs = shutil.which("emacs", path=env["PATH"])
    assert emacs is not None
    try:
        return subprocess.run(
            [emacs, "--batch", "-Q", "-l", str(DRIVER)],
            env=env,
            capture_output=True,
            text=True,
            timeout=EMACS_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed Emacs
        pytest.fail(f"Emacs did not finish within {EMACS_TIMEOUT} s: {exc.stderr!r}")


def _documented_init() -> str:
    match = INIT_BLOCK.search(DOC.read_text(encoding="utf-8"))
    assert match, "docs/editors.md lost its tested Emacs init block"
    return match.group(1)


def test_doc_shows_the_helper_file_verbatim() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert HELPER.read_text(encoding="utf-8") in doc
    init = _documented_init()
    assert "(require 'minimax-eglot)" in init
    assert "(minimax-eglot-setup)" in init
    assert "MINIMAX_API_KEY" not in init  # the key is never part of an editor config


@pytest.mark.slow
def test_eglot_runs_the_documented_configuration(fake_minimax: FakeMiniMax, tmp_path: Path) -> None:
    if shutil.which("emacs") is None:
        _missing("emacs is not installed (apt-get install emacs-nox elpa-eglot)")
    assert SERVER_SCRIPT.is_file(), f"{SERVER_SCRIPT} missing: pip install -e . in the venv"
    home, cache, root = tmp_path / "home", tmp_path / "cache", tmp_path / "project"
    home.mkdir()
    root.mkdir()
    source = root / "calc.py"
    source.write_text(SOURCE, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=20)
    init = tmp_path / "init.el"
    init.write_text(_documented_init(), encoding="utf-8")
    report_path = tmp_path / "report.json"
    fake_minimax.set_default(_answer)
    env = _emacs_env(
        fake_minimax,
        home,
        cache,
        MINIMAX_TEST_HELPER=str(HELPER.parent),
        MINIMAX_TEST_INIT=str(init),
        MINIMAX_TEST_FILE=str(source),
        MINIMAX_TEST_REPORT=str(report_path),
    )
    started = time.monotonic()
    done = _run_emacs(env)
    seconds = time.monotonic() - started
    if done.returncode == 77:
        _missing("Eglot is not available to Emacs (apt-get install elpa-eglot)")
    assert report_path.is_file(), f"no report (exit {done.returncode}): {done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    context = f"exit {done.returncode}, {seconds:.1f} s, report: {json.dumps(report, indent=1)}"
    assert done.returncode == 0 and "error" not in report, context

    # 1. Eglot started this venv's server through the documented config.
    assert report["server_name"] == "minimax-lsp", context
    assert report["server_command"][-1] == "serve", context
    assert Path(report["server_command"][0]).name == "minimax-lsp", context
    # 2. The menu lists the MiniMax actions; "Add docstring" applied the model's code
    #    after Eglot's confirmation question.
    assert {"MiniMax: Explain", "MiniMax: Refactor…", "MiniMax: Add docstring"} <= set(
        report["actions"]
    ), context
    assert report["after_docstring"] == SOURCE.replace(
        "def add(a, b):\n    return a + b", DOCUMENTED_ADD
    ), context
    assert any("calc.py" in prompt for prompt in report["edit_prompts"]), context
    # "MiniMax: Refactor…" asked for an instruction, which reached the model.
    assert len(report["refactor_asked"]) == 1, context
    assert report["after_refactor"] == SOURCE.replace(
        "def add(a, b):\n    return a + b", TYPED_ADD
    ), context
    # 3. The completion fallback item, completed into the line.
    assert report["candidates"] == ["helper(helper(x))"], context
    assert report["completed_line"] == "    return helper(helper(x))", context
    # 4. The explanation streamed in pieces, then the final answer.
    assert report["answer"] == f"# Explain\n\n{EXPLANATION}", context
    assert report["deltas"] >= 2, context

    tasks = [json.dumps(r.body) for r in fake_minimax.requests if r.path.endswith("/messages")]
    # docstring, refactor, completion, explanation: nothing else
    assert len(tasks) == 4, context
    assert INSTRUCTION in tasks[1], context
    assert "Server reports" not in report["messages"], context  # no error/warning popups
    # The key came from Emacs's environment, and went nowhere but the auth header.
    assert all(r.headers.get("authorization") == "Bearer test-key" for r in fake_minimax.requests)
    assert not any(b"test-key" in r.raw_body for r in fake_minimax.requests)
