"""The fake's Anthropic-compatible endpoint, driven by the official ``anthropic`` SDK."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic
import pytest

from tests.fake._helpers import (
    HEX32,
    HEX64,
    KEY,
    TOOL_ID,
    anthropic_client,
    parse_sse,
    post,
    user,
)
from tests.fake_minimax import FakeMiniMax, Reply, count_text
from tests.fake_minimax.ids import thinking_signature
from tests.fake_minimax.server import DEFAULT_SIGNATURE_SECRET

READ_FILE_TOOL: Any = {
    "name": "read_file",
    "description": "Read a file",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
}


def test_non_streamed_default_reply_has_minimax_shape(fake_minimax: FakeMiniMax) -> None:
    client = anthropic_client(fake_minimax)
    message = client.messages.create(
        model="MiniMax-M3", max_tokens=256, messages=user("What does utils.py export?")
    )
    assert re.fullmatch(HEX32, message.id)
    assert message.model == "MiniMax-M3"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "fake answer to: What does utils.py export?"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    # 4 per message + ceil(26 / 3.5)
    assert message.usage.input_tokens == 4 + count_text("What does utils.py export?") == 12
    assert message.usage.output_tokens == count_text(message.content[0].text)  # type: ignore[union-attr]
    assert message.usage.cache_read_input_tokens == 0
    assert message.usage.cache_creation_input_tokens == 0
    request = fake_minimax.requests[-1]
    assert request.path == "/anthropic/v1/messages"
    # The installed SDK (2.x) sends api_key= as a Bearer token; older ones used x-api-key.
    auth = request.headers.get("authorization") or "Bearer " + request.headers["x-api-key"]
    assert auth == f"Bearer {KEY}"
    assert "anthropic-version" in request.headers
    assert request.body["max_tokens"] == 256


def test_raw_body_omits_stop_sequence(fake_minimax: FakeMiniMax) -> None:
    body = {"model": "MiniMax-M3", "max_tokens": 64, "messages": user("hi")}
    response = post(fake_minimax, "/anthropic/v1/messages", body)
    assert response.status_code == 200
    data = response.json()
    assert "stop_sequence" not in data
    assert set(data["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }


def test_stream_helper_accumulates_thinking_text_and_tool_call(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(
        Reply(
            text="I'll open the file.",
            thinking="The user asks about utils.py; I should read it.",
            tool_calls=[("read_file", {"path": "utils.py"})],
        )
    )
    client = anthropic_client(fake_minimax)
    with client.messages.stream(
        model="MiniMax-M3",
        max_tokens=4096,
        thinking={"type": "adaptive"},
        tools=[READ_FILE_TOOL],
        messages=user("What does utils.py export?"),
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "\n\nI'll open the file."
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    thinking, text, tool = final.content
    assert thinking.thinking == "The user asks about utils.py; I should read it."  # type: ignore[union-attr]
    assert re.fullmatch(HEX64, thinking.signature)  # type: ignore[union-attr]
    assert thinking.signature == thinking_signature(  # type: ignore[union-attr]
        DEFAULT_SIGNATURE_SECRET, "The user asks about utils.py; I should read it."
    )
    assert text.text == "\n\nI'll open the file."  # type: ignore[union-attr]
    assert tool.name == "read_file"  # type: ignore[union-attr]
    assert tool.input == {"path": "utils.py"}  # type: ignore[union-attr]
    assert re.fullmatch(TOOL_ID, tool.id)  # type: ignore[union-attr]
    assert tool.id.endswith("_1")  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"
    # message_start carried input_tokens 0; the SDK must have taken message_delta's numbers.
    assert final.usage.input_tokens == fake_minimax.usage_history[-1].input_tokens > 0
    assert final.usage.output_tokens == fake_minimax.usage_history[-1].output_tokens > 0


def test_raw_stream_event_sequence_matches_minimax(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(
        Reply(
            text="abcdefghij",
            thinking="think " * 20,
            chunks=3,
            tool_calls=[("read_file", {"path": "a.py"}), ("list", {})],
        )
    )
    body = {
        "model": "MiniMax-M2.7",
        "max_tokens": 1000,
        "stream": True,
        "messages": user("go"),
    }
    response = post(fake_minimax, "/anthropic/v1/messages", body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [event.event for event in events]
    assert all(json.loads(e.data)["type"] == e.event for e in events)
    assert names == [
        "message_start",
        "ping",
        "content_block_start",  # thinking
        "content_block_delta",  # one giant thinking delta
        "content_block_delta",  # signature
        "content_block_stop",
        "content_block_start",  # text
        *["content_block_delta"] * 3,
        "content_block_stop",
        "content_block_start",  # tool 1
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",  # tool 2
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [event.json() for event in events]
    start = data[0]["message"]
    assert re.fullmatch(HEX32, start["id"])
    assert start["usage"]["input_tokens"] == 0  # placeholder
    assert data[2]["content_block"] == {"type": "thinking", "thinking": ""}
    assert data[3]["delta"] == {"type": "thinking_delta", "thinking": "think " * 20}
    assert data[4]["delta"]["type"] == "signature_delta"
    assert [d["delta"]["text"] for d in data[7:10]] == ["\n\nab", "cdef", "ghij"]
    indices = [d["index"] for d in data if "index" in d]
    assert indices == [0] * 4 + [1] * 5 + [2] * 4 + [3] * 4
    assert data[11]["content_block"]["input"] == {}
    assert data[12]["delta"] == {"type": "input_json_delta", "partial_json": ""}
    assert data[13]["delta"] == {"type": "input_json_delta", "partial_json": '{"path": "a.py"}'}
    assert data[17]["delta"]["partial_json"] == "{}"
    ids = [data[11]["content_block"]["id"], data[15]["content_block"]["id"]]
    assert ids[0][:-2] == ids[1][:-2] and ids[0].endswith("_1") and ids[1].endswith("_2")
    delta = data[-2]
    assert delta["delta"] == {"stop_reason": "tool_use"}  # no stop_sequence key
    assert delta["usage"]["input_tokens"] > 0
    assert set(delta["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }


def test_sdk_raw_events_skip_ping_and_keep_order(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="one two three", chunks=2))
    client = anthropic_client(fake_minimax)
    stream = client.messages.create(
        model="MiniMax-M3", max_tokens=100, stream=True, messages=user("count")
    )
    types = [event.type for event in stream]
    assert types == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_thinking_block_split_into_many_deltas(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="ok", thinking="a" * 50, thinking_chunks=5))
    body = {
        "model": "MiniMax-M3",
        "max_tokens": 100,
        "stream": True,
        "thinking": {"type": "adaptive"},
        "messages": user("x"),
    }
    events = [e.json() for e in parse_sse(post(fake_minimax, "/anthropic/v1/messages", body).text)]
    pieces = [
        e["delta"]["thinking"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "thinking_delta"
    ]
    assert pieces == ["a" * 10] * 5


@pytest.mark.parametrize(
    ("model", "thinking", "expect_thinking"),
    [
        ("MiniMax-M3", None, False),
        ("MiniMax-M3", {"type": "disabled"}, False),
        ("MiniMax-M3", {"type": "adaptive"}, True),
        ("MiniMax-M3", {"type": "enabled", "budget_tokens": 2048}, True),
        ("MiniMax-M2.7", None, True),
        ("MiniMax-M2.5-highspeed", {"type": "disabled"}, True),
    ],
)
def test_thinking_follows_model_and_setting(
    fake_minimax: FakeMiniMax, model: str, thinking: dict[str, Any] | None, expect_thinking: bool
) -> None:
    fake_minimax.enqueue(Reply(text="answer", thinking="pondering"))
    body: dict[str, Any] = {"model": model, "max_tokens": 100, "messages": user("q")}
    if thinking is not None:
        body["thinking"] = thinking
    content = post(fake_minimax, "/anthropic/v1/messages", body).json()["content"]
    if expect_thinking:
        assert content[0]["type"] == "thinking" and content[0]["thinking"] == "pondering"
        assert content[1] == {"type": "text", "text": "\n\nanswer"}
    else:
        assert content == [{"type": "text", "text": "answer"}]


def test_replaying_full_content_is_accepted_and_tampering_is_400(
    fake_minimax: FakeMiniMax,
) -> None:
    fake_minimax.enqueue(
        Reply(
            text="Let me look.",
            thinking="Need the file.",
            tool_calls=[("read_file", {"path": "u.py"})],
        )
    )
    client = anthropic_client(fake_minimax)
    first = client.messages.create(
        model="MiniMax-M2.7",
        max_tokens=1000,
        tools=[READ_FILE_TOOL],
        messages=user("What is in u.py?"),
    )
    tool = first.content[-1]
    assert tool.type == "tool_use"
    history: list[Any] = [
        {"role": "user", "content": "What is in u.py?"},
        {"role": "assistant", "content": first.content},  # the SDK objects, verbatim
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "X = 1"}],
        },
    ]
    fake_minimax.enqueue(Reply(text="u.py defines X."))
    second = client.messages.create(
        model="MiniMax-M2.7",
        max_tokens=1000,
        tools=[READ_FILE_TOOL],
        messages=history,
    )
    assert second.content[-1].text == "\n\nu.py defines X."  # type: ignore[union-attr]
    replayed = fake_minimax.requests[-1].body["messages"][1]["content"]
    assert [block["type"] for block in replayed] == ["thinking", "text", "tool_use"]

    # An unsigned (edited, signature dropped) thinking block is accepted too.
    unsigned = [{"type": "thinking", "thinking": "edited thought"}, *history[1]["content"][1:]]
    client.messages.create(
        model="MiniMax-M2.7",
        max_tokens=1000,
        tools=[READ_FILE_TOOL],
        messages=[history[0], {"role": "assistant", "content": unsigned}, history[2]],
    )

    tampered = first.content[0].model_dump()
    tampered["thinking"] = "Need the file!"
    edited: Any = [
        history[0],
        {"role": "assistant", "content": [tampered, *history[1]["content"][1:]]},
        history[2],
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="MiniMax-M2.7", max_tokens=1000, tools=[READ_FILE_TOOL], messages=edited
        )
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "bad_request_error"
    assert body["error"]["message"].endswith("(2013)")
    assert re.fullmatch(HEX32, body["request_id"])


def test_tool_choice_none_drops_scripted_calls(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="no tools", tool_calls=[("read_file", {"path": "a"})]))
    message = anthropic_client(fake_minimax).messages.create(
        model="MiniMax-M3",
        max_tokens=100,
        tools=[READ_FILE_TOOL],
        tool_choice={"type": "none"},
        messages=user("x"),
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.stop_reason == "end_turn"


def test_output_over_max_tokens_is_truncated(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="x" * 700))  # 200 tokens
    message = anthropic_client(fake_minimax).messages.create(
        model="MiniMax-M3", max_tokens=10, messages=user("long please")
    )
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "x" * 35  # type: ignore[union-attr]
    assert message.usage.output_tokens == 10


def test_thinking_eats_the_budget_first(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="visible", thinking="y" * 700))
    message = anthropic_client(fake_minimax).messages.create(
        model="MiniMax-M2.7", max_tokens=20, messages=user("q")
    )
    assert message.stop_reason == "max_tokens"
    assert [b.type for b in message.content] == ["thinking"]


def test_count_tokens_uses_the_same_formula(fake_minimax: FakeMiniMax) -> None:
    client = anthropic_client(fake_minimax)
    system = "You are a code assistant."
    messages: list[Any] = [
        {"role": "user", "content": "Explain 汉字 please"},
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": [{"type": "text", "text": "Go on."}]},
    ]
    counted = client.messages.count_tokens(model="MiniMax-M3", system=system, messages=messages)
    expected = (
        count_text(system)
        + 3 * 4
        + count_text("Explain 汉字 please")
        + count_text("Sure.")
        + count_text("Go on.")
    )
    assert counted.input_tokens == expected
    message = client.messages.create(
        model="MiniMax-M3", max_tokens=50, system=system, messages=messages
    )
    assert message.usage.input_tokens == expected
    assert fake_minimax.requests[0].path == "/anthropic/v1/messages/count_tokens"


def test_bearer_auth_token_and_bare_path(fake_minimax: FakeMiniMax) -> None:
    client = anthropic.Anthropic(base_url=fake_minimax.base_url, auth_token=KEY, max_retries=0)
    message = client.messages.create(model="MiniMax-M2.1", max_tokens=50, messages=user("hi"))
    assert message.content[-1].text.endswith("fake answer to: hi")  # type: ignore[union-attr]
    request = fake_minimax.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_x_api_key_alone_and_bearer_precedence(fake_minimax: FakeMiniMax) -> None:
    body = {"model": "MiniMax-M3", "max_tokens": 10, "messages": user("hi")}
    only_key = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    assert post(fake_minimax, "/anthropic/v1/messages", body, headers=only_key).status_code == 200
    good_bearer = {"authorization": f"Bearer {KEY}", "x-api-key": "wrong"}
    bad_bearer = {"authorization": "Bearer wrong", "x-api-key": KEY}
    assert (
        post(fake_minimax, "/anthropic/v1/messages", body, headers=good_bearer).status_code == 200
    )
    assert post(fake_minimax, "/anthropic/v1/messages", body, headers=bad_bearer).status_code == 401


def test_ignored_parameters_are_accepted(fake_minimax: FakeMiniMax) -> None:
    client = anthropic_client(fake_minimax)
    message = client.messages.create(
        model="MiniMax-M3",
        max_tokens=50,
        stop_sequences=["\n\n"],
        metadata={"user_id": "u1"},
        tools=[READ_FILE_TOOL],
        tool_choice={"type": "any"},
        messages=user("hello"),
        extra_body={
            # The installed SDK no longer has sampling parameters; send them raw.
            "top_k": 5,
            "top_p": 0.9,
            "temperature": 2.0,
            "mcp_servers": [],
            "container": "c",
            "context_management": {},
            "service_tier": "priority",
        },
        extra_headers={"anthropic-beta": "whatever-2025", "x-custom": "1"},
    )
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("change", "status", "error_type", "message"),
    [
        ({"model": "MiniMax-M9"}, 404, "not_found_error", "Model does not exist."),
        ({"messages": []}, 400, "invalid_request_error", None),
        ({"temperature": 2.5}, 400, "bad_request_error", None),
        ({"top_p": 1.5}, 400, "bad_request_error", None),
        ({"max_tokens": 600_000}, 400, "bad_request_error", None),
        ({"tool_choice": {"Type": "none"}}, 400, "invalid_request_error", None),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            400,
            "invalid_request_error",
            "messages.0.content.0: unsupported content type 'document'",
        ),
        (
            {
                "model": "MiniMax-M2.7",
                "max_tokens": 100,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "url", "url": "http://x/a.png"}}
                        ],
                    }
                ],
            },
            400,
            "bad_request_error",
            None,
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t1",
                                "content": [{"type": "search_result", "source": "s"}],
                            }
                        ],
                    }
                ]
            },
            400,
            "bad_request_error",
            "invalid tool_result content (2013)",
        ),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            400,
            "bad_request_error",
            "invalid tool type (2013)",
        ),
    ],
)
def test_validation_errors(
    fake_minimax: FakeMiniMax,
    change: dict[str, Any],
    status: int,
    error_type: str,
    message: str | None,
) -> None:
    body = {"model": "MiniMax-M3", "max_tokens": 100, "messages": user("hi"), **change}
    response = post(fake_minimax, "/anthropic/v1/messages", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == error_type
    assert error["http_code"] == str(status)
    if message is not None:
        assert error["message"] == message
    assert fake_minimax.pending == 0


def test_image_accepted_on_m3(fake_minimax: FakeMiniMax) -> None:
    image = {"type": "image", "source": {"type": "url", "url": "http://x/a.png"}, "detail": "low"}
    body = {
        "model": "MiniMax-M3",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": "what?"}]}],
    }
    response = post(fake_minimax, "/anthropic/v1/messages", body)
    assert response.status_code == 200
    assert response.json()["usage"]["input_tokens"] == 4 + 600 + count_text("what?")


def test_invalid_request_does_not_consume_the_script(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="scripted"))
    bad = {"model": "MiniMax-M3", "max_tokens": 100, "messages": []}
    assert post(fake_minimax, "/anthropic/v1/messages", bad).status_code == 400
    assert fake_minimax.pending == 1
    good = {"model": "MiniMax-M3", "max_tokens": 100, "messages": user("hi")}
    assert (
        post(fake_minimax, "/anthropic/v1/messages", good).json()["content"][0]["text"]
        == "scripted"
    )


def test_set_default_matcher_and_model_override(fake_minimax: FakeMiniMax) -> None:
    def responder(request: Any) -> Reply:
        text = request.body["messages"][-1]["content"]
        return Reply(text=text.upper(), model="MiniMax-M3.1-Flash")

    fake_minimax.set_default(responder)
    message = anthropic_client(fake_minimax).messages.create(
        model="MiniMax-M2.5", max_tokens=100, messages=user("shout"), thinking={"type": "disabled"}
    )
    assert message.model == "MiniMax-M3.1-Flash"
    assert message.content[-1].text == "\n\nSHOUT"  # type: ignore[union-attr]


def test_queue_is_fifo(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="first"), Reply(text="second"))
    client = anthropic_client(fake_minimax)
    texts = [
        client.messages.create(model="MiniMax-M3", max_tokens=10, messages=user("q"))
        .content[0]
        .text  # type: ignore[union-attr]
        for _ in range(3)
    ]
    assert texts == ["first", "second", "fake answer to: q"]
