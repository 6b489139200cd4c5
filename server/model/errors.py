"""Typed model-call errors and their classification from MiniMax responses.

Contract
--------
Every failure of a model call surfaces as a `ModelError` subclass. Each carries:

* ``str(exc)``: one human sentence, safe to show the user (never the key, never headers);
* ``retryable``: whether sending the same request again may succeed;
* ``code``: the MiniMax status code (e.g. 2056) when the server gave one;
* ``request_id``: the server's request id when known;
* ``status``: the HTTP status (``None`` for transport failures and errors inside a 200 stream).

`classify_error` maps (HTTP status, ``error.type``, MiniMax code, message) to a class per
minimax-api.md §10 and §13: code first (it is the most specific), then ``error.type``, then
the HTTP status. The ``x-should-retry`` header, when present, overrides ``retryable``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthError",
    "BadRequest",
    "CircuitOpen",
    "ConnectionFailed",
    "ContextOverflow",
    "ErrorContext",
    "InsufficientBalance",
    "MissingApiKey",
    "ModelError",
    "ModelNotFound",
    "Overloaded",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "ServerError",
    "StreamInterrupted",
    "classify_error",
    "error_from_body",
    "fields_from_error_body",
    "parse_minimax_code",
]

# Longest server message we quote back in a sentence; the rest goes to the debug log.
_MAX_DETAIL = 240


class ModelError(Exception):
    """Base class of all model-call failures.

    Parameters
    ----------
    message:
        One human sentence (what ``str(exc)`` returns).
    retryable:
        Overrides the class default (``x-should-retry`` header, mid-stream rules).
    code, request_id, status, error_type:
        What the server said, when it said it.
    detail:
        The server's own message (already scrubbed of the key).
    retry_after:
        Seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``).
    """

    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        code: int | None = None,
        request_id: str | None = None,
        status: int | None = None,
        error_type: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.code = code
        self.request_id = request_id
        self.status = status
        self.error_type = error_type
        self.detail = detail
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, retryable={self.retryable}, "
            f"code={self.code}, status={self.status}, request_id={self.request_id!r})"
        )


class AuthError(ModelError):
    """The key is missing, wrong, or for the other region (401, codes 1004/2049)."""


class MissingApiKey(AuthError):
    """No key could be resolved from the environment, key file or key command."""


class PermissionDenied(AuthError):
    """The key has no access to this model or path (403, code 2061)."""


class QuotaExceeded(ModelError):
    """Token Plan quota window exhausted (2056, 1028, 1030); retrying only burns time."""


class InsufficientBalance(ModelError):
    """Pay-as-you-go balance is empty (402, code 1008)."""


class ContextOverflow(ModelError):
    """Input plus ``max_tokens`` exceed the model's window (2013 context, 1039).

    The caller shrinks the context and resends. ``input_tokens_estimate`` is the client's
    estimate of what was sent, ``context_window`` the model's window and ``max_tokens`` the
    output reservation, so the caller can compute how much to drop.
    """

    def __init__(
        self,
        message: str,
        *,
        input_tokens_estimate: int | None = None,
        context_window: int | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.input_tokens_estimate = input_tokens_estimate
        self.context_window = context_window
        self.max_tokens = max_tokens


class RateLimited(ModelError):
    """Requests or tokens per minute exceeded (429, codes 1002/1041/2045)."""

    default_retryable = True


class Overloaded(ModelError):
    """MiniMax is overloaded (529, ``overloaded_error``, code 2064)."""

    default_retryable = True


class ServerError(ModelError):
    """A transient server-side failure (408, 409, 5xx, ``api_error``, codes 1000/1001/...)."""

    default_retryable = True


class ConnectionFailed(ModelError):
    """The endpoint could not be reached, or a connect/read timeout expired."""

    default_retryable = True


class StreamInterrupted(ModelError):
    """The response stream ended without its terminator (``message_stop`` / finish).

    Retryable in the sense that restarting the whole turn may succeed; the client itself
    retries only when nothing had been yielded to the caller yet.
    """

    default_retryable = True


class BadRequest(ModelError):
    """The server rejected the request itself (400, 404, 413, 2013, 1026/1027, ...)."""


class ModelNotFound(BadRequest):
    """The endpoint does not know the model id (404 ``not_found_error``)."""


class CircuitOpen(ModelError):
    """Recent calls kept failing (offline or overloaded); calls fail fast for a cool-down.

    ``retry_after`` holds the seconds left in the cool-down.
    """


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What the client knows about the request, to make error sentences concrete."""

    model: str = ""
    host: str = ""
    input_tokens_estimate: int | None = None
    context_window: int | None = None
    max_tokens: int | None = None


