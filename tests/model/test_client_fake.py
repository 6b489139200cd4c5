"""The model client end to end against the fake MiniMax server over real HTTP:
both wire formats, every row of the retry table (minimax-api.md §13), mid-stream errors,
abrupt closes, cancellation, stop sequences, usage, spend caps and the circuit breaker."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from minimax_lsp.server.model import (
    AuthError,
    BadRequest,
    CircuitOpen,
    ClientConfig,
    ConnectionFailed,
    ContextOverflow,
    InsufficientBalance,
    Message,
    ModelClient,
    ModelError,
    ModelNotFound,
    ModelRequest,
    Overloaded,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
    Secret,
    ServerError,
    SpendCaps,
    SpendLimitReached,
    StreamInterrupted,
    SystemBlock,
    TextDelta,
    ThinkingDelta,
)
from tests.fake_minimax import FakeMiniMax, Fault, Reply

from .support import RecordingSleep

HEX32 = re.compile(r"^[0-9a-f]{32}$")

MakeClient = Callable[..., ModelClient]


@pytest.fixture
async def make_client(fake_minimax: FakeMiniMax) -> AsyncIterator[MakeClient]:
    """Clients pointed at the fake; a recording sleep so backoff costs no time."""
    clients: list[ModelClient] = []

    def factory(
        fake: FakeMiniMax | None = None,
        *,
        api: str = "anthropic",
        sleep: Any = None,
        clock: Callable[[], float] | None = None,
        retry: RetryPolicy | None = None,
        **overrides: Any,
    ) -> ModelClient:
        fake = fake or fake_minimax
        base = fake.anthropic_base_url if api == "anthropic" else fake.openai_base_url
        overrides.setdefault("api_key", Secret(fake.api_key))
        overrides.setdefault("spend", SpendCaps(automatic_requests_per_minute=None))
        config = ClientConfig(base_url=base, api=api, retry=retry or RetryPolicy(), **overrides)  # type: ignore[arg-type]
        extra: dict[str, Any] = {
            "sleep": sleep if sleep is not None else RecordingSleep(),
            "rng": lambda: 0.0,
        }
        if clock is not None:
            extra["clock"] = clock
        client = ModelClient(config, **extra)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


async def _collect(
    client: ModelClient, request: ModelRequest
) -> tuple[list[Any], ModelError | None]:
    events: list[Any] = []
    try:
        async for event in client.stream(request):
            events.append(event)
    except ModelError as exc:
        return events, exc
    return events, None


def _sleep_of(client: ModelClient) -> RecordingSleep:
    sleep = client._sleep  # the injected recorder
    assert isinstance(sleep, RecordingSleep)
    return sleep


# --------------------------------------------------------------------------- wire formats


async def test_anthropic_end_to_end_with_thinking(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    fake_minimax.enqueue(
        Reply(text="def add(a, b):\n    return a + b", thinking="Add two numbers.", chunks=4)
    )
    client = make_client()
    request = ModelRequest(
        system=(SystemBlock("You are a code assistant."),),
        messages=(Message.user("Write add()"),),
        max_tokens=2048,
        thinking="adaptive",
    )
    events, error = await _collect(client, request)
    assert error is None
    result = events[-1].result
    assert result.thinking == "Add two numbers."
    assert result.text == "\n\ndef add(a, b):\n    return a + b"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == result.text
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == result.thinking
    assert result.stop_reason == "end_turn" and result.model == "MiniMax-M3"
    assert HEX32.match(result.message_id or "")
    assert result.attempts == 1
    assert (
        result.usage.output_tokens > 0
        and result.usage.total_input > 0
        and not result.usage.estimated
    )
    # Replaying the turn (thinking + signature) is accepted by the fake's signature check.
    follow_up = ModelRequest(
        messages=(*request.messages, result.assistant_message(), Message.user("And sub()?")),
        thinking="adaptive",
    )
    assert (await client.complete(follow_up)).text
    sent = fake_minimax.requests[0]
    assert sent.path == "/anthropic/v1/messages"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in sent.headers
    assert sent.body["thinking"] == {"type": "adaptive"} and sent.body["stream"] is True
    assert sent.body["system"][-1]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize(
    ("done", "final_frame"), [(True, True), (False, False), (True, False), (False, True)]
)
async def test_openai_end_to_end(
    fake_minimax_factory: Callable[..., FakeMiniMax],
    make_client: MakeClient,
    done: bool,
    final_frame: bool,
) -> None:
    fake = fake_minimax_factory(openai_done=done, openai_final_frame=final_frame)
    fake.enqueue(
        Reply(text="Hello there, friend.", thinking="Greet back.", chunks=3, thinking_chunks=2)
    )
    client = make_client(fake, api="openai", model="MiniMax-M2.7")
    result = await client.complete(ModelRequest.simple("hi", max_tokens=1000))
    assert (result.text, result.thinking) == ("Hello there, friend.", "Greet back.")
    assert result.stop_reason == "end_turn"
    assert result.usage.output_tokens > 0 and result.usage.input_tokens > 0
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["reasoning_split"] is True and sent.body["thinking"] == {"type": "disabled"}


async def test_openai_base_resp_error(fake_minimax: FakeMiniMax, make_client: MakeClient) -> None:
    fake_minimax.enqueue(Fault.base_resp_error(code=1008))
    client = make_client(api="openai")
    with pytest.raises(InsufficientBalance) as info:
        await client.complete(ModelRequest.simple("hi"))
    assert info.value.code == 1008 and len(fake_minimax.requests) == 1


# --------------------------------------------------------------------------- retry table

RETRIED = [
    pytest.param(Fault.http(408), ServerError, 0.5, id="408"),
    pytest.param(Fault.http(409), ServerError, 0.5, id="409"),
    pytest.param(Fault.http(500, code=1000), ServerError, 0.5, id="500-1000"),
    pytest.param(Fault.http(502), ServerError, 0.5, id="502"),
    pytest.param(Fault.http(503), ServerError, 0.5, id="503"),
    pytest.param(Fault.http(504, code=1001), ServerError, 0.5, id="504-1001"),
    pytest.param(Fault.http(500, code=1013), ServerError, 0.5, id="500-1013"),
    pytest.param(Fault.http(500, code=1024), ServerError, 0.5, id="500-1024"),
    pytest.param(Fault.http(500, code=1033), ServerError, 0.5, id="500-1033"),
    pytest.param(Fault.http(429, code=1002), RateLimited, 2.0, id="429-1002"),
    pytest.param(Fault.http(429, code=1041), RateLimited, 2.0, id="429-1041"),
    pytest.param(Fault.http(429, code=2045), RateLimited, 2.0, id="429-2045"),
    pytest.param(Fault.http(529, code=2064), Overloaded, 3.0, id="529-2064"),
    pytest.param(Fault.disconnect(), ConnectionFailed, 0.5, id="connection-reset"),
    pytest.param(
        Fault.midstream_error(after_text=""), Overloaded, 3.0, id="event-error-before-output"
    ),
    pytest.param(Fault.abrupt_close(after_text=""), StreamInterrupted, 0.5, id="cut-before-output"),
    pytest.param(
        Fault.abrupt_close(after_text="", clean_eof=True),
        StreamInterrupted,
        0.5,
        id="eof-before-output",
    ),
]


@pytest.mark.parametrize(("fault", "kind", "delay"), RETRIED)
async def test_retried_rows(
    fake_minimax: FakeMiniMax,
    make_client: MakeClient,
    fault: Fault,
    kind: type[ModelError],
    delay: float,
) -> None:
    fake_minimax.enqueue(fault, Reply(text="recovered"))
    client = make_client()
    events, error = await _collect(client, ModelRequest.simple("hi"))
    assert error is None
    assert events[-1].result.text == "recovered"
    assert events[-1].result.attempts == 2
    assert len(fake_minimax.requests) == 2
    assert _sleep_of(client).delays == [delay]


NOT_RETRIED = [
    pytest.param(Fault.http(429, code=2056), QuotaExceeded, "quota is used up", id="429-2056"),
    pytest.param(
        Fault.http(429, code=1028, message="quota exhausted"), QuotaExceeded, "quota", id="429-1028"
    ),
    pytest.param(
        Fault.http(429, code=1030, message="quota exhausted"), QuotaExceeded, "quota", id="429-1030"
    ),
    pytest.param(
        Fault.http(400, code=2013, message="invalid params, context window exceeds limit"),
        ContextOverflow,
        "too long for MiniMax-M3's context window",
        id="400-2013-context",
    ),
    pytest.param(Fault.http(400, code=1039), ContextOverflow, "context window", id="400-1039"),
    pytest.param(
        Fault.http(400, code=2013, message="invalid params, invalid tool_result content"),
        BadRequest,
        "rejected the request",
        id="400-2013-other",
    ),
    pytest.param(Fault.http(400, code=1026), BadRequest, "content filter", id="400-1026"),
    pytest.param(Fault.http(400, code=1027), BadRequest, "content filter", id="400-1027"),
    pytest.param(Fault.http(401, code=1004), AuthError, "rejected the API key", id="401-1004"),
    pytest.param(Fault.http(401, code=2049), AuthError, "rejected the API key", id="401-2049"),
    pytest.param(Fault.http(403), PermissionDenied, "no access", id="403"),
    pytest.param(Fault.http(404), ModelNotFound, "does not know", id="404"),
    pytest.param(Fault.http(402, code=1008), InsufficientBalance, "balance", id="402-1008"),
    pytest.param(Fault.http(413), BadRequest, "413", id="413"),
]


@pytest.mark.parametrize(("fault", "kind", "phrase"), NOT_RETRIED)
async def test_not_retried_rows(
    fake_minimax: FakeMiniMax,
    make_client: MakeClient,
    fault: Fault,
    kind: type[ModelError],
    phrase: str,
) -> None:
    fake_minimax.enqueue(fault)
    client = make_client()
    events, error = await _collect(client, ModelRequest.simple("hi"))
    assert events == []
    assert type(error) is kind
    assert not error.retryable
    assert phrase in str(error)
    assert error.code == fault.code
    assert error.status == fault.status
    assert HEX32.match(error.request_id or "")
    assert len(fake_minimax.requests) == 1
    assert _sleep_of(client).delays == []
    if isinstance(error, ContextOverflow):
        assert error.context_window == 1_000_000
        assert error.max_tokens == 4096
        assert error.input_tokens_estimate is not None and error.input_tokens_estimate > 0


async def test_context_overflow_from_validation(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    client = make_client(model="MiniMax-M2.7")
    with pytest.raises(ContextOverflow) as info:
        await client.complete(ModelRequest.simple("x " * 2000, max_tokens=204_800))
    assert (info.value.context_window, info.value.max_tokens) == (204_800, 204_800)
    assert len(fake_minimax.requests) == 1


async def test_unknown_model_is_not_found(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    client = make_client(model="MiniMax-M9", context_window=8192)
    with pytest.raises(ModelNotFound):
        await client.complete(ModelRequest.simple("hi"))
    assert len(fake_minimax.requests) == 1


@pytest.mark.parametrize(
    ("fault", "delay"),
    [
        (Fault.http(429, code=1002, retry_after=0.25), 0.25),
        (Fault.http(429, code=1002, retry_after_ms=40, retry_after=9), 0.04),
        (Fault.http(529, code=2064, retry_after=1.5), 1.5),
        (Fault.http(529, code=2064, retry_after=120), 3.0),  # > 60 s: ignored, backoff used
    ],
)
async def test_retry_after_honoured(
    fake_minimax: FakeMiniMax, make_client: MakeClient, fault: Fault, delay: float
) -> None:
    fake_minimax.enqueue(fault)
    client = make_client()
    result = await client.complete(ModelRequest.simple("hi"))
    assert result.attempts == 2
    assert _sleep_of(client).delays == [pytest.approx(delay)]


async def test_retry_after_really_waits(fake_minimax: FakeMiniMax, make_client: MakeClient) -> None:
    fake_minimax.enqueue(Fault.http(429, code=1002, retry_after_ms=150))
    client = make_client(sleep=asyncio.sleep)
    await client.complete(ModelRequest.simple("hi"))
    first, second = fake_minimax.requests
    assert second.received_at - first.received_at >= 0.14


async def test_x_should_retry_header_wins(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    fake_minimax.enqueue(Fault.http(500, should_retry=False))
    client = make_client()
    with pytest.raises(ServerError) as info:
        await client.complete(ModelRequest.simple("hi"))
    assert not info.value.retryable and len(fake_minimax.requests) == 1
    fake_minimax.enqueue(Fault.http(400, code=2013, message="odd", should_retry=True))
    assert (await client.complete(ModelRequest.simple("hi"))).attempts == 2


async def test_attempts_are_bounded(fake_minimax: FakeMiniMax, make_client: MakeClient) -> None:
    fake_minimax.set_sticky(Fault.http(500))
    client = make_client()
    with pytest.raises(ServerError) as info:
        await client.complete(ModelRequest.simple("hi"))
    assert info.value.retryable
    assert len(fake_minimax.requests) == 4
    assert _sleep_of(client).delays == [0.5, 1.0, 2.0]
    fake_minimax.set_sticky(Fault.http(500))
    with pytest.raises(ServerError):
        await client.complete(ModelRequest.simple("hi", max_attempts=1))
    assert len(fake_minimax.requests) == 5
    fake_minimax.set_sticky(None)


async def test_read_timeout_on_slow_first_byte_is_retried(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    fake_minimax.enqueue(Fault.slow_first_byte(seconds=2.0))
    client = make_client(read_timeout=0.2)
    result = await client.complete(ModelRequest.simple("hi"))
    assert result.attempts == 2
    assert fake_minimax.wait_for(lambda: fake_minimax.client_disconnects == 1, 3.0)


# --------------------------------------------------------------------------- after output


@pytest.mark.parametrize("clean_eof", [False, True])
async def test_abrupt_close_after_output(
    fake_minimax: FakeMiniMax, make_client: MakeClient, clean_eof: bool
) -> None:
    fake_minimax.enqueue(Fault.abrupt_close(after_text="partial answer", clean_eof=clean_eof))
    client = make_client()
    events, error = await _collect(client, ModelRequest.simple("hi"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "partial answer"
    assert isinstance(error, StreamInterrupted) and error.retryable
    assert len(fake_minimax.requests) == 1  # output was committed: no silent retry
    # complete() owns the whole answer, so it restarts the turn.
    fake_minimax.enqueue(
        Fault.abrupt_close(after_text="partial answer", clean_eof=clean_eof), Reply(text="whole")
    )
    result = await client.complete(ModelRequest.simple("hi"))
    assert result.text == "whole" and result.attempts == 2


async def test_midstream_error_after_output(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    fake_minimax.enqueue(
        Fault.midstream_error(error_type="overloaded_error", code=2064, after_text="partial")
    )
    client = make_client()
    events, error = await _collect(client, ModelRequest.simple("hi"))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["partial"]
    assert isinstance(error, Overloaded) and error.code == 2064 and error.status is None
    assert len(fake_minimax.requests) == 1
    fake_minimax.enqueue(Fault.midstream_error(after_text="partial"), Reply(text="fine"))
    assert (await client.complete(ModelRequest.simple("hi"))).text == "fine"


async def test_midstream_error_openai(fake_minimax: FakeMiniMax, make_client: MakeClient) -> None:
    fake_minimax.enqueue(
        Fault.midstream_error(error_type="rate_limit_error", code=2056, after_text="so")
    )
    client = make_client(api="openai")
    events, error = await _collect(client, ModelRequest.simple("hi"))
    assert isinstance(error, QuotaExceeded)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["so"]


# --------------------------------------------------------------------------- closing the stream


async def test_cancellation_closes_the_http_stream(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    fake_minimax.enqueue(Reply(text="word " * 400, chunks=100, tps=100))
    client = make_client()
    first = asyncio.Event()

    async def consume() -> None:
        async for event in client.stream(ModelRequest.simple("hi")):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(
        fake_minimax.wait_for, lambda: fake_minimax.client_disconnects == 1, 5.0
    )
    assert await asyncio.to_thread(
        fake_minimax.wait_for, lambda: fake_minimax.open_streams == 0, 5.0
    )


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_stop_sequence_cuts_text_and_hangs_up(
    fake_minimax: FakeMiniMax, make_client: MakeClient, api: str
) -> None:
    text = "line one\nline two\n```\nignored tail " + "more " * 300
    fake_minimax.enqueue(Reply(text=text, chunks=120, tps=200))
    client = make_client(api=api)
    result = await client.complete(ModelRequest.simple("hi", stop_sequences=("\n```",)))
    assert result.text == "line one\nline two"
    assert (result.stop_reason, result.stop_sequence) == ("stop_sequence", "\n```")
    assert result.usage.estimated
    assert await asyncio.to_thread(
        fake_minimax.wait_for, lambda: fake_minimax.client_disconnects == 1, 5.0
    )


# --------------------------------------------------------------------------- accounting


async def test_usage_accumulates_with_cache_fields(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    client = make_client()
    pack = SystemBlock("def helper():\n    return 42\n" * 150)  # well over 512 tokens
    for question in ("first question", "second question", "third question"):
        await client.complete(ModelRequest(system=(pack,), messages=(Message.user(question),)))
    snap = client.ledger.snapshot()
    totals = fake_minimax.usage_totals
    assert snap.calls == totals.requests == 3
    assert snap.usage.input_tokens == totals.input_tokens
    assert snap.usage.cache_read_input_tokens == totals.cache_read_input_tokens > 0
    assert snap.usage.cache_creation_input_tokens == totals.cache_creation_input_tokens > 0
    assert snap.usage.output_tokens == totals.output_tokens
    assert snap.cache_hit_share == pytest.approx(totals.cache_hit_share)
    assert snap.cache_hit_share > 0.4
    assert client.spend_guard.tokens_last_day() == snap.usage.total


async def test_spend_caps_refuse_without_sending(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    client = make_client(spend=SpendCaps(automatic_requests_per_minute=2, tokens_per_day=None))
    auto = ModelRequest.simple("complete this", trigger="automatic", max_tokens=64)
    await client.complete(auto)
    await client.complete(auto)
    with pytest.raises(SpendLimitReached) as info:
        await client.complete(auto)
    assert "Inline completions paused" in str(info.value)
    assert len(fake_minimax.requests) == 2
    await client.complete(ModelRequest.simple("explain", trigger="explicit"))
    assert len(fake_minimax.requests) == 3


async def test_circuit_breaker_fails_fast_when_offline(
    fake_minimax: FakeMiniMax, make_client: MakeClient
) -> None:
    now = [0.0]
    client = make_client(
        clock=lambda: now[0],
        retry=RetryPolicy(max_attempts=2, breaker_threshold=3, breaker_cooldown=30),
    )
    fake_minimax.set_offline(True)
    for _ in range(2):
        with pytest.raises(ConnectionFailed):
            await client.complete(ModelRequest.simple("hi"))
    sent = len(fake_minimax.requests)
    assert sent == 3  # 2 attempts, then 1: the third failure opened the circuit
    with pytest.raises(CircuitOpen) as info:
        await client.complete(ModelRequest.simple("hi"))
    assert len(fake_minimax.requests) == sent  # failed fast, nothing sent
    assert info.value.retry_after == 30 and "30 s" in str(info.value)
    now[0] = 31.0
    fake_minimax.set_offline(False)
    assert (await client.complete(ModelRequest.simple("hi"))).text
    assert client.breaker.consecutive_failures == 0


async def test_key_command_is_used_and_reread_after_auth_failure(
    fake_minimax: FakeMiniMax, make_client: MakeClient, tmp_path: Any
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("stale-key\n")
    client = make_client(api_key=None, api_key_file=key_file)
    with pytest.raises(AuthError):
        await client.complete(ModelRequest.simple("hi"))
    key_file.write_text("test-key\n")  # the user fixed the key: no restart needed
    assert (await client.complete(ModelRequest.simple("hi"))).text
