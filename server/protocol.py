"""The JSON-RPC / LSP protocol layer: pygls' protocol with the rules it leaves out.

`MiniMaxProtocol` is the `pygls.protocol.LanguageServerProtocol` of the server (passed as
``protocol_cls``). pygls 2.1.1 drops some messages without an answer, answers others
against the LSP lifecycle, keeps a future per notification forever, and cancels a
command's request without stopping the command. This subclass fixes that at the
protocol, so no feature has to.

Contract
--------
Every message from the client is answered or dropped by these rules, in this order
(pygls' own dispatch only sees messages that pass them):

* A frame whose body cannot be decoded (not JSON, not UTF-8, nested deeper than the
  decoder allows): error -32700 *ParseError* with ``"id": null`` (`reject_unreadable`,
  called by `MiniMaxLanguageServer.report_server_error`, pygls' read-loop error hook).
  pygls' read loop itself still logs such a frame with a traceback ("Unable to handle
  message", logger ``pygls.server``): the decoding happens before any hook of ours.
* Not one JSON-RPC 2.0 object (a batch, a scalar, no or another ``jsonrpc``, a
  ``method`` that is not a string, an ``id`` that is not an integer or a string,
  ``result`` / ``error`` beside ``method``, or none of ``method`` / ``result`` /
  ``error``): error -32600 *InvalidRequest*, with the id when it is valid, else
  ``"id": null``; a broken notification (no ``id``) or response is dropped with a
  warning (a malformed response to one of our requests fails that request).
* Before ``initialize``: requests get -32002 *ServerNotInitialized*; notifications
  other than ``exit`` are dropped.
* After ``shutdown``: requests get -32600 *InvalidRequest*; notifications other than
  ``exit`` are dropped.
* A method nothing handles: -32601 *MethodNotFound* (a notification: dropped).
* Params that do not fit the LSP type of the method: -32602 *InvalidParams* (a
  notification: dropped with a warning). A notification method sent with an id, or a
  request method without one: -32600 / dropped.
* ``$/cancelRequest``: the request is answered -32800 *RequestCancelled* and its work
  is cancelled -- for ``workspace/executeCommand`` too, which pygls runs as a second
  task under a generator built-in: that task is cancelled with the request (so a model
  call's HTTP stream closes), for every command alike.
* ``didChange`` of a document that is not open, ``$/cancelRequest`` /
  ``window/workDoneProgress/cancel`` with an id / token that is not an integer or a
  string (lsprotocol lets any JSON value through): dropped with a warning (pygls
  raises, which would show the internal-error message).
* ``shutdown``: every request still in flight is cancelled (answered -32800) and given
  up to `SETTLE_SECONDS` to unwind *before* the session's shutdown handler closes the
  HTTP clients (pygls cancelled them afterwards, while iterating the dict the
  cancellations change: "dictionary changed size during iteration").

Logging: an error answer with any code but -32603 (the client's doing: -32700, -32600,
-32601, -32602, -32002; or a request that failed for a stated reason, -32803) is one
WARNING line, a cancellation (-32800) one DEBUG line; an internal error (-32603, or an
exception a handler did not turn into a JSON-RPC error) is logged at ERROR, with the
traceback unless the handler converted it on purpose (and logged the traceback itself,
as commands do). A traceback is never sent to the client.

Memory: pygls keeps the future of every handler it runs in ``_request_futures`` and
removes only a request's own entry when it answers; the futures of notifications and of
each step of its generator built-ins (every ``didChange``) stayed forever (~2 KB per
keystroke). Each entry is now dropped as soon as its future is done.

The overrides replace private methods of pygls 2.1.1 (hence ``pygls>=2.1,<2.2``);
``tests/e2e/test_protocol_rules.py`` and ``tests/reliability`` check each rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any, Final
from urllib.parse import unquote

import attrs
from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import (
    FeatureNotificationError,
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

__all__ = ["SETTLE_SECONDS", "MiniMaxProtocol"]

_log = logging.getLogger("minimax_lsp.protocol")

#: Seconds ``shutdown`` waits for the requests it cancelled to unwind.
SETTLE_SECONDS: Final = 2.0
#: Longest explanation of invalid params put in an answer or a log line.
_MAX_DETAIL: Final = 300

#: A handler's future: asyncio for coroutines, concurrent for generators and threads.
AnyFuture = Future[Any] | asyncio.Future[Any]


def _valid_id(value: object) -> bool:
    """LSP ids and progress tokens are integers or strings (not null, fractions, bools)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _detail(exc: BaseException) -> str:
    """A short, single-line explanation of a structuring failure (no traceback)."""
    if isinstance(exc, ClassValidationError):
        text = "; ".join(transform_error(exc))
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _cancel_soon(future: AnyFuture) -> None:
    """Cancel ``future`` from any thread (an asyncio future on its own loop)."""
    if future.done():
        return
    if not isinstance(future, asyncio.Future):
        future.cancel()
        return
    loop = future.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        future.cancel()
    else:
        loop.call_soon_threadsafe(future.cancel)


class MiniMaxProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with JSON-RPC / LSP rules enforced (see the module docstring)."""

    def __init__(self, server: Any, converter: Any) -> None:
        # Set before pygls' __init__, which looks at every attribute (dir(self)).
        self._initialize_received = False
        self._shutdown_requested = False
        super().__init__(server, converter)

    # ------------------------------------------------------------------ reading

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Leave the decoded JSON as it is: `handle_message` structures the message.

        pygls structures inside the JSON decoder's object hook, where a failure is lost
        (the read loop logs it and the request is never answered) and where every
        nested object holding a ``jsonrpc`` key is taken for a message too.
        """
        return data

    def handle_message(self, message: Any) -> None:
        """Check one decoded message against the rules, then hand it to pygls."""
        try:
            self._dispatch(message)
        except Exception:
            _log.exception("could not handle a message from the client")

    def reject_unreadable(self, error: BaseException) -> None:
        """Answer a frame whose body could not be decoded: -32700 with ``"id": null``."""
        what = "nested too deeply" if isinstance(error, RecursionError) else _detail(error)
        self._reject(None, JsonRpcParseError(f"Parse error: the message is not JSON ({what})"))

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            what = "a batch" if isinstance(message, list) else "not a JSON object"
            self._reject(None, JsonRpcInvalidRequest(f"Invalid Request: {what}"))
            return
        if "method" not in message:
            self._dispatch_response(message)
            return
        method = message["method"]
        is_request = "id" in message
        msg_id = message.get("id")
        problem = self._envelope_problem(message, is_request=is_request)
        if problem is not None:
            if is_request:
                reply_id = msg_id if _valid_id(msg_id) else None
                self._reject(reply_id, JsonRpcInvalidRequest(f"Invalid Request: {problem}"))
            else:
                _log.warning("dropped a notification: %s", problem)
            return
        if not self._admits(method, msg_id if is_request else None):
            return
        structured = self._structure(message, method, msg_id if is_request else None)
        if structured is None:
            return
        if method == types.INITIALIZE:
            self._initialize_received = True
        super().handle_message(structured)

    @staticmethod
    def _envelope_problem(message: dict[str, Any], *, is_request: bool) -> str | None:
        """Why ``message`` (which has a ``method``) is not a JSON-RPC 2.0 request or
        notification, or None."""
        if message.get("jsonrpc") != "2.0":
            return '"jsonrpc" must be "2.0"'
        if not isinstance(message["method"], str):
            return '"method" must be a string'
        if is_request and not _valid_id(message["id"]):
            return '"id" must be an integer or a string'
        if "result" in message or "error" in message:
            return '"result" / "error" next to "method"'
        return None

    def _admits(self, method: str, msg_id: Any) -> bool:
        """The LSP lifecycle: answers or drops what may not run now (``msg_id`` None for
        a notification); True if the message may run."""
        if method == types.EXIT:
            return True
        if self._shutdown_requested:
            if msg_id is not None:
                self._reject(msg_id, JsonRpcInvalidRequest("Invalid Request: shutting down"))
            else:
                _log.debug("dropped %s after shutdown", method)
            return False
        if not self._initialize_received and method != types.INITIALIZE:
            if msg_id is not None:
                error = JsonRpcServerNotInitialized(
                    f"Server not initialized: {method} before initialize"
                )
                self._reject(msg_id, error)
            else:
                _log.debug("dropped %s before initialize", method)
            return False
        return True

    def _structure(self, message: dict[str, Any], method: str, msg_id: Any) -> Any:
        """The typed message, or None when it was answered / dropped instead."""
        is_request = msg_id is not None
        if method != types.CANCEL_REQUEST and not self._handles(method):
            if is_request:
                self._reject(msg_id, JsonRpcMethodNotFound.of(method))
            elif method.startswith("$/"):
                _log.debug("ignored notification %s", method)
            else:
                _log.warning("ignored notification %s: no handler", method)
            return None
        kind = self.get_message_type(method)
        if kind is not None and ("id" in attrs.fields_dict(kind)) != is_request:
            shape = "request" if not is_request else "notification"
            if is_request:
                self._reject(
                    msg_id, JsonRpcInvalidRequest(f"Invalid Request: {method} is a {shape}")
                )
            else:
                _log.warning("dropped %s: it is a %s (sent without an id)", method, shape)
            return None
        if kind is None:
            kind = JsonRPCRequestMessage if is_request else JsonRPCNotification
            # JSON-RPC lets a message leave out "params"; pygls' generic types need it.
            message = {"params": None, **message}
        try:
            return self._converter.structure(message, kind)
        except Exception as exc:
            detail = _detail(exc)
            if is_request:
                self._reject(msg_id, JsonRpcInvalidParams(f"{method}: invalid params: {detail}"))
            else:
                _log.warning("dropped %s: invalid params: %s", method, detail)
            return None

    def _handles(self, method: str) -> bool:
        return method in self.fm.builtin_features or method in self.fm.features

    def _dispatch_response(self, message: dict[str, Any]) -> None:
        """A response to one of our requests (or something that is no message at all)."""
        msg_id: Any = message.get("id")
        if "result" not in message and "error" not in message:
            self._reject(
                None,
                JsonRpcInvalidRequest(
                    "Invalid Request: neither a request, a notification nor a response"
                ),
            )
            return
        # pygls registers a result type for each request it sends: the id is one of ours.
        ours = _valid_id(msg_id) and msg_id in self._result_types
        both = "result" in message and "error" in message
        if message.get("jsonrpc") != "2.0" or not _valid_id(msg_id) or both:
            # Never answered: an answer to a response could start a ping-pong.
            self._fail_pending(msg_id, "not a JSON-RPC 2.0 response", ours=ours)
            return
        if "error" in message:
            kind: Any = types.ResponseErrorMessage
        else:
            kind = self._result_types.pop(msg_id, None) or JsonRPCResponseMessage
        try:
            structured = self._converter.structure(message, kind)
        except Exception as exc:
            self._fail_pending(msg_id, _detail(exc), ours=ours)
            return
        super().handle_message(structured)

    def _fail_pending(self, msg_id: Any, detail: str, *, ours: bool) -> None:
        """Drop a malformed response; the request of ours it answers fails with it."""
        _log.warning("dropped a malformed response (id %s): %s", _id_text(msg_id), detail)
        if not ours:
            return
        self._result_types.pop(msg_id, None)
        future = self._request_futures.pop(msg_id, None)
        if isinstance(future, Future) and not future.done():
            error = JsonRpcInternalError(f"malformed response from the client: {detail}")
            future.set_exception(error)

    def _reject(self, msg_id: Any, error: JsonRpcException) -> None:
        """Answer ``msg_id`` (None: ``"id": null``) with ``error`` and log one line."""
        _log.warning("answered %s with %d: %s", _id_text(msg_id), error.code, error.message)
        self._send_data(
            {
                "jsonrpc": "2.0",
                "id": msg_id,
                "error": {"code": error.code, "message": error.message},
            }
        )

    # ------------------------------------------------------------------ running

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Callable[[Any], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """pygls' ``_execute_handler``; the future's entry goes once the future is done."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            future.add_done_callback(partial(self._forget, msg_id))

    def _forget(self, msg_id: Any, future: AnyFuture) -> None:
        # Only this future's entry: a client may reuse the id of a finished request.
        if self._request_futures.get(msg_id) is future:
            self._request_futures.pop(msg_id, None)

    def _run_generator(
        self,
        future: Any,
        *,
        gen: Generator[Any, Any, Any],
        result_future: Future[Any],
    ) -> None:
        """pygls' ``_run_generator``; each step is cancelled with the request.

        pygls runs a generator built-in (``workspace/executeCommand``, ``shutdown``,
        ``didOpen``...) as a request future plus one future per ``yield``ed handler;
        ``$/cancelRequest`` cancels only the request future, and the command ran on.
        """
        if result_future.cancelled():
            return
        try:
            if future is not None and future.cancelled():
                result_future.cancel()  # a step cancelled on its own: so is the request
                return
            value = future.result() if future is not None else None
            handler, args, kwargs = gen.send(value)
            step_id = str(uuid.uuid4())
            callback = partial(self._run_generator, gen=gen, result_future=result_future)
            self._execute_handler(step_id, handler, callback, args=args, kwargs=kwargs)
        except StopIteration as stop:
            result_future.set_result(stop.value)
            return
        except Exception as exc:
            result_future.set_exception(exc)
            return
        step = self._request_futures.get(step_id)
        if step is not None and not step.done():
            result_future.add_done_callback(partial(_stop_step, step))

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        """``$/cancelRequest``: cancel the request's future (its steps follow it)."""
        if not _valid_id(msg_id):  # lsprotocol lets any JSON value through as an id
            _log.warning("$/cancelRequest with an id that is not an integer or a string")
            return
        future = self._request_futures.pop(msg_id, None)
        if future is None:
            # The usual race: the answer crossed the cancellation.
            _log.debug("$/cancelRequest for %s: not in flight", _id_text(msg_id))
            return
        if future.cancel():
            _log.debug("request %s cancelled by the client", _id_text(msg_id))

    def _handle_notification(self, method_name: str, params: Any) -> None:
        """pygls' ``_handle_notification``, with the method name kept for the log."""
        if method_name == types.CANCEL_REQUEST:
            self._handle_cancel_notification(params.id)
            return
        try:
            handler = self._get_handler(method_name)
            callback = partial(self._notification_done, method_name)
            self._execute_handler(str(uuid.uuid4()), handler, callback, args=(params,))
        except Exception as exc:
            self._notification_failed(method_name, exc)

    def _notification_done(self, method: str, future: AnyFuture) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self._notification_failed(method, exc)

    def _notification_failed(self, method: str, exc: BaseException) -> None:
        if isinstance(exc, JsonRpcException) and exc.code != JsonRpcInternalError.CODE:
            _log.warning("%s: %s", method, exc.message)
            return
        _log.error("%s failed", method, exc_info=exc)
        error = JsonRpcInternalError(f"{method}: {_one_line(exc)}")
        self._server._report_server_error(error, FeatureNotificationError)

    def _send_handler_result(self, future: AnyFuture, *, msg_id: Any) -> None:
        """Answer a request from its handler's future (see the module docstring: logging)."""
        self._forget(msg_id, future)
        if future.cancelled():
            _log.debug("request %s answered as cancelled", _id_text(msg_id))
            error = JsonRpcRequestCancelled(f'Request with id "{msg_id}" is canceled')
            self._send_response(msg_id, error=error.to_response_error())
            return
        exc = future.exception()
        if exc is None:
            self._send_response(msg_id, result=future.result())
            return
        self._send_response(msg_id, error=self._error_answer(msg_id, exc))

    def _error_answer(self, msg_id: Any, exc: BaseException) -> types.ResponseError:
        """The error answer for a failed request, logged by who caused it."""
        if isinstance(exc, JsonRpcException) and exc.code != JsonRpcInternalError.CODE:
            level = logging.DEBUG if exc.code == JsonRpcRequestCancelled.CODE else logging.WARNING
            _log.log(level, "request %s answered %d: %s", _id_text(msg_id), exc.code, exc.message)
            return exc.to_response_error()
        if isinstance(exc, JsonRpcException):
            # Converted on purpose by our code, which logged the cause with its traceback.
            _log.error("request %s failed: %s", _id_text(msg_id), exc.message)
            error = JsonRpcInternalError(exc.message)
        else:
            _log.error("request %s failed", _id_text(msg_id), exc_info=exc)
            error = JsonRpcInternalError(_one_line(exc))
        self._server._report_server_error(error, FeatureRequestError)
        # Message only: the traceback stays in the log.
        return types.ResponseError(code=error.code, message=error.message)

    # ------------------------------------------------------------------ built-ins

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """``shutdown``: cancel what is in flight, let it unwind, then the session's handler."""
        self._shutdown_requested = True
        in_flight = self._cancel_in_flight(keep=self.msg_id)
        if in_flight:
            yield self._settle, (in_flight,), None
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        self._shutdown = True

    def _cancel_in_flight(self, *, keep: Any) -> list[asyncio.Future[Any]]:
        """Cancel every pending future but ``keep``'s; the asyncio ones, to await."""
        tasks: list[asyncio.Future[Any]] = []
        # A copy: cancelling answers the request, which removes its entry. (pygls types
        # the entries as concurrent futures; coroutine handlers store asyncio tasks.)
        entries: list[tuple[Any, AnyFuture]] = list(self._request_futures.items())
        for msg_id, future in entries:
            if msg_id == keep or future.done():
                continue
            future.cancel()
            if isinstance(future, asyncio.Future):
                tasks.append(future)
        return tasks

    async def _settle(self, tasks: list[asyncio.Future[Any]]) -> None:
        _done, pending = await asyncio.wait(tasks, timeout=SETTLE_SECONDS)
        if pending:
            _log.warning(
                "%d cancelled request(s) still running %.1f s into shutdown",
                len(pending),
                SETTLE_SECONDS,
            )

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(
        self, params: types.WorkDoneProgressCancelParams
    ) -> Generator[Any, Any, None]:
        """pygls' progress cancel, except for a token that cannot be one (a client mistake)."""
        if not _valid_id(params.token):  # lsprotocol lets any JSON value through
            _log.warning("window/workDoneProgress/cancel with a token that is not one, ignored")
            return
        yield from super().lsp_work_done_progress_cancel(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """pygls' ``didChange``, except for a document that is not open (a client mistake)."""
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            _log.warning("didChange for a document that is not open, ignored: %s", uri)
            return
        yield from super().lsp_text_document__did_change(params)


def _stop_step(step: AnyFuture, request: Future[Any]) -> None:
    """A done-callback of a request future: cancel its running step when it was cancelled."""
    if request.cancelled() and not step.done():
        _log.debug("stopping the handler of a cancelled request")
        with contextlib.suppress(RuntimeError):  # the step's loop is closed (process end)
            _cancel_soon(step)


def _id_text(msg_id: Any) -> str:
    return "null" if msg_id is None else repr(msg_id)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
