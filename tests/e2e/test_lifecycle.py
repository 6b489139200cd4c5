"""Lifecycle of the real server: capabilities, background indexing, stdout, secrets, exit."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from minimax_lsp import __version__
from tests.e2e.conftest import (
    SERVER_COMMAND,
    MiniMaxTestClient,
    ServerFactory,
    execute,
    initialize,
    open_document,
    plain,
    server_environment,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax

MakeWorkspace = Callable[..., Path]


async def test_capabilities(client: MiniMaxTestClient, make_workspace: MakeWorkspace) -> None:
    result = await initialize(client, make_workspace())
    caps = result.capabilities
    assert result.server_info is not None
    assert (result.server_info.name, result.server_info.version) == ("minimax-lsp", __version__)
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close is True
    assert caps.execute_command_provider is not None
    assert {"minimax.status", "minimax.reindex", "minimax.showContext"} <= set(
        caps.execute_command_provider.commands
    )
    await wait_for_status(client, "ready")
    # The server watches files itself unless the client offers to (VS Code does).
    methods = {r.method for r in client.registrations}
    if client.profile == "visual-studio-code":
        assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES in methods
        watch = next(
            r for r in client.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        )
        options = plain(watch.register_options)
        assert [w["globPattern"] for w in options["watchers"]] == ["**/*"]
    else:
        assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES not in methods


@pytest.mark.slow
async def test_startup_does_not_wait_for_indexing(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    # 1,000 modules: big enough that indexing outlasts the first requests.
    files = {
        f"pkg{i // 100}/mod{i}.py": f"import os\n\n\ndef function_{i}(x):\n    return x + {i}\n"
        for i in range(1000)
    }
    files["pkg0/main.py"] = "from pkg1.mod101 import function_101\n\nfunction_101(1)\n"
    root = make_workspace(files=files)
    client = await start_server("visual-studio-code")
    await initialize(client, root)
    started = time.perf_counter()
    status = await execute(client, "minimax.status")
    status_seconds = time.perf_counter() - started
    uri = open_document(client, root / "pkg0/main.py")
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 2, "character": 0}}
    )
    ready = await wait_for_status(client, "ready", limit=60)
    # The requests were answered while the index was still being built...
    assert status["workspaces"][0]["ready"] is False
    assert status["workspaces"][0]["state"] in ("pending", "indexing")
    assert status_seconds < 2.0
    assert manifest["items"][-1]["path"] == "pkg0/main.py"  # with what was known then
    # ... and progress ran begin -> report(s) -> end, then the index was ready.
    assert any(s["state"] == "indexing" for s in client.statuses)
    assert ready["files"] == 1001
    reports = [r for run in client.progress_reports.values() for r in run]
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any(m and m.startswith("Indexing ") and m.endswith("/1001 files") for m in messages)


async def test_shutdown_then_exit_is_clean(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    client = await start_server("neovim")
    await initialize(client, make_workspace())
    await wait_for_status(client, "ready")
    started = time.perf_counter()
    await asyncio.wait_for(client.shutdown_async(None), 5)
    client.exit(None)
    code = await asyncio.wait_for(client.process.wait(), 5)
    assert code == 0
    assert time.perf_counter() - started < 4.0


async def test_exit_without_shutdown_exits_with_1(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    client = await start_server("neovim")
    await initialize(client, make_workspace())
    client.exit(None)
    assert await asyncio.wait_for(client.process.wait(), 5) == 1


# --------------------------------------------------------------------------- stdout

_NOISE = """
import os, subprocess, sys, threading, time, warnings

def noise():
    # Wait until the server has taken stdout for the protocol, then make noise in
    # every way a library or child process could.
    while sys.stdout is not sys.stderr:
        time.sleep(0.01)
    print("NOISE from print")
    sys.stdout.flush()
    os.write(1, b"NOISE from fd 1\\n")
    subprocess.run(["echo", "NOISE from a child"], check=False)
    warnings.warn("NOISE from warnings")

