"""Fixtures of the reliability tests: raw server processes driven byte by byte.

``start_raw(*, api_key="test-key", fake=None, args=(), env=None, cwd=None) -> RawServer``
    Start ``minimax-lsp serve`` (not initialized) against the ``fake_minimax`` server (or
    ``fake``), with a private cache directory and an address-space limit; every server
    is killed after the test if it still runs.

The tests in this folder start real processes and are marked ``slow`` where they take
more than a few seconds; docs/reliability.md lists what each one measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.fake_minimax import FakeMiniMax
from tests.reliability.rpc import RawServer, server_env
from tests.reliability.soak_protocol import MEMORY_LIMIT

StartRaw = Callable[..., RawServer]


@pytest.fixture
def start_raw(fake_minimax: FakeMiniMax, tmp_path: Path) -> Iterator[StartRaw]:
    """``start_raw(...) -> RawServer`` (see the module docstring)."""
    started: list[RawServer] = []

    def start(
        *,
        api_key: str = "test-key",
        fake: FakeMiniMax | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        cache_dir: Path | None = None,
    ) -> RawServer:
        server_fake = fake or fake_minimax
        environment = server_env(
            server_fake.anthropic_base_url,
            cache_dir or tmp_path / f"cache-{len(started)}",
            api_key=api_key,
            **dict(env or {}),
        )
        server = RawServer(
            environment, args=args, cwd=cwd or tmp_path, memory_limit=MEMORY_LIMIT
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
        server.close(timeout=2)
