"""OpenAI Chat Completions bodies and stream frames as MiniMax sends them (spec §11).

Reproduced quirks: the extra fields (``name: "MiniMax AI"``, ``audio_content``,
``*_sensitive*``, ``base_resp``) on every body and chunk; thinking inline as
``<think>\\n…\\n</think>\\n\\n`` in ``content`` (tags split across chunks like any other text), or
with ``reasoning_split`` as incremental ``reasoning_details``; ``"role": ""`` on every delta after
the first; placeholder ``usage`` (``{"total_tokens": 0, "total_characters": 0}``) on chunks; a
finish chunk whose ``delta`` is ``null``; a usage-only ``choices: []`` chunk when
``stream_options.include_usage`` is set; then a final full ``chat.completion`` object carrying the
whole message and the only real usage; then ``data: [DONE]`` (the last two are switchable).
"""

from __future__ import annotations

from typing import Any

from .anthropic_wire import SseEvent
from .cache import CacheUsage
from .generate import Turn, split_text
from .tokens import count_text

FINISH_REASONS = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}

_EXTRA_FIELDS: dict[str, Any] = {
    "input_sensitive": False,
    "output_sensitive": False,
    "input_sensitive_type": 0,
    "output_sensitive_type": 0,
    "output_sensitive_int": 0,
}


def _extras() -> dict[str, Any]:
    return {**_EXTRA_FIELDS, "base_resp": {"status_code": 0, "status_msg": ""}}


def usage_json(usage: CacheUsage, turn: Turn) -> dict[str, Any]:
    """OpenAI usage: ``prompt_tokens`` is the whole input, cached part in the details."""
    prompt = usage.total_input_tokens
    return {
        "total_tokens": prompt + turn.output_tokens,
        "total_characters": 0,
        "prompt_tokens": prompt,
        "completion_tokens": turn.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
    }


def _think_inline(thinking: str) -> str:
    return f"<think>\n{thinking}\n</think>\n\n"


def _reasoning_detail(text: str) -> dict[str, Any]:
    return {
        "type": "reasoning.text",
        "id": "reasoning-text-1",
        "format": "MiniMax-response-v1",
        "index": 0,
        "text": text,
    }


def _tool_calls_json(turn: Turn) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "index": n,
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for n, call in enumerate(turn.tool_calls)
    ]


def message_json(turn: Turn, *, split: bool) -> dict[str, Any]:
    """``choices[0].message`` of a complete answer."""
    content = turn.text
    message: dict[str, Any] = {"role": "assistant", "name": "MiniMax AI", "audio_content": ""}
    if turn.thinking is not None and not split:
        content = _think_inline(turn.thinking) + content
    message["content"] = content
    if turn.thinking is not None and split:
        message["reasoning_details"] = [_reasoning_detail(turn.thinking)]
    if turn.tool_calls:
        message["tool_calls"] = _tool_calls_json(turn)
    return message


def completion_json(
    turn: Turn, usage: CacheUsage, completion_id: str, created: int, *, split: bool
) -> dict[str, Any]:
    """The non-streaming body (§11.2); also the final frame of a stream."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": turn.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": FINISH_REASONS.get(turn.stop_reason, "stop"),
                "message": message_json(turn, split=split),
            }
        ],
        "usage": usage_json(usage, turn),
        **_extras(),
    }


def base_resp_error_json(
    code: int, status_msg: str, completion_id: str, created: int
) -> dict[str, Any]:
    """HTTP 200 with an error in ``base_resp``, ``choices: null`` and zeroed usage (§10.3)."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": "",
        "choices": None,
        "usage": {
            "total_tokens": 0,
            "total_characters": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        },
        **_EXTRA_FIELDS,
        "base_resp": {"status_code": code, "status_msg": status_msg},
    }


class ChunkBuilder:
    """Builds ``chat.completion.chunk`` frames for one stream."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self._id = completion_id
        self._created = created
        self._model = model
        self._first = True

    def frame(
        self,
        delta: dict[str, Any] | None,
        *,
        finish_reason: str | None = None,
        tokens: int = 0,
    ) -> SseEvent:
        """A chunk with one choice; the first delta says ``assistant``, later ones ``""``."""
        if delta is not None:
            delta = {"role": "assistant" if self._first else "", **delta}
            self._first = False
        data = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "usage": {"total_tokens": 0, "total_characters": 0},
            **_extras(),
        }
        return SseEvent(None, data, tokens)

    def usage_only(self, usage: dict[str, Any]) -> SseEvent:
        """The trailing ``choices: []`` chunk sent with ``include_usage``."""
        data = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": usage,
            **_extras(),
        }
        return SseEvent(None, data)

    def content_frames(self, text: str, chunks: int | None, chunk_chars: int) -> list[SseEvent]:
        """Content deltas for ``text``."""
        return [
            self.frame({"content": piece}, tokens=count_text(piece))
            for piece in split_text(text, chunks, target=chunk_chars)
        ]


def stream_frames(
    turn: Turn,
    usage: CacheUsage,
    completion_id: str,
    created: int,
    *,
    split: bool,
    include_usage: bool,
    final_frame: bool,
    chunks: int | None,
    thinking_chunks: int | None,
    chunk_chars: int,
) -> list[SseEvent]:
    """Every ``data:`` frame of a successful stream, in order (``[DONE]`` excluded)."""
    builder = ChunkBuilder(completion_id, created, turn.model)
    frames: list[SseEvent] = []
    if turn.thinking is not None:
        if split:
            for piece in split_text(turn.thinking, thinking_chunks or 1):
                delta = {"content": "", "reasoning_details": [_reasoning_detail(piece)]}
                frames.append(builder.frame(delta, tokens=count_text(piece)))
        else:
            frames.extend(
                builder.content_frames(_think_inline(turn.thinking), thinking_chunks, chunk_chars)
            )
    frames.extend(builder.content_frames(turn.text, chunks, chunk_chars))
    calls = _tool_calls_json(turn)
    for call in calls:
        frames.append(
            builder.frame({"tool_calls": [call]}, tokens=count_text(call["function"]["arguments"]))
        )
    finish = FINISH_REASONS.get(turn.stop_reason, "stop")
    frames.append(builder.frame(None, finish_reason=finish))
    if include_usage:
        frames.append(builder.usage_only(usage_json(usage, turn)))
    if final_frame:
        frames.append(
            SseEvent(None, completion_json(turn, usage, completion_id, created, split=split))
        )
    return frames
