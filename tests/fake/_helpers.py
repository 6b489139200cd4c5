"""Shared helpers for the fake-server tests: SDK clients and a raw SSE reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai

from tests.fake_minimax import FakeMiniMax

KEY = "test-key"
HEX32 = r"[0-9a-f]{32}"
HEX64 = r"[0-9a-f]{64}"
TOOL_ID = r"call_function_[a-z0-9]{12}_\d+"


def anthropic_client(fake: FakeMiniMax, **kwargs: Any) -> anthropic.Anthropic:
    """An Anthropic SDK client on the fake (no retries unless asked)."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("api_key", KEY)
    return anthropic.Anthropic(base_url=fake.anthropic_base_url, **kwargs)


def openai_client(fake: FakeMiniMax, **kwargs: Any) -> openai.OpenAI:
    """An OpenAI SDK client on the fake (no retries unless asked)."""
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=fake.openai_base_url, api_key=KEY, **kwargs)


@dataclass(frozen=True)
class RawEvent:
    """One SSE event as it appeared on the wire."""

    event: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(text: str) -> list[RawEvent]:
    """Split an SSE body into events (``event:`` and ``data:`` fields only)."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append(RawEvent(name, "\n".join(data)))
    return events


def post(
    fake: FakeMiniMax, path: str, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST JSON with the Bearer key (unless ``headers`` replace it)."""
    all_headers = {"authorization": f"Bearer {KEY}"} if headers is None else headers
    return httpx.post(fake.base_url + path, json=body, headers=all_headers, timeout=10)


def user(text: str) -> Any:
    """A one-message conversation (``Any``: the SDKs' TypedDict unions are not worth spelling)."""
    return [{"role": "user", "content": text}]
