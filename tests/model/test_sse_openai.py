"""OpenAI-format stream quirks (minimax-api.md §11.4) through the client over MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from minimax_lsp.server.model import (
    InsufficientBalance,
    ModelRequest,
    QuotaExceeded,
    StreamDone,
    StreamInterrupted,
    TextDelta,
    ThinkingDelta,
)

from .support import make_client, split_every, sse_response

EXTRA = {
    "input_sensitive": False,
    "output_sensitive": False,
    "base_resp": {"status_code": 0, "status_msg": ""},
}


def chunk(
    delta: Any, *, finish: str | None = None, usage: Any = None, choices: Any = "auto"
) -> str:
    body: dict[str, Any] = {
        "id": "06c0ffee",
        "object": "chat.completion.chunk",
        "model": "MiniMax-M3",
        "usage": usage if usage is not None else {"total_tokens": 0, "total_characters": 0},
        **EXTRA,
    }
    body["choices"] = (
        [{"index": 0, "delta": delta, "finish_reason": finish}] if choices == "auto" else choices
    )
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


REAL_USAGE = {
    "total_tokens": 480,
    "prompt_tokens": 420,
    "completion_tokens": 60,
    "prompt_tokens_details": {"cached_tokens": 128},
}


def final_frame(content: str, reasoning: str) -> str:
    body = {
        "id": "06c0ffee",
        "object": "chat.completion",
        "model": "MiniMax-M3",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": content,
                    "reasoning_details": [{"type": "reasoning.text", "text": reasoning}],
                },
            }
        ],
        "usage": REAL_USAGE,
        **EXTRA,
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def quirky_stream(*, done: bool) -> str:
    parts = [
        chunk(
            {
                "role": "assistant",
                "content": "",
                "reasoning_details": [{"type": "reasoning.text", "text": "Think "}],
            }
        ),
        chunk(
            {
                "role": "",
                "reasoning_content": "",
                "reasoning_details": [{"type": "reasoning.text", "text": "hard."}],
            }
        ),
        chunk({"role": "", "content": "Hello"}),
        chunk(None),  # delta: null
        chunk({"role": "", "content": ", wörld ✓"}),
        chunk(None, finish="stop"),
        chunk({}, usage=REAL_USAGE, choices=[]),  # usage-only chunk
        final_frame("Hello, wörld ✓", "Think hard."),
    ]
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts)


@pytest.mark.parametrize("done", [True, False])
@pytest.mark.parametrize("size", [1, 7, 100_000])
async def test_quirky_stream(done: bool, size: int) -> None:
    raw = quirky_stream(done=done).encode()
    client = make_client(lambda request: sse_response(split_every(raw, size)), api="openai")
    events = [e async for e in client.stream(ModelRequest.simple("hi", thinking="adaptive"))]
    await client.aclose()
    done_event = events[-1]
    assert isinstance(done_event, StreamDone)
    result = done_event.result
    # The final chat.completion frame repeats the message: it must not be appended again.
    assert result.text == "Hello, wörld ✓"
    assert result.thinking == "Think hard."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == result.text
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == result.thinking
    assert result.stop_reason == "end_turn"
    assert result.usage.input_tokens == 420 - 128
    assert result.usage.cache_read_input_tokens == 128
    assert result.usage.output_tokens == 60
    assert result.usage.total_input == 420


async def test_think_tags_in_content_split_across_chunks() -> None:
    content = "<think>\nI should add.\n</think>\n\nreturn a + b"
    body = "".join(chunk({"role": "", "content": c}) for c in split_every_str(content, 3))
    body += chunk(None, finish="length", usage={"prompt_tokens": 10, "completion_tokens": 20})
    client = make_client(lambda request: sse_response([body.encode()]), api="openai")
    result = await client.complete(ModelRequest.simple("hi", thinking="adaptive"))
    await client.aclose()
    assert result.thinking == "\nI should add.\n"
    assert result.text == "\n\nreturn a + b"
    assert result.stop_reason == "max_tokens"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 20)


def split_every_str(s: str, n: int) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)]


async def test_close_tag_without_open_tag_when_no_reasoning_channel() -> None:
    """M2.x leaking reasoning into content with only a closing tag (streamed)."""
    body = "".join(
        chunk({"content": c}) for c in ["The user wants", " a sum.</th", "ink>\n\nreturn a+b"]
    ) + chunk(None, finish="stop")
    client = make_client(lambda request: sse_response([body.encode()]), api="openai")
    events = [e async for e in client.stream(ModelRequest.simple("hi", model="MiniMax-M2.7"))]
    await client.aclose()
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(texts) == "\n\nreturn a+b"
    assert (
        "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "The user wants a sum."
    )


async def test_eof_without_finish_is_interrupted() -> None:
    body = chunk({"content": "partial"})
    client = make_client(lambda request: sse_response([body.encode()]), api="openai")
    with pytest.raises(StreamInterrupted):
        async for _ in client.stream(ModelRequest.simple("hi")):
            pass
    await client.aclose()


@pytest.mark.parametrize("as_stream", [True, False])
async def test_base_resp_error_on_http_200(as_stream: bool) -> None:
    body = {
        "id": "x",
        "choices": None,
        "usage": {"total_tokens": 0},
        "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if as_stream:
            return sse_response([f"data: {json.dumps(body)}\n\n".encode()])
        return httpx.Response(200, json=body)

    client = make_client(handler, api="openai")
    with pytest.raises(InsufficientBalance) as info:
        await client.complete(ModelRequest.simple("hi"))
    await client.aclose()
    assert info.value.code == 1008
    assert not info.value.retryable


async def test_base_resp_quota_on_http_200_is_not_retried() -> None:
    calls = 0
    body = {
        "choices": None,
        "base_resp": {"status_code": 2056, "status_msg": "usage limit exceeded"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=body)

    client = make_client(handler, api="openai")
    with pytest.raises(QuotaExceeded):
        await client.complete(ModelRequest.simple("hi"))
    await client.aclose()
    assert calls == 1


async def test_request_body_shape() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.headers["authorization"].startswith("Bearer ")
        assert request.url.path == "/v1/chat/completions"
        return sse_response(
            [(chunk({"content": "ok"}, finish="stop") + "data: [DONE]\n\n").encode()]
        )

    client = make_client(handler, api="openai")
    from minimax_lsp.server.model import Message, SystemBlock, TextBlock, ThinkingBlock

    request = ModelRequest(
        system=(SystemBlock("sys A"), SystemBlock("sys B")),
        messages=(
            Message.user("q1"),
            Message("assistant", (ThinkingBlock("why", "sig"), TextBlock("a1"))),
            Message.user("q2"),
        ),
        max_tokens=100,
        thinking="disabled",
        temperature=0.2,
        stop_sequences=("\n\n",),
    )
    result = await client.complete(request)
    await client.aclose()
    assert result.text == "ok"
    body = seen[0]
    assert body["messages"][0] == {"role": "system", "content": "sys A\n\nsys B"}
    assert body["messages"][2]["reasoning_details"][0]["text"] == "why"
    assert body["thinking"] == {"type": "disabled"}
    assert body["reasoning_split"] is True
    assert body["max_completion_tokens"] == 100
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.2 and body["stop"] == ["\n\n"]
