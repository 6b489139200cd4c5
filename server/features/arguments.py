"""Reading command and code-action arguments: one check per field, one message each.

Every malformed field is a `CommandError` naming it, which the command wiring answers
as JSON-RPC *invalid params* (-32602). Numbers must fit LSP's types before they reach
lsprotocol, whose validators raise a plain ``ValueError`` (an internal error) instead:
positions are ``uinteger``s (0 to 2**31 - 1), versions ``integer``s, and a bool is never
a number here (``True`` is no line number, though bool subclasses int).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

from lsprotocol import types

from minimax_lsp.server.session import CommandError

__all__ = [
    "INTEGER_MIN",
    "UINTEGER_MAX",
    "command_options",
    "document_version",
    "parse_position",
    "parse_range",
    "plain",
    "text_argument",
    "uinteger",
    "uri_argument",
]

#: LSP's ``uinteger`` (positions) and ``integer`` (versions) bounds.
UINTEGER_MAX: Final = 2**31 - 1
INTEGER_MIN: Final = -(2**31)


def plain(value: object) -> object:
    """pygls may hand custom JSON over as namedtuples: back to plain values."""
    as_dict = getattr(value, "_asdict", None)
    if callable(as_dict):
        return {k: plain(v) for k, v in as_dict().items()}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def command_options(args: tuple[Any, ...], *, required: bool = True) -> Mapping[str, Any]:
    """The single object argument of a command (no argument means ``{}`` if optional)."""
    if not args and not required:
        return {}
    if len(args) != 1 or not isinstance(args[0], Mapping):
        raise CommandError("expected one object argument")
    return cast(Mapping[str, Any], args[0])


def uri_argument(options: Mapping[str, Any], *, required: bool) -> str | None:
    """``options["uri"]``: a non-empty string, or ``None`` when absent and optional."""
    uri = options.get("uri")
    if uri is None and not required:
        return None
    if not isinstance(uri, str) or not uri:
        raise CommandError("`uri` must be a document URI string")
    return uri


def text_argument(options: Mapping[str, Any], name: str) -> str:
    """``options[name]``: a string, ``""`` when absent or null."""
    value = options.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommandError(f"`{name}` must be a string")
    return value


def uinteger(value: object, name: str) -> int:
    """An LSP ``uinteger`` (a line or character): 0 to 2**31 - 1, a real int."""
    if type(value) is not int or not 0 <= value <= UINTEGER_MAX:
        raise CommandError(f"`{name}` must be an integer from 0 to {UINTEGER_MAX}")
    return value


def document_version(value: object) -> int | None:
    """A document version: absent/null, else an LSP ``integer``."""
    if value is None:
        return None
    if type(value) is not int or not INTEGER_MIN <= value <= UINTEGER_MAX:
        raise CommandError(f"`version` must be an integer from {INTEGER_MIN} to {UINTEGER_MAX}")
    return value


def parse_position(value: object, name: str = "position") -> types.Position:
    """An LSP position ``{line, character}`` from JSON."""
    if not isinstance(value, Mapping):
        raise CommandError(f"`{name}` must be an object {{line, character}}")
    return types.Position(
        line=uinteger(value.get("line"), f"{name}.line"),
        character=uinteger(value.get("character"), f"{name}.character"),
    )


def parse_range(value: object, name: str = "range") -> types.Range:
    """An LSP range from JSON; `CommandError` naming the field when malformed."""
    value = plain(value)
    if not isinstance(value, Mapping):
        raise CommandError(f"`{name}` must be an object {{start, end}}")
    start = parse_position(value.get("start"), f"{name}.start")
    end = parse_position(value.get("end"), f"{name}.end")
    if (end.line, end.character) < (start.line, start.character):
        raise CommandError(f"`{name}` ends before it starts")
    return types.Range(start=start, end=end)
