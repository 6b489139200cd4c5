"""SSE framing and Anthropic-format parsing through the real client over MockTransport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from httpx_sse import EventSource

from minimax_lsp.server.model import (
    ConnectionFailed,
    ModelRequest,
    Overloaded,
    ServerError,
    StreamDone,
    StreamInterrupted,
    TextDelta,
    ThinkingDelta,
)
from minimax_lsp.server.model.wire import ParserOptions
from minimax_lsp.server.model.wire_anthropic import AnthropicParser

from .support import ChunkStream, make_client, split_every, sse, sse_response

SIGNATURE = "5e1d" + "ab" * 30
THINKING = "The user asks about utils.py; I should read it. Ünïcødé 思考 ✓"
TEXT_PARTS = ["\n\nI'll open the file ", "— naïve ✓ 文件.", " Done."]

# A MiniMax-flavoured stream (minimax-api.md §8.4): ping, thinking with a signature, text,
# a tool call with the empty-then-whole partial_json pattern, usage only in message_delta.
RECORDED = "".join(
    [
        sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "06b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "MiniMax-M3",
                    "stop_reason": None,
                    "usage": {
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            },
        ),
        sse("ping", {"type": "ping"}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": THINKING},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": SIGNATURE},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        *[
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": part},
                },
            )
            for part in TEXT_PARTS
        ],
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {
                    "type": "tool_use",
                    "id": "call_function_p0q1r2s3t4u5_1",
                    "name": "read_file",
                    "input": {},
                },
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": '{"path": "utils.py"}'},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 2}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {
                    "input_tokens": 61,
                    "output_tokens": 48,
                    "cache_creation_input_tokens": 7,
                    "cache_read_input_tokens": 1024,
                },
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
)

REQUEST = ModelRequest.simple("What does utils.py export?", thinking="adaptive")


async def _run(chunks: list[bytes]) -> tuple[list[object], StreamDone]:
    client = make_client(lambda request: sse_response(chunks))
    try:
        events = [event async for event in client.stream(REQUEST)]
    finally:
        await client.aclose()
    done = events[-1]
    assert isinstance(done, StreamDone)
    return events[:-1], done


def _check(events: list[object], done: StreamDone) -> None:
    result = done.result
    assert result.text == "".join(TEXT_PARTS)
    assert result.thinking == THINKING
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == result.text
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == THINKING
    assert result.stop_reason == "tool_use"
    assert result.model == "MiniMax-M3"
    assert result.message_id == "06b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8"
    assert result.request_id == result.message_id  # no request-id header here
    assert result.thinking_blocks[0].signature == SIGNATURE
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens) == (61, 48)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (1024, 7)
    assert usage.total_input == 61 + 1024 + 7
    assert not usage.estimated


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
async def test_recorded_stream_one_byte_chunks(newline: str) -> None:
    """Every byte boundary is a chunk boundary at once, for each SSE line ending."""
    raw = RECORDED.replace("\n", newline).encode()
    events, done = await _run(split_every(raw, 1))
    _check(events, done)


async def test_recorded_stream_split_in_two_at_every_boundary() -> None:
    """Two chunks, cut at every byte offset (multi-byte UTF-8 characters included).

    Drives the same decoder + parser pair the client uses, without the client around it,
    so the ~3,000 cuts stay fast.
    """
    raw = RECORDED.replace("\n", "\r\n").encode()
    for cut in range(1, len(raw)):
        response = sse_response([raw[:cut], raw[cut:]])
        parser = AnthropicParser(ParserOptions(model="MiniMax-M3", may_think=True))
        events: list[object] = []
        async for item in EventSource(response).aiter_sse():
            events.extend(parser.feed(item.event, item.data))
        tail, result = parser.finish()
        events.extend(tail)
        _check(events, StreamDone(replace(result, request_id=result.message_id)))


async def test_comments_keepalives_unknown_events_and_multiline_data() -> None:
    start = RECORDED.split("event: ping")[0]
    text_block = sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    # One JSON document spread over several data: lines (joined with "\n", still valid JSON).
    delta = json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        indent=1,
    )
    multi = (
        "event: content_block_delta\n"
        + "".join(f"data: {line}\n" for line in delta.splitlines())
        + "\n"
    )
    body = "".join(
        [
            ": keep-alive comment\n\n",
            start,
            ":another comment\n",
            'event: future_event\ndata: {"type":"future_event","x":1}\n\n',
            sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 9,
                    "content_block": {"type": "redacted_thinking", "data": "zz"},
                },
            ),
            text_block,
            multi,
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "citations_delta", "citation": {}},
                },
            ),
            "id: 7\nretry: 100\n"
            + sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": " there"},
                },
            ),
            # No `event:` line: dispatched on the data's "type".
            sse(
                None,
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 3},
                },
            ),
            "data: not json at all\n\n",
            sse("message_stop", {"type": "message_stop"}),
        ]
    )
    _events, done = await _run([body.encode()])
    assert done.result.text == "hi there"
    assert done.result.stop_reason == "end_turn"
    assert done.result.usage.output_tokens == 3


async def test_one_megabyte_thinking_delta() -> None:
    big = ("x" * 1023 + "\n") * 1024  # 1 MiB, newlines escaped inside the JSON string
    body = "".join(
        [
            RECORDED.split("event: ping")[0],
            sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "thinking", "thinking": ""},
                },
            ),
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": big},
                },
            ),
            sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "text_delta", "text": "ok"},
                },
            ),
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 5},
                },
            ),
            sse("message_stop", {"type": "message_stop"}),
        ]
    ).encode()
    events, done = await _run(split_every(body, 65536))
    assert done.result.thinking == big
    assert done.result.text == "ok"
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("ok")]


async def test_error_event_inside_200_stream_is_classified() -> None:
    body = RECORDED.split("event: ping")[0] + sse(
        "error",
        {
            "type": "error",
            "error": {
                "type": "overloaded_error",
                "message": "High traffic detected, please retry later. (2064) (529)",
            },
            "request_id": "0c9e" + "0" * 28,
        },
    )
    client = make_client(lambda request: sse_response([body.encode()]), retry=None)
    request = ModelRequest.simple("hi", max_attempts=1)
    with pytest.raises(Overloaded) as info:
        async for _ in client.stream(request):
            pass
    await client.aclose()
    assert info.value.code == 2064
    assert info.value.request_id == "0c9e" + "0" * 28
    assert info.value.retryable
    assert "overloaded" in str(info.value)


async def test_stream_without_message_stop_is_interrupted() -> None:
    body = RECORDED.split("event: message_delta")[0]
    client = make_client(lambda request: sse_response([body.encode()]))
    with pytest.raises(StreamInterrupted):
        async for _ in client.stream(ModelRequest.simple("hi", thinking="adaptive")):
            pass
    await client.aclose()


async def test_non_streamed_json_body_is_accepted() -> None:
    """A compatible endpoint that ignores stream=true and answers with one JSON message."""
    message = {
        "id": "abc",
        "type": "message",
        "model": "other-model",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s1"},
            {"type": "text", "text": "answer"},
        ],
        "stop_reason": "max_tokens",
        "usage": {
            "input_tokens": 5,
            "output_tokens": 2,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 0,
        },
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=message, headers={"request-id": "req-123"})

    client = make_client(handler)
    result = await client.complete(ModelRequest.simple("hi"))
    await client.aclose()
    assert (result.text, result.thinking, result.stop_reason) == ("answer", "hmm", "max_tokens")
    assert result.model == "other-model"
    assert result.request_id == "req-123"
    assert result.usage.cache_read_input_tokens == 3
    assert result.assistant_message().content[0] == result.thinking_blocks[0]


async def test_closing_the_iterator_early_closes_the_http_stream() -> None:
    stream = ChunkStream(split_every(RECORDED.encode(), 64))
    client = make_client(lambda request: sse_response([], stream))
    events = client.stream(ModelRequest.simple("hi", thinking="adaptive"))
    first = await anext(events)
    assert isinstance(first, ThinkingDelta)
    await events.aclose()
    assert stream.closed
    assert stream.sent < len(stream.chunks)
    await client.aclose()


class _BrokenStream(ChunkStream):
    """Delivers its chunks, then the connection drops."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        raise httpx.ReadError("connection reset by peer")


