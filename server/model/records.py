"""Typed records for model requests, streamed events, results and usage.

Contract
--------
* `ModelRequest` is what callers build (frozen; validated in ``__post_init__``, which raises
  `ValueError` with a clear message on bad input). ``thinking`` is always sent explicitly.
* `ModelClient.stream` yields `TextDelta` / `ThinkingDelta` events and ends with exactly one
  `StreamDone` carrying the `ModelResult`. Thinking never appears in `TextDelta`.
* `Usage` follows Anthropic's arithmetic: ``input_tokens`` is the uncached tail and
  ``total_input = input_tokens + cache_read + cache_creation``.
* `ModelResult.assistant_message()` returns the answer as a `Message` suitable for replay in
  the next turn (thinking blocks keep their signature, per minimax-api.md §6.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ContentBlock",
    "Message",
    "ModelRequest",
    "ModelResult",
    "StreamDone",
    "StreamEvent",
    "SystemBlock",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "Trigger",
    "Usage",
    "estimate_request_tokens",
    "estimate_tokens",
]

Trigger = Literal["explicit", "automatic"]
ThinkingMode = Literal["disabled", "adaptive"]
Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A text content block. ``cache=True`` asks for a ``cache_control`` breakpoint after it."""

    text: str
    cache: bool = False


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """A prior assistant thinking block, replayed verbatim.

    Drop the ``signature`` (set ``None``) if the text was edited: MiniMax rejects a signed
    block whose signature does not match, but accepts an unsigned one.
    """

    thinking: str
    signature: str | None = None


ContentBlock = TextBlock | ThinkingBlock


@dataclass(frozen=True, slots=True)
class SystemBlock:
    """One block of the system prompt. Stable blocks first (prompt caching is a prefix match)."""

    text: str
    cache: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn."""

    role: Role
    content: tuple[ContentBlock, ...]

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant"):
            raise ValueError(f"message role must be 'user' or 'assistant', not {self.role!r}")
        if not self.content:
            raise ValueError("a message needs at least one content block")
        if self.role == "user" and any(isinstance(b, ThinkingBlock) for b in self.content):
            raise ValueError("thinking blocks belong to assistant messages only")

    @classmethod
    def user(cls, text: str, *, cache: bool = False) -> Message:
        """A user turn with one text block."""
        return cls("user", (TextBlock(text, cache),))

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant turn with one text block."""
        return cls("assistant", (TextBlock(text),))

    @property
    def text(self) -> str:
        """The concatenated text blocks (thinking excluded)."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One model call.

    Parameters
    ----------
    messages:
        The conversation, ending with a user turn.
    system:
        System prompt blocks, stable content first.
    model:
        Model id; ``None`` uses the client's configured model.
    max_tokens:
        Output cap (thinking counts against it). Clamped to the model's cap.
    thinking:
        ``"disabled"`` or ``"adaptive"``; always sent explicitly.
    temperature:
        ``None`` leaves the server default; otherwise within [0, 2].
    stop_sequences:
        Enforced client-side: the text is cut at the first match and the stream closed.
    auto_cache:
        Put ``cache_control`` breakpoints on the last system block and the last user
        block (in addition to blocks marked ``cache=True``; at most 4 are sent).
    trigger:
        ``"automatic"`` (inline completion, typing) or ``"explicit"`` (the user asked).
        The spend guard treats them differently.
    max_attempts:
        Overrides the client's retry budget for this call (e.g. 1 for inline completion).
    input_tokens_hint:
        The caller's own input token count, used instead of the client's estimate in
        `ContextOverflow` and the spend guard.
    """

    messages: tuple[Message, ...]
    system: tuple[SystemBlock, ...] = ()
    model: str | None = None
    max_tokens: int = 4096
    thinking: ThinkingMode = "disabled"
    temperature: float | None = None
    stop_sequences: tuple[str, ...] = ()
    auto_cache: bool = True
    trigger: Trigger = "explicit"
    max_attempts: int | None = None
    input_tokens_hint: int | None = None

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("a model request needs at least one message")
        if self.messages[-1].role != "user":
            raise ValueError("the last message of a model request must be a user turn")
        if isinstance(self.max_tokens, bool) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, not {self.max_tokens!r}")
        if self.thinking not in ("disabled", "adaptive"):
            raise ValueError(f"thinking must be 'disabled' or 'adaptive', not {self.thinking!r}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within [0, 2], not {self.temperature!r}")
        if any(not s for s in self.stop_sequences):
            raise ValueError("stop sequences must be non-empty strings")
        if self.trigger not in ("explicit", "automatic"):
            raise ValueError(f"trigger must be 'explicit' or 'automatic', not {self.trigger!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @classmethod
    def simple(cls, prompt: str, **kwargs: object) -> ModelRequest:
        """A one-turn request: ``ModelRequest.simple("hi", max_tokens=64)``."""
        return cls(messages=(Message.user(prompt),), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call (or a sum of calls).

    ``estimated`` is true when the stream was closed before the server's final usage
    arrived (client-side stop sequence, interruption) and some numbers are estimates.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    estimated: bool = False

    @property
    def total_input(self) -> int:
        """All input tokens: uncached tail + cache reads + cache writes."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def total(self) -> int:
        """Input plus output: what TPM limits and the daily spend cap count."""
        return self.total_input + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True, slots=True)
class ModelResult:
    """The outcome of one call.

    Attributes
    ----------
    text, thinking:
        Final answer text (cut at a stop sequence) and the reasoning, kept apart.
    stop_reason:
        ``end_turn``, ``max_tokens``, ``stop_sequence``, ``tool_use`` or what the server
        said (OpenAI ``finish_reason`` values are mapped to these names).
    stop_sequence:
        The stop sequence that ended the text, if any.
    model:
        The model id the server reported (may differ from the requested one).
    request_id:
        The server's request id (header) or else its message id.
    attempts:
        HTTP attempts made (1 = no retry).
    thinking_blocks:
        Thinking blocks with signatures, for verbatim replay.
    """

    text: str
    thinking: str
    usage: Usage
    stop_reason: str
    model: str
    request_id: str | None = None
    message_id: str | None = None
    stop_sequence: str | None = None
    attempts: int = 1
    thinking_blocks: tuple[ThinkingBlock, ...] = field(default=())

    def assistant_message(self) -> Message:
        """The answer as an assistant `Message` for the next turn's history."""
        blocks: list[ContentBlock] = list(self.thinking_blocks)
        blocks.append(TextBlock(self.text))
        return Message("assistant", tuple(blocks))


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of reasoning text (never to be inserted into code)."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The last event of a stream."""

    result: ModelResult


StreamEvent = TextDelta | ThinkingDelta | StreamDone


def estimate_tokens(text: str) -> int:
    """Conservative token estimate: 3 ASCII chars per token, 0.625 tokens per other char.

    minimax-api.md §14 recommends 3.0 chars/token for code; CJK runs ~0.625 tokens/char.
    """
    non_ascii = sum(1 for ch in text if ord(ch) > 127) if not text.isascii() else 0
    return math.ceil((len(text) - non_ascii) / 3.0) + math.ceil(non_ascii * 0.625)


def estimate_request_tokens(request: ModelRequest) -> int:
    """Estimate the input tokens of a request (system + messages, 4 per message)."""
    total = sum(estimate_tokens(b.text) for b in request.system)
    for message in request.messages:
        total += 4
        for block in message.content:
            total += estimate_tokens(block.text if isinstance(block, TextBlock) else block.thinking)
    return total
