"""Registry of MiniMax text models and the known endpoints.

Contract
--------
* `MODELS` maps each known model id to a frozen `ModelInfo` (context window, output cap,
  recommended output, whether thinking can be turned off). Numbers follow
  minimax-api.md §3.
* `model_info(model_id, context_window=None)` never fails: an unknown id (another
  Anthropic/OpenAI-compatible endpoint, a new MiniMax model) gets a generic entry whose
  window is `context_window` or `DEFAULT_UNKNOWN_WINDOW`. An explicit `context_window`
  also overrides a known model's window (M3's live window was reported at ~512K while the
  docs say 1M; see §3).
* Base URLs: international and China region for both wire formats. The client appends
  ``/v1/messages`` (Anthropic) or ``/chat/completions`` (OpenAI).

Decisions
---------
* ``M2-her`` (the dialogue model): window 65,536, output cap **2,048**, as its guide page
  and third-party model cards state; it produces no thinking. It is registered under its
  own id ``M2-her`` and the alias ``MiniMax-M2-her``.
* Unknown models are assumed to think optionally (we always send ``thinking`` explicitly).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_BASE_URL_CN",
    "DEFAULT_MODEL",
    "DEFAULT_UNKNOWN_WINDOW",
    "MODELS",
    "OPENAI_BASE_URL",
    "OPENAI_BASE_URL_CN",
    "ModelInfo",
    "ThinkingSupport",
    "default_base_url",
    "model_info",
]

ANTHROPIC_BASE_URL = "https://api.minimax.io/anthropic"
OPENAI_BASE_URL = "https://api.minimax.io/v1"
ANTHROPIC_BASE_URL_CN = "https://api.minimaxi.com/anthropic"
OPENAI_BASE_URL_CN = "https://api.minimaxi.com/v1"

DEFAULT_MODEL = "MiniMax-M3"
# Unknown endpoints/models: assume the common 200K-class window unless told otherwise.
DEFAULT_UNKNOWN_WINDOW = 204_800

ThinkingSupport = Literal["optional", "always", "never"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the client needs to know about one model.

    Attributes
    ----------
    id:
        The model id sent on the wire.
    context_window:
        Input + output tokens the model accepts.
    max_output:
        Largest ``max_tokens`` the server accepts.
    recommended_output:
        MiniMax's recommended ``max_tokens`` (thinking counts against it).
    thinking:
        ``"optional"`` (``thinking: disabled`` works), ``"always"`` (disabled is ignored:
        budget output for it), ``"never"`` (no reasoning at all).
    known:
        ``False`` for a generic entry made up for an unknown id.
    """

    id: str
    context_window: int
    max_output: int
    recommended_output: int
    thinking: ThinkingSupport
    known: bool = True

    @property
    def can_disable_thinking(self) -> bool:
        """Whether ``thinking: {"type": "disabled"}`` actually turns thinking off."""
        return self.thinking != "always"


def _m2(model_id: str) -> ModelInfo:
    return ModelInfo(model_id, 204_800, 204_800, 65_536, "always")


MODELS: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        ModelInfo("MiniMax-M3", 1_000_000, 524_288, 131_072, "optional"),
        _m2("MiniMax-M2.7"),
        _m2("MiniMax-M2.7-highspeed"),
        _m2("MiniMax-M2.5"),
        _m2("MiniMax-M2.5-highspeed"),
        _m2("MiniMax-M2.1"),
        _m2("MiniMax-M2.1-highspeed"),
        _m2("MiniMax-M2"),
        ModelInfo("M2-her", 65_536, 2_048, 2_048, "never"),
    )
}
MODELS["MiniMax-M2-her"] = replace(MODELS["M2-her"], id="MiniMax-M2-her")


def model_info(model_id: str, context_window: int | None = None) -> ModelInfo:
    """Return the registry entry for `model_id`, or a generic one for an unknown id.

    Parameters
    ----------
    model_id:
        Any model id; matching is exact first, then case-insensitive.
    context_window:
        Overrides the window (and, for unknown models, caps the output at the window).
    """
    info = MODELS.get(model_id)
    if info is None:
        lowered = model_id.lower()
        info = next((m for m in MODELS.values() if m.id.lower() == lowered), None)
        if info is not None:
            info = replace(info, id=model_id)
    if info is None:
        window = context_window or DEFAULT_UNKNOWN_WINDOW
        return ModelInfo(model_id, window, window, min(window, 65_536), "optional", known=False)
    if context_window is not None:
        info = replace(
            info,
            context_window=context_window,
            max_output=min(info.max_output, context_window),
            recommended_output=min(info.recommended_output, context_window),
        )
    return info


def default_base_url(api: Literal["anthropic", "openai"], *, china: bool = False) -> str:
    """The MiniMax base URL for a wire format and region."""
    if api == "openai":
        return OPENAI_BASE_URL_CN if china else OPENAI_BASE_URL
    return ANTHROPIC_BASE_URL_CN if china else ANTHROPIC_BASE_URL