async def test_connection_drop_after_message_stop_is_harmless() -> None:
    client = make_client(lambda request: sse_response([], _BrokenStream([RECORDED.encode()])))
    events = [event async for event in client.stream(REQUEST)]
    await client.aclose()
    assert isinstance(events[-1], StreamDone)
    _check(events[:-1], events[-1])


async def test_connection_drop_mid_answer() -> None:
    body = RECORDED.split("event: message_delta")[0].encode()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return sse_response([], _BrokenStream([body]))

    client = make_client(handler)
    events: list[object] = []
    with pytest.raises(StreamInterrupted) as info:
        async for event in client.stream(REQUEST):
            events.append(event)
    assert calls == 1 and events  # output had been yielded: no silent retry
    assert info.value.__context__ is None and "ReadError" in str(info.value)
    # complete() restarts the turn within the retry budget, then gives up with the cause.
    with pytest.raises(ConnectionFailed, match=r"connection to MiniMax at mock\.invalid was lost"):
        await client.complete(REQUEST)
    assert calls == 1 + 4
    await client.aclose()


async def test_unparseable_error_event_still_fails_the_stream() -> None:
    body = RECORDED.split("event: ping")[0] + "event: error\ndata: <html>oops</html>\n\n"
    client = make_client(lambda request: sse_response([body.encode()]))
    with pytest.raises(ServerError):
        await client.complete(ModelRequest.simple("hi", max_attempts=1))
    await client.aclose()
