"""Workspace commands: ``minimax.status``, ``minimax.reindex``, ``minimax.showContext``.

Parameters and results are documented in ``docs/protocol.md``; in short:

* ``minimax.status [{uri?}]`` -> ``{state, message, workspaces: [{root, uri, name, files,
  symbols, ready, indexing, state}], model, completionModel, api, baseUrl, keyPresent,
  usage: {...}, spend: {...}, backgroundTasks, version, document?: {uri, workspace, path,
  active, reason}}``. ``backgroundTasks`` counts the session's running background tasks.
  The key itself never appears; ``keyPresent`` says whether a key source is set.
* ``minimax.reindex [{uri?}]`` -> ``{started, workspaces: [uri...], reason?}``: a full
  refresh (ignore files re-read) of every folder, or of the folder ``uri``, in the
  background with progress. ``started`` is false when nothing could start (no folder,
  or every one is already indexing).
* ``minimax.showContext [{uri, position: {line, character}, task?, budget?, query?,
  includeText?}]`` -> the manifest (``Manifest.to_json()``: ``{task, budget, tokens,
  items: [{path, start_line, end_line, mode, tokens, reason}]}``) plus ``uri``,
  ``workspace`` (root or null) and ``indexVersion``. ``position`` is LSP's (0-based,
  UTF-16); the manifest's lines are 1-based. ``task`` defaults to ``complete`` and
  ``budget`` to that task's setting. For an ignored or secret file the result is
  ``{inactive: true, reason, uri, message}``: nothing is packed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast

from minimax_lsp import __version__
from minimax_lsp.indexer.context import Task
from minimax_lsp.server.features.arguments import command_options, parse_position, uri_argument
from minimax_lsp.server.session import CommandError, DocumentDenied, Session
from minimax_lsp.server.status import usage_json

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer

__all__ = ["reindex", "setup", "show_context", "status"]

#: Accepted ``task`` values (``completion`` is the settings' name for ``complete``).
_TASKS: Final[Mapping[str, Task]] = {
    "complete": "complete",
    "completion": "complete",
    "explain": "explain",
    "refactor": "refactor",
    "chat": "chat",
}


def setup(server: MiniMaxLanguageServer) -> None:
    """Register the workspace commands."""
    server.register_command("minimax.status", status)
    server.register_command("minimax.reindex", reindex)
    server.register_command("minimax.showContext", show_context)


async def status(session: Session, args: tuple[Any, ...]) -> dict[str, object]:
    """``minimax.status``: index, model, usage and spend state."""
    uri = uri_argument(command_options(args, required=False), required=False)
    settings = session.settings
    overall = session.current_status()
    workspaces = session.workspaces.all
    # Counting an index walks every entry: off the loop.
    items = await asyncio.to_thread(lambda: [w.to_json() for w in workspaces])
    result: dict[str, object] = {
        "state": overall.state,
        "message": overall.message,
        "workspaces": items,
        "model": settings.model,
        "completionModel": settings.effective_completion_model,
        "api": settings.api,
        "baseUrl": settings.effective_base_url,
        "keyPresent": session.key_present,
        "usage": usage_json(session.ledger.snapshot()),
        "spend": session.spend_json(),
        # Referenced background tasks: indexing runs, queued overlay / file-change
        # updates, completion requests in flight (a count that never drops is a leak).
        "backgroundTasks": len(session.tasks),
        "version": __version__,
    }
    if uri is not None:
        location = session.workspaces.locate(uri)
        reason = await session.denial(uri, _text_of(session, uri))
        result["document"] = {
            "uri": uri,
            "workspace": str(location.workspace.root) if location else None,
            "path": location.rel if location else None,
            "active": reason is None,
            "reason": reason.value if reason is not None else None,
        }
    return result


async def reindex(session: Session, args: tuple[Any, ...]) -> dict[str, object]:
    """``minimax.reindex``: refresh every folder (or one) in the background."""
    uri = uri_argument(command_options(args, required=False), required=False)
    if uri is not None:
        workspace = session.workspaces.get(uri)
        if workspace is None:
            raise CommandError(f"{uri} is not a workspace folder")
        targets = [workspace]
    else:
        targets = session.workspaces.all
    if not targets:
        return {"started": False, "workspaces": [], "reason": "no workspace folder is open"}
    started = [w.uri for w in targets if session.workspaces.start(w, reload_rules=True)]
    if not started:
        return {"started": False, "workspaces": [], "reason": "indexing is already in progress"}
    return {"started": True, "workspaces": started}


async def show_context(session: Session, args: tuple[Any, ...]) -> dict[str, object]:
    """``minimax.showContext``: what a request at a position would send to the model."""
    options = command_options(args, required=True)
    uri = cast(str, uri_argument(options, required=True))
    position = parse_position(options.get("position"))
    task = _TASKS.get(options.get("task") or "complete")
    if task is None:
        raise CommandError(f"`task` must be one of {', '.join(sorted(_TASKS))}")
    budget = options.get("budget")
    if budget is not None and (
        not isinstance(budget, int) or isinstance(budget, bool) or budget < 1
    ):
        raise CommandError("`budget` must be a positive integer")
    query = options.get("query", "")
    if not isinstance(query, str):
        raise CommandError("`query` must be a string")
    snapshot = session.snapshot(uri)
    try:
        manifest = await session.pack(snapshot, position, task=task, budget=budget, query=query)
    except DocumentDenied as denied:
        return {
            "inactive": True,
            "reason": denied.reason.value,
            "uri": uri,
            "message": f"MiniMax is off for this file ({denied.reason.value}); nothing is sent.",
        }
    result = manifest.to_json(include_text=options.get("includeText") is True)
    result["uri"] = uri
    result["workspace"] = str(snapshot.workspace.root) if snapshot.workspace else None
    result["indexVersion"] = manifest.index_version
    return result


def _text_of(session: Session, uri: str) -> str | None:
    document = session.open_document(uri)
    return document.source if document is not None else None
