"""A raw JSON-RPC client for the real ``minimax-lsp serve`` process over stdio.

pytest-lsp only sends well-formed messages; the reliability tests must also send broken
frames (a bad ``Content-Length``, a body that is not JSON, invalid UTF-8, a batch array),
so this client writes bytes to the server's stdin itself and parses what comes back on
stdout in a reader thread.

Contract
--------
* `RawServer` starts the server as a subprocess (``python -m minimax_lsp serve``) with
  pipes on stdin/stdout/stderr. One thread parses stdout into messages, one drains
  stderr into a buffer (so a chatty server never blocks on a full pipe).
* Everything the server sends is recorded: responses (by the JSON text of their id),
  notifications, and requests from server to client. Server-to-client requests
  (``workspace/configuration``, ``client/registerCapability``,
  ``window/workDoneProgress/create``, ``workspace/applyEdit``, ...) are answered at
  once with a neutral result, as an editor would.
* Any byte on stdout that is not a well-formed ``Content-Length`` frame holding a JSON-RPC
  2.0 message is recorded in `RawServer.framing_errors`: stdout belongs to the protocol,
  so such bytes are a server bug whatever the client sent.
* Nothing here raises on what the *server* does (tests assert on the records); only
  misuse (a request before `start`) raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

__all__ = [
    "CAPABILITIES",
    "SERVER_COMMAND",
    "Message",
    "RawServer",
    "frame",
    "id_key",
    "initialize",
    "server_env",
    "valid_response",
    "wait_ready",
]

#: The server under test.
SERVER_COMMAND: Final[tuple[str, ...]] = (sys.executable, "-m", "minimax_lsp", "serve")

Message = dict[str, Any]

#: Results given to the server's own requests (an editor that accepts everything).
_CLIENT_ANSWERS: Final[Mapping[str, Any]] = {
    "client/registerCapability": None,
    "client/unregisterCapability": None,
    "window/workDoneProgress/create": None,
    "window/showMessageRequest": None,
    "window/showDocument": {"success": True},
    "workspace/applyEdit": {"applied": True},
    "workspace/codeLens/refresh": None,
    "workspace/inlayHint/refresh": None,
    "workspace/semanticTokens/refresh": None,
    "workspace/diagnostic/refresh": None,
    "workspace/inlineValue/refresh": None,
}


def frame(body: bytes) -> bytes:
    """``body`` with its ``Content-Length`` header (the LSP base protocol)."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(message: Any) -> bytes:
    """JSON text of ``message`` as UTF-8 (lone surrogates escaped as ``\\udXXX``)."""
    return json.dumps(message, ensure_ascii=True, allow_nan=False).encode("ascii")


def id_key(msg_id: Any) -> str:
    """A hashable key for a JSON-RPC id (ints, strings, null and floats stay distinct)."""
    return json.dumps(msg_id, sort_keys=True)


def valid_response(message: Mapping[str, Any]) -> str | None:
    """Why ``message`` is not a well-formed JSON-RPC 2.0 response, or None if it is."""
    if message.get("jsonrpc") != "2.0":
        return "jsonrpc is not '2.0'"
    if "id" not in message:
        return "no id"
    has_result, has_error = "result" in message, "error" in message
    if has_result == has_error:
        return "needs exactly one of result / error"
    if has_error:
        error = message["error"]
        if not isinstance(error, dict):
            return "error is not an object"
        code = error.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            return "error.code is not an integer"
        if not isinstance(error.get("message"), str):
            return "error.message is not a string"
    return None


@dataclass
class _Inbox:
    """What the reader thread recorded (guarded by ``lock``)."""

    lock: threading.Condition = field(default_factory=threading.Condition)
    responses: dict[str, Message] = field(default_factory=dict)
    notifications: list[Message] = field(default_factory=list)
    server_requests: list[Message] = field(default_factory=list)
    framing_errors: list[str] = field(default_factory=list)
    eof: bool = False


