"""What tests script into the fake: :class:`Reply`, :class:`Fault`, and what it records.

A test enqueues replies and faults; each model request (``/anthropic/v1/messages``,
``/v1/messages``, ``/v1/chat/completions``) that passes auth and validation consumes the
oldest one. All three records are frozen so a test cannot mutate what the server is using.
"""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import (
    CODES,
    DEFAULT_CODE_FOR_STATUS,
    STATUS_FOR_ERROR_TYPE,
    ApiError,
    error_type_for_status,
    with_code,
)

STOP_REASONS = frozenset({"end_turn", "max_tokens", "tool_use"})


@dataclass(frozen=True)
class Reply:
    """One scripted model answer.

    Parameters
    ----------
    text:
        The visible answer. On the Anthropic endpoint a text block that follows a thinking
        block gets a leading ``"\\n\\n"`` (MiniMax does this) unless
        ``newline_after_thinking`` is false.
    thinking:
        Thinking text. Used only when the request's model/``thinking`` setting makes the model
        think (M3: ``adaptive``; M2.x: always); a thinking model with ``thinking=None`` thinks
        a short deterministic sentence.
    stop_reason:
        ``None`` picks ``tool_use`` when there are tool calls, else ``end_turn``. Output longer
        than the request's ``max_tokens`` is truncated and reported as ``max_tokens``.
    chunks:
        Number of ``text_delta`` events the text is split into (``None``: about 20 characters
        per delta).
    thinking_chunks:
        Number of ``thinking_delta`` events; ``None`` sends the whole thought in one delta,
        as MiniMax often does.
    tool_calls:
        ``(name, input)`` pairs, emitted as ``tool_use`` blocks after the text.
    model:
        Overrides the ``model`` field of the response (MiniMax may answer with another id).
    tps:
        Output tokens per second for this reply (overrides the server's ``tps``).
    newline_after_thinking:
        See ``text``.
    """

    text: str = ""
    thinking: str | None = None
    stop_reason: str | None = None
    chunks: int | None = None
    thinking_chunks: int | None = None
    tool_calls: Sequence[tuple[str, Mapping[str, Any]]] = ()
    model: str | None = None
    tps: float | None = None
    newline_after_thinking: bool = True

    def __post_init__(self) -> None:
        if self.chunks is not None and self.chunks < 1:
            raise ValueError("Reply.chunks must be >= 1")
        if self.thinking_chunks is not None and self.thinking_chunks < 1:
            raise ValueError("Reply.thinking_chunks must be >= 1")
        if self.tps is not None and self.tps <= 0:
            raise ValueError("Reply.tps must be > 0")
        if self.stop_reason is not None and self.stop_reason not in STOP_REASONS:
            raise ValueError(f"Reply.stop_reason must be one of {sorted(STOP_REASONS)}")
        calls = tuple((str(name), dict(args)) for name, args in self.tool_calls)
        object.__setattr__(self, "tool_calls", calls)


class FaultKind(Enum):
    """The failure a :class:`Fault` injects."""

    HTTP = "http"
    MIDSTREAM_ERROR = "midstream_error"
    ABRUPT_CLOSE = "abrupt_close"
    SLOW_FIRST_BYTE = "slow_first_byte"
    BASE_RESP_ERROR = "base_resp_error"
    DISCONNECT = "disconnect"