_CODE_RE = re.compile(r"\((\d{3,5})\)(?:\s*\(\d{3}\))?\s*$")

_QUOTA_CODES = frozenset({2056, 1028, 1030})
_AUTH_CODES = frozenset({1004, 2049})
_BALANCE_CODES = frozenset({1008})
_RATE_CODES = frozenset({1002, 1041, 2045})
_SERVER_CODES = frozenset({1000, 1001, 1013, 1024, 1033})
_OVERLOAD_CODES = frozenset({2064})
_RETRYABLE_STATUSES = frozenset({408, 409})
_BALANCE_TYPES = frozenset({"insufficient_balance_error", "billing_error"})
_AUTH_TYPES = frozenset({"authentication_error", "authorized_error"})
_SERVER_TYPES = frozenset({"api_error", "timeout_error"})
_REQUEST_TYPES = frozenset({"invalid_request_error", "bad_request_error"})
# Codes that mean "this request is wrong" even when reported inside a 200 stream.
_REQUEST_CODES = frozenset({2013, 1026, 1027, 1042})
_FILTER_CODES = frozenset({1026, 1027})


def parse_minimax_code(message: str) -> int | None:
    """Return the trailing MiniMax code of a message such as ``"rate limit (1002)"``.

    A trailing HTTP status in parentheses (``"... (2064) (529)"``) is skipped.
    """
    match = _CODE_RE.search(message.strip())
    return int(match.group(1)) if match else None


def _is_context_message(message: str) -> bool:
    low = message.lower()
    return "context" in low and ("exceed" in low or "too long" in low or "limit" in low)


def _status_part(status: int | None, code: int | None) -> str:
    parts = []
    if status is not None:
        parts.append(str(status))
    if code is not None:
        parts.append(f"code {code}")
    return f" ({', '.join(parts)})" if parts else ""


def _short(detail: str) -> str:
    detail = " ".join(detail.split())
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    # Quoted server text ends our sentence, so give it a full stop.
    return detail if detail.endswith((".", "!", "?")) else detail + "."


def classify_error(
    *,
    status: int | None,
    error_type: str | None,
    code: int | None,
    message: str,
    request_id: str | None = None,
    context: ErrorContext | None = None,
    should_retry: bool | None = None,
    retry_after: float | None = None,
) -> ModelError:
    """Map what the server said to a typed `ModelError` with a human sentence.

    Parameters
    ----------
    status:
        HTTP status, or ``None`` for an ``event: error`` inside a 200 stream.
    error_type:
        ``error.type`` of the body (``rate_limit_error``, ``overloaded_error``, ...).
    code:
        MiniMax status code; parsed from `message` when ``None``.
    message:
        The server's message (already scrubbed of the key by the caller).
    should_retry:
        The ``x-should-retry`` header; when not ``None`` it decides ``retryable``.
    """
    ctx = context or ErrorContext()
    if code is None:
        code = parse_minimax_code(message)
    kwargs: dict[str, Any] = {
        "code": code,
        "request_id": request_id,
        "status": status,
        "error_type": error_type,
        "detail": message,
        "retry_after": retry_after,
        "retryable": should_retry,
    }
    return _classify(status, (error_type or "").lower(), code, message, ctx, kwargs)


