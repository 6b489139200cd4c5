"""The fake's OpenAI-compatible endpoint, driven by the official ``openai`` SDK."""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest

from tests.fake._helpers import HEX32, KEY, TOOL_ID, openai_client, parse_sse, post, user
from tests.fake_minimax import FakeMiniMax, Fault, Reply, count_text


def _chunks(fake: FakeMiniMax, **kwargs: Any) -> list[Any]:
    client = openai_client(fake)
    return list(client.chat.completions.create(stream=True, **kwargs))


def test_non_streamed_inline_think_and_extra_fields(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="The answer.", thinking="Reasoning here."))
    completion = openai_client(fake_minimax).chat.completions.create(
        model="MiniMax-M3",
        messages=user("question"),
    )
    assert re.fullmatch(HEX32, completion.id)
    choice = completion.choices[0]
    # M3 thinks by default on the OpenAI endpoint, inline in content.
    assert choice.message.content == "<think>\nReasoning here.\n</think>\n\nThe answer."
    assert choice.finish_reason == "stop"
    extra = completion.model_dump()
    assert extra["base_resp"] == {"status_code": 0, "status_msg": ""}
    assert extra["choices"][0]["message"]["name"] == "MiniMax AI"
    assert extra["input_sensitive"] is False
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 4 + count_text("question")
    assert usage.completion_tokens == count_text("Reasoning here.") + count_text("The answer.")
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == count_text("Reasoning here.")
    request = fake_minimax.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_non_streamed_reasoning_split_and_disabled_thinking(fake_minimax: FakeMiniMax) -> None:
    client = openai_client(fake_minimax)
    fake_minimax.enqueue(
        Reply(text="Clean.", thinking="Hidden."), Reply(text="Plain.", thinking="x")
    )
    split = client.chat.completions.create(
        model="MiniMax-M3",
        messages=user("q"),
        extra_body={"reasoning_split": True},
    )
    message = split.model_dump()["choices"][0]["message"]
    assert message["content"] == "Clean."
    assert message["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "id": "reasoning-text-1",
            "format": "MiniMax-response-v1",
            "index": 0,
            "text": "Hidden.",
        }
    ]
    off = client.chat.completions.create(
        model="MiniMax-M3",
        messages=user("q"),
        extra_body={"thinking": {"type": "disabled"}},
    )
    assert off.choices[0].message.content == "Plain."


def test_stream_inline_think_tags_split_across_chunks(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(
        Reply(text="Final answer here.", thinking="abc def ghi", thinking_chunks=4, chunks=2)
    )
    chunks = _chunks(fake_minimax, model="MiniMax-M2.7", messages=user("q"))
    deltas = [c for c in chunks if c.object == "chat.completion.chunk" and c.choices]
    contents = [c.choices[0].delta.content for c in deltas if c.choices[0].delta is not None]
    assert "".join(contents) == "<think>\nabc def ghi\n</think>\n\nFinal answer here."
    assert len(contents) == 6
    assert not any("</think>" in piece for piece in contents)  # the tag is split
    roles = [c.choices[0].delta.role for c in deltas if c.choices[0].delta is not None]
    assert roles == ["assistant"] + [""] * 5
    finish = deltas[-1].choices[0]
    assert finish.delta is None and finish.finish_reason == "stop"
    assert all(c.usage.total_tokens == 0 for c in deltas)  # placeholder usage
    final = chunks[-1]
    assert final.object == "chat.completion"  # the full object, again, with the real usage
    body = final.model_dump()
    assert body["choices"][0]["message"]["content"] == "".join(contents)
    assert body["usage"]["prompt_tokens"] == 4 + count_text("q")
    assert body["usage"]["completion_tokens"] > 0


def test_stream_reasoning_split_is_incremental(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="Answer.", thinking="one two three four", thinking_chunks=3))
    chunks = _chunks(
        fake_minimax,
        model="MiniMax-M3",
        messages=user("q"),
        extra_body={"reasoning_split": True, "thinking": {"type": "adaptive"}},
    )
    pieces: list[str] = []
    content = ""
    for chunk in chunks:
        if chunk.object != "chat.completion.chunk" or not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta is None:
            continue
        for detail in delta.model_dump().get("reasoning_details") or []:
            pieces.append(detail["text"])
        content += delta.content or ""
    assert len(pieces) == 3
    assert "".join(pieces) == "one two three four"
    assert content == "Answer."


def test_stream_include_usage_and_done_sentinel(fake_minimax: FakeMiniMax) -> None:
    body = {
        "model": "MiniMax-M3",
        "messages": user("hello"),
        "stream": True,
        "stream_options": {"include_usage": True},
        "thinking": {"type": "disabled"},
    }
    response = post(fake_minimax, "/v1/chat/completions", body)
    events = parse_sse(response.text)
    assert all(event.event is None for event in events)
    assert events[-1].data == "[DONE]"
    usage_only = json.loads(events[-3].data)
    assert usage_only["choices"] == []
    assert usage_only["usage"]["prompt_tokens"] == 4 + count_text("hello")
    assert json.loads(events[-2].data)["object"] == "chat.completion"


def test_stream_without_done_or_final_frame(fake_minimax_factory: Any) -> None:
    fake = fake_minimax_factory(openai_done=False, openai_final_frame=False)
    chunks = _chunks(fake, model="MiniMax-M3", messages=user("hi"))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = post(
        fake,
        "/v1/chat/completions",
        {"model": "MiniMax-M3", "messages": user("hi"), "stream": True},
    ).text
    assert "[DONE]" not in text


