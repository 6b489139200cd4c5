"""Anthropic request construction: headers, explicit thinking, cache breakpoints, records."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from minimax_lsp.server.model import (
    Message,
    ModelRequest,
    ModelResult,
    SystemBlock,
    TextBlock,
    ThinkingBlock,
    Usage,
)
from minimax_lsp.server.model.wire_anthropic import cache_breakpoints

from .support import make_client, sse, sse_response

DONE = (
    sse(
        "message_start",
        {"type": "message_start", "message": {"id": "m", "model": "MiniMax-M3", "usage": {}}},
    )
    + sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 1},
        },
    )
    + sse("message_stop", {"type": "message_stop"})
).encode()


async def _capture(request: ModelRequest) -> tuple[httpx.Request, dict[str, Any]]:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return sse_response([DONE])

    client = make_client(handler)
    await client.complete(request)
    await client.aclose()
    return seen[0], json.loads(seen[0].content)


async def test_headers_and_body() -> None:
    req, body = await _capture(
        ModelRequest.simple("hi", max_tokens=10_000_000, stop_sequences=("END",))
    )
    assert req.url == "https://mock.invalid/anthropic/v1/messages"
    assert req.headers["authorization"] == "Bearer sk-unit-test-key-0123456789"
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in req.headers and "x-api-key" not in req.headers
    assert body["thinking"] == {"type": "disabled"}  # always explicit
    assert body["stream"] is True
    assert body["max_tokens"] == 524_288  # clamped to M3's cap
    assert body["stop_sequences"] == ["END"]
    assert "temperature" not in body


async def test_cache_control_on_last_system_and_last_user_block() -> None:
    request = ModelRequest(
        system=(SystemBlock("rules"), SystemBlock("repo pack")),
        messages=(
            Message.user("q1"),
            Message("assistant", (ThinkingBlock("t", "sig"), TextBlock("a1"))),
            Message("user", (TextBlock("context"), TextBlock("question"), TextBlock(""))),
        ),
    )
    _, body = await _capture(request)
    marked = [b["text"] for b in body["system"] if "cache_control" in b]
    assert marked == ["repo pack"]
    last = body["messages"][-1]["content"]
    assert [b["text"] for b in last] == ["context", "question"]  # empty block dropped
    assert "cache_control" in last[-1] and "cache_control" not in last[0]
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "t",
        "signature": "sig",
    }
    assert "cache_control" not in json.dumps(body["messages"][0])


def test_at_most_four_breakpoints_last_ones_win() -> None:
    request = ModelRequest(
        system=tuple(SystemBlock(f"s{i}", cache=True) for i in range(3)),
        messages=(Message("user", (TextBlock("a", cache=True), TextBlock("b", cache=True))),),
    )
    assert cache_breakpoints(request) == frozenset({(-1, 1), (-1, 2), (0, 0), (0, 1)})
    assert cache_breakpoints(ModelRequest.simple("x", auto_cache=False)) == frozenset()


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="at least one message"):
        ModelRequest(messages=())
    with pytest.raises(ValueError, match="last message"):
        ModelRequest(messages=(Message.user("q"), Message.assistant("a")))
    with pytest.raises(ValueError, match="temperature"):
        ModelRequest.simple("q", temperature=3.0)
    with pytest.raises(ValueError, match="thinking"):
        ModelRequest.simple("q", thinking="enabled")
    with pytest.raises(ValueError, match="max_tokens"):
        ModelRequest.simple("q", max_tokens=0)
    with pytest.raises(ValueError, match="assistant"):
        Message("user", (ThinkingBlock("x"),))


def test_result_replays_as_assistant_message() -> None:
    result = ModelResult(
        text="answer",
        thinking="t",
        usage=Usage(),
        stop_reason="end_turn",
        model="m",
        thinking_blocks=(ThinkingBlock("t", "sig"),),
    )
    assert result.assistant_message() == Message(
        "assistant", (ThinkingBlock("t", "sig"), TextBlock("answer"))
    )