threading.Thread(target=noise, daemon=True).start()
"""


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_until_answered(
    process: asyncio.subprocess.Process, ids: set[int], into: list[dict[str, Any]]
) -> None:
    """Read frames (strictly) until responses to every id in ``ids`` arrived."""
    assert process.stdout is not None
    waiting = set(ids)
    while waiting:
        header = await process.stdout.readuntil(b"\r\n\r\n")
        (message,) = _parse_frames(header + await process.stdout.readexactly(_length(header)))
        into.append(message)
        if "method" not in message:
            waiting.discard(message.get("id"))


def _length(header: bytes) -> int:
    lines = header.strip().split(b"\r\n")
    assert all(line.lower().startswith(b"content-") for line in lines), f"stray bytes: {header!r}"
    return next(
        int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length")
    )


def _parse_frames(data: bytes) -> list[dict[str, Any]]:
    """Every byte must belong to a well-formed LSP frame."""
    messages = []
    while data:
        header, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"stray bytes on stdout: {data[:200]!r}"
        lengths = [
            int(line.split(b":", 1)[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        assert len(lengths) == 1, f"bad header: {header!r}"
        body, data = rest[: lengths[0]], rest[lengths[0] :]
        messages.append(json.loads(body))
    return messages


async def test_nothing_but_protocol_on_stdout(
    fake_minimax: FakeMiniMax, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    # A raw pipe on purpose: pytest-lsp would hide stray bytes from us.
    root = make_workspace()
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    (noisy / "sitecustomize.py").write_text(_NOISE)
    env = server_environment(fake_minimax, tmp_path / "cache", PYTHONWARNINGS="always")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(noisy), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        "--log-level",
        "debug",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    uri = (root / "pkg/main.py").as_uri()
    text = (root / "pkg/main.py").read_text()
    script = [
        {
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}},
        },
        {"method": "initialized", "params": {}},
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}
            },
        },
        {
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "minimax.status", "arguments": []},
        },
    ]
    for message in script:
        process.stdin.write(_frame({"jsonrpc": "2.0", **message}))
    await process.stdin.drain()
    received: list[dict[str, Any]] = []
    await asyncio.wait_for(_read_until_answered(process, {1, 2}, received), 30)
    await asyncio.sleep(0.5)  # let the noise and the indexing happen
    process.stdin.write(_frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
    await process.stdin.drain()
    await asyncio.wait_for(_read_until_answered(process, {3}, received), 15)
    process.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    await process.stdin.drain()
    rest, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    received += _parse_frames(rest)
    stdout = json.dumps(received).encode()
    assert any(m.get("method") == "minimax/status" for m in received)
    for noise in (b"NOISE from print", b"NOISE from fd 1", b"NOISE from a child"):
        assert noise not in stdout
        assert noise in stderr, f"{noise!r} never happened; stderr: {stderr[-2000:]!r}"
    assert b"NOISE from warnings" in stderr


# --------------------------------------------------------------------------- secrets

CANARY = "sk-cp-SECRET-canary-123"


async def test_api_key_never_reaches_the_client(
    start_server: ServerFactory, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    root = make_workspace(
        files={
            "pkg/__init__.py": "",
            "pkg/main.py": "import os\n\nKEY = os.environ['MINIMAX_API_KEY']\n",
            ".env": f"MINIMAX_API_KEY={CANARY}\n",
        }
    )
    log_file = tmp_path / "server.log"
    client = await start_server(
        "visual-studio-code", env={"MINIMAX_API_KEY": CANARY}, args=["--log-level", "debug"]
    )
    # A key pasted into a setting by mistake ends up in a problem message: masked.
    await initialize(client, root, init_options={"maxFileBytes": CANARY, "logFile": str(log_file)})
    await wait_for_status(client, "ready")
    env_uri = open_document(client, root / ".env", language_id="dotenv")
    main_uri = open_document(client, root / "pkg/main.py")
    await wait_for_status(client, "inactive", uri=env_uri)
    status = await execute(client, "minimax.status", {"uri": env_uri})
    denied = await execute(
        client, "minimax.showContext", {"uri": env_uri, "position": {"line": 0, "character": 3}}
    )
    manifest = await execute(
        client,
        "minimax.showContext",
        {"uri": main_uri, "position": {"line": 2, "character": 0}, "includeText": True},
    )
    await wait_until(lambda: client.messages)
    assert status["keyPresent"] is True
    assert denied["inactive"] is True
    assert manifest["items"]
    assert "***" in client.messages[0].message
    received = json.dumps(client.raw)
    assert "maxFileBytes" in received  # the problem did travel, masked
    assert CANARY not in received
    assert CANARY not in json.dumps([status, denied, manifest])
    assert log_file.exists()
    assert CANARY not in log_file.read_text(encoding="utf-8")