def _classify(
    status: int | None,
    etype: str,
    code: int | None,
    message: str,
    ctx: ErrorContext,
    kw: dict[str, Any],
) -> ModelError:
    where = _status_part(status, code)
    model = ctx.model or "the model"
    if code in _QUOTA_CODES or "usage limit exceeded" in message.lower():
        return QuotaExceeded(
            f"The MiniMax usage quota is used up{where}; requests resume when the plan "
            "window resets.",
            **kw,
        )
    if code in _BALANCE_CODES or status == 402 or etype in _BALANCE_TYPES:
        return InsufficientBalance(
            f"The MiniMax account balance is insufficient{where}; top it up to continue.", **kw
        )
    if (
        code == 1039
        or (code == 2013 and _is_context_message(message))
        or (status == 400 and code is None and _is_context_message(message))
    ):
        return _context_overflow(where, ctx, kw)
    if code in _AUTH_CODES or status == 401 or etype in _AUTH_TYPES:
        return AuthError(
            f"MiniMax rejected the API key{where}; check MINIMAX_API_KEY and that the key "
            "belongs to the region of the base URL.",
            **kw,
        )
    if code == 2061 or status == 403 or etype == "permission_error":
        return PermissionDenied(
            f"The API key has no access to {model} at this endpoint{where}.", **kw
        )
    if code in _OVERLOAD_CODES or status == 529 or etype == "overloaded_error":
        return Overloaded(f"MiniMax is overloaded right now{where}; try again shortly.", **kw)
    if code in _RATE_CODES or status == 429 or etype == "rate_limit_error":
        return RateLimited(f"MiniMax rate limit reached{where}; slow down and retry.", **kw)
    if (
        code in _SERVER_CODES
        or status in _RETRYABLE_STATUSES
        or (status is not None and status >= 500)
        or etype in _SERVER_TYPES
    ):
        return ServerError(f"MiniMax had a temporary server error{where}.", **kw)
    if status == 404 or etype == "not_found_error":
        return ModelNotFound(
            f"The endpoint does not know {model!s} or the path is wrong{where}: {_short(message)}",
            **kw,
        )
    if status is None and etype not in _REQUEST_TYPES and code not in _REQUEST_CODES:
        # An unknown error type inside a 200 stream: most such errors are transient.
        return ServerError(f"MiniMax reported an error mid-stream{where}: {_short(message)}", **kw)
    if code in _FILTER_CODES:
        which = "input" if code == 1026 else "output"
        return BadRequest(f"MiniMax's content filter blocked the {which}{where}.", **kw)
    return BadRequest(f"MiniMax rejected the request{where}: {_short(message)}", **kw)


def _context_overflow(where: str, ctx: ErrorContext, kw: dict[str, Any]) -> ContextOverflow:
    model = ctx.model or "the model"
    numbers = ""
    if ctx.input_tokens_estimate is not None and ctx.context_window is not None:
        numbers = (
            f" (about {ctx.input_tokens_estimate:,} input tokens + {ctx.max_tokens or 0:,} "
            f"output reserved, window {ctx.context_window:,})"
        )
    return ContextOverflow(
        f"The prompt is too long for {model}'s context window{numbers}{where}.",
        input_tokens_estimate=ctx.input_tokens_estimate,
        context_window=ctx.context_window,
        max_tokens=ctx.max_tokens,
        **kw,
    )


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def fields_from_error_body(payload: object) -> tuple[str | None, int | None, str, str | None]:
    """Extract ``(error_type, code, message, request_id)`` from a parsed error body.

    Understands the Anthropic/MiniMax shape ``{"type":"error","error":{...},
    "request_id":...}``, the OpenAI shape ``{"error":{"message","type","code"}}`` and a
    MiniMax ``base_resp`` envelope.
    """
    if not isinstance(payload, Mapping):
        return None, None, "", None
    request_id = payload.get("request_id") or payload.get("id")
    rid = str(request_id) if isinstance(request_id, str | int) else None
    error = payload.get("error")
    if isinstance(error, Mapping):
        etype = error.get("type")
        msg = error.get("message")
        message = msg if isinstance(msg, str) else ""
        code = _as_int(error.get("code"))
        return (etype if isinstance(etype, str) else None), code, message, rid
    if isinstance(error, str):
        return None, None, error, rid
    base = payload.get("base_resp")
    if isinstance(base, Mapping):
        code = _as_int(base.get("status_code"))
        msg = base.get("status_msg")
        return None, code, msg if isinstance(msg, str) else "", rid
    return None, None, "", rid


def error_from_body(
    status: int | None,
    raw: bytes,
    *,
    context: ErrorContext | None = None,
    should_retry: bool | None = None,
    retry_after: float | None = None,
    header_request_id: str | None = None,
    scrub: Callable[[str], str] | None = None,
) -> ModelError:
    """Classify a non-200 response (or an error event's data) from its raw body.

    ``scrub`` is a ``str -> str`` function applied to the server's text before it is
    stored or quoted (it removes the key if the server echoed it).
    """
    text = raw[:65536].decode("utf-8", errors="replace")
    try:
        payload: object = json.loads(text)
    except ValueError:
        payload = None
    etype, code, message, rid = fields_from_error_body(payload)
    if payload is None or not (message or etype or code):
        # Plain-text bodies such as nginx pages or "404 page not found".
        message = text.strip() or f"HTTP {status}"
    if scrub is not None:
        message = scrub(message)
    return classify_error(
        status=status,
        error_type=etype,
        code=code,
        message=message,
        request_id=rid or header_request_id,
        context=context,
        should_retry=should_retry,
        retry_after=retry_after,
    )
