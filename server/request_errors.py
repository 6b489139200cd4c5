"""How a request's *stated* failures become JSON-RPC errors, in one place.

Commands (`minimax_lsp.server.app`) and ``codeAction/resolve``
(`minimax_lsp.server.features.code_actions`) fail for the same reasons and must answer
alike: bad arguments are the client's mistake (-32602), a denied document or a model
failure is a request that failed for a reason the user can read (-32803, LSP's
``RequestFailed``; a model failure is also reported once through the session's status and
message). Anything else is a bug, answered -32603 by the caller after logging it.
"""

from __future__ import annotations

from typing import Final

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from minimax_lsp.server.model import ModelError
from minimax_lsp.server.session import CommandError, DocumentDenied, Session

__all__ = ["REQUEST_FAILED", "stated_failure"]

#: JSON-RPC code for "the request failed" (LSP ``RequestFailed``).
REQUEST_FAILED: Final = -32803


def stated_failure(session: Session, label: str, exc: BaseException) -> JsonRpcException | None:
    """The error to answer for ``exc``, or ``None`` when it is not a stated failure.

    Parameters
    ----------
    session:
        Told about model failures (status and one rate-limited message).
    label:
        What failed, as the user knows it (``minimax.explain``, an action's title); it
        prefixes the message of argument and model errors.
    exc:
        The exception the request's handler raised.
    """
    if isinstance(exc, CommandError):
        return JsonRpcInvalidParams(message=f"{label}: {exc}")
    if isinstance(exc, DocumentDenied):
        return JsonRpcException(message=str(exc), code=REQUEST_FAILED)
    if isinstance(exc, ModelError):
        session.report_model_error(exc)
        return JsonRpcException(message=f"{label}: {exc}", code=REQUEST_FAILED)
    return None
