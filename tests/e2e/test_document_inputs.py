"""Documents named or filled in odd ways, against the real server.

* URIs with percent escapes (a space or a non-ASCII letter in the path): the open
  buffer is found however the client spells the URI -- privacy checks judge the buffer,
  inline completion is not dropped as stale.
* Documents that are not open: only regular files inside a workspace folder, at most
  ``maxFileBytes``, are read (a FIFO does not block the server; nothing outside the
  folders is read); ``%00`` in a URI is invalid params.
* Positions beyond LSP's ``uinteger`` are invalid params; the largest is accepted.
* Lone UTF-16 surrogates in a buffer reach the model as U+FFFD, on both wire formats.
* A workspace folder that is a file is skipped with a warning.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.e2e.conftest import (
    MiniMaxTestClient,
    ServerFactory,
    eventually,
    execute,
    initialize,
    open_document,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax, Reply

MakeWorkspace = Callable[..., Path]

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n"
FILES = {
    "pkg/__init__.py": "",
    "pkg/grüße.py": "def greet(name):\n    return 'hi ' + name\n\n\ndef run():\n    ",
    "pkg/notes.py": "NOTES = 'harmless on disk'\n",
    ".env": "API_TOKEN=sk-cp-envfile-value-1234567890\n",
}


async def _ready(start_server: ServerFactory, root: Path, **init: Any) -> MiniMaxTestClient:
    client = await start_server("neovim")
    await initialize(client, root, **init)
    await wait_for_status(client, "ready")
    return client


async def _context(client: MiniMaxTestClient, uri: str, line: int = 0) -> Any:
    return await execute(
        client,
        "minimax.showContext",
        {"uri": uri, "position": {"line": line, "character": 0}, "includeText": True},
    )


async def test_percent_encoded_uris_find_the_open_buffer(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace("my project", FILES)
    client = await _ready(start_server, root, inline_completion=True)
    uri = open_document(client, root / "pkg/grüße.py")
    assert "%20" in uri and "%C3%BC" in uri

    # The buffer (not the disk) is judged: a private key typed into notes.py denies it.
    notes = open_document(client, root / "pkg/notes.py", PEM)
    inactive = await wait_for_status(client, "inactive", uri=notes)
    assert "secret" in inactive["message"]
    for spelling in (notes, notes.replace("%20", " ")):
        status = await execute(client, "minimax.status", {"uri": spelling})
        assert status["document"]["active"] is False, spelling
        assert status["document"]["reason"] == "secret"
    env = open_document(client, root / ".env")
    await wait_for_status(client, "inactive", uri=env)

    # Inline completion answers (it used to drop every answer as stale).
    fake_minimax.enqueue(Reply(text="return greet('x')\n"))
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked
        ),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=5, character=4),
    )
    result = await asyncio.wait_for(client.text_document_inline_completion_async(params), 20)
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    assert [item.insert_text for item in items] == ["return greet('x')"]


async def test_documents_that_are_not_open_and_bad_positions(
    start_server: ServerFactory, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    files = {**FILES, "pkg/big.py": "x = 1\n" * 400}
    root = make_workspace("project", files)
    outside = tmp_path / "outside.py"
    outside.write_text("OUTSIDE_MARKER = 1\n", encoding="utf-8")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pkg/pipe.py")
    client = await _ready(start_server, root, init_options={"maxFileBytes": 1000})

    def texts(result: Any) -> str:
        return "\n".join(item.get("text") or "" for item in result["items"])

    # A regular file in the folder is read from disk.
    inside = await _context(client, (root / "pkg/notes.py").as_uri())
    assert "harmless on disk" in texts(inside)
    # Not read: over maxFileBytes, outside every folder, a FIFO (answered at once).
    big = await _context(client, (root / "pkg/big.py").as_uri())
    assert "x = 1" not in texts(big)
    elsewhere = await _context(client, outside.as_uri())
    assert "OUTSIDE_MARKER" not in str(elsewhere)
    if hasattr(os, "mkfifo"):
        pipe = await _context(client, (root / "pkg/pipe.py").as_uri())
        assert pipe["uri"].endswith("pipe.py")
    assert (await execute(client, "minimax.status"))["state"] == "ready"
    # %00 cannot name a file: invalid params, not an internal error.
    with pytest.raises(JsonRpcInvalidParams, match="NUL"):
        await _context(client, root.as_uri() + "/pkg/a%00b.py")
    status = await execute(client, "minimax.status", {"uri": root.as_uri() + "/pkg/a%00b.py"})
    assert status["document"]["active"] is False
    assert isinstance(status["backgroundTasks"], int) and status["backgroundTasks"] >= 0

    # Positions beyond LSP's uinteger are invalid params; the largest one is fine.
    uri = open_document(client, root / "pkg/notes.py")
    for line, character in ((2**31, 0), (0, 2**31), (-1, 0)):
        with pytest.raises(JsonRpcInvalidParams, match="position"):
            await execute(
                client,
                "minimax.showContext",
                {"uri": uri, "position": {"line": line, "character": character}},
            )
    top = 2**31 - 1
    result = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": top, "character": top}}
    )
    assert result["uri"] == uri


async def test_lone_surrogates_reach_the_model_as_replacement_characters(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace("project", FILES)
    client = await _ready(start_server, root)
    text = "def f():\n    s = '\ud800'\n    return s + '\ud83d\ude00'\n"
    uri = open_document(client, root / "pkg/s.py", text)
    # Both wire formats: Anthropic's (the default), then OpenAI's.
    base = fake_minimax.openai_base_url
    for api, settings in (("anthropic", None), ("openai", {"api": "openai", "baseUrl": base})):
        if settings is not None:
            client.set_configuration(settings, section="minimax")
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None)
            )
            await eventually(lambda: _api_is(client, "openai"))
        fake_minimax.enqueue(Reply(text="It returns a string."))
        result = await execute(client, "minimax.explain", {"uri": uri})
        assert result["markdown"] == "It returns a string.", api
        request = [r for r in fake_minimax.requests if r.body][-1]
        assert request.path.endswith("/messages" if api == "anthropic" else "/completions")
        sent = request.raw_body.decode("utf-8")
        assert "s = '\ufffd'" in sent and "😀" in sent, api


async def _api_is(client: MiniMaxTestClient, api: str) -> bool:
    return bool((await execute(client, "minimax.status"))["api"] == api)


async def test_a_workspace_folder_that_is_a_file_is_skipped(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    root = make_workspace("project", FILES)
    afile = root / "pkg/notes.py"
    client = await start_server("visual-studio-code")
    await initialize(client, [root, afile])
    await wait_for_status(client, "ready")
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=(root / ".env").as_uri(), name="env")],
                removed=[],
            )
        )
    )
    await wait_until(lambda: len(client.messages) >= 2)
    warnings = [m for m in client.messages if "is a file, not a folder" in m.message]
    assert [str(afile) in warnings[0].message, str(root / ".env") in warnings[1].message] == [
        True,
        True,
    ]
    assert {m.type for m in warnings} == {types.MessageType.Warning}
    status = await execute(client, "minimax.status")
    assert [w["root"] for w in status["workspaces"]] == [str(root)]
    assert status["workspaces"][0]["state"] == "ready"
