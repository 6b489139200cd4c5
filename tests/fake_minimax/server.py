"""The fake MiniMax server: a real HTTP server on 127.0.0.1 in its own thread (spec §15).

Routes (anything else, or another method, answers 404 ``text/plain`` ``404 page not found``):

=========================================  ============================================
``POST /anthropic/v1/messages``            Anthropic Messages, streamed or not
``POST /v1/messages``                      the same, for clients without the prefix
``POST /anthropic/v1/messages/count_tokens`` ``{"input_tokens": N}`` (also ``/v1/…``)
``POST /v1/chat/completions``              OpenAI Chat Completions, streamed or not
``GET /v1/token_plan/remains``             Token Plan quota body (scriptable)
=========================================  ============================================

Order of checks on a model request: offline → body size (413) → route (404) → auth (401) →
JSON → validation (404 model / 400) → scripted item. Only a request that passes validation
consumes a scripted :class:`~.script.Reply` / :class:`~.script.Fault` (FIFO); a sticky fault
(:meth:`FakeMiniMax.set_sticky`) answers every such request without consuming the queue.
``set_offline(True)`` makes *every* request, on any route, end with the connection closed and no
response (a connection reset for the client) until ``set_offline(False)``.

The API key is held for comparison only and never logged or printed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from . import anthropic_wire, openai_wire
from .cache import CacheUsage, PrefixCache
from .errors import LOGIN_FAIL_MESSAGE, ApiError, error_body, invalid_request, strip_code
from .generate import Turn, default_reply, plan_turn
from .ids import hex_id
from .models import DEFAULT_MODELS, ModelSpec
from .script import Fault, FaultKind, RecordedRequest, Reply
from .transport import ClientGone, Exchange, ServerStopping
from .validate import ModelRequest, validate_anthropic, validate_openai

MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_SIGNATURE_SECRET = "fake-minimax-signature-secret"

Responder = Callable[[RecordedRequest], "Reply | Fault"]


@dataclass(frozen=True)
class UsageRecord:
    """Usage reported for one successful model answer (Anthropic terms)."""

    endpoint: str
    model: str
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class UsageTotals:
    """Sums over all successful answers, for benchmarks (e.g. the cache-hit share)."""

    requests: int = 0
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        """Uncached + written + read input tokens."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def cache_hit_share(self) -> float:
        """``cache_read / total_input`` (0.0 before any input)."""
        total = self.total_input_tokens
        return self.cache_read_input_tokens / total if total else 0.0


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeMiniMax) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection errors outside a request are routine for a test server; stay quiet.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-minimax"
    sys_version = ""
    timeout = 60
    # TCP_NODELAY on every accepted socket: a response goes out as two writes (headers,
    # then body), and with Nagle on the body waits for the client's delayed ACK (~40 ms)
    # on every response after the first of a kept-alive connection.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, threading.current_thread(), add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, threading.current_thread(), add=False)

    def log_message(self, format: str, *args: Any) -> None:
        return  # silent: the fake must never echo headers (the key) anywhere

    def _serve(self) -> None:
        self.server.fake._serve(Exchange(self, self.server.fake._stopping))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class FakeMiniMax:
    """A scriptable, faithful stand-in for the MiniMax API (see the module docstring).

    Parameters
    ----------
    api_key:
        The only key accepted (``Authorization: Bearer`` or ``x-api-key``).
    tps:
        Output tokens per second for every answer (``None``: no delay). Per-reply override
        with ``Reply(tps=…)``.
    host, port:
        Where to listen; port 0 picks a free port.
    automatic_cache:
        Report cache reads for repeated prefixes even without ``cache_control`` (MiniMax's
        passive caching, §7). Off by default, so only explicit breakpoints cache.
    clock:
        Monotonic seconds for cache TTLs; inject one to test expiry without sleeping.
    models:
        Extra or replacement model specs, merged over :data:`~.models.DEFAULT_MODELS`.
    signature_secret:
        Secret mixed into thinking signatures (the default is fixed, so signatures are stable
        across fake instances).
    openai_done:
        End OpenAI streams with ``data: [DONE]`` (MiniMax's behaviour here is unknown).
    openai_final_frame:
        Send the final full ``chat.completion`` frame at the end of OpenAI streams.
    max_body_bytes:
        Larger request bodies get 413 (MiniMax: 64 MB).
    chunk_chars:
        Characters per delta when a reply does not set ``chunks``.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        tps: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        automatic_cache: bool = False,
        clock: Callable[[], float] = time.monotonic,
        models: Mapping[str, ModelSpec] | None = None,
        signature_secret: str = DEFAULT_SIGNATURE_SECRET,
        openai_done: bool = True,
        openai_final_frame: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
        chunk_chars: int = 20,
    ) -> None:
        if tps is not None and tps <= 0:
            raise ValueError("tps must be > 0")
        self.api_key = api_key
        self.tps = tps
        self.models: Mapping[str, ModelSpec] = {**DEFAULT_MODELS, **(models or {})}
        self.cache = PrefixCache(clock, automatic=automatic_cache)
        self._host = host
        self._port = port
        self._secret = signature_secret
        self._openai_done = openai_done
        self._openai_final_frame = openai_final_frame
        self._max_body = max_body_bytes
        self._chunk_chars = max(1, chunk_chars)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._queue: deque[Reply | Fault] = deque()
        self._sticky: Fault | None = None
        self._offline = False
        self._default: Responder | None = None
        self._requests: list[RecordedRequest] = []
        self._usage: list[UsageRecord] = []
        self._internal_errors: list[BaseException] = []
        self._open_streams = 0
        self._disconnects = 0
        self._token_plan: tuple[int, Mapping[str, Any] | None] = (200, None)
        self._connections: dict[int, tuple[Any, threading.Thread]] = {}
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ================================================================== lifecycle

    def start(self) -> FakeMiniMax:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("FakeMiniMax already started")
        self._stopping.clear()
        self._server = _HTTPServer((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits for one poll
            name=f"fake-minimax:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving, cut open connections (streams included) and join the threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            tracked = list(self._connections.values())
        for sock, _thread in tracked:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes threads blocked in recv
        server.server_close()
        deadline = time.monotonic() + timeout
        for _sock, thread in tracked:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FakeMiniMax:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("FakeMiniMax is not started")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url + "/anthropic"`` (the Anthropic SDK appends ``/v1/messages``)."""
        return self.base_url + "/anthropic"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"`` (the OpenAI SDK appends ``/chat/completions``)."""
        return self.base_url + "/v1"

    # ================================================================== scripting

    def enqueue(self, *items: Reply | Fault) -> None:
        """Script the answers of the next model requests, oldest first."""
        for item in items:
            if not isinstance(item, Reply | Fault):
                raise TypeError(f"enqueue takes Reply or Fault, not {type(item).__name__}")
        with self._lock:
            self._queue.extend(items)

    def set_default(self, responder: Responder | None) -> None:
        """Answer unscripted requests with ``responder(request)`` (``None``: built-in default)."""
        with self._lock:
            self._default = responder

    def set_sticky(self, fault: Fault | None) -> None:
        """Answer every model request with ``fault`` until cleared with ``None``."""
        with self._lock:
            self._sticky = fault

    def set_offline(self, offline: bool = True) -> None:
        """Simulate an outage: every request's connection closes with no response."""
        with self._lock:
            self._offline = offline

    def set_token_plan_remains(
        self, body: Mapping[str, Any] | None = None, *, status: int = 200
    ) -> None:
        """Script ``GET /v1/token_plan/remains`` (``body=None``: the plausible default)."""
        with self._lock:
            self._token_plan = (status, body)

    def reset(self) -> None:
        """Clear the script, sticky/offline faults, records, usage, token-plan body and cache."""
        with self._lock:
            self._queue.clear()
            self._sticky = None
            self._offline = False
            self._default = None
            self._requests.clear()
            self._usage.clear()
            self._disconnects = 0
            self._token_plan = (200, None)
        self.cache.clear()

    @property
    def pending(self) -> int:
        """Scripted items not yet consumed."""
        with self._lock:
            return len(self._queue)

    # ================================================================== observation

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def usage_history(self) -> list[UsageRecord]:
        """Usage of every successful model answer, in order (a copy)."""
        with self._lock:
            return list(self._usage)

    @property
    def usage_totals(self) -> UsageTotals:
        """Sums of :attr:`usage_history`."""
        records = self.usage_history
        return UsageTotals(
            requests=len(records),
            input_tokens=sum(r.input_tokens for r in records),
            cache_creation_input_tokens=sum(r.cache_creation_input_tokens for r in records),
            cache_read_input_tokens=sum(r.cache_read_input_tokens for r in records),
            output_tokens=sum(r.output_tokens for r in records),
        )

    @property
    def open_streams(self) -> int:
        """Streaming answers being written right now."""
        with self._lock:
            return self._open_streams

    @property
    def client_disconnects(self) -> int:
        """Answers (streams, mostly) the client hung up on before the fake finished them."""
        with self._lock:
            return self._disconnects

    @property
    def internal_errors(self) -> list[BaseException]:
        """Bugs of the fake itself (answered as 500); the pytest fixture asserts none."""
        with self._lock:
            return list(self._internal_errors)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` until true or ``timeout`` seconds; return its last value."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    # ================================================================== serving

    def _track(self, sock: Any, thread: threading.Thread, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[id(sock)] = (sock, thread)
            else:
                self._connections.pop(id(sock), None)

    def _record(self, ex: Exchange, raw: bytes, body: Any) -> RecordedRequest:
        record = RecordedRequest(
            method=ex.method,
            path=ex.path,
            headers=dict(ex.headers),
            body=body,
            raw_body=raw,
            received_at=time.monotonic(),
            query=ex.query,
        )
        with self._lock:
            self._requests.append(record)
        return record

    def _serve(self, ex: Exchange) -> None:
        """Entry point of every request (runs on the connection's thread)."""
        try:
            self._route(ex)
        except ClientGone:
            with self._lock:
                self._disconnects += 1
            ex.hang_up()
        except ServerStopping:
            ex.hang_up()
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test
            with self._lock:
                self._internal_errors.append(exc)
            if ex.responded:
                ex.hang_up()
            else:
                with contextlib.suppress(ClientGone, ServerStopping):
                    body = error_body("api_error", f"fake server error: {exc!r}", http_code=500)
                    ex.send_json(500, body)

    def _route(self, ex: Exchange) -> None:
        with self._lock:
            offline = self._offline
        if offline:
            self._record(ex, b"", None)
            ex.hang_up()
            return
        raw = ex.read_body(self._max_body)
        if raw is None:
            self._record(ex, b"", None)
            message = f"request body too large, limit is {self._max_body} bytes"
            ex.send_json(413, error_body("request_too_large", message, http_code=413))
            return
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        record = self._record(ex, raw, body)
        handlers: dict[tuple[str, str], Callable[[Exchange, RecordedRequest], None]] = {
            ("POST", "/anthropic/v1/messages"): self._anthropic,
            ("POST", "/v1/messages"): self._anthropic,
            ("POST", "/anthropic/v1/messages/count_tokens"): self._count_tokens,
            ("POST", "/v1/messages/count_tokens"): self._count_tokens,
            ("POST", "/v1/chat/completions"): self._openai,
            ("GET", "/v1/token_plan/remains"): self._token_plan_remains,
        }
        handler = handlers.get((ex.method, ex.path.rstrip("/") or "/"))
        if handler is None:
            ex.send_bytes(404, b"404 page not found", "text/plain; charset=utf-8")
            return
        try:
            self._authorize(ex.headers, bearer_only=ex.path == "/v1/chat/completions")
            if raw and body is None:
                raise invalid_request("invalid json body (2013)")
            handler(ex, record)
        except ApiError as err:
            ex.send_json(err.status, err.body(), err.headers)

    def _authorize(self, headers: Mapping[str, str], *, bearer_only: bool) -> None:
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            key: str | None = token.strip() if scheme.lower() == "bearer" else ""
        else:
            key = None if bearer_only else headers.get("x-api-key")
        if key is None or key == "":
            raise ApiError(401, "authorized_error", LOGIN_FAIL_MESSAGE)
        if key != self.api_key:
            raise ApiError(401, "authorized_error", "invalid api key (2049)")

    # ------------------------------------------------------------------ routes

    def _count_tokens(self, ex: Exchange, record: RecordedRequest) -> None:
        request = validate_anthropic(record.body, self.models, self._secret, count_only=True)
        ex.send_json(200, {"input_tokens": request.input_tokens})

    def _token_plan_remains(self, ex: Exchange, record: RecordedRequest) -> None:
        with self._lock:
            status, body = self._token_plan
        ex.send_json(status, dict(body) if body is not None else _default_token_plan())

    def _anthropic(self, ex: Exchange, record: RecordedRequest) -> None:
        request = validate_anthropic(record.body, self.models, self._secret)
        self._answer(ex, record, request, self._next_item(record))

    def _openai(self, ex: Exchange, record: RecordedRequest) -> None:
        request = validate_openai(record.body, self.models)
        self._answer(ex, record, request, self._next_item(record))

    def _next_item(self, record: RecordedRequest) -> Reply | Fault:
        with self._lock:
            if self._sticky is not None:
                return self._sticky
            if self._queue:
                return self._queue.popleft()
            responder = self._default
        return self._default_item(record, responder)

    def _default_item(self, record: RecordedRequest, responder: Responder | None) -> Reply | Fault:
        if responder is not None:
            return responder(record)
        body = record.body if isinstance(record.body, Mapping) else {}
        if record.path == "/v1/chat/completions":
            return default_reply(validate_openai(body, self.models).last_user_text)
        return default_reply(validate_anthropic(body, self.models, self._secret).last_user_text)

    # ------------------------------------------------------------------ answering

    def _answer(
        self, ex: Exchange, record: RecordedRequest, request: ModelRequest, item: Reply | Fault
    ) -> None:
        if isinstance(item, Reply):
            self._reply(ex, request, item)
            return
        kind = item.kind
        if kind is FaultKind.SLOW_FIRST_BYTE:
            ex.pause(item.seconds)
            with self._lock:
                responder = self._default
            then = item.then if item.then is not None else self._default_item(record, responder)
            self._answer(ex, record, request, then)
        elif kind is FaultKind.DISCONNECT:
            ex.hang_up()
        elif kind is FaultKind.BASE_RESP_ERROR and request.endpoint == "openai":
            body = openai_wire.base_resp_error_json(
                item.code or 0, strip_code(item.message), hex_id(), int(time.time())
            )
            if request.stream:
                with self._streaming(ex):
                    self._emit(ex, [anthropic_wire.SseEvent(None, body)], None)
                    ex.end_stream()
            else:
                ex.send_json(200, body)
        elif kind in (FaultKind.MIDSTREAM_ERROR, FaultKind.ABRUPT_CLOSE) and request.stream:
            self._broken_stream(ex, request, item)
        elif kind is FaultKind.ABRUPT_CLOSE:
            ex.send_truncated_json(200, {"id": hex_id(), "type": "message", "content": []})
        else:
            raise item.to_api_error()

    def _reply(self, ex: Exchange, request: ModelRequest, reply: Reply) -> None:
        turn = plan_turn(reply, request, self._secret)
        usage = self.cache.account(f"{request.endpoint}|{request.model}", request.blocks)
        with self._lock:
            self._usage.append(
                UsageRecord(
                    request.endpoint,
                    request.model,
                    usage.input_tokens,
                    usage.cache_creation_input_tokens,
                    usage.cache_read_input_tokens,
                    turn.output_tokens,
                )
            )
        tps = reply.tps or self.tps
        if request.endpoint == "anthropic":
            self._reply_anthropic(ex, request, reply, turn, usage, tps)
        else:
            self._reply_openai(ex, request, reply, turn, usage, tps)

    def _reply_anthropic(
        self,
        ex: Exchange,
        request: ModelRequest,
        reply: Reply,
        turn: Turn,
        usage: CacheUsage,
        tps: float | None,
    ) -> None:
        message_id = hex_id()
        if not request.stream:
            if tps:
                ex.pause(turn.output_tokens / tps)
            body = anthropic_wire.message_json(
                turn, usage, message_id, newline_after_thinking=reply.newline_after_thinking
            )
            ex.send_json(200, body)
            return
        events = anthropic_wire.stream_events(
            turn,
            usage,
            message_id,
            chunks=reply.chunks,
            thinking_chunks=reply.thinking_chunks,
            chunk_chars=self._chunk_chars,
            newline_after_thinking=reply.newline_after_thinking,
        )
        with self._streaming(ex):
            self._emit(ex, events, tps)
            ex.end_stream()

    def _reply_openai(
        self,
        ex: Exchange,
        request: ModelRequest,
        reply: Reply,
        turn: Turn,
        usage: CacheUsage,
        tps: float | None,
    ) -> None:
        completion_id, created = hex_id(), int(time.time())
        if not request.stream:
            if tps:
                ex.pause(turn.output_tokens / tps)
            body = openai_wire.completion_json(
                turn, usage, completion_id, created, split=request.reasoning_split
            )
            ex.send_json(200, body)
            return
        frames = openai_wire.stream_frames(
            turn,
            usage,
            completion_id,
            created,
            split=request.reasoning_split,
            include_usage=request.include_usage,
            final_frame=self._openai_final_frame,
            chunks=reply.chunks,
            thinking_chunks=reply.thinking_chunks,
            chunk_chars=self._chunk_chars,
        )
        with self._streaming(ex):
            self._emit(ex, frames, tps)
            if self._openai_done:
                ex.write_chunk(b"data: [DONE]\n\n")
            ex.end_stream()

    def _broken_stream(self, ex: Exchange, request: ModelRequest, fault: Fault) -> None:
        """A 200 stream with ``fault.after_text``, then an error event or a cut."""
        if request.endpoint == "anthropic":
            events = anthropic_wire.partial_events(
                hex_id(), request.model, fault.after_text, self._chunk_chars
            )
        else:
            builder = openai_wire.ChunkBuilder(hex_id(), int(time.time()), request.model)
            events = builder.content_frames(fault.after_text, None, self._chunk_chars)
        with self._streaming(ex):
            self._emit(ex, events, self.tps)
            if fault.kind is FaultKind.MIDSTREAM_ERROR:
                body = error_body(fault.error_type, fault.message, http_code=None)
                name = "error" if request.endpoint == "anthropic" else None
                ex.write_chunk(anthropic_wire.SseEvent(name, body).encode())
                ex.end_stream()
            elif fault.clean_eof:
                ex.end_stream()
            else:
                ex.hang_up()

    def _emit(self, ex: Exchange, events: list[anthropic_wire.SseEvent], tps: float | None) -> None:
        for event in events:
            if tps and event.tokens:
                ex.pause(event.tokens / tps)
            ex.write_chunk(event.encode())

    @contextlib.contextmanager
    def _streaming(self, ex: Exchange) -> Iterator[None]:
        ex.begin_stream()
        with self._lock:
            self._open_streams += 1
        try:
            yield
        finally:
            with self._lock:
                self._open_streams -= 1


def _default_token_plan() -> dict[str, Any]:
    """A plausible ``token_plan/remains`` body (§12), timestamps in ms around now."""
    now = int(time.time() * 1000)
    hour = 3_600_000
    return {
        "base_resp": {"status_code": 0, "status_msg": "success"},
        "model_remains": [
            {
                "model_name": "MiniMax-M3",
                "current_interval_total_count": 1000,
                "current_interval_usage_count": 250,
                "remains_time": 2 * hour,
                "start_time": now - 3 * hour,
                "end_time": now + 2 * hour,
                "weekly_start_time": now - 48 * hour,
                "weekly_end_time": now + 120 * hour,
                "current_weekly_total_count": 7000,
                "current_weekly_usage_count": 420,
            }
        ],
    }
