"""Turn a scripted :class:`~.script.Reply` into the concrete answer for one request.

The plan decides what the model "says" given the request: the thinking block exists only
when the model thinks on this request, output beyond ``max_tokens`` is truncated (thinking
first, then text, then tool calls, as thinking tokens count toward ``max_tokens``) with
``stop_reason: max_tokens``, and ``tool_choice: none`` drops scripted tool calls. The wire
modules only format a :class:`Turn`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .ids import thinking_signature, tool_call_id, tool_call_stem
from .script import Reply
from .tokens import count_text, truncate_to_tokens
from .validate import ModelRequest

DEFAULT_PREFIX = "fake answer to: "


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a turn."""

    id: str
    name: str
    input: dict[str, Any]

    @property
    def arguments(self) -> str:
        """The input as the JSON text MiniMax sends (``json.dumps`` default separators)."""
        return json.dumps(self.input, ensure_ascii=False)


@dataclass(frozen=True)
class Turn:
    """The answer to send.

    Parameters
    ----------
    model:
        The ``model`` field of the response.
    thinking, signature:
        Thinking text and its signature; ``None`` when the model did not think.
    text:
        Visible text, without the ``"\\n\\n"`` the Anthropic wire adds after thinking.
    tool_calls:
        Calls after the text.
    stop_reason:
        ``end_turn``, ``max_tokens`` or ``tool_use`` (Anthropic names).
    output_tokens, reasoning_tokens:
        All output tokens, and the thinking share of them.
    """

    model: str
    thinking: str | None
    signature: str | None
    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: str
    output_tokens: int
    reasoning_tokens: int


def default_reply(last_user_text: str) -> Reply:
    """The deterministic answer used when nothing is scripted."""
    snippet = " ".join(last_user_text.split())[:60]
    return Reply(text=DEFAULT_PREFIX + snippet)


def _default_thinking(request: ModelRequest) -> str:
    snippet = " ".join(request.last_user_text.split())[:40]
    return f"The user asks: {snippet}. I will answer directly."


def plan_turn(reply: Reply, request: ModelRequest, secret: str) -> Turn:
    """Apply the request's thinking mode, ``max_tokens`` and ``tool_choice`` to ``reply``."""
    budget = request.max_tokens
    truncated = False
    thinking: str | None = None
    if request.thinking:
        thinking = reply.thinking if reply.thinking is not None else _default_thinking(request)
        if count_text(thinking) > budget:
            thinking, truncated = truncate_to_tokens(thinking, budget), True
        budget -= count_text(thinking)
    # A thought cut short leaves no room for an answer.
    text = "" if truncated else reply.text
    if count_text(text) > budget:
        text, truncated = truncate_to_tokens(text, budget), True
    budget -= count_text(text)
    calls: list[ToolCall] = []
    if not request.tool_choice_none and not truncated:
        stem = tool_call_stem()
        for n, (name, args) in enumerate(reply.tool_calls, start=1):
            call = ToolCall(tool_call_id(stem, n), name, dict(args))
            cost = count_text(call.name) + count_text(call.arguments)
            if cost > budget:
                truncated = True
                break
            budget -= cost
            calls.append(call)
    if truncated:
        stop_reason = "max_tokens"
    elif reply.stop_reason is not None:
        stop_reason = reply.stop_reason
    else:
        stop_reason = "tool_use" if calls else "end_turn"
    reasoning = count_text(thinking) if thinking is not None else 0
    return Turn(
        model=reply.model or request.model,
        thinking=thinking,
        signature=thinking_signature(secret, thinking) if thinking is not None else None,
        text=text,
        tool_calls=tuple(calls),
        stop_reason=stop_reason,
        output_tokens=request.max_tokens - budget,
        reasoning_tokens=reasoning,
    )


def split_text(text: str, pieces: int | None, *, target: int = 20) -> list[str]:
    """Split ``text`` into ``pieces`` near-equal parts (``None``: ~``target`` chars each).

    Never returns an empty list for non-empty text, and never returns empty parts.
    """
    if not text:
        return []
    if pieces is None:
        pieces = max(1, -(-len(text) // target))
    pieces = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), pieces)
    out: list[str] = []
    start = 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out
