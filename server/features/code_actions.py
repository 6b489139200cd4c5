"""Code actions: ``MiniMax: …`` actions, listed without the model, resolved with it.

The LSP adapter of the edit engine (`minimax_lsp.server.features.edits`). Listing
(``textDocument/codeAction``) never calls the model and answers at once:

* nothing for a denied document (secret or ignored: see ``minimax/status`` ``inactive``),
  and only the kinds that pass ``context.only``;
* ``MiniMax: Explain`` (kind ``refactor.minimax.explain``): a command action,
  ``minimax.explain [{uri, range}]`` (the answer streams as ``minimax/streamDelta``);
* for documents inside a workspace folder only -- an edit never leaves the workspace:
  ``MiniMax: Refactor…`` and ``MiniMax: Add docstring`` (``refactor.rewrite``),
  ``MiniMax: Fix this diagnostic`` (``quickfix``; only when ``context.diagnostics`` has
  one on the selected lines, which the action lists) and ``MiniMax: Write tests``
  (``refactor.minimax.tests``; only when the editor can create files or the test file
  exists).
* Edit actions carry ``data = {uri, version, range, kind, diagnostics?}`` and get their
  edit from ``codeAction/resolve`` when the client resolves ``edit`` lazily and keeps
  ``data``; otherwise they carry the command ``minimax.refactor [data]`` instead, which
  computes the same edit and applies it with ``workspace/applyEdit``. Clients without
  code-action literals get bare commands.

``codeAction/resolve`` computes the edit with `edits.compute_edit`: malformed ``data``
is *invalid params* (-32602); a denied document or a failed model call *request failed*
(-32803); no edit (the document changed, no usable answer) returns the action without
one and shows why.

The engine's public names are re-exported here for the modules that import them from
this one (``commands``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, get_args

from lsprotocol import types

from minimax_lsp.server.features.edits import (
    STALE,
    EditFacts,
    EditTarget,
    compute_edit,
    range_json,
    report_not_applied,
    target_from_json,
)
from minimax_lsp.server.model import ModelError
from minimax_lsp.server.prompts.edit import sibling_test_path
from minimax_lsp.server.request_errors import stated_failure
from minimax_lsp.server.session import CommandError, DocumentDenied, Session

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer

__all__ = [
    "ADVERTISED_KINDS",
    "KIND_EXPLAIN",
    "KIND_TESTS",
    "STALE",
    "ActionKind",
    "EditFacts",
    "EditTarget",
    "compute_edit",
    "list_actions",
    "report_not_applied",
    "resolve_action",
    "setup",
    "target_from_json",
]

ActionKind = Literal["explain", "refactor", "fix", "docstring", "tests"]
#: Listing order.
ACTIONS: Final[tuple[ActionKind, ...]] = get_args(ActionKind)

KIND_EXPLAIN: Final = "refactor.minimax.explain"
KIND_TESTS: Final = "refactor.minimax.tests"
#: Code-action kinds per action; standard roots so editors show them in their menus.
LSP_KINDS: Final[Mapping[ActionKind, str]] = {
    "explain": KIND_EXPLAIN,
    "refactor": types.CodeActionKind.RefactorRewrite.value,
    "fix": types.CodeActionKind.QuickFix.value,
    "docstring": types.CodeActionKind.RefactorRewrite.value,
    "tests": KIND_TESTS,
}
#: ``CodeActionOptions.codeActionKinds``.
ADVERTISED_KINDS: Final[tuple[str, ...]] = (
    types.CodeActionKind.QuickFix.value,
    types.CodeActionKind.RefactorRewrite.value,
    KIND_EXPLAIN,
    KIND_TESTS,
)
TITLES: Final[Mapping[ActionKind, str]] = {
    "explain": "MiniMax: Explain",
    "refactor": "MiniMax: Refactor…",
    "fix": "MiniMax: Fix this diagnostic",
    "docstring": "MiniMax: Add docstring",
    "tests": "MiniMax: Write tests",
}


# --------------------------------------------------------------------------- listing


def _allowed(kind: str, only: Sequence[str] | None) -> bool:
    """Whether ``kind`` passes a ``context.only`` filter (hierarchical prefix match)."""
    if not only:
        return True
    return any(kind == want or kind.startswith(f"{want}.") or not want for want in only)


def _on_lines(diagnostic: types.Diagnostic, first: int, last: int) -> bool:
    return diagnostic.range.start.line <= last and first <= diagnostic.range.end.line


def _tests_possible(session: Session, uri: str, facts: EditFacts) -> bool:
    if facts.create_files:
        return True
    location = session.workspaces.locate(uri)
    if location is None:
        return False
    # One stat on the loop: cheaper than a thread hop, and listing must be instant.
    return (location.workspace.root / sibling_test_path(location.rel)).is_file()


async def list_actions(
    session: Session, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command]:
    """``textDocument/codeAction``: the MiniMax actions for a range (never calls the model)."""
    uri = params.text_document.uri
    only = [str(kind) for kind in params.context.only] if params.context.only else None
    wanted = [kind for kind in ACTIONS if _allowed(LSP_KINDS[kind], only)]
    if not wanted:
        return []
    document = session.open_document(uri)  # any spelling of the URI (pygls keys unquoted)
    if await session.denial(uri, document.source if document else None) is not None:
        return []
    facts = EditFacts.from_capabilities(session.server.client_capabilities)
    inside = session.workspaces.locate(uri) is not None
    first, last = params.range.start.line, params.range.end.line
    if last > first and params.range.end.character == 0:
        last -= 1
    diagnostics = tuple(d for d in params.context.diagnostics if _on_lines(d, first, last))
    actions: list[types.CodeAction | types.Command] = []
    for kind in wanted:
        if kind != "explain" and not inside:
            continue
        if kind == "fix" and not diagnostics:
            continue
        if kind == "tests" and not _tests_possible(session, uri, facts):
            continue
        actions.append(
            _action(
                kind, uri, document.version if document else None, params.range, diagnostics, facts
            )
        )
    return actions


def _action(
    kind: ActionKind,
    uri: str,
    version: int | None,
    rng: types.Range,
    diagnostics: tuple[types.Diagnostic, ...],
    facts: EditFacts,
) -> types.CodeAction | types.Command:
    title = TITLES[kind]
    if kind == "explain":
        command = types.Command(
            title=title,
            command="minimax.explain",
            arguments=[{"uri": uri, "range": range_json(rng)}],
        )
    else:
        target = EditTarget(
            uri, rng, kind, version, diagnostics=diagnostics if kind == "fix" else ()
        )
        if facts.resolve_edit and facts.literals:
            return types.CodeAction(
                title=title,
                kind=LSP_KINDS[kind],
                diagnostics=list(target.diagnostics) or None,
                data=target.to_json(),
            )
        command = types.Command(
            title=title, command="minimax.refactor", arguments=[target.to_json()]
        )
    if not facts.literals:
        return command
    return types.CodeAction(
        title=title,
        kind=LSP_KINDS[kind],
        diagnostics=list(diagnostics) if kind == "fix" and diagnostics else None,
        command=command,
    )


# --------------------------------------------------------------------------- resolve


async def resolve_action(session: Session, action: types.CodeAction) -> types.CodeAction:
    """``codeAction/resolve``: compute the action's edit (calls the model).

    An action without ``data`` (or already holding an edit) comes back unchanged; one
    whose edit could not be made comes back without an edit, and the user is told why.
    Bad data, a denied document and model failures are JSON-RPC errors.
    """
    if action.edit is not None or action.data is None:
        return action
    try:
        target = target_from_json(action.data)
        outcome = await compute_edit(session, target)
    except asyncio.CancelledError:
        raise
    except (CommandError, DocumentDenied, ModelError) as exc:
        # Bad data is named after the request, a model failure after the action.
        label = "codeAction/resolve" if isinstance(exc, CommandError) else action.title
        error = stated_failure(session, label, exc)
        if error is None:  # cannot happen for these types; never hide the exception
            raise
        raise error from None
    if outcome.edit is None:
        report_not_applied(session, outcome.reason or STALE)
        return action
    action.edit = outcome.edit  # the params object is ours: no copy needed
    return action


# --------------------------------------------------------------------------- wiring


def setup(server: MiniMaxLanguageServer) -> None:
    """Register ``textDocument/codeAction`` (with resolve) -- edits are in ``commands``."""
    options = types.CodeActionOptions(
        code_action_kinds=list(ADVERTISED_KINDS), resolve_provider=True
    )

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    async def code_action(
        ls: MiniMaxLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command]:
        return await list_actions(ls.session, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(
        ls: MiniMaxLanguageServer, params: types.CodeAction
    ) -> types.CodeAction:
        return await resolve_action(ls.session, params)
