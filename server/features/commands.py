"""Model-backed commands: ``minimax.explain``, ``minimax.refactor``, ``minimax.chat``.

Arguments are one object; results are documented in ``docs/protocol.md``. In short:

* ``minimax.explain [{uri, range?, question?, requestId?}]`` -> ``{markdown, requestId,
  model, usage}``. Explains the selected lines (an empty or absent range: the
  function/class around it, else the whole file) with the ``explain`` task's budget.
* ``minimax.chat [{prompt, uri?, range?, conversationId?, requestId?}]`` -> ``{markdown,
  conversationId, requestId, model, usage}``. Multi-turn: the conversation's earlier
  turns are replayed verbatim (bounded, see `minimax_lsp.server.conversations`); without
  ``conversationId`` a new conversation starts. The ``chat`` budget (0 = automatic: the
  model's window minus the output cap, a reserve and the history -- the whole repository
  when it fits) packs the workspace around ``uri`` (its selection last), or, without
  ``uri``, the first workspace folder.
* ``minimax.refactor [{uri, range, instruction?, kind?, version?, diagnostics?}]`` ->
  ``{applied, reason?}``. Computes the edit like the code actions do
  (`minimax_lsp.server.features.edits.compute_edit`; ``kind`` is ``refactor``
  by default, or ``fix``, ``docstring``, ``tests``), then applies it with
  ``workspace/applyEdit`` as one versioned edit (one undo step). ``applied`` is false,
  with a one-sentence ``reason``, when the document changed meanwhile or the answer held
  no usable code (both also shown as a warning), or the editor refused the edit. The
  model call is not streamed (nothing is shown before the edit): a stream that breaks off
  is restarted within the retry budget, as for ``codeAction/resolve``.

Explain and chat stream (`minimax_lsp.server.streaming.AnswerStream`): ``$/progress``
begin/report/end and ``minimax/streamDelta {requestId, text}`` per piece; the text
deltas concatenated equal ``markdown``. ``requestId`` is the client's when it passes
one (to match deltas arriving before the result), else generated. ``$/cancelRequest``
or the progress's cancel closes the model stream. A context overflow repacks smaller and
retries once. Denied documents and model failures are JSON-RPC errors (request failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from minimax_lsp.indexer.context import ContextRequest, Manifest
from minimax_lsp.server.answers import show_answer
from minimax_lsp.server.conversations import ConversationStore, valid_conversation_id
from minimax_lsp.server.features.arguments import (
    command_options,
    parse_range,
    text_argument,
    uri_argument,
)
from minimax_lsp.server.features.edits import (
    STALE,
    EditFacts,
    compute_edit,
    enclosing_definition,
    lsp_lines,
    report_not_applied,
    selected_lines,
    target_from_json,
)
from minimax_lsp.server.model import ContextOverflow, Message, model_info
from minimax_lsp.server.prompts.chat import auto_budget, build_chat_request, overflow_budget
from minimax_lsp.server.session import (
    MIN_BUDGET,
    OPEN_WAIT,
    CommandError,
    DocumentDenied,
    DocumentSnapshot,
    Session,
)
from minimax_lsp.server.streaming import (
    AnswerStream,
    StreamedAnswer,
    new_request_id,
    usage_result,
    valid_request_id,
)
from minimax_lsp.server.workspaces import Location

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer

__all__ = ["Chat", "explain", "refactor", "setup"]

AnswerTask = Literal["explain", "chat"]

_log = logging.getLogger("minimax_lsp.commands")


def setup(server: MiniMaxLanguageServer) -> None:
    """Register the model-backed commands (one conversation store per server)."""
    server.register_command("minimax.explain", explain)
    server.register_command("minimax.refactor", refactor)
    server.register_command("minimax.chat", Chat(ConversationStore()))


# --------------------------------------------------------------------------- arguments


def _request_id(options: Mapping[str, Any]) -> str:
    value = options.get("requestId")
    if value is None:
        return new_request_id()
    if not valid_request_id(value):
        raise CommandError("`requestId` must be a string of 1-128 printable characters")
    return cast(str, value)


async def _selection(
    session: Session, snapshot: DocumentSnapshot, rng: types.Range | None
) -> tuple[int, int] | None:
    """1-based lines a command is about: the range's lines, else the definition around it.

    Raises `DocumentDenied` first for a denied document (nothing of it is even parsed).
    """
    reason = await session.denial(snapshot.uri, snapshot.text)
    if reason is not None:
        raise DocumentDenied(snapshot.uri, reason)
    lines = lsp_lines(snapshot.text)
    if rng is not None and rng.start != rng.end:
        first, last = selected_lines(lines, rng)
        return first + 1, last + 1
    if rng is None:
        return None
    return await enclosing_definition(snapshot, min(rng.start.line, len(lines) - 1) + 1)


def _current_path(snapshot: DocumentSnapshot, manifest: Manifest) -> str:
    """The name the manifest gives the current file (the workspace path, else the buffer's)."""
    if snapshot.rel is not None:
        return snapshot.rel
    if manifest.items:
        return manifest.items[-1].path
    return str(snapshot.path) if snapshot.path else snapshot.uri


# --------------------------------------------------------------------------- explain


async def explain(session: Session, args: tuple[Any, ...]) -> dict[str, object]:
    """``minimax.explain``: explain the selected code, streamed."""
    options = command_options(args)
    uri = cast(str, uri_argument(options, required=True))
    raw_range = options.get("range")
    rng = parse_range(raw_range) if raw_range is not None else None
    question = text_argument(options, "question")
    request_id = _request_id(options)
    snapshot = session.snapshot(uri)
    selection = await _selection(session, snapshot, rng)
    position = types.Position(line=selection[0] - 1, character=0) if selection else None
    async with AnswerStream(session, request_id, "MiniMax: explaining…") as stream:
        answer = await _answer(
            session,
            stream,
            "explain",
            question,
            snapshot=snapshot,
            position=position,
            selection=selection,
            budget=session.budget_for("explain"),
        )
    session.report_model_ok()
    title = f"MiniMax: Explain {_where(snapshot, selection)}"
    return await _shown(session, "explain", title, _result(answer, request_id))


def _where(snapshot: DocumentSnapshot, selection: tuple[int, int] | None) -> str:
    name = snapshot.rel or (snapshot.path.name if snapshot.path else snapshot.uri)
    return f"{name}:{selection[0]}-{selection[1]}" if selection else name


async def _shown(
    session: Session, kind: str, title: str, result: dict[str, object]
) -> dict[str, object]:
    """``result``, plus ``document`` when the answer was also opened as a document."""
    uri = await show_answer(
        session,
        kind=kind,
        request_id=str(result["requestId"]),
        title=title,
        markdown=str(result["markdown"]),
    )
    return {**result, "document": uri} if uri else result


def _result(answer: StreamedAnswer, request_id: str) -> dict[str, object]:
    return {
        "markdown": answer.markdown,
        "requestId": request_id,
        "model": answer.result.model,
        "usage": usage_result(answer.result),
    }


# --------------------------------------------------------------------------- chat


class Chat:
    """``minimax.chat``: a multi-turn chat about the workspace, streamed.

    Parameters
    ----------
    store:
        The conversations of this server session.
    """

    def __init__(self, store: ConversationStore) -> None:
        self.store = store

    async def __call__(self, session: Session, args: tuple[Any, ...]) -> dict[str, object]:
        options = command_options(args)
        prompt = text_argument(options, "prompt").strip()
        if not prompt:
            raise CommandError("`prompt` must be a non-empty string")
        uri = uri_argument(options, required=False)
        raw_range = options.get("range")
        rng = parse_range(raw_range) if raw_range is not None else None
        conversation = options.get("conversationId")
        if conversation is None:
            conversation = self.store.new_id()
        elif not valid_conversation_id(conversation):
            raise CommandError("`conversationId` must be a string of 1-128 printable characters")
        request_id = _request_id(options)
        history = self.store.history(conversation)
        snapshot = session.snapshot(uri) if uri is not None else None
        selection = await _selection(session, snapshot, rng) if snapshot is not None else None
        position = types.Position(line=selection[0] - 1, character=0) if selection else None
        async with AnswerStream(session, request_id, "MiniMax: answering…") as stream:
            answer = await _answer(
                session,
                stream,
                "chat",
                prompt,
                snapshot=snapshot,
                position=position,
                selection=selection,
                budget=_chat_budget(session, prompt, history),
                history=history,
            )
        session.report_model_ok()
        self.store.append(conversation, Message.user(prompt), answer.result.assistant_message())
        title = f"MiniMax: {prompt.splitlines()[0][:80]}"
        result = {**_result(answer, request_id), "conversationId": conversation}
        return await _shown(session, "chat", title, result)


def _chat_budget(session: Session, prompt: str, history: tuple[Message, ...]) -> int:
    """The ``chat`` budget setting, or automatic: the window minus answer, reserve, history."""
    settings = session.settings
    knobs = settings.task("chat")
    if knobs.budget > 0:
        return knobs.budget
    info = model_info(settings.model, settings.contextWindow or None)
    window = auto_budget(
        info.context_window, knobs.maxOutputTokens, question=prompt, history=history
    )
    return max(MIN_BUDGET, window)


# --------------------------------------------------------------------------- the call


async def _answer(
    session: Session,
    stream: AnswerStream,
    task: AnswerTask,
    question: str,
    *,
    snapshot: DocumentSnapshot | None,
    position: types.Position | None,
    selection: tuple[int, int] | None,
    budget: int,
    history: tuple[Message, ...] = (),
) -> StreamedAnswer:
    """Pack, stream the answer; after a context overflow repack smaller and retry once."""
    settings = session.settings
    knobs = settings.task(task)
    retried = False
    while True:
        if snapshot is not None:
            manifest = await session.pack(
                snapshot, position, task=task, budget=budget, query=question, selection=selection
            )
            current: str | None = _current_path(snapshot, manifest)
        else:
            manifest, current = await _workspace_manifest(session, question, budget), None
        try:
            request = build_chat_request(
                manifest,
                question,
                history=history,
                current_path=current,
                selection=selection if current is not None else None,
                task=task,
                model=settings.model,
                max_tokens=knobs.maxOutputTokens,
                thinking=knobs.thinking,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            return await stream.run(request)
        except ContextOverflow as exc:
            smaller = overflow_budget(manifest.tokens, exc)
            if retried or stream.started or smaller < 1 or smaller >= manifest.tokens:
                raise
            retried, budget = True, smaller


async def _workspace_manifest(session: Session, query: str, budget: int) -> Manifest:
    """A chat pack of the first workspace folder with no current file (empty without one)."""
    empty = Manifest(task="chat", budget=budget, tokens=0, items=(), index_version=0)
    workspaces = session.workspaces.all
    if not workspaces:
        return empty
    workspace = workspaces[0]
    if not workspace.opened.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(workspace.opened.wait(), OPEN_WAIT)
    engine = workspace.engine
    if engine is None:
        return empty
    # Open and recently edited files of this folder steer the ranking (rel "" matches none).
    open_paths, recent_paths = session.related_paths(Location(workspace, ""))
    request = ContextRequest(
        path=None,
        task="chat",
        query=query,
        budget=budget,
        open_paths=open_paths,
        recent_paths=recent_paths,
    )
    return await asyncio.to_thread(engine.pack, request)


# --------------------------------------------------------------------------- refactor


async def refactor(session: Session, args: tuple[Any, ...]) -> dict[str, object]:
    """``minimax.refactor``: compute an edit and apply it with ``workspace/applyEdit``."""
    options = command_options(args)
    target = target_from_json(options, default_kind="refactor")
    request_id = _request_id(options)
    facts = EditFacts.from_capabilities(session.server.client_capabilities)
    # The progress (and its cancel button) only: the answer is not shown while it
    # arrives, so the call goes through `ModelClient.complete`, which restarts a turn
    # that broke off mid-way -- exactly as codeAction/resolve does. Streaming it
    # through the progress would forbid that restart once the first text arrived.
    async with AnswerStream(session, request_id, "MiniMax: editing…", deltas=False):
        outcome = await compute_edit(session, target)
    if outcome.edit is None:
        # Also shown: a generic client running this from a code action drops results.
        report_not_applied(session, outcome.reason or STALE)
        return {"applied": False, "reason": outcome.reason or STALE}
    if not facts.apply_edit:
        return {
            "applied": False,
            "reason": "The editor does not support workspace/applyEdit.",
        }
    try:
        response = await session.server.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=outcome.edit, label=outcome.label)
        )
    except JsonRpcException as exc:
        _log.info("workspace/applyEdit failed: %s", exc)
        return {"applied": False, "reason": f"The editor failed to apply the edit: {exc}"}
    if response.applied:
        return {"applied": True}
    return {
        "applied": False,
        "reason": response.failure_reason or "The editor did not apply the edit.",
    }
