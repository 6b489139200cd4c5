"""JSON-RPC / LSP rules of the protocol layer (``server/protocol.py``).

The real ``minimax-lsp serve`` process gets messages pygls alone drops or mishandles
(frames that are not JSON, broken envelopes, params of the wrong shape, requests out
of the lifecycle) and must answer each with the right error; a slow command is
cancelled by ``$/cancelRequest`` whatever the command. A few rules are checked in
process too, where the server's internals are visible (the futures pygls keeps, the
log records): the same `MiniMaxLanguageServer` with the real pygls dispatch, fed
messages as its read loop feeds them (`_feed`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from minimax_lsp.server.app import MiniMaxLanguageServer, create_server
from minimax_lsp.server.session import CommandError, Session
from tests.e2e.conftest import (
    ServerFactory,
    initialize,
    open_document,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax, Fault, Reply
from tests.reliability.rpc import Message, RawServer, encode, frame, server_env
from tests.reliability.rpc import initialize as raw_initialize
from tests.server.test_notify import Wire

MakeWorkspace = Callable[..., Path]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800

_DID_OPEN_PARAMS = {
    "textDocument": {"uri": "file:///tmp/x.py", "languageId": "python", "version": 1, "text": ""}
}
_STATUS = {"command": "minimax.status", "arguments": []}


# --------------------------------------------------------------------------- real process


def _answer(server: RawServer, data: bytes, msg_id: Any) -> Message | None:
    """Send ``data``; the answer to ``msg_id`` (None: the newest ``"id": null`` answer).

    Messages are handled in order and these answers are written at once, so the answer
    to ``data`` is in before the answer to a ``minimax.status`` sent after it.
    """
    before = server.response(None, timeout=0) if msg_id is None else None
    assert server.send_bytes(data)
    assert server.command("minimax.status", timeout=10) is not None, server.stderr_text()[-2000:]
    reply = server.response(msg_id, timeout=0)
    return None if msg_id is None and reply is before else reply


def test_messages_pygls_cannot_take_get_json_rpc_errors(
    fake_minimax: FakeMiniMax, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    root = make_workspace()
    env = server_env(fake_minimax.anthropic_base_url, tmp_path / "cache")
    with RawServer(env, cwd=tmp_path) as server:
        # Before initialize: requests -32002, notifications dropped.
        server.notify("textDocument/didOpen", _DID_OPEN_PARAMS)
        early = server.call("workspace/executeCommand", _STATUS, timeout=10)
        assert early is not None and early["error"]["code"] == SERVER_NOT_INITIALIZED, early
        raw_initialize(server, [root])

        nested = b'{"jsonrpc":"2.0","id":1,"method":"shutdown","params":' + b"[" * 100_000
        cases: list[tuple[str, bytes, Any, int, str]] = [
            ("not JSON", frame(b"{not json"), None, PARSE_ERROR, "not JSON"),
            ("nested too deeply", frame(nested + b"]" * 100_000 + b"}"), None, PARSE_ERROR, ""),
            ("a batch", frame(b"[]"), None, INVALID_REQUEST, "batch"),
            ("a scalar", frame(b"42"), None, INVALID_REQUEST, "not a JSON object"),
            ("no method, no result", frame(b'{"jsonrpc":"2.0","id":7}'), None, INVALID_REQUEST, ""),
        ]
        for label, message, msg_id, code, text in (
            ("id null", {"id": None, "method": "shutdown"}, None, INVALID_REQUEST, '"id"'),
            ("id 1.5", {"id": 1.5, "method": "shutdown"}, None, INVALID_REQUEST, '"id"'),
            ("id true", {"id": True, "method": "shutdown"}, None, INVALID_REQUEST, '"id"'),
            (
                "jsonrpc 1.0",
                {"jsonrpc": "1.0", "id": "v1", "method": "shutdown"},
                "v1",
                INVALID_REQUEST,
                '"jsonrpc"',
            ),
            ("method 42", {"id": "m1", "method": 42}, "m1", INVALID_REQUEST, '"method"'),
            (
                "result and method",
                {"id": "r1", "method": "workspace/executeCommand", "params": _STATUS, "result": 1},
                "r1",
                INVALID_REQUEST,
                '"result"',
            ),
            (
                "a notification sent as a request",
                {"id": "n1", "method": "textDocument/didOpen", "params": _DID_OPEN_PARAMS},
                "n1",
                INVALID_REQUEST,
                "is a notification",
            ),
            ("unknown method", {"id": "u1", "method": "x/unknown"}, "u1", METHOD_NOT_FOUND, ""),
            (
                "params of the wrong shape",
                {
                    "id": "p1",
                    "method": "textDocument/inlineCompletion",
                    "params": {"textDocument": 5},
                },
                "p1",
                INVALID_PARAMS,
                "textDocument/inlineCompletion",
            ),
            (
                "no params",
                {"id": "p2", "method": "workspace/executeCommand"},
                "p2",
                INVALID_PARAMS,
                "workspace/executeCommand",
            ),
        ):
            cases.append((label, frame(encode({"jsonrpc": "2.0", **message})), msg_id, code, text))
        for label, data, msg_id, code, text in cases:
            reply = _answer(server, data, msg_id)
            assert reply is not None, f"{label}: no answer"
            assert reply.get("id", "missing") == msg_id, (label, reply)
            assert reply["error"]["code"] == code, (label, reply)
            assert text in reply["error"]["message"], (label, reply)
            assert "data" not in reply["error"], (label, reply)

        # Client mistakes in notifications are dropped, quietly for the user.
        server.notify("$/cancelRequest")
        server.notify("textDocument/didOpen", {"textDocument": 5})
        server.notify("textDocument/inlineCompletion", {"textDocument": 5})  # a request method
        assert server.command("minimax.status", timeout=10) is not None
        # After shutdown: requests -32600, notifications dropped, exit 0.
        assert server.call("shutdown", timeout=10) is not None
        server.notify("textDocument/didOpen", _DID_OPEN_PARAMS)
        late = server.command("minimax.status", timeout=10)
        assert late is not None and late["error"]["code"] == INVALID_REQUEST, late
        server.notify("exit")
        assert server.wait(10) == 0
    assert [n for n in server.notifications if n["method"] == "window/showMessage"] == []
    log = server.stderr_text()
    # Client mistakes are WARNING lines: no ERROR of ours, and none of pygls' tracebacks
    # for bad params ("Exception occurred for message", "Unable to deserialize").
    assert " ERROR minimax_lsp" not in log, log[-3000:]
    assert "Exception occurred for message" not in log
    assert "Unable to deserialize" not in log
    assert "answered 'p1' with -32602: textDocument/inlineCompletion: invalid params" in log


def _model_calls(fake: FakeMiniMax) -> int:
    return sum(1 for r in fake.requests if r.path.endswith(("/messages", "/chat/completions")))


async def test_cancel_request_stops_any_slow_command(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    """``$/cancelRequest`` of a command waiting on a slow model: -32800 at once, and the
    HTTP request is hung up on (the fake sees the client go), for each command."""
    root = make_workspace()
    client = await start_server("visual-studio-code")
    await initialize(client, root)
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/util.py")
    selection = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
    loop = asyncio.get_running_loop()
    for n, (command, arguments) in enumerate(
        (
            ("minimax.explain", {"uri": uri, "range": selection}),
            ("minimax.chat", {"prompt": "why?", "uri": uri}),
            ("minimax.refactor", {"uri": uri, "range": selection}),
        )
    ):
        fake_minimax.enqueue(Fault.slow_first_byte(30, then=Reply(text="never sent")))
        calls, hang_ups = _model_calls(fake_minimax), fake_minimax.client_disconnects
        params = types.ExecuteCommandParams(command=command, arguments=[arguments])
        pending = asyncio.ensure_future(
            client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, f"s{n}")
        )
        await wait_until(lambda calls=calls: _model_calls(fake_minimax) > calls)
        started = loop.time()
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=f"s{n}"))
        with pytest.raises(JsonRpcException) as cancelled:
            await asyncio.wait_for(pending, 5)
        assert cancelled.value.code == REQUEST_CANCELLED, (command, cancelled.value)
        assert loop.time() - started < 1.0, command
        await wait_until(lambda h=hang_ups: fake_minimax.client_disconnects > h, limit=3)
    assert _model_calls(fake_minimax) == 3  # none retried
    errors = [m for m in client.log_messages if m.type == types.MessageType.Error]
    assert errors == []


# --------------------------------------------------------------------------- in process


def _in_process(tmp_path: Path) -> tuple[MiniMaxLanguageServer, Wire]:
    """A server with the lifecycle and document features, initialized on ``tmp_path``."""
    server = create_server(
        features=(
            "minimax_lsp.server.features.configuration",
            "minimax_lsp.server.features.documents",
        ),
        environ={"MINIMAX_API_KEY": "sk-cp-unit-test-key-0002"},
        cache_dir=tmp_path / "cache",
    )
    wire = Wire()
    server.protocol.set_writer(wire)
    _feed(
        server,
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
    )
    return server, wire


def _feed(server: MiniMaxLanguageServer, message: dict[str, Any]) -> None:
    """Hand ``message`` to the server as pygls' read loop does (decoder hook included)."""
    protocol = server.protocol
    protocol.handle_message(json.loads(json.dumps(message), object_hook=protocol.structure_message))


