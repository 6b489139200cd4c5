"""``textDocument/inlineCompletion``: ghost-text completions from MiniMax.

The handler is an adapter (STYLE.md 3): snapshot the document, run the pure pieces
(`minimax_lsp.server.completion`, `minimax_lsp.server.prompts.completion`) and one
model call, convert the result to ``InlineCompletionItem``. `CompletionService` holds
the logic shared with the ``textDocument/completion`` fallback
(`minimax_lsp.server.features.completion`).

One request, in order (each step may end it with no suggestion):

1. **Enabled?** ``inlineCompletion.enable`` and the per-language map
   (``inlineCompletion.languages``, ``*`` for unlisted ids).
2. **Allowed?** A denied document (ignored or secret) gets the ``inactive`` status and
   nothing of it is sent: no model request at all.
3. **Cache**: typing through a recent suggestion serves its remainder without a call.
4. **Decide** (tree-sitter, in a worker thread): mid-word, text after the cursor, inside
   a comment or string, after a completed statement -> nothing; else single- or
   multi-line. An explicit request (``Invoked``) completes even where the rules say no.
5. **Pack** the context (``session.pack``, task ``complete``, its small budget) and build
   the fill-in-the-middle prompt (thinking and output cap from ``tasks.completion``).
6. **Ask** once (``trigger="automatic"``, ``max_attempts=1``), streaming; in single-line
   mode the stream is closed as soon as the first line is complete.
7. **Clean** the answer (`postprocess.clean`), cache it, and answer it only if the
   document is still at the version the request was made for.

Latest wins: each document has one request in flight per endpoint; a newer one cancels
the older one's work, whose HTTP stream closes at once, and the older request is
answered with no suggestion. ``$/cancelRequest`` cancels the handler task and, through
it, the work (the ``CancelledError`` propagates: pygls answers "request cancelled").

Failures never raise a popup per keystroke: the spend guard's refusal and model errors
go through ``session.report_model_error`` (a status, and one rate-limited message for
persistent problems such as a rejected key); the request just gets no suggestion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from lsprotocol import types

from minimax_lsp.server.completion import (
    CompletionCache,
    Parsers,
    clean,
    decide,
    grammar_language,
    single_line_done,
)
from minimax_lsp.server.completion.decide import Decision
from minimax_lsp.server.model import (
    ModelError,
    ModelRequest,
    StreamDone,
    TextDelta,
    Usage,
    estimate_tokens,
)
from minimax_lsp.server.model.records import estimate_request_tokens
from minimax_lsp.server.prompts.completion import build_completion_request
from minimax_lsp.server.session import CommandError, DocumentDenied, DocumentSnapshot, Session

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer

__all__ = ["CompletionService", "Suggestion", "setup"]

_log = logging.getLogger("minimax_lsp.completion")

#: How much text before / after the cursor post-processing looks at.
_PREFIX_CHARS: Final = 8000
_SUFFIX_CHARS: Final = 8000


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Text to insert at the cursor of one request."""

    text: str
    #: The cursor as a character offset into the snapshot's text.
    offset: int
    #: Text before the cursor on its line (for the fallback's word range).
    line_before: str
    #: Served from the cache (no model call).
    cached: bool = False


