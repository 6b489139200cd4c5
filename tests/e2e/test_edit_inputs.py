"""The edit engine's input checks and open-buffer lookups (server/features/edits.py).

* Positions in command arguments and action ``data`` are LSP ``uinteger``s: anything
  else (2**31 and beyond, negative, a bool, a float, a string) is *invalid params*
  (-32602) naming the field -- never lsprotocol's validator failing as -32603.
* A document whose URI is percent-encoded (a folder with a space) is found open
  whatever the spelling: its actions carry the buffer's version, and tests are
  appended to the open test buffer (its unsaved text and version), not the disk file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from tests.e2e.conftest import (
    MiniMaxTestClient,
    ServerFactory,
    execute,
    initialize,
    open_document,
    wait_for_status,
)
from tests.e2e.test_code_actions import FILES, TOTAL, _actions, _params, _resolve
from tests.fake_minimax import FakeMiniMax, Reply

MakeWorkspace = Callable[..., Path]

#: Values a line or character may not take: beyond LSP's uinteger, negative, not an int.
BAD_NUMBERS: list[object] = [2**31, 2**63, -1, True, 1.5, "3", None]


def _range(line: object, character: object = 0) -> dict[str, Any]:
    return {"start": {"line": 0, "character": 0}, "end": {"line": line, "character": character}}


async def _ready(client: MiniMaxTestClient, root: Path) -> str:
    await initialize(client, root)
    await wait_for_status(client, "ready")
    return open_document(client, root / "pkg/cart.py")


async def test_positions_out_of_range_are_invalid_params(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    root = make_workspace(files=FILES)
    client = await start_server("neovim")
    uri = await _ready(client, root)

    for bad in BAD_NUMBERS:
        # minimax.refactor: the end line, then the start character.
        with pytest.raises(JsonRpcInvalidParams, match=r"range\.end\.line") as refused:
            await execute(client, "minimax.refactor", {"uri": uri, "range": _range(bad)})
        assert refused.value.code == -32602
        start_char = {"start": {"line": 0, "character": bad}, "end": {"line": 1, "character": 0}}
        with pytest.raises(JsonRpcInvalidParams, match=r"range\.start\.character"):
            await execute(client, "minimax.refactor", {"uri": uri, "range": start_char})
        # minimax.explain parses its range the same way.
        with pytest.raises(JsonRpcInvalidParams, match=r"range\.end\.character"):
            await execute(client, "minimax.explain", {"uri": uri, "range": _range(1, bad)})
        # codeAction/resolve: an action's data, including its diagnostics' ranges.
        data = {"uri": uri, "version": 1, "kind": "fix", "range": _range(1)}
        with pytest.raises(JsonRpcInvalidParams, match=r"range\.end\.line"):
            await _resolve(client, types.CodeAction(title="x", data={**data, "range": _range(bad)}))
        diagnostic = {"range": _range(bad), "message": "m"}
        with pytest.raises(JsonRpcInvalidParams, match=r"diagnostics\[0\]\.range\.end\.line"):
            await _resolve(
                client, types.CodeAction(title="x", data={**data, "diagnostics": [diagnostic]})
            )

    # A version is an LSP integer too.
    for version in (2**31, -(2**31) - 1, True, "1"):
        with pytest.raises(JsonRpcInvalidParams, match="version"):
            await execute(
                client, "minimax.refactor", {"uri": uri, "range": _range(1), "version": version}
            )

    # The largest legal position is accepted (clamped to the document); the stale
    # version then stops the edit before any model call.
    largest = 2**31 - 1
    stale = types.CodeAction(
        title="x",
        data={"uri": uri, "version": 99, "kind": "refactor", "range": _range(largest, largest)},
    )
    assert (await _resolve(client, stale)).edit is None
    assert fake_minimax.requests == []
    # The server is still healthy.
    status = await execute(client, "minimax.status")
    assert status["state"] == "ready"


async def test_percent_encoded_uris_find_the_open_buffers(
    start_server: ServerFactory, make_workspace: MakeWorkspace, fake_minimax: FakeMiniMax
) -> None:
    on_disk = "def test_a():\n    pass\n"
    root = make_workspace("my project", files={**FILES, "pkg/test_cart.py": on_disk})
    client = await start_server("neovim")
    uri = await _ready(client, root)
    assert "%20" in uri

    # The action carries the open buffer's version (not None, as for a closed file).
    rewrites = await _actions(client, _params(uri, TOTAL, only=["refactor.rewrite"]))
    assert [a.data["version"] for a in rewrites] == [1, 1]

    # Write tests appends to the open test buffer: its unsaved text and its version.
    unsaved = on_disk + "\n\ndef test_b():\n    pass\n"
    test_uri = open_document(client, root / "pkg/test_cart.py", unsaved, version=7)
    await asyncio.sleep(0)  # didOpen is sent before the request below
    cursor = types.Position(line=8, character=10)
    actions = await _actions(client, _params(uri, types.Range(start=cursor, end=cursor)))
    tests = next(a for a in actions if a.title == "MiniMax: Write tests")
    fake_minimax.enqueue(Reply(text="<replacement>\ndef test_c():\n    pass\n</replacement>"))
    resolved = await _resolve(client, tests)
    assert resolved.edit is not None
    [change] = resolved.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == test_uri
    assert change.text_document.version == 7
    end = types.Position(line=6, character=0)  # the buffer's end, not the disk file's (2)
    assert change.edits[0].range == types.Range(start=end, end=end)
    assert change.edits[0].new_text == "\n\ndef test_c():\n    pass\n"
