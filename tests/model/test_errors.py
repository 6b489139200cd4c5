"""Error classification (minimax-api.md §10 and §13): class, retryable flag, code, sentence."""

from __future__ import annotations

import json

import pytest

from minimax_lsp.server.model import (
    AuthError,
    BadRequest,
    ContextOverflow,
    InsufficientBalance,
    ModelError,
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from minimax_lsp.server.model.errors import (
    ErrorContext,
    classify_error,
    error_from_body,
    parse_minimax_code,
)


def body(etype: str, message: str, rid: str = "ab" * 16) -> bytes:
    return json.dumps(
        {
            "type": "error",
            "error": {"type": etype, "message": message, "http_code": "400"},
            "request_id": rid,
        }
    ).encode()


# (status, error.type, message, expected class, retryable)
ROWS = [
    (408, "api_error", "timeout", ServerError, True),
    (409, "api_error", "conflict", ServerError, True),
    (500, "api_error", "unknown error, 794 (1000)", ServerError, True),
    (502, "api_error", "bad gateway", ServerError, True),
    (503, "api_error", "unavailable", ServerError, True),
    (504, "timeout_error", "timeout", ServerError, True),
    (500, "api_error", "request timeout (1001)", ServerError, True),
    (500, "api_error", "internal (1013)", ServerError, True),
    (500, "api_error", "internal (1024)", ServerError, True),
    (500, "api_error", "system error (1033)", ServerError, True),
    (429, "rate_limit_error", "rate limit (1002)", RateLimited, True),
    (429, "rate_limit_error", "connection limit (1041)", RateLimited, True),
    (429, "rate_limit_error", "rate growth limit (2045)", RateLimited, True),
    (429, "rate_limit_error", "too many requests", RateLimited, True),
    (429, "rate_limit_error", "usage limit exceeded (2056)", QuotaExceeded, False),
    (429, "rate_limit_error", "quota exhausted (1028)", QuotaExceeded, False),
    (429, "rate_limit_error", "quota exhausted (1030)", QuotaExceeded, False),
    (
        529,
        "overloaded_error",
        "High traffic detected. Upgrade to Plus. (2064) (529)",
        Overloaded,
        True,
    ),
    (
        400,
        "bad_request_error",
        "invalid params, context window exceeds limit (2013)",
        ContextOverflow,
        False,
    ),
    (400, "bad_request_error", "token limit (1039)", ContextOverflow, False),
    (
        400,
        "bad_request_error",
        "invalid params, invalid tool_result content (2013)",
        BadRequest,
        False,
    ),
    (400, "invalid_request_error", "messages: field required", BadRequest, False),
    (
        401,
        "authorized_error",
        "login fail: Please carry the API secret key (1004)",
        AuthError,
        False,
    ),
    (401, "authorized_error", "invalid api key (2049)", AuthError, False),
    (403, "permission_error", "no access", PermissionDenied, False),
    (404, "not_found_error", "Model does not exist.", ModelNotFound, False),
    (402, "insufficient_balance_error", "insufficient balance (1008)", InsufficientBalance, False),
    (400, "bad_request_error", "input sensitive (1026)", BadRequest, False),
    (400, "bad_request_error", "output sensitive (1027)", BadRequest, False),
    (413, "request_too_large", "request body too large", BadRequest, False),
]


@pytest.mark.parametrize(("status", "etype", "message", "cls", "retryable"), ROWS)
def test_http_error_rows(
    status: int, etype: str, message: str, cls: type[ModelError], retryable: bool
) -> None:
    err = error_from_body(status, body(etype, message))
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.status == status
    assert err.request_id == "ab" * 16
    assert err.code == parse_minimax_code(message)
    sentence = str(err)
    assert sentence.endswith(".") and "\n" not in sentence
    if err.code is not None:
        assert str(err.code) in sentence


def test_code_parsing() -> None:
    assert parse_minimax_code("High traffic detected. (2064) (529)") == 2064
    assert parse_minimax_code("invalid params, context window exceeds limit (2013)") == 2013
    assert parse_minimax_code("no code here") is None
    assert parse_minimax_code("count (12)") is None


def test_context_overflow_carries_numbers() -> None:
    ctx = ErrorContext(
        model="MiniMax-M3",
        input_tokens_estimate=990_000,
        context_window=1_000_000,
        max_tokens=20_000,
    )
    err = error_from_body(
        400,
        body("bad_request_error", "invalid params, context window exceeds limit (2013)"),
        context=ctx,
    )
    assert isinstance(err, ContextOverflow)
    assert (err.input_tokens_estimate, err.context_window, err.max_tokens) == (
        990_000,
        1_000_000,
        20_000,
    )
    assert "990,000" in str(err) and "MiniMax-M3" in str(err)


def test_should_retry_header_wins_both_ways() -> None:
    assert not error_from_body(500, body("api_error", "x (1000)"), should_retry=False).retryable
    assert error_from_body(400, body("bad_request_error", "x"), should_retry=True).retryable


def test_plain_text_and_garbage_bodies() -> None:
    err = error_from_body(404, b"404 page not found")
    assert isinstance(err, ModelNotFound) and "404 page not found" in str(err)
    err = error_from_body(502, b"<html>\x00\xff bad gateway</html>")
    assert isinstance(err, ServerError)
    err = error_from_body(418, b"")
    assert isinstance(err, BadRequest)


def test_openai_shaped_error_body() -> None:
    raw = json.dumps(
        {"error": {"message": "Rate limit", "type": "rate_limit_error", "code": "1002"}}
    ).encode()
    err = error_from_body(429, raw)
    assert isinstance(err, RateLimited) and err.code == 1002


def test_midstream_types_without_status() -> None:
    assert isinstance(
        classify_error(status=None, error_type="overloaded_error", code=None, message="x"),
        Overloaded,
    )
    assert isinstance(
        classify_error(status=None, error_type="api_error", code=None, message="x"), ServerError
    )
    assert isinstance(
        classify_error(status=None, error_type="rate_limit_error", code=2056, message="x"),
        QuotaExceeded,
    )
    err = classify_error(status=None, error_type="invalid_request_error", code=None, message="bad")
    assert isinstance(err, BadRequest) and not err.retryable


def test_long_server_message_is_truncated_in_sentence() -> None:
    err = error_from_body(400, body("bad_request_error", "x" * 5000))
    assert len(str(err)) < 400
    assert err.detail is not None and len(err.detail) == 5000
