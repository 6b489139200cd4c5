"""Deterministic token counting and the prompt's block decomposition (spec §14, §7).

MiniMax's tokenizer is not available offline, so the fake counts with the spec's formula::

    tokens(text) = ceil(ascii_chars / 3.5) + ceil(non_ascii_chars * 0.625)

applied to each prompt *block* separately, plus 4 tokens per message. A prompt is the
sequence of blocks tools → system → messages (the prefix-cache order of §7); the total input
of a request is the sum over its blocks, and the cache uses the running sums. Images count a
fixed amount by ``detail`` (low 600, default 1,500, high 6,000); a video counts 3,000.
``count_tokens`` applies the very same rule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PER_MESSAGE_TOKENS = 4
IMAGE_TOKENS = {"low": 600, "default": 1_500, "high": 6_000}
VIDEO_TOKENS = 3_000


def count_text(text: str) -> int:
    """Tokens of ``text`` by the fake's formula (0 for the empty string)."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    other = len(text) - ascii_chars
    return math.ceil(ascii_chars / 3.5) + math.ceil(other * 0.625)


def truncate_to_tokens(text: str, budget: int) -> str:
    """Longest prefix of ``text`` whose :func:`count_text` is at most ``budget``."""
    if count_text(text) <= budget:
        return text
    lo, hi = 0, len(text)  # invariant: count(text[:lo]) <= budget < count(text[:hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_text(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid
    return text[:lo]


@dataclass(frozen=True)
class PromptBlock:
    """One unit of the cacheable prompt prefix.

    Parameters
    ----------
    material:
        Canonical text hashed into the prefix chain (``cache_control`` left out, so adding a
        breakpoint does not change the prefix).
    tokens:
        Tokens this block adds to the input (including the per-message overhead on a
        message's first block).
    breakpoint:
        Whether the block carries ``cache_control``.
    """

    material: str
    tokens: int
    breakpoint: bool


def _canonical(value: Any) -> str:
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k != "cache_control"}
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _media_tokens(block: Mapping[str, Any]) -> int:
    if block.get("type") in ("video", "video_url"):
        return VIDEO_TOKENS
    detail = block.get("detail")
    if isinstance(block.get("image_url"), Mapping):
        detail = block["image_url"].get("detail", detail)
    return IMAGE_TOKENS.get(str(detail), IMAGE_TOKENS["default"])


def _anthropic_block_tokens(block: Mapping[str, Any]) -> int:
    kind = block.get("type")
    if kind in ("text", "mid_conv_system"):
        return count_text(str(block.get("text", "")))
    if kind in ("image", "video"):
        return _media_tokens(block)
    if kind == "thinking":
        return count_text(str(block.get("thinking", "")))
    if kind == "tool_use":
        return count_text(str(block.get("name", ""))) + count_text(
            json.dumps(block.get("input", {}), ensure_ascii=False)
        )
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, str):
            return count_text(content)
        if isinstance(content, Sequence):
            return sum(
                _anthropic_block_tokens(part) for part in content if isinstance(part, Mapping)
            )
    return count_text(_canonical(block))


def _message_blocks(
    role: str, parts: Sequence[tuple[str, int, bool]], index: int
) -> list[PromptBlock]:
    """Blocks of one message; the first carries the message boundary and overhead."""
    if not parts:
        parts = [("", 0, False)]
    out = []
    for n, (material, tokens, bp) in enumerate(parts):
        head = f"m{index}|{role}|" if n == 0 else "+|"
        extra = PER_MESSAGE_TOKENS if n == 0 else 0
        out.append(PromptBlock(head + material, tokens + extra, bp))
    return out


def anthropic_prompt_blocks(body: Mapping[str, Any]) -> list[PromptBlock]:
    """Decompose a (validated) Anthropic Messages request into prompt blocks."""
    blocks: list[PromptBlock] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping):
            material = _canonical(tool)
            blocks.append(
                PromptBlock("tool|" + material, count_text(material), "cache_control" in tool)
            )
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append(PromptBlock("system|" + system, count_text(system), False))
    elif isinstance(system, Sequence) and not isinstance(system, str):
        for part in system:
            if isinstance(part, Mapping):
                text = str(part.get("text", ""))
                blocks.append(
                    PromptBlock("system|" + text, count_text(text), "cache_control" in part)
                )
    for index, message in enumerate(body.get("messages") or []):
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role", ""))
        content = message.get("content", "")
        parts: list[tuple[str, int, bool]] = []
        if isinstance(content, str):
            parts.append(
                (_canonical({"type": "text", "text": content}), count_text(content), False)
            )
        elif isinstance(content, Sequence):
            for block in content:
                if isinstance(block, Mapping):
                    parts.append(
                        (
                            _canonical(block),
                            _anthropic_block_tokens(block),
                            "cache_control" in block,
                        )
                    )
        blocks.extend(_message_blocks(role, parts, index))
    return blocks


def _openai_part_tokens(part: Mapping[str, Any]) -> int:
    if part.get("type") in ("image_url", "video_url"):
        return _media_tokens(part)
    return count_text(str(part.get("text", "")))


def openai_prompt_blocks(body: Mapping[str, Any]) -> list[PromptBlock]:
    """Decompose a (validated) Chat Completions request into prompt blocks."""
    blocks: list[PromptBlock] = []
    for tool in body.get("tools") or []:
        material = _canonical(tool)
        blocks.append(PromptBlock("tool|" + material, count_text(material), False))
    for index, message in enumerate(body.get("messages") or []):
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role", ""))
        parts: list[tuple[str, int, bool]] = []
        content = message.get("content")
        if isinstance(content, str):
            parts.append((_canonical(content), count_text(content), False))
        elif isinstance(content, Sequence):
            for part in content:
                if isinstance(part, Mapping):
                    parts.append((_canonical(part), _openai_part_tokens(part), False))
        for detail in message.get("reasoning_details") or []:
            if isinstance(detail, Mapping):
                text = str(detail.get("text", ""))
                parts.append((_canonical(detail), count_text(text), False))
        for call in message.get("tool_calls") or []:
            if isinstance(call, Mapping):
                fn = call.get("function") or {}
                text = str(fn.get("name", "")) + str(fn.get("arguments", ""))
                parts.append((_canonical(call), count_text(text), False))
        blocks.extend(_message_blocks(role, parts, index))
    return blocks


def total_tokens(blocks: Sequence[PromptBlock]) -> int:
    """Total input tokens of a prompt."""
    return sum(block.tokens for block in blocks)
