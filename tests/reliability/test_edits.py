"""Edits under stress: stale documents, hostile answers, one undoable change.

Both edit paths of the real server are driven: ``codeAction/resolve`` (the edit comes
back in the action) and ``minimax.refactor`` (the edit goes out as
``workspace/applyEdit``). The test client behaves like an editor: it applies an edit to
its buffer only when the ``TextDocumentEdit`` names the buffer's current version, then
sends the resulting ``didChange``.

Checked: a refactor whose document changes while the model answers is never applied
(typing, an edit undone, another refactor applied first, a stale ``version``); answers
that name paths outside the workspace (a diff header ``--- /etc/passwd``, a fenced block
annotated ``../../outside.py``, a tag attribute, a ``file://`` URI) never produce an edit
anywhere but the requested document (or its sibling test file inside the workspace);
documents and test files that are symlinks out of the workspace are refused; every edit
is one ``TextDocumentEdit`` with the document's version and one ``TextEdit`` (one undo
step), or one ``changes`` entry for a client without ``documentChanges``.

Numbers and commands: ``docs/reliability.md`` (section *Edits*).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.e2e.conftest import (
    SERVER_COMMAND,
    MiniMaxTestClient,
    capabilities,
    folder,
    make_client,
    server_environment,
    stop,
    wait_until,
)
from tests.e2e.test_code_actions import ANSWER, CART, NEW_TOTAL
from tests.fake_minimax import FakeMiniMax, Fault, Reply
from tests.reliability._r2_harness import (
    NO_CAPS,
    Document,
    launch,
    model_requests,
    run_command,
    wait_indexed,
)

#: JSON-RPC "request failed".
REQUEST_FAILED = -32803
#: `TOTAL` (lines 7-8 of `CART`) as command JSON.
TOTAL_JSON = {"start": {"line": 7, "character": 0}, "end": {"line": 9, "character": 0}}
#: `__init__` (lines 4-5 of `CART`).
INIT_JSON = {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}}
INIT_ANSWER = "<replacement>\ndef __init__(self):\n    self.items: list[int] = []\n</replacement>"
FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": "def helper(value):\n    return value * 2\n",
    "pkg/cart.py": CART,
    "pkg/shop.py": CART.replace("Cart", "Shop"),
}
OPTIONS = {**NO_CAPS, "logLevel": "warning"}


# --------------------------------------------------------------------------- the editor


@dataclass
class Editor:
    """The client's side of ``workspace/applyEdit``: buffers, versions, what came in."""

    client: MiniMaxTestClient
    buffers: dict[str, Document] = field(default_factory=dict)
    received: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)

    def open(self, path: Path) -> Document:
        document = Document(self.client, path)
        document.open()
        self.buffers[document.uri] = document
        return document

    def install(self) -> None:
        """Answer the server's ``workspace/applyEdit`` requests with `apply`."""

        @self.client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(
            ls: MiniMaxTestClient, params: types.ApplyWorkspaceEditParams
        ) -> types.ApplyWorkspaceEditResult:
            return self.apply(params)

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """Apply like VS Code: refuse a versioned edit for another version."""
        self.received.append(params)
        edit = params.edit
        for change in edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            document = self.buffers.get(change.text_document.uri)
            if document is None:
                continue  # a file not open here: the editor would write it on disk
            version = change.text_document.version
            if version is not None and version != document.version:
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason=f"version {version} != {document.version}"
                )
        for change in edit.document_changes or []:
            if isinstance(change, types.TextDocumentEdit):
                self._apply_edits(change.text_document.uri, list(change.edits))
        for uri, edits in (edit.changes or {}).items():
            self._apply_edits(uri, list(edits))
        return types.ApplyWorkspaceEditResult(applied=True)

    def _apply_edits(self, uri: str, edits: list[Any]) -> None:
        document = self.buffers.get(uri)
        if document is None:
            return
        # Last first, so earlier positions stay valid.
        for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[
            ::-1
        ]:
            start, end = edit.range.start, edit.range.end
            document.replace(
                (start.line, start.character), (end.line, end.character), edit.new_text
            )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """`FILES`, plus a file outside the workspace and two symlinks pointing at it."""
    root = tmp_path / "workspace"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text("x = 1\n", encoding="utf-8")
    os.symlink(outside / "evil.py", root / "pkg/linked.py")  # a document that escapes
    os.symlink(outside / "evil.py", root / "pkg/test_shop.py")  # shop.py's test file
    return root