class RawServer:
    """The server process driven byte by byte (see the module docstring).

    Parameters
    ----------
    env:
        The server's complete environment.
    args:
        Extra arguments after ``serve`` (``--log-level debug``).
    cwd:
        Working directory of the process.
    configuration:
        What ``workspace/configuration`` answers for each item (default ``None``: the
        editor has no ``minimax`` settings).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = (),
        cwd: Path | None = None,
        configuration: Any = None,
        memory_limit: int | None = None,
    ) -> None:
        self._argv = [*SERVER_COMMAND, *args]
        self._memory_limit = memory_limit
        self._env = dict(env)
        self._cwd = cwd
        self._configuration = configuration
        self._inbox = _Inbox()
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self.sent_frames = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> RawServer:
        """Start the process and the reader threads; returns ``self``."""
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
            preexec_fn=self._limit_memory if self._memory_limit else None,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        for target, stream, name in (
            (self._read_stdout, self._process.stdout, "stdout"),
            (self._read_stderr, self._process.stderr, "stderr"),
        ):
            thread = threading.Thread(target=target, args=(stream,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _limit_memory(self) -> None:
        # In the child, before exec: a runaway allocation becomes a MemoryError (or a
        # dead process the test reports) instead of exhausting the CI machine.
        assert self._memory_limit is not None
        resource.setrlimit(resource.RLIMIT_AS, (self._memory_limit, self._memory_limit))

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the server is not started")
        return self._process

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self._process is not None and self._process.poll() is None

    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to end; its exit status, or None on timeout."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self, *, timeout: float = 5.0) -> int | None:
        """Stop the process (shutdown/exit if it still answers, else kill); its status."""
        if self._process is None:
            return None
        if self.alive():
            with contextlib.suppress(OSError):
                reply = self.call("shutdown", None, timeout=timeout)
                if reply is not None:
                    self.notify("exit", None)
            if self.wait(timeout) is None:
                self._process.kill()
                self._process.wait(timeout)
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        for thread in self._threads:
            thread.join(timeout)
        return self._process.returncode

    def kill(self) -> None:
        """SIGKILL the process (crash-safety tests) and reap it."""
        if self._process is not None and self.alive():
            self._process.kill()
        if self._process is not None:
            self._process.wait(10)

    def __enter__(self) -> RawServer:
        return self.start() if self._process is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ sending

    def send_bytes(self, data: bytes) -> bool:
        """Write raw bytes to the server's stdin; False when the pipe is closed."""
        stdin = self.process.stdin
        assert stdin is not None
        with self._write_lock:
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return False
        self.sent_frames += 1
        return True

    def send(self, message: Any) -> bool:
        """Frame and send one JSON value (any value: the fuzzers send arrays, nulls...)."""
        return self.send_bytes(frame(encode(message)))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def request(self, method: str, params: Any = None, *, msg_id: Any = None) -> Any:
        """Send a request (``params`` omitted when None); returns its id."""
        if msg_id is None:
            msg_id = self.new_id()
        message: Message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return msg_id

    def notify(self, method: str, params: Any = None) -> bool:
        """Send a notification (``params`` omitted when None)."""
        message: Message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        return self.send(message)

    def call(self, method: str, params: Any = None, *, timeout: float = 10.0) -> Message | None:
        """Send a request and wait for its response (None on timeout or death)."""
        msg_id = self.request(method, params)
        return self.response(msg_id, timeout=timeout)

    def command(self, name: str, *arguments: Any, timeout: float = 10.0) -> Message | None:
        """``workspace/executeCommand`` ``name`` with ``arguments``; the response message."""
        return self.call(
            "workspace/executeCommand",
            {"command": name, "arguments": list(arguments)},
            timeout=timeout,
        )

    # ------------------------------------------------------------------ receiving

    def response(self, msg_id: Any, *, timeout: float) -> Message | None:
        """The response to ``msg_id``: waits up to ``timeout`` s; None if none came."""
        key = id_key(msg_id)
        deadline = time.monotonic() + timeout
        with self._inbox.lock:
            while key not in self._inbox.responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._inbox.eof:
                    return self._inbox.responses.get(key)
                self._inbox.lock.wait(min(remaining, 0.25))
            return self._inbox.responses[key]

    def responses_to(self, ids: Sequence[Any], *, timeout: float) -> dict[str, Message | None]:
        """Wait (one shared deadline) for the responses to ``ids``; keyed by `id_key`."""
        deadline = time.monotonic() + timeout
        return {
            id_key(i): self.response(i, timeout=max(0.0, deadline - time.monotonic())) for i in ids
        }

    def has_response(self, msg_id: Any) -> bool:
        with self._inbox.lock:
            return id_key(msg_id) in self._inbox.responses

    def wait_for(self, predicate: Any, *, timeout: float) -> bool:
        """Wait until ``predicate()`` is true (checked whenever a message arrives)."""
        deadline = time.monotonic() + timeout
        with self._inbox.lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._inbox.eof:
                    return bool(predicate())
                self._inbox.lock.wait(min(remaining, 0.1))
            return True

    @property
    def notifications(self) -> list[Message]:
        with self._inbox.lock:
            return list(self._inbox.notifications)

    @property
    def server_requests(self) -> list[Message]:
        with self._inbox.lock:
            return list(self._inbox.server_requests)

    @property
    def all_responses(self) -> list[Message]:
        with self._inbox.lock:
            return list(self._inbox.responses.values())

    @property
    def framing_errors(self) -> list[str]:
        with self._inbox.lock:
            return list(self._inbox.framing_errors)

    def stderr_text(self) -> str:
        with self._stderr_lock:
            return self._stderr.decode("utf-8", "replace")

    def stderr_size(self) -> int:
        with self._stderr_lock:
            return len(self._stderr)

    def stderr_since(self, offset: int) -> str:
        with self._stderr_lock:
            return self._stderr[offset:].decode("utf-8", "replace")

    def statuses(self) -> list[dict[str, Any]]:
        """Params of every ``minimax/status`` notification so far."""
        return [n["params"] for n in self.notifications if n.get("method") == "minimax/status"]

    # ------------------------------------------------------------------ threads

    def _read_stderr(self, stream: IO[bytes]) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            with self._stderr_lock:
                self._stderr += chunk

    def _read_stdout(self, stream: IO[bytes]) -> None:
        try:
            while True:
                body = self._read_frame(stream)
                if body is None:
                    break
                self._dispatch(body)
        finally:
            with self._inbox.lock:
                self._inbox.eof = True
                self._inbox.lock.notify_all()

    def _read_frame(self, stream: IO[bytes]) -> bytes | None:
        length: int | None = None
        while True:
            line = stream.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                if length is None:
                    self._framing_error("blank line without Content-Length")
                    continue
                body = stream.read(length)
                if len(body) < length:
                    self._framing_error("stdout ended inside a body")
                    return None
                return body
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or not line.endswith(b"\r\n"):
                self._framing_error(f"not a header line: {line[:200]!r}")
                continue
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    self._framing_error(f"bad Content-Length: {line[:200]!r}")

    def _framing_error(self, what: str) -> None:
        with self._inbox.lock:
            self._inbox.framing_errors.append(what)

    def _dispatch(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError as exc:
            self._framing_error(f"body is not JSON ({exc}): {body[:200]!r}")
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self._framing_error(f"not a JSON-RPC 2.0 message: {body[:200]!r}")
            return
        if "method" in message and "id" in message:
            with self._inbox.lock:
                self._inbox.server_requests.append(message)
            self._answer(message)
            return
        with self._inbox.lock:
            if "method" in message:
                self._inbox.notifications.append(message)
            elif "id" in message or "result" in message or "error" in message:
                # pygls leaves out `"id": null` (answering a request whose id was null).
                self._inbox.responses[id_key(message.get("id"))] = message
            else:
                self._inbox.framing_errors.append(f"neither request nor response: {body[:200]!r}")
            self._inbox.lock.notify_all()

    def _answer(self, request: Message) -> None:
        method = request["method"]
        if method == "workspace/configuration":
            items = (request.get("params") or {}).get("items") or []
            result: Any = [self._configuration for _ in items]
        else:
            result = _CLIENT_ANSWERS.get(method)
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": result})


#: What the test client says it supports: a rich editor, push-only settings (so settings
#: sent with ``didChangeConfiguration`` apply), no dynamic registration (the server then
#: watches the files itself), work-done progress, lazily resolved code-action edits.
CAPABILITIES: Final[Mapping[str, Any]] = {
    "workspace": {
        "applyEdit": True,
        "workspaceEdit": {"documentChanges": True, "resourceOperations": ["create"]},
        "configuration": False,
        "workspaceFolders": True,
        "didChangeWatchedFiles": {"dynamicRegistration": False},
    },
    "textDocument": {
        "synchronization": {"didSave": True},
        "inlineCompletion": {"dynamicRegistration": False},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "refactor"]}},
            "resolveSupport": {"properties": ["edit"]},
            "dataSupport": True,
        },
    },
    "window": {"workDoneProgress": True},
    "general": {"positionEncodings": ["utf-16"]},
}


