"""MiniMax model client: Anthropic- and OpenAI-compatible wire formats behind one interface.

Public API (see each module's docstring for the contract):

* `ModelClient` (``stream``, ``complete``, ``aclose``) configured by `ClientConfig`
  (``ClientConfig.from_env``);
* request/response records: `ModelRequest`, `Message`, `SystemBlock`, `TextBlock`,
  `ThinkingBlock`, `ModelResult`, `Usage`, and the stream events `TextDelta`,
  `ThinkingDelta`, `StreamDone`;
* the error hierarchy rooted at `ModelError`, plus `SpendLimitReached`;
* `MODELS` / `model_info` (registry), `UsageLedger`, `SpendGuard` / `SpendCaps`,
  `RetryPolicy`, `Secret`.
"""

from __future__ import annotations

from .client import ModelClient
from .config import ApiFormat, ClientConfig
from .errors import (
    AuthError,
    BadRequest,
    CircuitOpen,
    ConnectionFailed,
    ContextOverflow,
    InsufficientBalance,
    MissingApiKey,
    ModelError,
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from .models import (
    ANTHROPIC_BASE_URL,
    ANTHROPIC_BASE_URL_CN,
    DEFAULT_MODEL,
    MODELS,
    OPENAI_BASE_URL,
    OPENAI_BASE_URL_CN,
    ModelInfo,
    default_base_url,
    model_info,
)
from .records import (
    Message,
    ModelRequest,
    ModelResult,
    StreamDone,
    StreamEvent,
    SystemBlock,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    Trigger,
    Usage,
    estimate_tokens,
)
from .retry import RetryPolicy
from .secret import Secret
from .spend import SpendCaps, SpendGuard, SpendLimitReached
from .usage import LedgerSnapshot, UsageLedger

__all__ = [
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_BASE_URL_CN",
    "DEFAULT_MODEL",
    "MODELS",
    "OPENAI_BASE_URL",
    "OPENAI_BASE_URL_CN",
    "ApiFormat",
    "AuthError",
    "BadRequest",
    "CircuitOpen",
    "ClientConfig",
    "ConnectionFailed",
    "ContextOverflow",
    "InsufficientBalance",
    "LedgerSnapshot",
    "Message",
    "MissingApiKey",
    "ModelClient",
    "ModelError",
    "ModelInfo",
    "ModelNotFound",
    "ModelRequest",
    "ModelResult",
    "Overloaded",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "SpendCaps",
    "SpendGuard",
    "SpendLimitReached",
    "StreamDone",
    "StreamEvent",
    "StreamInterrupted",
    "SystemBlock",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "Trigger",
    "Usage",
    "UsageLedger",
    "default_base_url",
    "estimate_tokens",
    "model_info",
]
