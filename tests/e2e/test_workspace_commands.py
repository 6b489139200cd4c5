"""``minimax.status`` / ``minimax.reindex`` results, and settings from the client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.e2e.conftest import (
    TEST_KEY,
    ServerFactory,
    eventually,
    execute,
    initialize,
    stop,
    wait_for_status,
    wait_until,
)
from tests.fake_minimax import FakeMiniMax

MakeWorkspace = Callable[..., Path]


async def test_status_and_reindex(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace()
    client = await start_server("visual-studio-code")
    await initialize(client, root)
    await wait_for_status(client, "ready")
    status = await execute(client, "minimax.status")
    assert status["state"] == "ready"
    assert status["workspaces"] == [
        {
            "root": str(root),
            "uri": root.as_uri(),
            "name": "project",
            "files": 5,
            "symbols": status["workspaces"][0]["symbols"],
            "ready": True,
            "indexing": False,
            "state": "ready",
            "lastRefresh": status["workspaces"][0]["lastRefresh"],
        }
    ]
    assert status["workspaces"][0]["lastRefresh"]["parsed"] == 5
    assert status["workspaces"][0]["symbols"] >= 4
    assert status["model"] == "MiniMax-M3"
    assert status["completionModel"] == "MiniMax-M3"
    assert status["api"] == "anthropic"
    assert status["baseUrl"] == fake_minimax.anthropic_base_url
    assert status["keyPresent"] is True
    assert status["usage"] == {
        "requests": 0,
        "inputTokens": 0,
        "outputTokens": 0,
        "cacheReadTokens": 0,
        "cacheCreationTokens": 0,
        "cacheHitShare": 0.0,
    }
    assert status["spend"]["automaticRequestsPerMinute"] == 30
    assert TEST_KEY not in str(status)
    with pytest.raises(JsonRpcInvalidParams):
        await execute(client, "minimax.status", "not an object")

    # Reindex: a new run with progress picks up a file no watcher reported.
    runs = len(client.progress_reports)
    mark = len(client.statuses)
    (root / "pkg/added.py").write_text("def added():\n    pass\n")
    result = await execute(client, "minimax.reindex")
    assert result == {"started": True, "workspaces": [root.as_uri()]}
    ready = await wait_for_status(client, "ready", after=mark)
    assert ready["files"] == 6
    await wait_until(lambda: len(client.progress_reports) == runs + 1)
    last = list(client.progress_reports.values())[-1]
    await wait_until(lambda: isinstance(last[-1], types.WorkDoneProgressEnd))
    assert isinstance(last[0], types.WorkDoneProgressBegin)
    with pytest.raises(JsonRpcInvalidParams):
        await execute(client, "minimax.reindex", {"uri": "file:///not/a/folder"})


async def test_next_session_starts_from_the_cache(
    start_server: ServerFactory, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    root = make_workspace()
    first = await start_server("neovim")
    await initialize(first, root)
    await wait_for_status(first, "ready")
    await stop(first)
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))  # MINIMAX_LSP_CACHE_DIR
    second = await start_server("neovim")
    await initialize(second, root)
    await wait_for_status(second, "ready")
    status = await execute(second, "minimax.status")
    assert status["workspaces"][0]["lastRefresh"]["reused"] == 5
    assert status["workspaces"][0]["lastRefresh"]["parsed"] == 0


async def test_no_key_status(start_server: ServerFactory, make_workspace: MakeWorkspace) -> None:
    client = await start_server("neovim", env={"MINIMAX_API_KEY": ""})
    await initialize(client, make_workspace())
    no_key = await wait_for_status(client, "no-key")
    assert "MINIMAX_API_KEY" in no_key["message"]
    status = await execute(client, "minimax.status")
    assert status["keyPresent"] is False
    assert client.messages == []  # status bar only: no popup before a request fails


async def test_settings_problems_once_and_changes_applied(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    client = await start_server("neovim")
    bad = {"showNotifications": "sometimes", "tasks": {"chat": {"budget": -5}}, "trace": 1}
    await initialize(client, make_workspace(), init_options=bad)
    await wait_for_status(client, "ready")
    await wait_until(lambda: client.messages)
    # A configuration change that does not fix the problems: applied, no new message.
    client.set_configuration({"model": "MiniMax-M2.5", "api": "openai"}, section="minimax")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

    async def applied() -> bool:
        status = await execute(client, "minimax.status")
        return bool(status["model"] == "MiniMax-M2.5" and status["api"] == "openai")

    await eventually(applied)
    assert len(client.messages) == 1
    message = client.messages[0]
    assert message.type == types.MessageType.Warning
    assert message.message.startswith("MiniMax settings: tasks.chat.budget")
    assert "(and 1 more)" in message.message  # `trace` (an unknown key) is only logged
    logged = "\n".join(m.message for m in client.log_messages)
    assert "tasks.chat.budget (initializationOptions): invalid value -5; ignored" in logged
    assert "showNotifications (initializationOptions): invalid value 'sometimes'" in logged
    assert "trace (initializationOptions): unknown setting" in logged


async def test_pushed_configuration_for_clients_that_cannot_be_asked(
    start_server: ServerFactory, make_workspace: MakeWorkspace
) -> None:
    client = await start_server("neovim")
    await initialize(client, make_workspace(), configuration=False)
    await wait_for_status(client, "ready")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"minimax": {"completionModel": "fast-one"}})
    )

    async def applied() -> bool:
        status = await execute(client, "minimax.status")
        return bool(status["completionModel"] == "fast-one" and status["model"] == "MiniMax-M3")

    await eventually(applied)
