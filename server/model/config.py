"""`ClientConfig`: everything the model client needs, frozen and validated.

Contract
--------
* `ClientConfig` is a frozen dataclass; invalid values raise `ValueError` naming the
  field. Its ``repr`` shows the key as ``Secret('***')``.
* `ClientConfig.from_env(environ)` reads ``MINIMAX_API_KEY``, ``MINIMAX_BASE_URL``,
  ``MINIMAX_MODEL`` and ``MINIMAX_API`` with DESIGN.md §3.2 defaults: Anthropic format at
  ``https://api.minimax.io/anthropic``, model ``MiniMax-M3``; with ``MINIMAX_API=openai``
  and no base URL, ``https://api.minimax.io/v1``. An invalid ``MINIMAX_API`` falls back
  to ``anthropic`` with one warning in the log. Other fields come from keyword overrides
  (the settings layer passes them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .models import ANTHROPIC_BASE_URL, DEFAULT_MODEL, default_base_url
from .retry import RetryPolicy
from .secret import Secret
from .spend import SpendCaps

__all__ = ["ApiFormat", "ClientConfig"]

_log = logging.getLogger("minimax_lsp.model")

ApiFormat = Literal["anthropic", "openai"]
_FORMATS: tuple[ApiFormat, ...] = ("anthropic", "openai")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Settings of one `ModelClient`.

    Attributes
    ----------
    base_url:
        Endpoint root; the client appends ``/v1/messages`` (anthropic) or
        ``/chat/completions`` (openai). A trailing slash is removed.
    api:
        Wire format, ``"anthropic"`` (default, recommended by MiniMax) or ``"openai"``.
    model:
        Default model id for requests that do not name one.
    api_key, api_key_file, api_key_command:
        Key sources; precedence command > file > key (see `secret.load_api_key`).
    key_command_timeout:
        Seconds before the key command is killed.
    connect_timeout, read_timeout:
        Seconds to connect, and to wait for each chunk of the response (first byte
        included). Long generations stream, so the read timeout bounds silence, not length.
    retry:
        Retry and circuit-breaker bounds.
    spend:
        Spend caps.
    context_window:
        Overrides the model's window (e.g. M3 capped at 524,288 on some plans).
    stream_hold_limit:
        Characters of streamed text held back, when reasoning may be leaking into the
        text without an opening tag, until a ``</think>`` shows up (see `thinktags`).
    """

    base_url: str = ANTHROPIC_BASE_URL
    api: ApiFormat = "anthropic"
    model: str = DEFAULT_MODEL
    api_key: Secret | None = None
    api_key_file: Path | None = None
    api_key_command: tuple[str, ...] | None = None
    key_command_timeout: float = 10.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    spend: SpendCaps = field(default_factory=SpendCaps)
    context_window: int | None = None
    stream_hold_limit: int = 8192

    def __post_init__(self) -> None:
        base = self.base_url.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base!r}")
        object.__setattr__(self, "base_url", base)
        if self.api not in _FORMATS:
            raise ValueError(f"api must be 'anthropic' or 'openai', not {self.api!r}")
        if not self.model.strip():
            raise ValueError("model must be a non-empty model id")
        if self.api_key is not None and not isinstance(self.api_key, Secret):
            raise ValueError("api_key must be a Secret (wrap it: Secret(value))")
        if self.api_key_command is not None:
            command: object = self.api_key_command
            if isinstance(command, str) or not self.api_key_command:
                raise ValueError("api_key_command must be a non-empty argv tuple, not a string")
            object.__setattr__(self, "api_key_command", tuple(self.api_key_command))
        for name in ("key_command_timeout", "connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.context_window is not None and self.context_window < 1:
            raise ValueError("context_window must be positive")
        if self.stream_hold_limit < 0:
            raise ValueError("stream_hold_limit must be non-negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Build a config from ``MINIMAX_*`` environment variables plus overrides.

        Parameters
        ----------
        environ:
            The environment (defaults to ``os.environ``).
        overrides:
            Any other `ClientConfig` field; explicit overrides win over the environment.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        api_raw = env.get("MINIMAX_API", "").strip().lower()
        api: ApiFormat = "anthropic"
        if api_raw == "openai":
            api = "openai"
        elif api_raw not in ("", "anthropic"):
            _log.warning(
                "MINIMAX_API=%r is not 'anthropic' or 'openai'; using 'anthropic'", api_raw
            )
        api = overrides.get("api", api)
        values["api"] = api
        base = env.get("MINIMAX_BASE_URL", "").strip()
        if base and not base.startswith(("http://", "https://")):
            _log.warning("MINIMAX_BASE_URL=%r is not an http(s) URL; using the default", base)
            base = ""
        values["base_url"] = base or default_base_url(api if api in _FORMATS else "anthropic")
        values["model"] = env.get("MINIMAX_MODEL", "").strip() or DEFAULT_MODEL
        key = env.get("MINIMAX_API_KEY", "")
        if key.strip():
            values["api_key"] = Secret(key)
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown ClientConfig fields: {', '.join(sorted(unknown))}")
        values.update(overrides)
        return cls(**values)