def _replies(wire: Wire) -> dict[Any, dict[str, Any]]:
    return {m["id"]: m for m in wire.messages() if "method" not in m}


async def test_finished_notifications_leave_no_futures_behind(tmp_path: Path) -> None:
    server, _wire = _in_process(tmp_path)
    protocol = server.protocol
    uri = (tmp_path / "a.py").as_uri()
    open_params = {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}
    }
    _feed(server, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": open_params})
    for version in range(2, 502):
        change = {
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}
        }
        _feed(
            server,
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{**change, "text": "y"}],
                },
            },
        )
    await wait_until(lambda: not protocol._request_futures, limit=5)
    assert server.workspace.get_text_document(uri).source == "y = 1\n"


async def test_client_errors_log_a_line_internal_errors_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, wire = _in_process(tmp_path)

    async def bad_arguments(session: Session, args: tuple[Any, ...]) -> None:
        raise CommandError("`uri` must be a string")

    async def bad_params_raised(session: Session, args: tuple[Any, ...]) -> None:
        raise JsonRpcInvalidParams("test.invalid: nope")

    server.register_command("test.bad", bad_arguments)
    server.register_command("test.invalid", bad_params_raised)

    @server.feature("test/boom")
    async def boom(ls: MiniMaxLanguageServer, params: Any) -> None:
        raise RuntimeError("boom in a handler")

    caplog.set_level(logging.DEBUG, logger="minimax_lsp")
    for msg_id, method, params in (
        (1, "workspace/executeCommand", {"command": "test.bad", "arguments": [{}]}),
        (2, "workspace/executeCommand", {"command": "test.invalid", "arguments": []}),
        (3, "workspace/executeCommand", {"command": "test.unknown"}),
        (4, "workspace/executeCommand", {"arguments": []}),
    ):
        _feed(server, {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    await wait_until(lambda: {1, 2, 3, 4} <= set(_replies(wire)))
    replies = _replies(wire)
    assert [replies[i]["error"]["code"] for i in (1, 2, 3, 4)] == [INVALID_PARAMS] * 4
    records = [r for r in caplog.records if r.name.startswith("minimax_lsp")]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 4, [r.getMessage() for r in records]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in warnings)
    assert [r for r in records if r.levelno >= logging.ERROR] == []

    caplog.clear()
    _feed(server, {"jsonrpc": "2.0", "id": 5, "method": "test/boom"})
    await wait_until(lambda: 5 in _replies(wire))
    error = _replies(wire)[5]["error"]
    assert error == {"code": -32603, "message": "RuntimeError: boom in a handler"}
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged.exc_info is not None and logged.name == "minimax_lsp.protocol"
    # A request failing is answered; the user gets no popup for it.
    assert [m for m in wire.messages() if m.get("method") == "window/showMessage"] == []


async def test_an_unreadable_frame_is_answered_and_logged_as_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, wire = _in_process(tmp_path)
    caplog.set_level(logging.INFO, logger="minimax_lsp")
    try:
        json.loads(b"{not json")
    except ValueError as exc:
        # What pygls' read loop does with a body it cannot decode.
        server.report_server_error(exc, JsonRpcException)
    [reply] = [m for m in wire.messages() if "error" in m]
    assert reply["id"] is None and reply["error"]["code"] == PARSE_ERROR
    assert {r.levelname for r in caplog.records if r.name.startswith("minimax_lsp")} == {"WARNING"}
    assert [m for m in wire.messages() if m.get("method") == "window/showMessage"] == []


async def test_cancel_request_cancels_the_task_of_any_command(tmp_path: Path) -> None:
    """pygls runs a command's handler as a second task under the request; ``$/cancelRequest``
    must reach that task too (here a command that uses no helper of ``streaming.py``)."""
    server, wire = _in_process(tmp_path)
    started, stopped = asyncio.Event(), asyncio.Event()

    async def slow(session: Session, args: tuple[Any, ...]) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.set()
            raise

    server.register_command("test.slow", slow)
    _feed(
        server,
        {
            "jsonrpc": "2.0",
            "id": "c1",
            "method": "workspace/executeCommand",
            "params": {"command": "test.slow", "arguments": []},
        },
    )
    await asyncio.wait_for(started.wait(), 5)
    _feed(server, {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "c1"}})
    await asyncio.wait_for(stopped.wait(), 1)
    assert _replies(wire)["c1"]["error"]["code"] == REQUEST_CANCELLED
    await wait_until(lambda: not server.protocol._request_futures, limit=2)


async def test_a_malformed_response_fails_our_request_and_is_not_answered(
    tmp_path: Path,
) -> None:
    server, wire = _in_process(tmp_path)
    future = server.protocol.send_request(
        types.WORKSPACE_CONFIGURATION,
        types.ConfigurationParams(items=[types.ConfigurationItem(section="minimax")]),
    )
    [request] = [m for m in wire.messages() if m.get("method") == "workspace/configuration"]
    sent = len(wire.messages())
    _feed(server, {"jsonrpc": "2.0", "id": request["id"], "error": "not an object"})
    with pytest.raises(JsonRpcException, match="malformed response"):
        future.result(timeout=1)
    # A response to a request nobody sent, and a broken one: dropped, never answered.
    _feed(server, {"jsonrpc": "2.0", "id": 999_999, "result": {"x": 1}})
    _feed(server, {"jsonrpc": "2.0", "id": None, "error": {"code": 1, "message": "?"}})
    await asyncio.sleep(0.05)
    assert len(wire.messages()) == sent
    assert not server.protocol._request_futures
