"""Documents and folders: overlays, denied files, watched files, multi-root, single file."""

from __future__ import annotations

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
    folder,
    initialize,
    open_document,
    wait_for_status,
)

MakeWorkspace = Callable[..., Path]


def _paths(manifest: dict[str, Any]) -> list[str]:
    return [item["path"] for item in manifest["items"]]


async def _status_of(client: MiniMaxTestClient, root: Path) -> dict[str, Any]:
    status = await execute(client, "minimax.status")
    return next(w for w in status["workspaces"] if w["root"] == str(root))


async def test_show_context(start_server: ServerFactory, make_workspace: MakeWorkspace) -> None:
    root = make_workspace(git=True)
    client = await start_server("neovim")
    await initialize(client, root)
    await wait_for_status(client, "ready")
    uri = open_document(client, root / "pkg/main.py")
    manifest = await execute(
        client,
        "minimax.showContext",
        {"uri": uri, "position": {"line": 4, "character": 8}, "task": "explain", "budget": 4000},
    )
    paths = _paths(manifest)
    assert manifest["task"] == "explain"
    assert manifest["budget"] == 4000
    assert manifest["tokens"] <= 4000
    assert manifest["workspace"] == str(root)
    assert "pkg/util.py" in paths  # the module main.py imports
    assert paths[-1] == "pkg/main.py"  # the current file comes last
    assert not any(p.endswith(".env") for p in paths)
    for item in manifest["items"]:
        assert 1 <= item["start_line"] <= item["end_line"]
        assert "text" not in item
    # The unsaved buffer, not the disk, decides; the budget defaults from the settings.
    change = types.TextDocumentContentChangeWholeDocument(
        text="from pkg.extra import extra_thing\n\nextra_thing()\n"
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[change],
        )
    )
    manifest = await execute(
        client,
        "minimax.showContext",
        {"uri": uri, "position": {"line": 2, "character": 3}, "task": "completion"},
    )
    assert manifest["task"] == "complete"
    assert manifest["budget"] == 6000  # tasks.completion.budget
    assert "pkg/extra.py" in _paths(manifest)
    assert manifest["items"][-1]["end_line"] == 3
    with pytest.raises(JsonRpcInvalidParams):
        await execute(
            client,
            "minimax.showContext",
            {"uri": uri, "position": {"line": 0, "character": 0}, "task": "poem"},
        )
    with pytest.raises(JsonRpcInvalidParams):
        await execute(client, "minimax.showContext", {"uri": uri})


async def test_denied_files_are_inactive(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/main.py": "print('hi')\n",
        "private/notes.py": "TOKEN = 'abc'\n",
        ".aiignore": "private/\n",
        ".env": "API_TOKEN=abcdef\n",
        "node_modules/lib/index.js": "module.exports = 1;\n",
    }
    root = make_workspace(files=files)
    client = await start_server("neovim")
    await initialize(client, root)
    env_uri = open_document(client, root / ".env", language_id="dotenv")
    private_uri = open_document(client, root / "private/notes.py")
    main_uri = open_document(client, root / "pkg/main.py")
    env_status = await wait_for_status(client, "inactive", uri=env_uri)
    await wait_for_status(client, "inactive", uri=private_uri)
    assert "secret" in env_status["message"]
    result = await execute(
        client, "minimax.showContext", {"uri": env_uri, "position": {"line": 0, "character": 0}}
    )
    assert result == {
        "inactive": True,
        "reason": "secret",
        "uri": env_uri,
        "message": result["message"],
    }
    status = await execute(client, "minimax.status", {"uri": private_uri})
    assert status["document"]["active"] is False
    assert status["document"]["reason"] == "ai-ignored"
    status = await execute(client, "minimax.status", {"uri": main_uri})
    assert status["document"] == {
        "uri": main_uri,
        "workspace": str(root),
        "path": "pkg/main.py",
        "active": True,
        "reason": None,
    }
    assert not any(s.get("uri") == main_uri for s in client.statuses)
    # Vendored: not indexed, but not private either; the buffer alone is used.
    vendored = open_document(client, root / "node_modules/lib/index.js", language_id="javascript")
    manifest = await execute(
        client, "minimax.showContext", {"uri": vendored, "position": {"line": 0, "character": 0}}
    )
    assert [item["path"] for item in manifest["items"]] == ["node_modules/lib/index.js"]
    assert not any(s.get("uri") == vendored for s in client.statuses)


