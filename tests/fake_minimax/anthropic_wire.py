"""Anthropic-format bodies and SSE events as MiniMax sends them (spec §5, §8).

Differences from Anthropic that the fake reproduces on purpose: 32-hex message ids, no
``stop_sequence`` key anywhere, exactly one ``ping`` right after ``message_start``, placeholder
usage in ``message_start`` (input 0) with the real numbers in ``message_delta.usage``, a thinking
block skeleton without ``signature`` and a ``signature_delta`` just before its stop, a leading
``"\\n\\n"`` on text after thinking, and tool input streamed as an empty ``partial_json`` then
the whole JSON in one fragment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .cache import CacheUsage
from .generate import Turn, split_text
from .tokens import count_text


@dataclass(frozen=True)
class SseEvent:
    """One SSE event; ``tokens`` paces it under a TPS limit."""

    name: str | None
    data: dict[str, Any]
    tokens: int = 0

    def encode(self) -> bytes:
        """``event:`` line (when named), one ``data:`` line, blank line."""
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        head = f"event: {self.name}\n" if self.name is not None else ""
        return (head + f"data: {payload}\n\n").encode("utf-8", "surrogatepass")


def usage_json(usage: CacheUsage, output_tokens: int) -> dict[str, int]:
    """The usage object: both cache fields are always present."""
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
    }


def visible_text(turn: Turn, newline_after_thinking: bool) -> str:
    """The text block's content (``"\\n\\n"`` prefix after thinking, as MiniMax does)."""
    if turn.text and turn.thinking is not None and newline_after_thinking:
        return "\n\n" + turn.text
    return turn.text


def message_json(
    turn: Turn, usage: CacheUsage, message_id: str, *, newline_after_thinking: bool
) -> dict[str, Any]:
    """The non-streaming response body (§5)."""
    content: list[dict[str, Any]] = []
    if turn.thinking is not None:
        content.append({"type": "thinking", "thinking": turn.thinking, "signature": turn.signature})
    text = visible_text(turn, newline_after_thinking)
    if text:
        content.append({"type": "text", "text": text})
    for call in turn.tool_calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input})
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": content,
        "stop_reason": turn.stop_reason,
        "usage": usage_json(usage, turn.output_tokens),
    }


def opening_events(message_id: str, model: str, cache_read: int) -> list[SseEvent]:
    """``message_start`` (placeholder usage) and the single ``ping``."""
    placeholder = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cache_read,
    }
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": placeholder,
        "service_tier": "standard",
    }
    return [
        SseEvent("message_start", {"type": "message_start", "message": message}),
        SseEvent("ping", {"type": "ping"}),
    ]


def _start(index: int, block: dict[str, Any]) -> SseEvent:
    data = {"type": "content_block_start", "index": index, "content_block": block}
    return SseEvent("content_block_start", data)


def _delta(index: int, delta: dict[str, Any], tokens: int = 0) -> SseEvent:
    data = {"type": "content_block_delta", "index": index, "delta": delta}
    return SseEvent("content_block_delta", data, tokens)


def _stop(index: int) -> SseEvent:
    return SseEvent("content_block_stop", {"type": "content_block_stop", "index": index})


def text_block_events(
    index: int, text: str, chunks: int | None, chunk_chars: int
) -> list[SseEvent]:
    """Start and deltas of a text block (no stop: a fault may cut in after them)."""
    events = [_start(index, {"type": "text", "text": ""})]
    for piece in split_text(text, chunks, target=chunk_chars):
        events.append(_delta(index, {"type": "text_delta", "text": piece}, count_text(piece)))
    return events


def stream_events(
    turn: Turn,
    usage: CacheUsage,
    message_id: str,
    *,
    chunks: int | None,
    thinking_chunks: int | None,
    chunk_chars: int,
    newline_after_thinking: bool,
) -> list[SseEvent]:
    """The whole event sequence of §8.2 for ``turn``."""
    events = opening_events(message_id, turn.model, usage.cache_read_input_tokens)
    index = 0
    if turn.thinking is not None:
        events.append(_start(index, {"type": "thinking", "thinking": ""}))
        for piece in split_text(turn.thinking, thinking_chunks or 1):
            delta = {"type": "thinking_delta", "thinking": piece}
            events.append(_delta(index, delta, count_text(piece)))
        events.append(_delta(index, {"type": "signature_delta", "signature": turn.signature}))
        events.append(_stop(index))
        index += 1
    text = visible_text(turn, newline_after_thinking)
    if text:
        events.extend(text_block_events(index, text, chunks, chunk_chars))
        events.append(_stop(index))
        index += 1
    for call in turn.tool_calls:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        events.append(_start(index, block))
        events.append(_delta(index, {"type": "input_json_delta", "partial_json": ""}))
        whole = {"type": "input_json_delta", "partial_json": call.arguments}
        events.append(_delta(index, whole, count_text(call.arguments)))
        events.append(_stop(index))
        index += 1
    events.append(
        SseEvent(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn.stop_reason},
                "usage": usage_json(usage, turn.output_tokens),
            },
        )
    )
    events.append(SseEvent("message_stop", {"type": "message_stop"}))
    return events


def partial_events(
    message_id: str, model: str, after_text: str, chunk_chars: int
) -> list[SseEvent]:
    """The start of a stream that a fault interrupts: opening events and ``after_text``."""
    events = opening_events(message_id, model, 0)
    if after_text:
        events.extend(text_block_events(0, after_text, None, chunk_chars))
    return events


def error_event(body: dict[str, Any]) -> SseEvent:
    """``event: error`` carrying a MiniMax error body (§8.5)."""
    return SseEvent("error", body)
