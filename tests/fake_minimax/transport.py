"""HTTP plumbing of the fake: one :class:`Exchange` per request, on a stdlib handler thread.

Plain answers carry ``Content-Length`` and keep the connection alive (HTTP/1.1). Streams use
chunked transfer encoding with ``Connection: close``: the body ends with the terminating chunk
and the connection closes, so an *abrupt* close (no terminating chunk) surfaces in the client
as an incomplete body, as a dropped upstream connection would.

Waiting (TPS pacing, slow first byte) polls the socket, so a client that hangs up is noticed
even between writes (:class:`ClientGone`), and a stopping server interrupts it
(:class:`ServerStopping`).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

_POLL_SECONDS = 0.02
_DRAIN_BLOCK = 1 << 20


class ClientGone(Exception):
    """The client closed the connection before the answer was complete."""


class ServerStopping(Exception):
    """The fake is shutting down; abandon the answer."""


class Exchange:
    """Request data and response primitives for one HTTP request.

    Parameters
    ----------
    handler:
        The stdlib handler (request line and headers already parsed).
    stopping:
        Set when the server stops.
    """

    def __init__(self, handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        self._handler = handler
        self._stopping = stopping
        self._sock: socket.socket = handler.connection
        path, _, query = handler.path.partition("?")
        self.method = handler.command
        self.path = path
        self.query = query
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.responded = False

    # ------------------------------------------------------------------ reading

    def read_body(self, limit: int) -> bytes | None:
        """Read the request body; ``None`` when it exceeds ``limit`` (it is drained)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked(limit)
        try:
            length = int(self.headers.get("content-length", "0") or "0")
        except ValueError:
            self._handler.close_connection = True
            return b""
        if length < 0:
            self._handler.close_connection = True
            return b""
        if length > limit:
            self._drain(length)
            return None
        return self._read_exact(length)

    def _read_exact(self, length: int) -> bytes:
        try:
            data = self._handler.rfile.read(length)
        except OSError as exc:
            raise ClientGone from exc
        if len(data) < length:
            raise ClientGone
        return data

    def _drain(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            block = self._read_exact(min(remaining, _DRAIN_BLOCK))
            remaining -= len(block)

    def _read_chunked(self, limit: int) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self._handler.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self._handler.close_connection = True
                return b""
            if size == 0:
                self._handler.rfile.readline(1024)
                break
            chunk = self._read_exact(size)
            self._read_exact(2)
            total += size
            if total <= limit:
                parts.append(chunk)
        return b"".join(parts) if total <= limit else None

    # ------------------------------------------------------------------ plain answers

    def _write(self, data: bytes) -> None:
        if self._stopping.is_set():
            raise ServerStopping
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise ClientGone from exc
        except OSError as exc:
            if self._stopping.is_set():
                raise ServerStopping from exc
            raise ClientGone from exc

    def _head(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.responded = True
        self._handler.send_response(status)
        for name, value in headers:
            self._handler.send_header(name, value)
        try:
            self._handler.end_headers()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise ClientGone from exc

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """A complete response with ``Content-Length``."""
        all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        all_headers.extend((headers or {}).items())
        self._head(status, all_headers)
        self._write(body)

    def send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        """A complete JSON response."""
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
        self.send_bytes(status, body, "application/json", headers)

    def send_truncated_json(self, status: int, obj: Any) -> None:
        """Announce the whole JSON body but send half of it, then close the connection."""
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
        self._head(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        self._write(body[: len(body) // 2])
        self.hang_up()

    # ------------------------------------------------------------------ streams

    def begin_stream(self, content_type: str = "text/event-stream") -> None:
        """Status 200 and headers of a chunked SSE stream."""
        self._head(
            200,
            [
                ("Content-Type", content_type),
                ("Cache-Control", "no-cache"),
                ("Transfer-Encoding", "chunked"),
                ("Connection", "close"),
            ],
        )
        self._handler.close_connection = True

    def write_chunk(self, data: bytes) -> None:
        """One HTTP chunk (an SSE event, typically)."""
        if data:
            self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        """The terminating chunk; the connection then closes."""
        self._write(b"0\r\n\r\n")

    # ------------------------------------------------------------------ closing

    def hang_up(self) -> None:
        """Close the connection now, whatever was (not) sent."""
        self.responded = True
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ waiting

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``; raise :class:`ClientGone` if the peer hangs up meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                raise ServerStopping
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            step = min(remaining, _POLL_SECONDS)
            try:
                readable, _, _ = select.select([self._sock], [], [], step)
            except (OSError, ValueError) as exc:
                raise ClientGone from exc
            if readable and self._peer_closed():
                raise ClientGone
            if readable:
                # Data from the client mid-answer (pipelining); nothing to do but wait.
                self._stopping.wait(step)

    def _peer_closed(self) -> bool:
        try:
            return self._sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