class _Stopwatch:
    """Milliseconds per named step, for the debug log (the benchmark reads it)."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self._laps.append((name, (now - self._last) * 1000))
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {ms:.2f} ms" for name, ms in self._laps)


@dataclass(frozen=True, slots=True)
class _Cursor:
    snapshot: DocumentSnapshot
    offset: int
    prefix: str  # all text before the cursor (the cache compares lengths)
    suffix: str  # text after the cursor (head)
    line_before: str


def cursor_offset(snapshot: DocumentSnapshot, position: types.Position) -> int:
    """The character offset of an LSP position (client units) in ``snapshot.text``.

    Lines are counted as pygls counts them (``str.splitlines``), so the offset agrees with
    the text pygls maintains from incremental changes; positions past the end clamp.
    """
    lines = snapshot.lines
    if position.line >= len(lines):
        return len(snapshot.text)  # the empty last line after a final line break, or beyond
    # pygls' codec may rewrite the position it is given: convert a copy.
    copy = types.Position(line=position.line, character=position.character)
    server = snapshot.codec.position_from_client_units(lines, copy)
    start = sum(len(line) for line in lines[: server.line])
    content = lines[server.line].splitlines()  # the line without its break
    width = len(content[0]) if content else 0
    return start + min(server.character, width)


def language_enabled(session: Session, language_id: str | None) -> bool:
    """``inlineCompletion.enable`` and the language map (``*`` for the rest)."""
    settings = session.settings.inlineCompletion
    if not settings.enable:
        return False
    languages = settings.languages
    if language_id and language_id in languages:
        return languages[language_id]
    return languages.get("*", True)


class CompletionService:
    """Completion requests of one endpoint (see the module docstring).

    Parameters
    ----------
    session:
        The server's session (settings, documents, packing, model client, status).
    lane:
        Names the endpoint; requests cancel older ones of the same lane only.
    """

    def __init__(self, session: Session, *, lane: str) -> None:
        self.session = session
        self.lane = lane
        self.parsers = Parsers()
        self.cache = CompletionCache()
        self._inflight: dict[str, asyncio.Task[Suggestion | None]] = {}

    async def suggest(
        self, uri: str, position: types.Position, *, explicit: bool = False
    ) -> Suggestion | None:
        """The suggestion at ``position``, or None; newer requests for ``uri`` win.

        Raises ``CancelledError`` only when this request itself was cancelled.
        """
        if _log.isEnabledFor(logging.DEBUG):
            # The benchmark compares this with the fake server's arrival time (both
            # CLOCK_MONOTONIC): the server's own overhead per request.
            _log.debug("%s request for %s received t=%.6f", self.lane, uri, time.monotonic())
        previous = self._inflight.get(uri)
        if previous is not None and not previous.done():
            previous.cancel()
        try:
            work = self.session.run_task(
                self._suggest(uri, position, explicit), name=f"{self.lane} {uri}"
            )
        except RuntimeError:
            return None  # shutting down
        self._inflight[uri] = work
        try:
            return await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if work.cancelled() and task is not None and task.cancelling() == 0:
                _log.debug("%s request for %s superseded by a newer one", self.lane, uri)
                return None
            raise
        finally:
            if self._inflight.get(uri) is work:
                del self._inflight[uri]

    async def _suggest(
        self, uri: str, position: types.Position, explicit: bool
    ) -> Suggestion | None:
        try:
            return await self._run(uri, position, explicit)
        except asyncio.CancelledError:
            raise
        except CommandError as exc:
            _log.info("no %s for %s: %s", self.lane, uri, exc)  # a bad URI, not a bug
            return None
        except Exception:
            # A bug here must not become a popup per keystroke: log it, suggest nothing.
            _log.exception("%s failed for %s", self.lane, uri)
            return None

    async def _run(self, uri: str, position: types.Position, explicit: bool) -> Suggestion | None:
        session = self.session
        snapshot = session.snapshot(uri)
        if not language_enabled(session, snapshot.language_id):
            return None
        reason = await session.denial(uri, snapshot.text)
        if reason is not None:
            session.inactive(uri, reason)
            return None
        clock = _Stopwatch()
        cursor = self._cursor(snapshot, position)
        remainder = self.cache.get(uri, cursor.prefix, cursor.suffix)
        if remainder is not None:
            return Suggestion(remainder, cursor.offset, cursor.line_before, cached=True)
        if not explicit and session.automatic_hold() is not None:
            return None  # a rejected key or a used-up quota: nothing automatic is sent
        decision = await asyncio.to_thread(self._decide, snapshot, cursor.offset)
        clock.lap("decide")
        if not decision.complete:
            if not explicit:
                _log.debug("no completion at %s:%d (%s)", uri, cursor.offset, decision.reason)
                return None
            decision = Decision("single", f"explicit request ({decision.reason})")
        kind: Literal["single", "multi"] = "multi" if decision.kind == "multi" else "single"
        try:
            manifest = await session.pack(snapshot, position, task="complete")
        except DocumentDenied as denied:
            session.inactive(uri, denied.reason)
            return None
        clock.lap("pack")
        if self._stale(snapshot):
            return None
        settings = session.settings.task("completion")
        request = build_completion_request(
            manifest,
            snapshot.text,
            cursor.offset,
            kind,
            language=snapshot.language_id,
            model=session.completion_model,
            max_tokens=settings.maxOutputTokens,
            thinking=settings.thinking,
            trigger="explicit" if explicit else "automatic",
        )
        if request is None:
            _log.debug("no completion at %s:%d (cursor line not sendable)", uri, cursor.offset)
            return None
        clock.lap("prompt")
        _log.debug("%s timings for %s: %s", self.lane, uri, clock)
        raw = await self._ask(request, kind)
        if raw is None:
            return None
        text = clean(raw, prefix=cursor.prefix[-_PREFIX_CHARS:], suffix=cursor.suffix, kind=kind)
        if text:
            # Cached even when stale: the user may be typing exactly this.
            self.cache.put(uri, cursor.prefix, cursor.suffix, text)
        if self._stale(snapshot):
            _log.info("completion for %s dropped: the document changed meanwhile", uri)
            return None
        return Suggestion(text, cursor.offset, cursor.line_before) if text else None

    def _cursor(self, snapshot: DocumentSnapshot, position: types.Position) -> _Cursor:
        offset = cursor_offset(snapshot, position)
        text = snapshot.text
        line_start = text.rfind("\n", 0, offset) + 1
        return _Cursor(
            snapshot=snapshot,
            offset=offset,
            prefix=text[:offset],
            suffix=text[offset : offset + _SUFFIX_CHARS],
            line_before=text[line_start:offset],
        )

    def _decide(self, snapshot: DocumentSnapshot, offset: int) -> Decision:
        """Runs in a worker thread: parse, then decide."""
        path = snapshot.rel or (str(snapshot.path) if snapshot.path else None)
        language = grammar_language(snapshot.language_id, path)
        tree = self.parsers.parse(language, snapshot.text, key=snapshot.uri)
        multiline = self.session.settings.inlineCompletion.multiline
        return decide(snapshot.text, offset, tree=tree, multiline=multiline)

    def _stale(self, snapshot: DocumentSnapshot) -> bool:
        """Whether the document moved on (or closed) since ``snapshot`` was taken."""
        document = self.session.open_document(snapshot.uri)
        version = document.version if document is not None else None
        return version != snapshot.version

    async def _ask(self, request: ModelRequest, kind: str) -> str | None:
        """The model's raw answer, or None after a reported failure."""
        session = self.session
        client = session.model_client
        parts: list[str] = []
        try:
            async with contextlib.aclosing(client.stream(request)) as events:
                async for event in events:
                    if isinstance(event, StreamDone):
                        session.report_model_ok()
                        return event.result.text
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        if kind == "single" and single_line_done("".join(parts)):
                            break
        except ModelError as error:
            # Spend limit, bad key, quota, offline...: a status and at most one message.
            session.report_model_error(error)
            return None
        # Closed early (single line complete): the server's usage never arrived, so
        # count an estimate, as the client does for its own stop sequences.
        answer = "".join(parts)
        usage = Usage(
            input_tokens=estimate_request_tokens(request),
            output_tokens=estimate_tokens(answer),
            estimated=True,
        )
        client.ledger.record(usage, model=request.model or client.config.model)
        client.spend_guard.record(usage.total)
        session.report_model_ok()
        return answer


def inline_items(
    suggestion: Suggestion | None, position: types.Position
) -> list[types.InlineCompletionItem]:
    """The LSP answer: one item inserted at the cursor, or none."""
    if suggestion is None:
        return []
    start = types.Position(line=position.line, character=position.character)
    end = types.Position(line=position.line, character=position.character)
    return [types.InlineCompletionItem(insert_text=suggestion.text, range=types.Range(start, end))]


def setup(server: MiniMaxLanguageServer) -> None:
    """Register ``textDocument/inlineCompletion`` (advertised: pygls needs the options)."""
    service = CompletionService(server.session, lane="inline completion")

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: MiniMaxLanguageServer, params: types.InlineCompletionParams
    ) -> list[types.InlineCompletionItem]:
        explicit = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        suggestion = await service.suggest(
            params.text_document.uri, params.position, explicit=explicit
        )
        return inline_items(suggestion, params.position)
