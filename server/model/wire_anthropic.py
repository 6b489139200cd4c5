"""Anthropic-compatible Messages format (``POST {base}/v1/messages``), MiniMax flavour.

Contract
--------
* Request: ``Authorization: Bearer`` (MiniMax's recommended header), ``anthropic-version:
  2023-06-01``, no ``anthropic-beta``. Body always carries ``stream: true`` and an
  explicit ``thinking`` (§6.1). ``stop_sequences`` are sent too (MiniMax ignores them,
  other compatible endpoints honour them) but enforced client-side regardless.
* ``cache_control: {"type": "ephemeral"}`` goes on blocks marked ``cache=True`` plus, with
  ``auto_cache``, the last system block and the last user text block; only the last 4
  are sent (§7: the server uses the last 4 anyway).
* Response: SSE per §8. Final usage comes from ``message_delta`` (``message_start`` holds
  placeholders). Unknown events, unknown block types (``tool_use`` included: we send no
  tools) and unknown delta types are ignored. Events without an ``event:`` line are
  dispatched on their data's ``type``. ``event: error`` raises the classified error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import StreamInterrupted
from .models import ModelInfo
from .records import (
    Message,
    ModelRequest,
    ModelResult,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    Usage,
)
from .secret import Secret
from .wire import OutputAssembler, ParserOptions, as_int, as_map, error_from_payload, parse_json

__all__ = ["ANTHROPIC_VERSION", "AnthropicParser", "AnthropicWire", "cache_breakpoints"]

ANTHROPIC_VERSION = "2023-06-01"
MAX_BREAKPOINTS = 4
_EPHEMERAL = {"type": "ephemeral"}

# A prompt position: (-1, i) for system block i, (m, b) for block b of message m.
Position = tuple[int, int]


def cache_breakpoints(request: ModelRequest) -> frozenset[Position]:
    """Where ``cache_control`` goes (at most `MAX_BREAKPOINTS`, the last ones win)."""
    marked: set[Position] = {
        (-1, i) for i, blk in enumerate(request.system) if blk.cache and blk.text
    }
    for m, message in enumerate(request.messages):
        for b, block in enumerate(message.content):
            if isinstance(block, TextBlock) and block.cache and block.text:
                marked.add((m, b))
    if request.auto_cache:
        if request.system and request.system[-1].text:
            marked.add((-1, len(request.system) - 1))
        last_user = max(m for m, msg in enumerate(request.messages) if msg.role == "user")
        blocks = request.messages[last_user].content
        text_idx = [b for b, blk in enumerate(blocks) if isinstance(blk, TextBlock) and blk.text]
        if text_idx:
            marked.add((last_user, text_idx[-1]))
    return frozenset(sorted(marked)[-MAX_BREAKPOINTS:])


def _message_json(m: int, message: Message, marks: frozenset[Position]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for b, block in enumerate(message.content):
        if isinstance(block, ThinkingBlock):
            item: dict[str, Any] = {"type": "thinking", "thinking": block.thinking}
            if block.signature:
                item["signature"] = block.signature
            content.append(item)
        elif block.text:
            item = {"type": "text", "text": block.text}
            if (m, b) in marks:
                item["cache_control"] = dict(_EPHEMERAL)
            content.append(item)
    if not content:
        # Empty text blocks are rejected by Anthropic-compatible servers; a lone space keeps
        # the turn structure (an empty prior answer) valid.
        content.append({"type": "text", "text": " "})
    return {"role": message.role, "content": content}


class AnthropicWire:
    """Builds Anthropic-compatible requests and parsers."""

    name = "anthropic"

    def url(self, base_url: str) -> str:
        """``{base}/v1/messages``."""
        return f"{base_url}/v1/messages"

    def headers(self, key: Secret) -> dict[str, str]:
        """Bearer auth, API version, JSON in, SSE out."""
        return {
            "authorization": f"Bearer {key.reveal()}",
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream",
        }

    def body(self, request: ModelRequest, info: ModelInfo, max_tokens: int) -> dict[str, Any]:
        """The JSON body (see module docstring)."""
        marks = cache_breakpoints(request)
        body: dict[str, Any] = {
            "model": info.id,
            "max_tokens": max_tokens,
            "stream": True,
            "thinking": {"type": request.thinking},
        }
        system = []
        for i, blk in enumerate(request.system):
            if not blk.text:
                continue
            item: dict[str, Any] = {"type": "text", "text": blk.text}
            if (-1, i) in marks:
                item["cache_control"] = dict(_EPHEMERAL)
            system.append(item)
        if system:
            body["system"] = system
        body["messages"] = [_message_json(m, msg, marks) for m, msg in enumerate(request.messages)]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop_sequences:
            body["stop_sequences"] = list(request.stop_sequences)
        return body

    def parser(self, options: ParserOptions) -> AnthropicParser:
        """A parser for one response."""
        return AnthropicParser(options)


class AnthropicParser:
    """Parses one Anthropic-format response (stream or whole body)."""

    def __init__(self, options: ParserOptions) -> None:
        self._opts = options
        # On this endpoint reasoning has its own blocks; only a tag at the very start of
        # the text is treated as a leak (answers may legitimately mention "<think>").
        self._out = OutputAssembler(options, anywhere=False)
        self._block_types: dict[int, str] = {}
        self._thinking_parts: dict[int, list[str]] = {}
        self._signatures: dict[int, str] = {}
        self._usage = Usage()
        self._usage_final = False
        self._stop_reason: str | None = None
        self._model = options.model
        self._message_id: str | None = None
        self._complete = False

    @property
    def complete(self) -> bool:
        """``message_stop`` (or a whole body) was seen."""
        return self._complete

    @property
    def stopped(self) -> bool:
        """A stop sequence matched."""
        return self._out.stopped

    @property
    def has_output(self) -> bool:
        """Any text or thinking was produced."""
        return self._out.has_output

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        """Consume one SSE event."""
        if event == "ping":
            return []
        payload = parse_json(data)
        if event == "error":
            # Even an unparseable error event ends the stream as an error.
            raise error_from_payload(payload, self._opts)
        if not isinstance(payload, Mapping):
            return []
        kind = event if event and event != "message" else str(payload.get("type", ""))
        if kind == "error":
            raise error_from_payload(payload, self._opts)
        if kind == "message_start":
            self._on_message_start(as_map(payload.get("message")))
        elif kind == "content_block_start":
            return self._on_block_start(payload)
        elif kind == "content_block_delta":
            return self._on_block_delta(payload)
        elif kind == "message_delta":
            self._on_message_delta(payload)
        elif kind == "message_stop":
            self._complete = True
        return []

    def feed_body(self, payload: object) -> list[StreamEvent]:
        """Consume a non-streamed ``message`` body (or an error body sent with 200)."""
        body = as_map(payload)
        base = as_map(body.get("base_resp"))
        if body.get("type") == "error" or "error" in body or as_int(base.get("status_code")):
            raise error_from_payload(body, self._opts)
        self._on_message_start(body)
        events: list[StreamEvent] = []
        content = body.get("content")
        for index, block in enumerate(content if isinstance(content, list) else []):
            events.extend(self._on_block_start({"index": index, "content_block": block}))
            sig = as_map(block).get("signature")
            if isinstance(sig, str):
                self._signatures[index] = sig
        self._on_message_delta(
            {"delta": {"stop_reason": body.get("stop_reason")}, "usage": body.get("usage")}
        )
        self._complete = True
        return events

    def finish(self) -> tuple[list[StreamEvent], ModelResult]:
        """Flush and build the result; raise `StreamInterrupted` if incomplete."""
        events = self._out.finish()
        if not self._complete and not self._out.stopped:
            raise StreamInterrupted(
                "The MiniMax response stream ended before it was complete.",
                request_id=self._message_id,
            )
        usage = (
            self._usage if self._usage_final else self._out.usage_fallback(self._usage, self._opts)
        )
        blocks = tuple(
            ThinkingBlock("".join(parts), self._signatures.get(index))
            for index, parts in sorted(self._thinking_parts.items())
        )
        result = ModelResult(
            text=self._out.text,
            thinking=self._out.thinking,
            usage=usage,
            stop_reason="stop_sequence" if self._out.stopped else (self._stop_reason or "end_turn"),
            model=self._model,
            message_id=self._message_id,
            stop_sequence=self._out.stop_sequence,
            thinking_blocks=blocks,
        )
        return events, result

    # -- event handlers ----------------------------------------------------------------

    def _on_message_start(self, message: Mapping[str, Any]) -> None:
        if isinstance(message.get("id"), str):
            self._message_id = message["id"]
        if isinstance(message.get("model"), str) and message["model"]:
            self._model = message["model"]
        self._apply_usage(as_map(message.get("usage")))

    def _on_block_start(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        index = as_int(payload.get("index"))
        block = as_map(payload.get("content_block"))
        btype = str(block.get("type", ""))
        if index is None:
            return []
        self._block_types[index] = btype
        if btype == "thinking":
            self._thinking_parts.setdefault(index, [])
            return self._thinking(index, block.get("thinking"))
        if btype == "text":
            text = block.get("text")
            return self._out.add_text(text) if isinstance(text, str) else []
        return []

    def _on_block_delta(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        index = as_int(payload.get("index"))
        delta = as_map(payload.get("delta"))
        dtype = delta.get("type")
        if dtype == "text_delta" and isinstance(delta.get("text"), str):
            return self._out.add_text(delta["text"])
        if dtype == "thinking_delta" and index is not None:
            return self._thinking(index, delta.get("thinking"))
        if (
            dtype == "signature_delta"
            and index is not None
            and isinstance(delta.get("signature"), str)
        ):
            self._signatures[index] = delta["signature"]
        return []

    def _thinking(self, index: int, text: object) -> list[StreamEvent]:
        if not isinstance(text, str) or not text or self._out.stopped:
            return []
        self._thinking_parts.setdefault(index, []).append(text)
        return self._out.add_thinking(text)

    def _on_message_delta(self, payload: Mapping[str, Any]) -> None:
        reason = as_map(payload.get("delta")).get("stop_reason")
        if isinstance(reason, str) and reason:
            self._stop_reason = reason
        usage = as_map(payload.get("usage"))
        if usage:
            self._apply_usage(usage)
            self._usage_final = True

    def _apply_usage(self, usage: Mapping[str, Any]) -> None:
        # Overwrite only the fields present (MiniMax's message_delta carries all four;
        # Anthropic's sometimes only output_tokens).
        current = self._usage
        self._usage = Usage(
            _pick(usage, "input_tokens", current.input_tokens),
            _pick(usage, "output_tokens", current.output_tokens),
            _pick(usage, "cache_read_input_tokens", current.cache_read_input_tokens),
            _pick(usage, "cache_creation_input_tokens", current.cache_creation_input_tokens),
        )


def _pick(usage: Mapping[str, Any], key: str, default: int) -> int:
    value = as_int(usage.get(key))
    return value if value is not None and value >= 0 else default
