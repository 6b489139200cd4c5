"""MiniMax-style error bodies and the native status-code table (spec §10).

Every HTTP error the fake returns, on both the Anthropic and the OpenAI endpoint (§10.3), has
the observed MiniMax shape::

    {"type": "error",
     "error": {"type": "bad_request_error", "message": "… (2013)", "http_code": "400"},
     "request_id": "<32 hex>"}

The MiniMax code closes the message in parentheses, as on the live service; 529 messages also
end in ``(529)``. :class:`ApiError` is raised inside the fake to turn into such a response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .ids import hex_id


@dataclass(frozen=True)
class CodeInfo:
    """What MiniMax answers for a native status code: HTTP status, error type, message."""

    status: int
    error_type: str
    message: str


LOGIN_FAIL_MESSAGE = (
    "login fail: Please carry the API secret key in the 'Authorization' field of the "
    "request header (1004)"
)
HIGH_TRAFFIC_MESSAGE = (
    "High traffic detected. For a more stable experience, upgrade to our Plus plan and use "
    "the highspeed model. (2064) (529)"
)
CONTEXT_OVERFLOW_MESSAGE = "invalid params, context window exceeds limit (2013)"

CODES: Mapping[int, CodeInfo] = MappingProxyType(
    {
        1000: CodeInfo(500, "api_error", "unknown error, 794 (1000)"),
        1001: CodeInfo(504, "timeout_error", "request timeout (1001)"),
        1002: CodeInfo(429, "rate_limit_error", "rate limit (1002)"),
        1004: CodeInfo(401, "authorized_error", LOGIN_FAIL_MESSAGE),
        1008: CodeInfo(402, "insufficient_balance_error", "insufficient balance (1008)"),
        1013: CodeInfo(500, "api_error", "internal server error (1013)"),
        1024: CodeInfo(500, "api_error", "internal error (1024)"),
        1026: CodeInfo(400, "bad_request_error", "input sensitive (1026)"),
        1027: CodeInfo(400, "bad_request_error", "output sensitive (1027)"),
        1033: CodeInfo(500, "api_error", "system error (1033)"),
        1039: CodeInfo(400, "bad_request_error", "token limit (1039)"),
        1041: CodeInfo(429, "rate_limit_error", "connection limit (1041)"),
        1042: CodeInfo(400, "bad_request_error", "invisible character ratio limit (1042)"),
        2013: CodeInfo(400, "bad_request_error", CONTEXT_OVERFLOW_MESSAGE),
        2045: CodeInfo(429, "rate_limit_error", "rate growth limit (2045)"),
        2049: CodeInfo(401, "authorized_error", "invalid api key (2049)"),
        2056: CodeInfo(429, "rate_limit_error", "usage limit exceeded (2056)"),
        2061: CodeInfo(403, "permission_error", "model not available on current plan (2061)"),
        2064: CodeInfo(529, "overloaded_error", HIGH_TRAFFIC_MESSAGE),
    }
)
"""Native codes (§10.2) with the HTTP status and body the fake uses for them."""

DEFAULT_CODE_FOR_STATUS: Mapping[int, int] = MappingProxyType(
    {400: 2013, 401: 1004, 402: 1008, 429: 1002, 500: 1000, 504: 1001, 529: 2064}
)
"""The code a bare ``Fault.http(status)`` carries."""

ERROR_TYPE_FOR_STATUS: Mapping[int, str] = MappingProxyType(
    {
        400: "bad_request_error",
        401: "authorized_error",
        402: "insufficient_balance_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
)

STATUS_FOR_ERROR_TYPE: Mapping[str, int] = MappingProxyType(
    {
        "invalid_request_error": 400,
        "bad_request_error": 400,
        "authentication_error": 401,
        "authorized_error": 401,
        "insufficient_balance_error": 402,
        "billing_error": 402,
        "permission_error": 403,
        "not_found_error": 404,
        "request_too_large": 413,
        "rate_limit_error": 429,
        "api_error": 500,
        "timeout_error": 504,
        "overloaded_error": 529,
    }
)

_TRAILING_CODE = re.compile(r"\(\d{3,5}\)(?:\s*\(\d{3}\))?\s*$")


def error_type_for_status(status: int) -> str:
    """Return the MiniMax ``error.type`` for an HTTP status (generic fallbacks for others)."""
    if status in ERROR_TYPE_FOR_STATUS:
        return ERROR_TYPE_FOR_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def with_code(message: str, code: int | None) -> str:
    """Append `` (code)`` to ``message`` unless it already ends with a parenthesised code."""
    if code is None or _TRAILING_CODE.search(message):
        return message
    return f"{message} ({code})"


def strip_code(message: str) -> str:
    """Remove the trailing ``(code)`` / ``(code) (http)`` suffix (for ``base_resp.status_msg``)."""
    return _TRAILING_CODE.sub("", message).rstrip()


def error_body(
    error_type: str, message: str, *, http_code: int | None, rid: str | None = None
) -> dict[str, Any]:
    """Build the MiniMax error body; ``http_code=None`` leaves the field out (stream errors)."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    if http_code is not None:
        error["http_code"] = str(http_code)
    return {"type": "error", "error": error, "request_id": rid or hex_id()}


class ApiError(Exception):
    """Raised inside the fake; the handler turns it into an HTTP error response.

    Parameters
    ----------
    status:
        HTTP status code.
    error_type:
        ``error.type`` of the body.
    message:
        ``error.message`` (already carrying its ``(code)`` suffix when it has one).
    headers:
        Extra response headers (``retry-after``, ``x-should-retry``, …).
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers: Mapping[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body for this error."""
        return error_body(self.error_type, self.message, http_code=self.status)


def invalid_params(detail: str) -> ApiError:
    """400 ``bad_request_error`` ``invalid params, <detail> (2013)``."""
    return ApiError(400, "bad_request_error", f"invalid params, {detail} (2013)")


def invalid_request(message: str) -> ApiError:
    """400 ``invalid_request_error`` (MiniMax's documented type for schema violations)."""
    return ApiError(400, "invalid_request_error", message)
