"""The fake MiniMax agrees with the client it tests: model table, caps, and timing.

* Every model id of the client's registry (``minimax_lsp.server.model.models``) is one the
  fake accepts, with the same context window, the same ``max_tokens`` cap and the same
  thinking behaviour, and the fake knows no model the client does not (so a test never
  passes only because the two disagree, e.g. ``M2-her`` versus ``MiniMax-M2-her``).
* The fake answers error after error on one kept-alive connection without Nagle's
  ~40 ms stall (it sets ``TCP_NODELAY`` on accepted sockets): fault-injection timings
  measure the server under test, not the fake.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from minimax_lsp.server.model.models import MODELS
from tests.fake_minimax import DEFAULT_MODELS, FakeMiniMax, Reply, ThinkingPolicy

#: The client's thinking support -> the fake's policy.
_POLICIES = {
    "optional": ThinkingPolicy.OPTIONAL,
    "always": ThinkingPolicy.ALWAYS,
    "never": ThinkingPolicy.NEVER,
}


def test_the_fake_accepts_exactly_the_client_models_with_the_same_limits() -> None:
    assert set(DEFAULT_MODELS) == set(MODELS)
    for model_id, info in MODELS.items():
        spec = DEFAULT_MODELS[model_id]
        assert spec.context_window == info.context_window, model_id
        assert spec.max_output == info.max_output, model_id
        assert spec.thinking is _POLICIES[info.thinking], model_id
        assert spec.default_output <= spec.max_output, model_id


def _post(fake: FakeMiniMax, body: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": "Bearer test-key", "anthropic-version": "2023-06-01"}
    return httpx.post(
        f"{fake.anthropic_base_url}/v1/messages", json=body, headers=headers, timeout=10
    )


@pytest.mark.parametrize("model", ["M2-her", "MiniMax-M2-her"])
def test_m2_her_under_both_ids_with_its_output_cap_and_no_thinking(
    fake_minimax: FakeMiniMax, model: str
) -> None:
    fake_minimax.enqueue(Reply(text="hello"))
    body = {
        "model": model,
        "max_tokens": 2048,
        "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "hi"}],
    }
    answer = _post(fake_minimax, body)
    assert answer.status_code == 200, answer.text
    assert [block["type"] for block in answer.json()["content"]] == ["text"]
    too_many = _post(fake_minimax, {**body, "max_tokens": 2049})
    assert too_many.status_code == 400
    assert "2048" in too_many.json()["error"]["message"]


def test_error_responses_on_a_kept_alive_connection_do_not_stall(
    fake_minimax: FakeMiniMax,
) -> None:
    """Six 401s on one connection: each answered in milliseconds (Nagle: >= 40 ms)."""
    # The client side without Nagle too, so only the fake's sockets are measured.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    body = {"model": "MiniMax-M3", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    seconds: list[float] = []
    with httpx.Client(transport=transport, timeout=10) as client:
        for _ in range(6):
            started = time.perf_counter()
            response = client.post(
                f"{fake_minimax.anthropic_base_url}/v1/messages",
                json=body,
                headers={"authorization": "Bearer wrong-key"},
            )
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 401
    assert len(fake_minimax.requests) == 6
    # The best of the responses after the first: a stall would put every one >= 40 ms.
    assert min(seconds[1:]) < 0.02, seconds
