"""Model table of the fake MiniMax server (spec §3).

Each model id the fake accepts maps to a frozen :class:`ModelSpec`: its context window, its
``max_tokens`` cap and default, whether it takes image/video input and how thinking is
controlled. Requests naming any other model get 404 ``not_found_error``, as MiniMax documents.

``M2-her`` (the dialogue model) is not in the spec's table; the fake follows the client's
model registry (``minimax_lsp.server.model.models``) so the two agree: the id ``M2-her`` and
its alias ``MiniMax-M2-her``, a 65,536-token window, ``max_tokens`` capped at 2,048 (its
guide page), text-only input and no thinking at all. That is our inference, not documented
behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class ThinkingPolicy(Enum):
    """How a model decides whether to think."""

    OPTIONAL = "optional"
    """Thinks only when asked (``thinking: {type: adaptive}``); M3."""
    ALWAYS = "always"
    """Always thinks; ``disabled`` is accepted and ignored; the M2 family."""
    NEVER = "never"
    """Never thinks; ``adaptive`` is accepted and ignored; ``M2-her``."""


@dataclass(frozen=True)
class ModelSpec:
    """Limits and capabilities of one model id.

    Parameters
    ----------
    context_window:
        Input tokens + ``max_tokens`` must not exceed this (else 400 ``(2013)``).
    max_output:
        Largest accepted ``max_tokens``.
    default_output:
        ``max_tokens`` assumed when the request omits it (MiniMax does not require it).
    multimodal:
        Whether image/video blocks are accepted.
    thinking:
        See :class:`ThinkingPolicy`.
    """

    context_window: int
    max_output: int
    default_output: int
    multimodal: bool
    thinking: ThinkingPolicy


_M2 = ModelSpec(
    context_window=204_800,
    max_output=204_800,
    default_output=65_536,
    multimodal=False,
    thinking=ThinkingPolicy.ALWAYS,
)

_HER = ModelSpec(
    context_window=65_536,
    max_output=2_048,
    default_output=2_048,
    multimodal=False,
    thinking=ThinkingPolicy.NEVER,
)

DEFAULT_MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "MiniMax-M3": ModelSpec(
            context_window=1_000_000,
            max_output=524_288,
            default_output=131_072,
            multimodal=True,
            thinking=ThinkingPolicy.OPTIONAL,
        ),
        "MiniMax-M2.7": _M2,
        "MiniMax-M2.7-highspeed": _M2,
        "MiniMax-M2.5": _M2,
        "MiniMax-M2.5-highspeed": _M2,
        "MiniMax-M2.1": _M2,
        "MiniMax-M2.1-highspeed": _M2,
        "MiniMax-M2": _M2,
        "M2-her": _HER,
        "MiniMax-M2-her": _HER,
    }
)
"""The models of spec §3 (plus ``M2-her`` / ``MiniMax-M2-her``, see the module docstring)."""