def test_tool_calls_streamed_whole_and_non_streamed(fake_minimax: FakeMiniMax) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "read_file", "parameters": {"type": "object"}},
        }
    ]
    call = ("read_file", {"path": "utils.py"})
    fake_minimax.enqueue(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    client = openai_client(fake_minimax)
    completion = client.chat.completions.create(
        model="MiniMax-M2.7",
        messages=user("read it"),
        tools=tools,  # type: ignore[arg-type]
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert re.fullmatch(TOOL_ID, calls[0].id)
    assert calls[0].function.name == "read_file"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"path": "utils.py"}  # type: ignore[union-attr]

    chunks = _chunks(fake_minimax, model="MiniMax-M2.7", messages=user("read it"), tools=tools)
    streamed = [
        tc
        for c in chunks
        if c.object == "chat.completion.chunk" and c.choices and c.choices[0].delta
        for tc in c.choices[0].delta.tool_calls or []
    ]
    assert len(streamed) == 1
    assert streamed[0].function is not None
    assert streamed[0].function.arguments == '{"path": "utils.py"}'


def test_max_completion_tokens_and_length_finish(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="z" * 350))
    completion = openai_client(fake_minimax).chat.completions.create(
        model="MiniMax-M3",
        messages=user("q"),
        max_completion_tokens=10,
        extra_body={"thinking": {"type": "disabled"}},
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "z" * 35


def test_base_resp_error_on_http_200(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.base_resp_error(code=1008), Fault.base_resp_error(code=2056))
    client = openai_client(fake_minimax)
    raw = client.chat.completions.with_raw_response.create(model="MiniMax-M3", messages=user("q"))
    assert raw.http_response.status_code == 200
    body = raw.http_response.json()
    assert body["choices"] is None
    assert body["base_resp"] == {"status_code": 1008, "status_msg": "insufficient balance"}
    assert body["usage"]["total_tokens"] == 0
    stream_text = post(
        fake_minimax,
        "/v1/chat/completions",
        {"model": "MiniMax-M3", "messages": user("q"), "stream": True},
    ).text
    (event,) = parse_sse(stream_text)
    assert json.loads(event.data)["base_resp"]["status_code"] == 2056


@pytest.mark.parametrize(
    ("fault", "exc_type", "status"),
    [
        (Fault.http(429, code=2056), openai.RateLimitError, 429),
        (Fault.http(500), openai.InternalServerError, 500),
        (Fault.http(529), openai.InternalServerError, 529),
        (
            Fault.http(400, message="invalid params, context window exceeds limit"),
            openai.BadRequestError,
            400,
        ),
    ],
)
def test_http_errors_carry_the_minimax_body(
    fake_minimax: FakeMiniMax, fault: Fault, exc_type: type[openai.APIStatusError], status: int
) -> None:
    fake_minimax.enqueue(fault)
    with pytest.raises(exc_type) as caught:
        openai_client(fake_minimax).chat.completions.create(model="MiniMax-M3", messages=user("q"))
    assert caught.value.status_code == status
    body = caught.value.body
    # The SDK unwraps body["error"]; it is the Anthropic-style error object (§10.3).
    assert isinstance(body, dict)
    assert body["http_code"] == str(status)
    assert re.search(r"\(\d{4}\)", body["message"])


def test_openai_endpoint_needs_bearer(fake_minimax: FakeMiniMax) -> None:
    body = {"model": "MiniMax-M3", "messages": user("q")}
    response = post(fake_minimax, "/v1/chat/completions", body, headers={"x-api-key": KEY})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authorized_error"


@pytest.mark.parametrize(
    "change",
    [
        {"n": 2},
        {"max_completion_tokens": 10**7},
        {"temperature": -0.1},
        {"messages": [{"role": "developer", "content": "x"}]},
        {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
        {"tools": [{"type": "code_interpreter"}]},
        {
            "model": "MiniMax-M2.7",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}
            ],
        },
    ],
)
def test_openai_validation(fake_minimax: FakeMiniMax, change: dict[str, Any]) -> None:
    body = {"model": "MiniMax-M3", "messages": user("q"), **change}
    response = post(fake_minimax, "/v1/chat/completions", body)
    assert response.status_code == 400
    assert response.json()["type"] == "error"


def test_ignored_openai_parameters(fake_minimax: FakeMiniMax) -> None:
    completion = openai_client(fake_minimax).chat.completions.create(
        model="MiniMax-M3",
        messages=[{"role": "system", "content": "be brief"}, *user("q")],
        stop=["\n"],
        presence_penalty=1.0,
        frequency_penalty=1.0,
        parallel_tool_calls=False,
        temperature=1.0,
        top_p=0.95,
    )
    assert completion.choices[0].message.content is not None
    assert completion.choices[0].message.content.endswith("fake answer to: q")


def test_stream_error_frame_and_cut(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(
        Fault.midstream_error(error_type="overloaded_error", code=2064, after_text="par"),
        Fault.abrupt_close(after_text="half"),
    )
    client = openai_client(fake_minimax)
    received = ""
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(
            model="MiniMax-M3", messages=user("q"), stream=True
        ):
            received += chunk.choices[0].delta.content or ""
    assert received == "par"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "overloaded_error"
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(
            model="MiniMax-M3", messages=user("q"), stream=True
        ):
            pass
