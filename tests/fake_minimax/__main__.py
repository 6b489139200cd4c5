"""Run the fake MiniMax server standalone.

``python -m tests.fake_minimax --port 0 --api-key KEY`` binds 127.0.0.1 (port 0 picks a free
one), prints the base URL (``http://127.0.0.1:PORT``) as the first line of stdout, and serves
until SIGINT/SIGTERM. Every model request gets the default deterministic reply. The key is read
from ``--api-key`` or ``$FAKE_MINIMAX_API_KEY`` and is never printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import FakeMiniMax


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_minimax", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_MINIMAX_API_KEY", "test-key"),
        help="accepted key (default $FAKE_MINIMAX_API_KEY or 'test-key')",
    )
    parser.add_argument("--tps", type=float, default=None, help="output tokens per second")
    parser.add_argument(
        "--automatic-cache", action="store_true", help="cache prefixes without cache_control"
    )
    parser.add_argument("--no-done", action="store_true", help="omit data: [DONE] (OpenAI)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    fake = FakeMiniMax(
        args.api_key,
        tps=args.tps,
        host=args.host,
        port=args.port,
        automatic_cache=args.automatic_cache,
        openai_done=not args.no_done,
    )
    with fake:
        sys.stdout.write(fake.base_url + "\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