async def test_unsaved_edits_reach_the_index_and_close_reverts(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    root = make_workspace()
    client = await start_server("neovim")
    await initialize(client, root)
    await wait_for_status(client, "ready")
    before = (await _status_of(client, root))["symbols"]
    uri = open_document(client, root / "pkg/util.py")  # 6 lines, ends with a newline
    # Typing a new function (incremental sync), in two keystroke batches.
    for version, (line, character), text in (
        (2, (6, 0), "\n\ndef brand_new"),
        (3, (8, 13), "_function():\n    pass\n"),
    ):
        at = types.Position(line=line, character=character)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=text
                    )
                ],
            )
        )

    async def symbols() -> int:
        return int((await _status_of(client, root))["symbols"])

    counts: list[int] = []

    async def grew() -> bool:
        counts.append(await symbols())
        return counts[-1] == before + 1

    await eventually(grew)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    async def reverted() -> bool:
        return await symbols() == before

    await eventually(reverted)


async def test_watched_file_changes_update_the_index(
    client: MiniMaxTestClient, make_workspace: MakeWorkspace
) -> None:
    root = make_workspace()
    await initialize(client, root)
    await wait_for_status(client, "ready")
    before = (await _status_of(client, root))["files"]
    new = root / "pkg/fresh_module.py"
    new.write_text("def fresh_function():\n    return 1\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=new.as_uri(), type=types.FileChangeType.Created)]
        )
    )

    async def seen() -> bool:
        return int((await _status_of(client, root))["files"]) == before + 1

    await eventually(seen)
    uri = open_document(
        client, root / "pkg/main.py", "from pkg.fresh_module import fresh_function\n"
    )
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 0, "character": 0}}
    )
    assert "pkg/fresh_module.py" in _paths(manifest)


async def test_multi_root_and_folder_changes(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    first = make_workspace("first")
    second = make_workspace("first/vendor-tools", {"lib/tool.py": "def tool():\n    return 2\n"})
    third = make_workspace("third", {"app.py": "print(1)\n"})
    client = await start_server("visual-studio-code")
    await initialize(client, [first, second])

    async def roots(*, ready: bool = True) -> list[str]:
        status = await execute(client, "minimax.status")
        return [w["root"] for w in status["workspaces"] if w["ready"] or not ready]

    assert await roots(ready=False) == [str(first), str(second)]
    # A folder nested in another: its files belong to the innermost root.
    uri = open_document(client, second / "lib/tool.py")
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 1, "character": 4}}
    )
    assert manifest["workspace"] == str(second)
    assert _paths(manifest)[-1] == "lib/tool.py"
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[folder(third)], removed=[folder(first)])
        )
    )

    async def swapped() -> bool:
        return await roots() == [str(second), str(third)]

    await eventually(swapped)
    # A file of the removed folder now belongs to no workspace.
    uri = open_document(client, first / "pkg/main.py")
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 0, "character": 0}}
    )
    assert manifest["workspace"] is None
    uri = open_document(client, third / "app.py")
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 0, "character": 0}}
    )
    assert manifest["workspace"] == str(third)


async def test_single_file_mode(start_server: ServerFactory, make_workspace: MakeWorkspace) -> None:
    loose = make_workspace("loose", {"script.py": "import sys\n\nprint(sys.argv)\n"})
    client = await start_server("neovim")
    await initialize(client, None)
    await wait_for_status(client, "ready")
    uri = open_document(client, loose / "script.py")
    manifest = await execute(
        client, "minimax.showContext", {"uri": uri, "position": {"line": 2, "character": 0}}
    )
    assert manifest["workspace"] is None
    assert [{k: v for k, v in item.items() if k != "score"} for item in manifest["items"]] == [
        {
            "path": str(loose / "script.py"),
            "start_line": 1,
            "end_line": 3,
            "mode": "full",
            "tokens": manifest["tokens"],
            "reason": "current file",
        }
    ]
    status = await execute(client, "minimax.status")
    assert status["workspaces"] == []
    assert "no workspace" in status["message"]
