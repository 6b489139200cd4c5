"""Model table of the fake MiniMax server (spec §3).

Each model id the fake accepts maps to a frozen :class:`ModelSpec`: its context window, its
``max_tokens`` cap and default, whether it takes image/video input and how thinking is
controlled. Requests naming any other model get 404 ``not_found_error``, as MiniMax documents.

``MiniMax-M2-her`` is not in the spec's table; the fake gives it a 65,536-token window, the
same cap for ``max_tokens``, text-only input and always-on thinking like the rest of the M2
family. That is our inference, not documented behaviour.
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
        "MiniMax-M2-her": ModelSpec(
            context_window=65_536,
            max_output=65_536,
            default_output=2_048,
            multimodal=False,
            thinking=ThinkingPolicy.ALWAYS,
        ),
    }
)
"""The models of spec §3 (plus ``MiniMax-M2-her``, see the module docstring)."""
