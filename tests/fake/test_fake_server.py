"""Lifecycle, concurrency and the project's own HTTP stack (httpx + httpx-sse) on the fake."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import httpx_sse
import pytest

from tests.fake._helpers import KEY, post, user
from tests.fake_minimax import FakeMiniMax, Reply

HEADERS = {"authorization": f"Bearer {KEY}"}


def test_lifecycle_and_urls() -> None:
    fake = FakeMiniMax()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.base_url
    with fake, FakeMiniMax() as other:
        assert fake.port != other.port
        other_port = other.port
        assert fake.anthropic_base_url == fake.base_url + "/anthropic"
        assert fake.openai_base_url == fake.base_url + "/v1"
        with pytest.raises(RuntimeError, match="already started"):
            fake.start()
    fake.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{other_port}/", timeout=1)


def test_concurrent_requests_each_consume_one_reply(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(*(Reply(text=f"reply {i}") for i in range(24)))

    def call(i: int) -> str:
        body = {
            "model": "MiniMax-M3",
            "max_tokens": 50,
            "stream": i % 2 == 0,
            "messages": user("q"),
        }
        response = post(fake_minimax, "/anthropic/v1/messages", body)
        assert response.status_code == 200
        if body["stream"]:
            return "".join(
                json.loads(line[6:])["delta"].get("text", "")
                for line in response.text.splitlines()
                if line.startswith("data: ") and '"text_delta"' in line
            )
        return str(response.json()["content"][0]["text"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        texts = list(pool.map(call, range(24)))
    assert sorted(texts) == sorted(f"reply {i}" for i in range(24))
    assert len(fake_minimax.requests) == 24
    assert fake_minimax.open_streams == 0


def test_reset_clears_everything(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="x"))
    post(fake_minimax, "/anthropic/v1/messages", {"model": "MiniMax-M3", "messages": user("q")})
    fake_minimax.enqueue(Reply(text="y"))
    fake_minimax.set_offline(True)
    fake_minimax.reset()
    assert fake_minimax.requests == [] and fake_minimax.pending == 0
    assert fake_minimax.usage_totals.requests == 0
    response = post(
        fake_minimax, "/anthropic/v1/messages", {"model": "MiniMax-M3", "messages": user("q")}
    )
    assert response.json()["content"][0]["text"] == "fake answer to: q"


async def test_httpx_sse_reads_named_events(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="streamed text", thinking="hmm", chunks=3))
    body: dict[str, Any] = {
        "model": "MiniMax-M2.7",
        "max_tokens": 100,
        "stream": True,
        "messages": user("q"),
    }
    async with (
        httpx.AsyncClient(timeout=5) as client,
        httpx_sse.aconnect_sse(
            client,
            "POST",
            fake_minimax.anthropic_base_url + "/v1/messages",
            json=body,
            headers=HEADERS,
        ) as source,
    ):
        events = [(sse.event, sse.json()) async for sse in source.aiter_sse()]
    assert events[0][0] == "message_start" and events[1][0] == "ping"
    assert events[-1][0] == "message_stop"
    text = "".join(
        data["delta"]["text"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "text_delta"
    )
    assert text == "\n\nstreamed text"


async def test_cancelling_an_async_stream_is_a_client_disconnect(
    fake_minimax_factory: Any,
) -> None:
    fake: FakeMiniMax = fake_minimax_factory(tps=200.0)
    fake.enqueue(Reply(text="token " * 300))  # ~515 tokens: ~2.6 s at 200 TPS
    body = {"model": "MiniMax-M3", "max_tokens": 4000, "stream": True, "messages": user("q")}
    first_delta = asyncio.Event()

    async def consume() -> None:
        async with (
            httpx.AsyncClient(timeout=5) as client,
            httpx_sse.aconnect_sse(
                client, "POST", fake.base_url + "/anthropic/v1/messages", json=body, headers=HEADERS
            ) as source,
        ):
            async for sse in source.aiter_sse():
                if sse.event == "content_block_delta":
                    first_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_delta.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake.wait_for, lambda: fake.client_disconnects == 1, 2.0)
    assert fake.open_streams == 0
