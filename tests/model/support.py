"""Helpers for the model-client tests: scripted byte streams over httpx.MockTransport,
a recording sleep, and a client factory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from minimax_lsp.server.model import ClientConfig, ModelClient, RetryPolicy, Secret, SpendCaps


@dataclass
class RecordingSleep:
    """Replaces asyncio.sleep in the retry loop: records delays, never waits."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


class ChunkStream(httpx.AsyncByteStream):
    """A response body delivered in the given chunks; records how far it was read and
    whether the client closed it."""

    def __init__(self, chunks: Sequence[bytes], *, gate: asyncio.Event | None = None) -> None:
        self.chunks = list(chunks)
        self.sent = 0
        self.closed = False
        self._gate = gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self._gate is not None and self.sent == len(self.chunks) - 1:
                await self._gate.wait()
            self.sent += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def sse(event: str | None, data: Any) -> str:
    """One SSE event with `\\n` framing."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def split_every(raw: bytes, size: int) -> list[bytes]:
    """`raw` cut into pieces of `size` bytes."""
    return [raw[i : i + size] for i in range(0, len(raw), size)]


Handler = Callable[[httpx.Request], httpx.Response]


def sse_response(chunks: Sequence[bytes], stream: ChunkStream | None = None) -> httpx.Response:
    """A 200 text/event-stream response with the given body chunks."""
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=stream or ChunkStream(chunks),
    )


def make_client(
    handler: Handler,
    *,
    api: str = "anthropic",
    key: str = "sk-unit-test-key-0123456789",
    sleep: RecordingSleep | None = None,
    retry: RetryPolicy | None = None,
    spend: SpendCaps | None = None,
    **overrides: Any,
) -> ModelClient:
    """A client whose HTTP goes to `handler` (no sockets)."""
    config = ClientConfig(
        base_url="https://mock.invalid/anthropic"
        if api == "anthropic"
        else "https://mock.invalid/v1",
        api=api,  # type: ignore[arg-type]
        api_key=Secret(key),
        retry=retry or RetryPolicy(),
        spend=spend or SpendCaps(automatic_requests_per_minute=None),
        **overrides,
    )
    return ModelClient(
        config,
        transport=httpx.MockTransport(handler),
        sleep=sleep or RecordingSleep(),
        rng=lambda: 0.0,
    )