def initialize(
    server: RawServer,
    roots: Sequence[Path],
    *,
    capabilities: Mapping[str, Any] = CAPABILITIES,
    init_options: Any = None,
    timeout: float = 15.0,
) -> Message:
    """``initialize`` (workspace folders ``roots``) + ``initialized``; the result."""
    folders = [{"uri": r.as_uri(), "name": r.name} for r in roots]
    params: dict[str, Any] = {
        "processId": None,
        "rootUri": folders[0]["uri"] if folders else None,
        "workspaceFolders": folders or None,
        "capabilities": dict(capabilities),
        "clientInfo": {"name": "minimax-lsp reliability tests"},
    }
    if init_options is not None:
        params["initializationOptions"] = init_options
    reply = server.call("initialize", params, timeout=timeout)
    if reply is None or "result" not in reply:
        raise RuntimeError(f"initialize failed: {reply!r}; stderr: {server.stderr_text()[-2000:]}")
    server.notify("initialized", {})
    result: Message = reply["result"]
    return result


def wait_ready(server: RawServer, *, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``minimax.status`` until every workspace is indexed; the last status."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reply = server.command("minimax.status", timeout=timeout)
        status = (reply or {}).get("result") or {}
        workspaces = status.get("workspaces", [])
        if all(w.get("ready") and not w.get("indexing") for w in workspaces):
            return status
        time.sleep(0.05)
    raise TimeoutError(f"workspaces not indexed within {timeout} s: {status}")


def server_env(
    base_url: str, cache_dir: Path, *, api_key: str = "test-key", **extra: str
) -> dict[str, str]:
    """The server's environment: ours without ``MINIMAX_*``, plus the test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIMAX")}
    env.update(
        MINIMAX_API_KEY=api_key,
        MINIMAX_BASE_URL=base_url,
        MINIMAX_LSP_CACHE_DIR=str(cache_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
