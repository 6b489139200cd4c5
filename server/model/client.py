"""`ModelClient`: one async interface over MiniMax's two wire formats.

Contract
--------
* ``async for event in client.stream(request)`` yields `TextDelta` / `ThinkingDelta` and
  ends with one `StreamDone(result)`. ``await client.complete(request)`` returns the
  `ModelResult`. Both stream over HTTP (minimax-api.md §16).
* Retries follow §13 (`retry.RetryPolicy`): only retryable errors, bounded attempts,
  jittered backoff or the server's ``retry-after`` (≤ 60 s), ``x-should-retry`` obeyed.
  `stream` retries only while nothing has been yielded to the caller; after that a
  broken stream raises `StreamInterrupted` (a mid-stream ``event: error`` raises its own
  classified error). `complete` owns the whole answer, so it may restart a turn that broke
  mid-way. A circuit breaker fails fast (`CircuitOpen`) after repeated overload or
  connection failures.
* A client-side stop sequence, an exception in the consumer, or cancelling the consuming
  task closes the HTTP response at once (the server sees the disconnect).
* Usage of every successful call goes to the `UsageLedger` and the `SpendGuard`; the spend
  guard is consulted before anything is sent.
* The key is resolved lazily (key commands run in a worker thread), revealed only into the
  ``Authorization`` header, scrubbed from server text, and never logged; exceptions raised
  here are never chained to httpx exceptions (which hold the request and its headers).
* One ``httpx.AsyncClient`` is created per `ModelClient`, kept alive across calls, and
  closed by `aclose()` (unless the caller passed its own ``http`` client).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import socket
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource

from .config import ClientConfig
from .errors import (
    AuthError,
    CircuitOpen,
    ConnectionFailed,
    ErrorContext,
    ModelError,
    StreamInterrupted,
    error_from_body,
)
from .models import ModelInfo, model_info
from .records import (
    ModelRequest,
    ModelResult,
    StreamDone,
    StreamEvent,
    estimate_request_tokens,
)
from .retry import CircuitBreaker, retry_delay, retry_hints
from .secret import Secret, load_api_key, scrub
from .spend import SpendGuard
from .usage import UsageLedger
from .wire import ParserOptions, StreamParser, WireFormat
from .wire_anthropic import AnthropicWire
from .wire_openai import OpenAIWire

__all__ = ["ModelClient", "encode_body"]

_log = logging.getLogger("minimax_lsp.model")

# Error bodies are read up to this size; anything longer is not an error message.
_MAX_ERROR_BODY = 64 * 1024

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Call:
    """Everything about one logical call that does not change between attempts."""

    request: ModelRequest
    info: ModelInfo
    url: str
    body: dict[str, Any]
    max_tokens: int
    input_estimate: int
    context: ErrorContext
    max_attempts: int


class ModelClient:
    """Async MiniMax client (see module docstring).

    Parameters
    ----------
    config:
        Endpoint, format, model, key sources, timeouts, retry and spend settings.
    transport:
        An httpx transport for the owned client (tests pass ``httpx.MockTransport``).
    http:
        Use this ``httpx.AsyncClient`` instead of owning one (it is not closed by us).
    ledger, spend_guard:
        Share usage accounting / spend caps across clients (default: fresh ones).
    sleep, rng, clock:
        Injectable for tests: backoff sleeping, jitter source, monotonic clock (circuit
        breaker and spend guard).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
        ledger: UsageLedger | None = None,
        spend_guard: SpendGuard | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._wire: WireFormat = OpenAIWire() if config.api == "openai" else AnthropicWire()
        self._owns_http = http is None
        if transport is None:
            # TCP_NODELAY: httpx writes the headers and the body separately; with Nagle on,
            # the body waits for the server's delayed ACK (~40 ms) on every new connection,
            # which an inline completion notices.
            # A plain-http endpoint (a local gateway, the test fake) never does TLS on this
            # transport (no redirects are followed), so skip loading the CA bundle, which
            # costs tens of milliseconds per client.
            transport = httpx.AsyncHTTPTransport(
                verify=config.base_url.startswith("https://"),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
        self._http = http or httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
            # Never follow a redirect with the key to another host.
            follow_redirects=False,
        )
        self._ledger = ledger or UsageLedger()
        self._spend = spend_guard or SpendGuard(config.spend, clock=clock)
        self._breaker = CircuitBreaker(
            config.retry.breaker_threshold,
            config.retry.breaker_cooldown,
            overload_cooldown=config.retry.breaker_overload_cooldown,
            clock=clock,
        )
        self._sleep = sleep
        self._rng = rng
        self._key: Secret | None = None
        self._key_lock = asyncio.Lock()
        self._host = urlsplit(config.base_url).hostname or config.base_url

    # -- public surface ------------------------------------------------------------------

    @property
    def config(self) -> ClientConfig:
        """The configuration this client was built with."""
        return self._config

    @property
    def ledger(self) -> UsageLedger:
        """Usage of every successful call."""
        return self._ledger

    @property
    def spend_guard(self) -> SpendGuard:
        """The spend caps in force."""
        return self._spend

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker (for status reporting)."""
        return self._breaker

    def model_info(self, model: str | None = None) -> ModelInfo:
        """Registry entry for `model` (default: the configured one), window override applied."""
        return model_info(model or self._config.model, self._config.context_window)

    async def aclose(self) -> None:
        """Close the owned HTTP client (idempotent)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream one call: text and thinking deltas, then `StreamDone`.

        Close the iterator (``contextlib.aclosing``) or cancel the task to abort; either
        closes the HTTP stream. Raises a `ModelError` subclass on failure.
        """
        call = await self._prepare(request)
        attempt = 0
        while True:
            attempt += 1
            self._check_breaker()
            yielded = False
            failure: ModelError | None = None
            try:
                # aclosing: if our consumer stops early, the HTTP stream closes right away
                # instead of whenever the generator is garbage-collected.
                async with contextlib.aclosing(
                    self._attempt(call, self._config.stream_hold_limit)
                ) as events:
                    async for event in events:
                        if isinstance(event, StreamDone):
                            event = StreamDone(self._finalise(call, event.result, attempt))
                        yielded = True
                        yield event
                return
            except ModelError as exc:
                failure = exc
            failure = self._after_failure(failure, committed=yielded)
            if yielded or not await self._should_retry(call, failure, attempt):
                raise failure

    async def complete(self, request: ModelRequest) -> ModelResult:
        """Run one call to the end and return its result.

        Nothing reaches the caller before the end, so a stream that breaks mid-way is
        restarted from scratch within the retry budget.
        """
        call = await self._prepare(request)
        attempt = 0
        while True:
            attempt += 1
            self._check_breaker()
            failure: ModelError | None = None
            try:
                # Unbounded hold-back: no one is waiting for early text here.
                async with contextlib.aclosing(self._attempt(call, None)) as events:
                    async for event in events:
                        if isinstance(event, StreamDone):
                            return self._finalise(call, event.result, attempt)
            except ModelError as exc:
                failure = exc
            if failure is None:  # pragma: no cover - _attempt always ends with StreamDone
                failure = StreamInterrupted("The MiniMax response ended without a result.")
            failure = self._after_failure(failure, committed=False)
            if not await self._should_retry(call, failure, attempt):
                raise failure

    # -- preparation ---------------------------------------------------------------------

    async def _prepare(self, request: ModelRequest) -> _Call:
        info = self.model_info(request.model)
        max_tokens = min(request.max_tokens, info.max_output)
        if max_tokens < request.max_tokens:
            _log.debug(
                "max_tokens %d clamped to %s's cap %d", request.max_tokens, info.id, max_tokens
            )
        estimate = request.input_tokens_hint or estimate_request_tokens(request)
        # A missing key is the more useful message, so it is checked before the caps; an
        # open circuit refuses before the request counts against them.
        await self._api_key()
        self._check_breaker()
        self._spend.admit(request.trigger, estimate)
        body = self._wire.body(request, info, max_tokens)
        context = ErrorContext(
            model=info.id,
            host=self._host,
            input_tokens_estimate=estimate,
            context_window=info.context_window,
            max_tokens=max_tokens,
        )
        _log.debug(
            "model call: %s %s model=%s max_tokens=%d thinking=%s messages=%d ~%d input tokens",
            self._wire.name,
            self._host,
            info.id,
            max_tokens,
            request.thinking,
            len(request.messages),
            estimate,
        )
        return _Call(
            request=request,
            info=info,
            url=self._wire.url(self._config.base_url),
            body=body,
            max_tokens=max_tokens,
            input_estimate=estimate,
            context=context,
            max_attempts=request.max_attempts or self._config.retry.max_attempts,
        )

    async def _api_key(self) -> Secret:
        if self._key is not None:
            return self._key
        async with self._key_lock:
            if self._key is None:
                cfg = self._config
                # A key command may take a moment (password manager): keep the loop free.
                self._key = await asyncio.to_thread(
                    load_api_key,
                    key=cfg.api_key,
                    key_file=cfg.api_key_file,
                    key_command=cfg.api_key_command,
                    command_timeout=cfg.key_command_timeout,
                )
            return self._key

    def _scrub(self, text: str) -> str:
        return scrub(text, self._key)

    # -- one HTTP attempt ----------------------------------------------------------------

    async def _attempt(
        self, call: _Call, hold_limit: int | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """One POST and its response; raises `ModelError` (never an httpx error)."""
        key = await self._api_key()
        failure: ModelError | None = None
        try:
            async with self._http.stream(
                "POST", call.url, headers=self._wire.headers(key), content=encode_body(call.body)
            ) as response:
                if response.status_code != 200:
                    failure = await self._http_error(response, call)
                else:
                    async with contextlib.aclosing(self._read(response, call, hold_limit)) as evs:
                        async for event in evs:
                            yield event
        except httpx.HTTPError as exc:
            failure = self._transport_error(exc)
        # Raised here, outside the except block, so the httpx exception (which carries
        # the request and its Authorization header) is not attached as __context__.
        if failure is not None:
            raise failure

    async def _read(
        self, response: httpx.Response, call: _Call, hold_limit: int | None
    ) -> AsyncGenerator[StreamEvent, None]:
        parser: StreamParser = self._wire.parser(
            ParserOptions(
                stop_sequences=call.request.stop_sequences,
                hold_limit=hold_limit,
                may_think=call.info.thinking == "always"
                or (call.info.thinking == "optional" and call.request.thinking == "adaptive"),
                input_estimate=call.input_estimate,
                model=call.info.id,
                error_context=call.context,
                scrub=self._scrub,
            )
        )
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            # A whole JSON body: a non-streaming server, or a 200 + base_resp error.
            raw = await response.aread()
            for event in parser.feed_body(_json_or_none(raw)):
                yield event
        else:
            try:
                async with contextlib.aclosing(EventSource(response).aiter_sse()) as sse_events:
                    async for sse in sse_events:
                        events = parser.feed(sse.event, sse.data)
                        if parser.stopped:
                            # Stop sequence: hang up before handing over the last text, so
                            # a slow consumer does not keep the server generating.
                            await response.aclose()
                            for event in events:
                                yield event
                            break
                        for event in events:
                            yield event
                        if parser.complete and sse.data.strip() == "[DONE]":
                            break
            except httpx.HTTPError as exc:
                # The answer was already complete (message_stop / finish seen): a connection
                # that then drops or hangs costs nothing.
                if not parser.complete:
                    raise
                _log.debug("ignoring %s after a complete response", type(exc).__name__)
        tail, result = parser.finish()
        for event in tail:
            yield event
        result = dataclasses.replace(result, request_id=_request_id(response) or result.message_id)
        yield StreamDone(result)

    async def _http_error(self, response: httpx.Response, call: _Call) -> ModelError:
        raw = bytearray()
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) >= _MAX_ERROR_BODY:
                break
        after, should = retry_hints(response.headers)
        error = error_from_body(
            response.status_code,
            bytes(raw),
            context=call.context,
            should_retry=should,
            retry_after=after,
            header_request_id=_request_id(response),
            scrub=self._scrub,
        )
        _log.debug(
            "HTTP %d from %s: %s (request id %s)",
            response.status_code,
            self._host,
            error.detail,
            error.request_id,
        )
        if isinstance(error, AuthError):
            # The key may have been rotated: read it again on the next call.
            self._key = None
        return error

    def _transport_error(self, exc: httpx.HTTPError) -> ModelError:
        kind = type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            message = f"Cannot reach MiniMax at {self._host} ({kind})."
        elif isinstance(exc, httpx.TimeoutException):
            message = f"MiniMax at {self._host} did not answer in time ({kind})."
        else:
            message = f"The connection to MiniMax at {self._host} was lost ({kind})."
        _log.debug("transport error talking to %s: %s", self._host, self._scrub(str(exc)) or kind)
        return ConnectionFailed(message)

    # -- retry loop helpers --------------------------------------------------------------

    def _check_breaker(self) -> None:
        left = self._breaker.remaining()
        if left is not None:
            raise CircuitOpen(
                f"MiniMax looked unreachable or overloaded several times in a row; not "
                f"trying again for {left:.0f} s.",
                retry_after=left,
            )

    def _after_failure(self, failure: ModelError, *, committed: bool) -> ModelError:
        """Count the failure; turn a broken connection after output into StreamInterrupted."""
        self._breaker.record_failure(failure)
        if committed and isinstance(failure, ConnectionFailed):
            return StreamInterrupted(
                f"The MiniMax stream broke off after the answer had started ({failure}).",
                request_id=failure.request_id,
            )
        return failure

    async def _should_retry(self, call: _Call, failure: ModelError, attempt: int) -> bool:
        """Decide, and if yes sleep the backoff."""
        if not failure.retryable or attempt >= call.max_attempts:
            return False
        if self._breaker.remaining() is not None:
            return False  # the breaker just opened: stop spinning, report the real error
        delay = retry_delay(self._config.retry, failure, attempt - 1, self._rng)
        _log.info(
            "model call attempt %d/%d failed (%s); retrying in %.2f s",
            attempt,
            call.max_attempts,
            failure,
            delay,
        )
        await self._sleep(delay)
        return True

    def _finalise(self, call: _Call, result: ModelResult, attempt: int) -> ModelResult:
        self._breaker.record_success()
        result = dataclasses.replace(result, attempts=attempt)
        self._ledger.record(result.usage, model=result.model)
        self._spend.record(result.usage.total)
        usage = result.usage
        _log.info(
            "model call done: model=%s stop=%s in=%d (cache read %d, write %d) out=%d "
            "attempts=%d%s",
            result.model,
            result.stop_reason,
            usage.input_tokens,
            usage.cache_read_input_tokens,
            usage.cache_creation_input_tokens,
            usage.output_tokens,
            attempt,
            " (usage estimated)" if usage.estimated else "",
        )
        return result


def _request_id(response: httpx.Response) -> str | None:
    for name in ("request-id", "x-request-id", "minimax-request-id", "trace-id"):
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def encode_body(body: object) -> bytes:
    """The JSON request body as UTF-8, as httpx's ``json=`` writes it, but never failing.

    LSP's JSON may carry lone UTF-16 surrogates (``"\\ud800"``) into a document or a
    prompt; UTF-8 cannot encode them. Adjacent halves (an emoji split across two edits)
    are rejoined, a lone one becomes U+FFFD: a ``\\ud800`` escape would be legal JSON,
    but strict servers reject it.
    """
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return repaired.encode("utf-8")


def _json_or_none(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None
