"""OpenAI-compatible chat completions (``POST {base}/chat/completions``), MiniMax flavour.

Contract
--------
* Request: ``Authorization: Bearer``; body with ``stream: true``,
  ``stream_options.include_usage``, ``max_completion_tokens`` (MiniMax's preferred name),
  an explicit ``thinking`` and ``reasoning_split: true`` (§11.3) so reasoning arrives in
  ``reasoning_details``. The system prompt becomes one ``system`` message. ``stop`` is sent
  when there are at most 4 sequences (the OpenAI limit) and enforced client-side anyway.
* Response quirks handled (§11.4): ``role: ""``; ``delta: null`` or absent; placeholder
  usage on every chunk; a usage-only chunk with ``choices: []``; a final full
  ``chat.completion`` frame (its content is **not** appended again when deltas already
  carried it, its usage is taken); ``data: [DONE]`` present or absent; ``base_resp`` with a
  non-zero status on a 200 (raised as the classified error); ``reasoning_details[].text``
  incremental, ``reasoning_content`` as a fallback; ``<think>`` tags leaking into
  ``content`` (split out by the think-tag splitter, honoured anywhere in the text).
* A stream that ends (EOF) without ``[DONE]``, a final frame or a ``finish_reason`` raises
  `StreamInterrupted`.
* Usage: ``prompt_tokens`` includes cached tokens; it is converted to Anthropic
  arithmetic (``input_tokens = prompt_tokens - cached``, ``cache_read = cached``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import StreamInterrupted
from .models import ModelInfo
from .records import (
    ModelRequest,
    ModelResult,
    StreamEvent,
    ThinkingBlock,
    Usage,
)
from .secret import Secret
from .wire import OutputAssembler, ParserOptions, as_int, as_map, error_from_payload, parse_json

__all__ = ["FINISH_REASONS", "OpenAIParser", "OpenAIWire"]

# OpenAI finish_reason -> the Anthropic stop_reason names ModelResult uses.
FINISH_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
}
_MAX_OPENAI_STOPS = 4


class OpenAIWire:
    """Builds OpenAI-compatible requests and parsers."""

    name = "openai"

    def url(self, base_url: str) -> str:
        """``{base}/chat/completions``."""
        return f"{base_url}/chat/completions"

    def headers(self, key: Secret) -> dict[str, str]:
        """Bearer auth, JSON in, SSE out."""
        return {
            "authorization": f"Bearer {key.reveal()}",
            "content-type": "application/json",
            "accept": "text/event-stream",
        }

    def body(self, request: ModelRequest, info: ModelInfo, max_tokens: int) -> dict[str, Any]:
        """The JSON body (see module docstring)."""
        messages: list[dict[str, Any]] = []
        system = "\n\n".join(blk.text for blk in request.system if blk.text)
        if system:
            messages.append({"role": "system", "content": system})
        for message in request.messages:
            item: dict[str, Any] = {"role": message.role, "content": message.text}
            thinking = [b.thinking for b in message.content if isinstance(b, ThinkingBlock)]
            if message.role == "assistant" and any(thinking):
                # Replayed as reasoning_details, the shape reasoning_split returns (§11.3).
                item["reasoning_details"] = [
                    {"type": "reasoning.text", "index": i, "text": text}
                    for i, text in enumerate(thinking)
                ]
            messages.append(item)
        body: dict[str, Any] = {
            "model": info.id,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": max_tokens,
            "thinking": {"type": request.thinking},
            "reasoning_split": True,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if 0 < len(request.stop_sequences) <= _MAX_OPENAI_STOPS:
            body["stop"] = list(request.stop_sequences)
        return body

    def parser(self, options: ParserOptions) -> OpenAIParser:
        """A parser for one response."""
        return OpenAIParser(options)


class OpenAIParser:
    """Parses one OpenAI-format response (stream or whole body)."""

    def __init__(self, options: ParserOptions) -> None:
        self._opts = options
        self._out = OutputAssembler(options, anywhere=True)
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._model = options.model
        self._id: str | None = None
        self._complete = False
        self._saw_content = False
        self._saw_reasoning = False

    @property
    def complete(self) -> bool:
        """``[DONE]``, a final frame or a finish reason was seen."""
        return self._complete or self._finish_reason is not None

    @property
    def stopped(self) -> bool:
        """A stop sequence matched."""
        return self._out.stopped

    @property
    def has_output(self) -> bool:
        """Any text or thinking was produced."""
        return self._out.has_output

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        """Consume one SSE event (the event name is irrelevant in this format)."""
        if data.strip() == "[DONE]":
            self._complete = True
            return []
        if event == "error":
            raise error_from_payload(parse_json(data), self._opts)
        payload = parse_json(data)
        return self.feed_body(payload) if isinstance(payload, Mapping) else []

    def feed_body(self, payload: object) -> list[StreamEvent]:
        """Consume one chunk, a final ``chat.completion`` frame, or a whole body."""
        chunk = as_map(payload)
        base = as_map(chunk.get("base_resp"))
        if as_int(base.get("status_code")) or isinstance(chunk.get("error"), Mapping):
            raise error_from_payload(chunk, self._opts)
        if isinstance(chunk.get("id"), str):
            self._id = chunk["id"]
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self._model = chunk["model"]
        self._take_usage(as_map(chunk.get("usage")))
        choices = chunk.get("choices")
        choice = as_map(choices[0]) if isinstance(choices, list) and choices else {}
        final_frame = chunk.get("object") == "chat.completion"
        events: list[StreamEvent] = []
        if final_frame:
            self._complete = True
            events = self._on_message(as_map(choice.get("message")))
        else:
            events = self._on_delta(as_map(choice.get("delta")))
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self._finish_reason = reason
        return events

    def finish(self) -> tuple[list[StreamEvent], ModelResult]:
        """Flush and build the result; raise `StreamInterrupted` if incomplete."""
        events = self._out.finish()
        if not self.complete and not self._out.stopped:
            raise StreamInterrupted(
                "The MiniMax response stream ended before it was complete.", request_id=self._id
            )
        usage = self._usage
        if usage is None or self._out.stopped:
            usage = self._out.usage_fallback(usage or Usage(), self._opts)
        if self._out.stopped:
            stop_reason = "stop_sequence"
        else:
            reason = self._finish_reason or "stop"
            stop_reason = FINISH_REASONS.get(reason, reason)
        thinking = self._out.thinking
        result = ModelResult(
            text=self._out.text,
            thinking=thinking,
            usage=usage,
            stop_reason=stop_reason,
            model=self._model,
            message_id=self._id,
            stop_sequence=self._out.stop_sequence,
            thinking_blocks=(ThinkingBlock(thinking),) if thinking else (),
        )
        return events, result

    # -- helpers -----------------------------------------------------------------------

    def _reasoning(self, holder: Mapping[str, Any]) -> str:
        details = holder.get("reasoning_details")
        if isinstance(details, list) and details:
            return "".join(
                d["text"]
                for d in details
                if isinstance(d, Mapping) and isinstance(d.get("text"), str)
            )
        content = holder.get("reasoning_content")
        return content if isinstance(content, str) else ""

    def _on_delta(self, delta: Mapping[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        reasoning = self._reasoning(delta)
        if reasoning:
            self._saw_reasoning = True
            events.extend(self._out.add_thinking(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._saw_content = True
            events.extend(self._out.add_text(content))
        return events

    def _on_message(self, message: Mapping[str, Any]) -> list[StreamEvent]:
        # The final frame repeats the whole message: use it only for the parts no delta
        # carried (a server that sends nothing but this frame).
        events: list[StreamEvent] = []
        if not self._saw_reasoning:
            reasoning = self._reasoning(message)
            if reasoning:
                self._saw_reasoning = True
                events.extend(self._out.add_thinking(reasoning))
        if not self._saw_content:
            content = message.get("content")
            if isinstance(content, str) and content:
                self._saw_content = True
                events.extend(self._out.add_text(content))
        return events

    def _take_usage(self, usage: Mapping[str, Any]) -> None:
        prompt = as_int(usage.get("prompt_tokens"))
        completion = as_int(usage.get("completion_tokens"))
        if not prompt and not completion:
            return  # absent, or the all-zero placeholder MiniMax puts on every chunk
        details = as_map(usage.get("prompt_tokens_details"))
        cached = max(0, as_int(details.get("cached_tokens")) or 0)
        prompt = prompt or 0
        self._usage = Usage(
            input_tokens=max(0, prompt - cached),
            output_tokens=completion or 0,
            cache_read_input_tokens=min(cached, prompt),
        )