@dataclass(frozen=True)
class Fault:
    """One scripted failure; build it with the class methods, not the constructor."""

    kind: FaultKind
    status: int = 200
    code: int | None = None
    message: str = ""
    error_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    after_text: str = ""
    seconds: float = 0.0
    then: Reply | Fault | None = None
    clean_eof: bool = False

    @classmethod
    def http(
        cls,
        status: int,
        *,
        code: int | None = None,
        message: str | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """An HTTP error with a MiniMax body (§10), before any byte of the answer.

        Parameters
        ----------
        status:
            HTTP status (429, 529, 500, 402, 401, 400, …).
        code:
            MiniMax code put in the message as ``(code)``; defaults by status
            (429→1002, 529→2064, 500→1000, 402→1008, 401→1004, 400→2013).
        message:
            ``error.message``; defaults to the observed text for the code. `` (code)`` is
            appended when missing.
        error_type:
            ``error.type``; defaults to MiniMax's type for the code/status.
        retry_after, retry_after_ms, should_retry:
            Emit ``retry-after`` (seconds), ``retry-after-ms`` and ``x-should-retry``.
        headers:
            Any further response headers.
        """
        if not 400 <= status <= 599:
            raise ValueError("Fault.http status must be 4xx or 5xx")
        if code is None:
            code = DEFAULT_CODE_FOR_STATUS.get(status)
        known = CODES.get(code) if code is not None else None
        matches = known is not None and known.status == status
        if message is None:
            if known is not None and matches:
                message = known.message
            else:
                message = http.HTTPStatus(status).phrase.lower() if _is_status(status) else "error"
        if error_type is None:
            error_type = known.error_type if known is not None and matches else None
            error_type = error_type or error_type_for_status(status)
        extra_headers: list[tuple[str, str]] = []
        if retry_after is not None:
            extra_headers.append(("retry-after", f"{retry_after:g}"))
        if retry_after_ms is not None:
            extra_headers.append(("retry-after-ms", str(int(retry_after_ms))))
        if should_retry is not None:
            extra_headers.append(("x-should-retry", "true" if should_retry else "false"))
        extra_headers.extend((k.lower(), v) for k, v in (headers or {}).items())
        return cls(
            FaultKind.HTTP,
            status=status,
            code=code,
            message=with_code(message, code),
            error_type=error_type,
            headers=tuple(extra_headers),
        )

    @classmethod
    def midstream_error(
        cls,
        error_type: str = "overloaded_error",
        code: int | None = 2064,
        after_text: str = "partial",
        message: str | None = None,
    ) -> Fault:
        """A 200 stream that sends ``after_text`` and then ``event: error`` (§8.5).

        A non-streaming request receiving it gets the equivalent HTTP error instead.
        """
        known = CODES.get(code) if code is not None else None
        if message is None:
            message = known.message if known is not None else error_type.replace("_", " ")
        return cls(
            FaultKind.MIDSTREAM_ERROR,
            code=code,
            message=with_code(message, code),
            error_type=error_type,
            after_text=after_text,
        )

    @classmethod
    def abrupt_close(cls, after_text: str = "partial", *, clean_eof: bool = False) -> Fault:
        """A 200 stream cut after ``after_text``, with no ``message_stop``.

        By default the chunked body is left unterminated (the client sees a protocol/network
        error). ``clean_eof=True`` ends the HTTP body properly instead, so only the missing
        ``message_stop`` tells the client the answer is incomplete. A non-streaming request
        gets half a JSON body and then the close.
        """
        return cls(FaultKind.ABRUPT_CLOSE, after_text=after_text, clean_eof=clean_eof)

    @classmethod
    def slow_first_byte(cls, seconds: float = 2.0, then: Reply | Fault | None = None) -> Fault:
        """Wait ``seconds`` before sending anything, then answer with ``then``.

        ``then=None`` uses the default reply.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return cls(FaultKind.SLOW_FIRST_BYTE, seconds=seconds, then=then)

    @classmethod
    def base_resp_error(cls, code: int = 1008, message: str | None = None) -> Fault:
        """OpenAI endpoint: HTTP 200 with ``base_resp.status_code=code`` and ``choices: null``.

        A stream request gets the same object as its single ``data:`` frame. On the Anthropic
        endpoint this becomes the HTTP error MiniMax uses for the code (1008 → 402, …).
        """
        known = CODES.get(code)
        if message is None:
            message = known.message if known is not None else f"error ({code})"
        return cls(
            FaultKind.BASE_RESP_ERROR,
            status=known.status if known is not None else 500,
            code=code,
            message=with_code(message, code),
            error_type=known.error_type if known is not None else "api_error",
        )

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending any response (a reset/outage)."""
        return cls(FaultKind.DISCONNECT)

    def to_api_error(self) -> ApiError:
        """The HTTP error this fault stands for (used where no stream can carry it)."""
        status = self.status
        if self.kind is FaultKind.MIDSTREAM_ERROR:
            status = STATUS_FOR_ERROR_TYPE.get(self.error_type, 500)
        return ApiError(status, self.error_type, self.message, dict(self.headers))


def _is_status(status: int) -> bool:
    try:
        http.HTTPStatus(status)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the fake received it.

    Parameters
    ----------
    method, path, query:
        Request line; ``path`` excludes the query string.
    headers:
        Header names lower-cased (the last value wins on repeats).
    body:
        Parsed JSON body, or ``None`` when absent or not JSON.
    raw_body:
        Raw bytes (empty for bodies over the size limit, which are discarded).
    received_at:
        ``time.monotonic()`` on arrival (use differences, e.g. to measure retry backoff).
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes
    received_at: float
    query: str = ""
