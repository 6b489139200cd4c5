"""Fault injection, outages, disconnects and HTTP edge cases of the fake server."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import anthropic
import httpx
import pytest

from tests.fake._helpers import HEX32, KEY, anthropic_client, parse_sse, post, user
from tests.fake_minimax import FakeMiniMax, Fault, ModelSpec, Reply, ThinkingPolicy

MESSAGES = "/anthropic/v1/messages"


def _create(fake: FakeMiniMax, **kwargs: Any) -> anthropic.types.Message:
    client = anthropic_client(fake, **kwargs)
    return client.messages.create(model="MiniMax-M3", max_tokens=100, messages=user("q"))


@pytest.mark.parametrize(
    ("fault", "exc_type", "status", "error_type", "message"),
    [
        (Fault.http(429), anthropic.RateLimitError, 429, "rate_limit_error", "rate limit (1002)"),
        (
            Fault.http(429, code=2056),
            anthropic.RateLimitError,
            429,
            "rate_limit_error",
            "usage limit exceeded (2056)",
        ),
        (
            Fault.http(529, code=2064),
            anthropic.OverloadedError,
            529,
            "overloaded_error",
            "High traffic detected. For a more stable experience, upgrade to our Plus plan and "
            "use the highspeed model. (2064) (529)",
        ),
        (
            Fault.http(500, code=1000),
            anthropic.InternalServerError,
            500,
            "api_error",
            "unknown error, 794 (1000)",
        ),
        (
            Fault.http(402, code=1008),
            anthropic.APIStatusError,
            402,
            "insufficient_balance_error",
            "insufficient balance (1008)",
        ),
        (
            Fault.http(401, code=1004),
            anthropic.AuthenticationError,
            401,
            "authorized_error",
            "login fail: Please carry the API secret key in the 'Authorization' field of the "
            "request header (1004)",
        ),
        (
            Fault.http(400, code=2013, message="invalid params, context window exceeds limit"),
            anthropic.BadRequestError,
            400,
            "bad_request_error",
            "invalid params, context window exceeds limit (2013)",
        ),
    ],
)
def test_http_faults_map_to_sdk_exceptions(
    fake_minimax: FakeMiniMax,
    fault: Fault,
    exc_type: type[anthropic.APIStatusError],
    status: int,
    error_type: str,
    message: str,
) -> None:
    fake_minimax.enqueue(fault)
    with pytest.raises(exc_type) as caught:
        _create(fake_minimax)
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"] == {"type": error_type, "message": message, "http_code": str(status)}
    assert re.fullmatch(HEX32, body["request_id"])
    if status == 402:
        # Not one of the retryable/auth classes (older SDKs raise the bare APIStatusError).
        assert not isinstance(
            caught.value, anthropic.RateLimitError | anthropic.InternalServerError
        )


def test_retry_headers_are_sent(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.http(429, retry_after=1.5, retry_after_ms=1500, should_retry=False))
    with pytest.raises(anthropic.RateLimitError) as caught:
        _create(fake_minimax)
    headers = caught.value.response.headers
    assert headers["retry-after"] == "1.5"
    assert headers["retry-after-ms"] == "1500"
    assert headers["x-should-retry"] == "false"


def test_sdk_retries_honour_the_fakes_headers(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.http(529, retry_after_ms=50), Reply(text="after retry"))
    message = _create(fake_minimax, max_retries=2)
    assert message.content[0].text == "after retry"  # type: ignore[union-attr]
    first, second = fake_minimax.requests
    assert second.headers["x-stainless-retry-count"] == "1"
    assert second.received_at - first.received_at >= 0.05

    fake_minimax.enqueue(Fault.http(500, should_retry=False))
    with pytest.raises(anthropic.InternalServerError):
        _create(fake_minimax, max_retries=2)
    assert len(fake_minimax.requests) == 3  # x-should-retry: false stopped the SDK


def test_midstream_error_is_a_plain_api_status_error(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.midstream_error(after_text="partial answer"))
    client = anthropic_client(fake_minimax)
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model="MiniMax-M3", max_tokens=100, messages=user("q")) as stream,
    ):
        received.extend(stream.text_stream)
    assert "".join(received) == "partial answer"
    error = caught.value
    assert not isinstance(error, anthropic.OverloadedError)
    assert error.status_code == 200
    assert isinstance(error.body, dict)
    assert error.body["error"]["type"] == "overloaded_error"
    assert error.body["error"]["message"].endswith("(2064) (529)")


def test_midstream_error_wire_format(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.midstream_error(error_type="api_error", code=1000, after_text=""))
    body = {"model": "MiniMax-M3", "max_tokens": 10, "stream": True, "messages": user("q")}
    events = parse_sse(post(fake_minimax, MESSAGES, body).text)
    assert [e.event for e in events] == ["message_start", "ping", "error"]
    error = events[-1].json()
    assert error["error"] == {"type": "api_error", "message": "unknown error, 794 (1000)"}


def test_midstream_fault_on_a_non_streamed_request_is_an_http_error(
    fake_minimax: FakeMiniMax,
) -> None:
    fake_minimax.enqueue(Fault.midstream_error())
    with pytest.raises(anthropic.OverloadedError):
        _create(fake_minimax)


def test_abrupt_close_cuts_the_stream(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.abrupt_close(after_text="half"))
    client = anthropic_client(fake_minimax)
    seen: list[str] = []
    with pytest.raises(Exception) as caught:
        for event in client.messages.create(
            model="MiniMax-M3", max_tokens=100, stream=True, messages=user("q")
        ):
            seen.append(event.type)
    assert not isinstance(caught.value, anthropic.APIStatusError)
    assert "incomplete" in str(caught.value) or "closed" in str(caught.value)
    assert "message_stop" not in seen
    assert "content_block_delta" in seen


def test_abrupt_close_with_clean_eof_just_lacks_message_stop(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.abrupt_close(after_text="half", clean_eof=True))
    body = {"model": "MiniMax-M3", "max_tokens": 10, "stream": True, "messages": user("q")}
    response = post(fake_minimax, MESSAGES, body)
    names = [e.event for e in parse_sse(response.text)]
    assert names == ["message_start", "ping", "content_block_start", "content_block_delta"]


def test_abrupt_close_on_a_non_streamed_request(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.abrupt_close())
    with pytest.raises(anthropic.APIConnectionError):
        _create(fake_minimax)


def test_slow_first_byte_times_out_then_answers(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.slow_first_byte(seconds=3.0))
    with pytest.raises(anthropic.APITimeoutError):
        _create(fake_minimax, timeout=0.3)
    assert fake_minimax.wait_for(lambda: fake_minimax.client_disconnects == 1, timeout=2.0)

    fake_minimax.enqueue(Fault.slow_first_byte(seconds=0.3, then=Reply(text="late")))
    started = time.monotonic()
    message = _create(fake_minimax)
    assert time.monotonic() - started >= 0.3
    assert message.content[0].text == "late"  # type: ignore[union-attr]


def test_slow_first_byte_then_fault(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.slow_first_byte(0.05, then=Fault.http(429, code=2056)))
    with pytest.raises(anthropic.RateLimitError):
        _create(fake_minimax)


def test_disconnect_fault_is_a_connection_error(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.disconnect())
    with pytest.raises(anthropic.APIConnectionError):
        _create(fake_minimax)
    assert _create(fake_minimax).stop_reason == "end_turn"


def test_offline_outage_and_recovery(fake_minimax: FakeMiniMax) -> None:
    client = anthropic_client(fake_minimax)
    assert client.messages.create(model="MiniMax-M3", max_tokens=10, messages=user("a"))
    fake_minimax.enqueue(Reply(text="after the outage"))
    fake_minimax.set_offline(True)
    for _ in range(2):
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(model="MiniMax-M3", max_tokens=10, messages=user("b"))
    with pytest.raises(httpx.TransportError):
        httpx.get(fake_minimax.base_url + "/v1/token_plan/remains", timeout=2)
    fake_minimax.set_offline(False)
    message = client.messages.create(model="MiniMax-M3", max_tokens=10, messages=user("c"))
    assert message.content[0].text == "after the outage"  # type: ignore[union-attr]
    assert len(fake_minimax.requests) == 5  # outage requests are recorded too


def test_sticky_fault_until_cleared(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Reply(text="queued"))
    fake_minimax.set_sticky(Fault.http(529))
    for _ in range(3):
        with pytest.raises(anthropic.OverloadedError):
            _create(fake_minimax)
    assert fake_minimax.pending == 1
    fake_minimax.set_sticky(None)
    assert _create(fake_minimax).content[0].text == "queued"  # type: ignore[union-attr]


def test_client_disconnect_mid_stream_is_detected(fake_minimax_factory: Any) -> None:
    fake: FakeMiniMax = fake_minimax_factory(tps=400.0)
    fake.enqueue(Reply(text="word " * 400))  # ~572 tokens: ~1.4 s at 400 TPS
    body = {"model": "MiniMax-M3", "max_tokens": 4000, "stream": True, "messages": user("q")}
    headers = {"authorization": f"Bearer {KEY}"}
    with (
        httpx.Client(timeout=5) as client,
        client.stream("POST", fake.base_url + MESSAGES, json=body, headers=headers) as response,
    ):
        chunks = response.iter_raw()
        first = next(chunks)
        assert b"message_start" in first
        assert fake.open_streams == 1
    # Leaving the block closed the connection mid-stream.
    assert fake.wait_for(lambda: fake.client_disconnects == 1, timeout=2.0)
    assert fake.wait_for(lambda: fake.open_streams == 0, timeout=2.0)


def test_tps_paces_the_stream(fake_minimax_factory: Any) -> None:
    fake: FakeMiniMax = fake_minimax_factory()
    fake.enqueue(Reply(text="x" * 140, chunks=4, tps=100.0))  # 40 tokens: 0.4 s
    body = {"model": "MiniMax-M3", "max_tokens": 100, "stream": True, "messages": user("q")}
    started = time.monotonic()
    post(fake, MESSAGES, body)
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 2.0


def test_stop_returns_promptly_with_a_stream_open() -> None:
    fake = FakeMiniMax(tps=5.0).start()
    fake.enqueue(Reply(text="slow " * 200))
    body = {"model": "MiniMax-M3", "max_tokens": 4000, "stream": True, "messages": user("q")}
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            post(fake, MESSAGES, body)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=consume)
    thread.start()
    assert fake.wait_for(lambda: fake.open_streams == 1)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    thread.join(5)
    assert not thread.is_alive()
    assert errors  # the client saw the stream cut
    assert not fake.internal_errors


def test_unknown_routes_are_plain_404(fake_minimax: FakeMiniMax) -> None:
    for method, path in [
        ("GET", MESSAGES),
        ("POST", "/v1/models"),
        ("POST", "/anthropic/v1/complete"),
        ("GET", "/"),
        ("DELETE", "/v1/chat/completions"),
    ]:
        response = httpx.request(method, fake_minimax.base_url + path, timeout=5)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "404 page not found"


def test_body_over_64_mb_is_413(fake_minimax: FakeMiniMax) -> None:
    blob = b"x" * (64 * 1024 * 1024 + 1)
    response = httpx.post(
        fake_minimax.base_url + MESSAGES,
        content=blob,
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert fake_minimax.requests[-1].raw_body == b""


def test_413_maps_to_request_too_large(fake_minimax_factory: Any) -> None:
    fake: FakeMiniMax = fake_minimax_factory(max_body_bytes=1000)
    client = anthropic_client(fake)
    with pytest.raises(anthropic.RequestTooLargeError):
        client.messages.create(model="MiniMax-M3", max_tokens=10, messages=user("y" * 2000))


def test_missing_and_wrong_key_are_401(fake_minimax: FakeMiniMax) -> None:
    body = {"model": "MiniMax-M3", "max_tokens": 10, "messages": user("q")}
    missing = post(fake_minimax, MESSAGES, body, headers={})
    assert missing.status_code == 401
    data = missing.json()
    assert data["type"] == "error"
    assert data["error"] == {
        "type": "authorized_error",
        "message": "login fail: Please carry the API secret key in the 'Authorization' field "
        "of the request header (1004)",
        "http_code": "401",
    }
    assert re.fullmatch(HEX32, data["request_id"])
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client(fake_minimax, api_key="wrong").messages.create(
            model="MiniMax-M3", max_tokens=10, messages=user("q")
        )


def test_context_overflow(fake_minimax_factory: Any) -> None:
    small = ModelSpec(
        context_window=1000,
        max_output=800,
        default_output=100,
        multimodal=True,
        thinking=ThinkingPolicy.OPTIONAL,
    )
    fake: FakeMiniMax = fake_minimax_factory(models={"MiniMax-M3": small})
    client = anthropic_client(fake)
    # 4 + ceil(700 / 3.5) = 204 input tokens; 204 + 796 = 1000 fits, 797 does not.
    text = "z" * 700
    client.messages.create(model="MiniMax-M3", max_tokens=796, messages=user(text))
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="MiniMax-M3", max_tokens=797, messages=user(text))
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "bad_request_error"
    assert body["error"]["message"] == "invalid params, context window exceeds limit (2013)"


def test_context_overflow_on_the_default_m2_window(fake_minimax: FakeMiniMax) -> None:
    # 204,800 window: 150,000 input tokens + 65,536 output tokens do not fit.
    body = {
        "model": "MiniMax-M2.7",
        "max_tokens": 65_536,
        "messages": user("w" * (150_000 * 7 // 2)),
    }
    response = post(fake_minimax, MESSAGES, body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("context window exceeds limit (2013)")


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2, 3]", b"\xff\xfe\x00binary", b'"just a string"', b"{}"],
)
def test_hostile_bodies_are_400_not_crashes(fake_minimax: FakeMiniMax, raw: bytes) -> None:
    for path in (MESSAGES, "/v1/chat/completions", "/anthropic/v1/messages/count_tokens"):
        response = httpx.post(
            fake_minimax.base_url + path,
            content=raw,
            headers={"authorization": f"Bearer {KEY}"},
            timeout=5,
        )
        assert response.status_code == 400, (path, raw)
        assert response.json()["type"] == "error"
    assert not fake_minimax.internal_errors


def test_garbage_on_the_socket_does_not_break_the_server(fake_minimax: FakeMiniMax) -> None:
    with socket.create_connection(("127.0.0.1", fake_minimax.port), timeout=2) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        sock.recv(1024)
    assert _create(fake_minimax).stop_reason == "end_turn"


def test_token_plan_remains(fake_minimax: FakeMiniMax) -> None:
    url = fake_minimax.base_url + "/v1/token_plan/remains"
    assert httpx.get(url, timeout=5).status_code == 401
    headers = {"authorization": f"Bearer {KEY}"}
    body = httpx.get(url, headers=headers, timeout=5).json()
    assert body["base_resp"]["status_code"] == 0
    remains = body["model_remains"][0]
    assert remains["model_name"] == "MiniMax-M3"
    assert remains["end_time"] > remains["start_time"]
    fake_minimax.set_token_plan_remains({"base_resp": {"status_code": 1004}}, status=200)
    assert httpx.get(url, headers=headers, timeout=5).json() == {"base_resp": {"status_code": 1004}}


def test_http_fault_on_a_stream_request_comes_before_any_event(fake_minimax: FakeMiniMax) -> None:
    fake_minimax.enqueue(Fault.http(529))
    client = anthropic_client(fake_minimax)
    with (
        pytest.raises(anthropic.OverloadedError),
        client.messages.stream(model="MiniMax-M3", max_tokens=10, messages=user("q")) as stream,
    ):
        stream.until_done()
