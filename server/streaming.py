"""Streaming a long model answer to the client, and cancelling it from the client.

Contract
--------
* `AnswerStream` wraps one model call of a command (explain, chat, refactor):

  - a work-done progress, when the client supports it: the server creates a token
    (``window/workDoneProgress/create``), then ``$/progress`` *begin* (``title``,
    cancellable), *report* (``"Thinking…"`` at the first thinking, ``"Writing…"`` at the
    first answer text) and *end* (``"Done"``, ``"Cancelled"`` or ``"Failed"``);
  - the answer as ``minimax/streamDelta {requestId, text}`` notifications, in order,
    when ``deltas`` is on; thinking goes as ``kind: "thinking"`` deltas (never part of
    the answer). Leading line breaks of the answer (MiniMax starts the text after a
    thinking block with ``"\\n\\n"``) are not sent, so the text deltas concatenated
    equal `StreamedAnswer.markdown`;
  - cancellation: the progress's cancel button (``window/workDoneProgress/cancel``) and
    ``$/cancelRequest`` of the command request both cancel the task running the call,
    which closes the HTTP stream (the model client closes it on cancellation). A cancel
    from the progress answers the still-open request with a *request cancelled* error
    (-32800). (``$/cancelRequest`` reaches the task of every command through the
    protocol, `minimax_lsp.server.protocol.MiniMaxProtocol`.)
* `new_request_id` gives the ``requestId`` of a streamed answer; a client may choose its
  own (a string of 1-128 printable characters) so it can match deltas that arrive before
  the command's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from minimax_lsp.server.model import (
    ModelRequest,
    ModelResult,
    StreamDone,
    StreamInterrupted,
    TextDelta,
    ThinkingDelta,
)

if TYPE_CHECKING:
    from minimax_lsp.server.session import Session

__all__ = [
    "AnswerStream",
    "StreamedAnswer",
    "new_request_id",
    "usage_result",
    "valid_request_id",
]

_log = logging.getLogger("minimax_lsp.streaming")

#: How long to wait for the client to accept a progress token.
CREATE_TIMEOUT: Final = 2.0
#: Longest accepted client-chosen request id.
MAX_REQUEST_ID: Final = 128


def valid_request_id(value: object) -> bool:
    """Whether ``value`` can be a client-chosen ``requestId``."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_REQUEST_ID
        and value.isprintable()
        and value.strip() == value
    )


def new_request_id() -> str:
    """A fresh ``requestId`` for a streamed answer."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class StreamedAnswer:
    """A finished streamed call: the result and the answer as the client saw it."""

    result: ModelResult
    markdown: str


def usage_result(result: ModelResult) -> dict[str, int | bool]:
    """The ``usage`` object of a command's result (camelCase, Anthropic arithmetic)."""
    usage = result.usage
    data: dict[str, int | bool] = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "cacheReadTokens": usage.cache_read_input_tokens,
        "cacheCreationTokens": usage.cache_creation_input_tokens,
    }
    if usage.estimated:
        data["estimated"] = True
    return data


class AnswerStream:
    """One streamed model call of a command (see the module docstring).

    Use as ``async with AnswerStream(session, request_id, title) as stream:
    answer = await stream.run(request)``.

    Parameters
    ----------
    session:
        The server session (client facts, outbox, stream deltas).
    request_id:
        The ``requestId`` of the deltas.
    title:
        The progress title, e.g. ``"MiniMax: explaining…"``.
    deltas:
        Send the answer as ``minimax/streamDelta`` notifications (explain, chat); off for
        edits, whose raw answer is not for display.
    """

    def __init__(
        self, session: Session, request_id: str, title: str, *, deltas: bool = True
    ) -> None:
        self._session = session
        self.request_id = request_id
        self._title = title
        self._deltas = deltas
        self._token: str | None = None
        self._task: asyncio.Task[Any] | None = None
        self._phase = ""
        self._user_cancelled = False
        #: True once answer text was sent to the client (a retry would repeat it).
        self.started = False

    async def __aenter__(self) -> AnswerStream:
        self._task = asyncio.current_task()
        if self._session.client.work_done_progress:
            await self._begin_progress()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cancelled = exc_type is not None and issubclass(exc_type, asyncio.CancelledError)
        if exc_type is None:
            message = "Done"
        elif cancelled:
            message = "Cancelled"
        else:
            message = "Failed"
        self._end_progress(message)
        if cancelled and self._only_user_cancelled():
            # Cancelled from the progress (not by $/cancelRequest or shutdown): the
            # request itself is still open, so it must be answered -- as cancelled.
            raise JsonRpcRequestCancelled(message="MiniMax: cancelled by the user.")

    def _only_user_cancelled(self) -> bool:
        """After a cancellation: True if only the progress's cancel asked for it."""
        task = self._task
        return self._user_cancelled and task is not None and task.uncancel() == 0

    async def _begin_progress(self) -> None:
        server = self._session.server
        # Unique even when a client reuses its own request id.
        token = f"minimax-answer-{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(server.work_done_progress.create_async(token), CREATE_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A client may refuse or ignore the request: the answer still streams.
            _log.debug("no work-done progress for %s: %s", self.request_id, exc)
            return
        self._token = token
        begin = types.WorkDoneProgressBegin(
            title=self._title, cancellable=True, message="Reading the context"
        )
        server.work_done_progress.begin(token, begin)
        future = server.work_done_progress.tokens.get(token)
        task = self._task
        if future is not None and task is not None:
            loop = asyncio.get_running_loop()

            def on_cancel(done: Future[Any]) -> None:
                if done.cancelled() and not task.done():
                    _log.info("%s cancelled from its progress", self.request_id)
                    self._user_cancelled = True
                    loop.call_soon_threadsafe(task.cancel)

            future.add_done_callback(on_cancel)

    def _report(self, phase: str) -> None:
        if self._phase == phase:
            return
        self._phase = phase
        if self._token is not None:
            report = types.WorkDoneProgressReport(message=phase)
            self._session.server.work_done_progress.report(self._token, report)

    def _end_progress(self, message: str) -> None:
        token = self._token
        if token is None:
            return
        self._token = None
        server = self._session.server
        # pygls never forgets a token: drop ours so its cancel callback cannot fire late.
        server.work_done_progress.tokens.pop(token, None)
        with contextlib.suppress(Exception):
            server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    async def run(self, request: ModelRequest) -> StreamedAnswer:
        """Run the call to its end, streaming as configured; raises the model's errors."""
        stream = self._session.model_client.stream(request)
        parts: list[str] = []
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    self._text(event.text, parts)
                elif isinstance(event, ThinkingDelta):
                    self._report("Thinking…")
                    if self._deltas and event.text:
                        self._session.stream_delta(self.request_id, event.text, kind="thinking")
                elif isinstance(event, StreamDone):
                    return StreamedAnswer(event.result, "".join(parts))
        raise StreamInterrupted("The MiniMax response ended without a result.")

    def _text(self, text: str, parts: list[str]) -> None:
        if not parts:
            text = text.lstrip("\r\n")
            if not text:
                return
        parts.append(text)
        self._report("Writing…")
        if self._deltas:
            self.started = True
            self._session.stream_delta(self.request_id, text)
