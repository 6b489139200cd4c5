"""The fake MiniMax server of the VS Code end-to-end test, with task-shaped answers.

``python -m tests.vscode.e2e_fake --api-key KEY --report FILE [--port 0]`` (from the
repository root) starts `tests.fake_minimax.server.FakeMiniMax`, prints its base URL as
the first stdout line and serves until SIGINT/SIGTERM.

Answers follow the request's task, recognised from the prompt's answer format:

* inline completion (the prompt asks for ``<completion>``): one line of code;
* edits (the prompt asks for ``<replacement>``): the selection rewritten with type hints
  (it always starts with `REFACTOR_MARKER`);
* anything else (explain, chat): markdown starting with ``fake answer``.

After every model request ``FILE`` is rewritten with ``{"modelRequests": n,
"bearerKey": m, "keyInBody": k}``: how many requests carried ``Authorization: Bearer
KEY`` and how many held the key in their body (must be 0). The key itself is never
written or printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.fake_minimax.script import RecordedRequest, Reply
from tests.fake_minimax.server import FakeMiniMax

#: The first line of every refactor answer (the e2e test looks for it in the buffer).
REFACTOR_MARKER = "def add(a: float, b: float) -> float:"
COMPLETION = "return sum(values) / len(values)"
EXPLANATION = (
    "**fake answer**: `total` adds the values with `add`.\n\n- starts at `0`\n- returns the sum\n"
)


class Responder:
    """Answers by task and keeps the report file current (thread-safe)."""

    def __init__(self, api_key: str, report: Path) -> None:
        self._key = api_key
        self._report = report
        self._lock = threading.Lock()
        self._counts = {"modelRequests": 0, "bearerKey": 0, "keyInBody": 0}
        self._write()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._counts["modelRequests"] += 1
            if request.headers.get("authorization") == f"Bearer {self._key}":
                self._counts["bearerKey"] += 1
            if self._key.encode() in request.raw_body:
                self._counts["keyInBody"] += 1
            self._write()
        return Reply(text=answer_for(json.dumps(request.body)))

    def _write(self) -> None:
        tmp = self._report.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._counts), encoding="utf-8")
        os.replace(tmp, self._report)


def answer_for(prompt: str) -> str:
    """The answer for a request whose JSON body is ``prompt``."""
    if "<completion>" in prompt:
        return f"<completion>{COMPLETION}</completion>"
    if "<replacement>" in prompt:
        return f"<replacement>\n{REFACTOR_MARKER}\n    return a + b\n</replacement>"
    return EXPLANATION


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.vscode.e2e_fake")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    fake = FakeMiniMax(args.api_key, port=args.port)
    fake.set_default(Responder(args.api_key, args.report))
    with fake:
        print(fake.base_url, flush=True)
        while not done.wait(0.2):
            pass
    return 1 if fake.internal_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