@pytest.fixture
async def editor(
    request: pytest.FixtureRequest, tmp_path: Path, workspace: Path, fake_minimax: FakeMiniMax
) -> AsyncIterator[Editor]:
    """A server for `workspace` (profile: the test's ``profile`` param, else VS Code)."""
    profile = getattr(request, "param", "visual-studio-code")
    async with launch(
        fake_minimax, tmp_path, workspace, profile=profile, init_options=OPTIONS
    ) as c:
        editor = Editor(c)
        editor.install()
        yield editor


def refactor_args(uri: str, rng: dict[str, Any]) -> dict[str, Any]:
    return {"uri": uri, "range": rng}


def resolve_action(data: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(title="MiniMax: Refactor…", data=data)


async def resolve(client: MiniMaxTestClient, action: types.CodeAction) -> types.CodeAction:
    return await asyncio.wait_for(client.code_action_resolve_async(action), 20)


def edit_uris(edit: types.WorkspaceEdit) -> list[str]:
    """Every URI an edit touches (text edits and resource operations)."""
    uris: list[str] = list((edit.changes or {}).keys())
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            uris.append(change.text_document.uri)
        elif isinstance(change, types.CreateFile | types.DeleteFile):
            uris.append(change.uri)
        elif isinstance(change, types.RenameFile):
            uris += [change.old_uri, change.new_uri]
    return uris


# --------------------------------------------------------------------------- stale documents


async def test_refactor_is_not_applied_when_the_document_changes_meanwhile(
    editor: Editor, workspace: Path, fake_minimax: FakeMiniMax
) -> None:
    client = editor.client
    cart = editor.open(workspace / "pkg/cart.py")
    original = cart.text

    # 1. codeAction/resolve; the user types a character and deletes it again: same text,
    #    another version -- still not applied.
    fake_minimax.enqueue(Fault.slow_first_byte(0.8, then=Reply(text=ANSWER)))
    data = {"uri": cart.uri, "version": cart.version, "range": TOTAL_JSON, "kind": "refactor"}
    pending = asyncio.ensure_future(resolve(client, resolve_action(data)))
    await wait_until(lambda: len(model_requests(fake_minimax)) == 1)
    cart.insert(0, 0, "#")
    cart.replace((0, 0), (0, 1), "")
    assert cart.text == original
    resolved = await pending
    assert resolved.edit is None
    await wait_until(lambda: any("changed" in m.message for m in client.messages))

    # 2. minimax.refactor; the user types while the model answers: nothing is sent.
    fake_minimax.enqueue(Fault.slow_first_byte(0.8, then=Reply(text=ANSWER)))
    command = asyncio.ensure_future(
        run_command(
            client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": TOTAL_JSON}
        )
    )
    await wait_until(lambda: len(model_requests(fake_minimax)) == 2)
    cart.insert(9, 0, "# typed meanwhile\n")
    outcome = await command
    assert outcome.result["applied"] is False
    assert "changed" in outcome.result["reason"]
    assert editor.received == []

    # 3. A refactor for a version the buffer has left: refused before any model call.
    stale = {"uri": cart.uri, "range": TOTAL_JSON, "version": cart.version - 1}
    outcome = await run_command(client, fake_minimax, "minimax.refactor", stale)
    assert outcome.result["applied"] is False
    assert outcome.attempts == ()
    assert editor.received == []
    assert cart.text == original + "# typed meanwhile\n"


async def test_second_refactor_is_dropped_once_the_first_was_applied(
    editor: Editor, workspace: Path, fake_minimax: FakeMiniMax
) -> None:
    """Two refactors of one buffer at once: the first one's edit lands (the buffer moves
    on), so the second, computed for the old text, must not be applied."""
    client = editor.client
    cart = editor.open(workspace / "pkg/cart.py")
    fake_minimax.enqueue(
        Fault.slow_first_byte(0.3, then=Reply(text=INIT_ANSWER)),
        Fault.slow_first_byte(1.2, then=Reply(text=ANSWER)),
    )
    first = asyncio.ensure_future(
        run_command(client, fake_minimax, "minimax.refactor", refactor_args(cart.uri, INIT_JSON))
    )
    await wait_until(lambda: len(model_requests(fake_minimax)) == 1)
    second = asyncio.ensure_future(
        run_command(
            client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": TOTAL_JSON}
        )
    )
    assert (await first).result == {"applied": True}
    late = await second
    assert late.result["applied"] is False, late.result
    assert "changed" in late.result["reason"]
    assert len(editor.received) == 1  # the stale edit never reached the editor
    assert "self.items: list[int] = []" in cart.text
    assert "result = 0" not in cart.text  # the second answer is nowhere


# --------------------------------------------------------------------------- hostile answers


HOSTILE = {
    "diff-header": (
        "```diff\n--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root:x:0:0\n+evil\n```"
    ),
    "fence-path": "```python ../../outside.py\ndef total(self):\n    return 0\n```",
    "tag-attribute": (
        '<replacement path="../../outside.py">\ndef total(self):\n    return 0\n</replacement>'
    ),
    "file-comment": (
        "<replacement>\n# file: ../../outside/evil.py\ndef total(self):\n    return 0\n"
        "</replacement>"
    ),
    "file-uri": (
        "Write this to file:///etc/passwd instead:\n<replacement>\ndef total(self):\n"
        "    return 0\n</replacement>"
    ),
    "windows-path": "```python C:\\Windows\\evil.py\ndef total(self):\n    return 0\n```",
}


@pytest.mark.parametrize("editor", ["neovim"], indirect=True)
async def test_answers_naming_outside_paths_never_edit_outside(
    editor: Editor, workspace: Path, tmp_path: Path, fake_minimax: FakeMiniMax
) -> None:
    client = editor.client
    outside = tmp_path / "outside"
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    cart = editor.open(workspace / "pkg/cart.py")
    shop = editor.open(workspace / "pkg/shop.py")
    test_cart = (workspace / "pkg/test_cart.py").as_uri()

    for name, answer in HOSTILE.items():
        # The refactor command (applyEdit) ...
        fake_minimax.enqueue(Reply(text=answer))
        received = len(editor.received)
        outcome = await run_command(
            client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": TOTAL_JSON}
        )
        assert outcome.error is None, (name, outcome.error)
        print(f"{name}: {outcome.result}")  # for docs/reliability.md (pytest -s)
        for params in editor.received[received:]:
            assert edit_uris(params.edit) == [cart.uri], name
        # ... and resolve, for a refactor and for tests (the sibling test file).
        for kind, allowed in (("refactor", {cart.uri}), ("tests", {test_cart})):
            fake_minimax.enqueue(Reply(text=answer.replace("def total", "def test_total")))
            data = {"uri": cart.uri, "version": cart.version, "range": TOTAL_JSON, "kind": kind}
            resolved = await resolve(client, resolve_action(data))
            if resolved.edit is not None:
                assert set(edit_uris(resolved.edit)) <= allowed, (name, kind)

    # A test file that is a symlink out of the workspace is never written.
    fake_minimax.enqueue(Reply(text="<replacement>\ndef test_evil():\n    pass\n</replacement>"))
    received = len(editor.received)
    outcome = await run_command(
        client,
        fake_minimax,
        "minimax.refactor",
        {"uri": shop.uri, "range": TOTAL_JSON, "kind": "tests"},
    )
    assert outcome.result["applied"] is False
    assert len(editor.received) == received
    # A document that is a symlink out of the workspace: refused, nothing sent.
    linked = editor.open(workspace / "pkg/linked.py")
    requests = len(model_requests(fake_minimax))
    line = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    outcome = await run_command(
        client, fake_minimax, "minimax.refactor", {"uri": linked.uri, "range": line}
    )
    assert outcome.error is not None and outcome.error.code == REQUEST_FAILED
    assert len(model_requests(fake_minimax)) == requests
    # A URI that climbs out of the workspace with `..` is outside, whatever its prefix.
    climbing = workspace.as_uri() + "/pkg/../../outside/evil.py"
    outcome = await run_command(
        client, fake_minimax, "minimax.refactor", {"uri": climbing, "range": line}
    )
    assert outcome.result == {
        "applied": False,
        "reason": "MiniMax only edits files inside a workspace folder.",
    }
    assert len(model_requests(fake_minimax)) == requests
    # Every edit that went out touched the requested buffer or its test file, inside.
    for params in editor.received:
        for uri in edit_uris(params.edit):
            assert uri in {cart.uri, test_cart}, uri
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


async def test_a_diff_answer_is_not_written_into_the_document(
    editor: Editor, workspace: Path, fake_minimax: FakeMiniMax
) -> None:
    """A unified diff (fenced as ``diff``, or bare inside the tags) is refused like prose:
    through the command and through resolve, nothing reaches the editor."""
    client = editor.client
    cart = editor.open(workspace / "pkg/cart.py")
    original = cart.text
    bare = (
        "<replacement>\n--- a/pkg/cart.py\n+++ b/pkg/cart.py\n@@ -8,2 +8,2 @@\n-x\n+y\n"
        "</replacement>"
    )
    for answer in (HOSTILE["diff-header"], bare):
        fake_minimax.enqueue(Reply(text=answer))
        outcome = await run_command(
            client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": TOTAL_JSON}
        )
        assert outcome.result["applied"] is False
        assert "diff" in outcome.result["reason"]
        fake_minimax.enqueue(Reply(text=answer))
        data = {"uri": cart.uri, "version": cart.version, "range": TOTAL_JSON, "kind": "refactor"}
        assert (await resolve(client, resolve_action(data))).edit is None
    assert editor.received == []
    assert cart.text == original


# --------------------------------------------------------------------------- one undo step


def assert_one_change(edit: types.WorkspaceEdit, uri: str, version: int | None) -> None:
    """One ``TextDocumentEdit`` of ``uri`` at ``version`` with one ``TextEdit``."""
    assert edit.changes is None
    [change] = edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri
    assert change.text_document.version == version
    [text_edit] = change.edits
    assert isinstance(text_edit, types.TextEdit)


@pytest.mark.parametrize("editor", ["visual-studio-code", "neovim"], indirect=True)
async def test_an_edit_is_one_versioned_change(
    editor: Editor, workspace: Path, fake_minimax: FakeMiniMax
) -> None:
    client = editor.client
    cart = editor.open(workspace / "pkg/cart.py")
    cart.insert(0, 0, "# edited in the buffer\n")  # version 2, unsaved
    shifted = {
        "start": {"line": 8, "character": 0},
        "end": {"line": 10, "character": 0},
    }
    # resolve
    fake_minimax.enqueue(Reply(text=ANSWER))
    data = {"uri": cart.uri, "version": cart.version, "range": shifted, "kind": "refactor"}
    resolved = await resolve(client, resolve_action(data))
    assert resolved.edit is not None
    assert_one_change(resolved.edit, cart.uri, cart.version)
    # the command: one workspace/applyEdit, labelled, applied by the editor in one step
    fake_minimax.enqueue(Reply(text=ANSWER))
    outcome = await run_command(
        client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": shifted}
    )
    assert outcome.result == {"applied": True}
    [params] = editor.received
    assert params.label == "MiniMax: Refactor"
    assert_one_change(params.edit, cart.uri, 2)
    assert cart.text == "# edited in the buffer\n" + CART.replace(
        "    def total(self):\n        return sum(self.items)\n", NEW_TOTAL
    )


async def test_an_edit_without_document_changes_is_one_entry(
    tmp_path: Path, workspace: Path, fake_minimax: FakeMiniMax
) -> None:
    """A client that declares neither ``documentChanges`` nor resource operations gets
    one ``changes`` entry for the document with one ``TextEdit``."""
    config = ClientServerConfig(
        server_command=SERVER_COMMAND,
        client_factory=make_client,
        server_env=server_environment(fake_minimax, tmp_path / "cache"),
    )
    client = await config.start()
    assert isinstance(client, MiniMaxTestClient)
    try:
        caps = capabilities("visual-studio-code")
        assert caps.workspace is not None and caps.workspace.workspace_edit is not None
        caps.workspace.workspace_edit.document_changes = False
        caps.workspace.workspace_edit.resource_operations = None
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                workspace_folders=[folder(workspace)],
                initialization_options=OPTIONS,
            )
        )
        await wait_indexed(client)
        editor = Editor(client)
        editor.install()
        cart = editor.open(workspace / "pkg/cart.py")
        fake_minimax.enqueue(Reply(text=ANSWER))
        outcome = await run_command(
            client, fake_minimax, "minimax.refactor", {"uri": cart.uri, "range": TOTAL_JSON}
        )
        assert outcome.result == {"applied": True}
        [params] = editor.received
        assert params.edit.document_changes is None
        assert list((params.edit.changes or {}).keys()) == [cart.uri]
        [text_edit] = (params.edit.changes or {})[cart.uri]
        assert text_edit.new_text == NEW_TOTAL
    finally:
        await stop(client)
