"""Hostile LSP traffic for the protocol fuzzer: hypothesis strategies and hand-written frames.

Contract
--------
* `FuzzTarget` describes the workspace the fuzzed server runs on (its files, a folder
  outside it); the strategies draw URIs from it, so most generated messages reach real
  code paths (an open document inside an indexed workspace) instead of bouncing off the
  first ``uri`` check.
* `programs(target, ids)` is a hypothesis strategy of *programs*: 1-4 `Outgoing`
  messages sent back to back. Each message is either well-formed LSP with extreme values
  (positions at line 10**9, negative, past the end of a line holding emoji; unknown and
  non-``file:`` URIs; lone UTF-16 surrogates in text; out-of-order ``didChange``
  versions), well-formed JSON-RPC with wrongly typed params, or a broken envelope (a
  missing ``jsonrpc``, an id that is a float, an object, ``null``...).
* `nasties(target, ids)` are hand-written frames that need bytes a JSON encoder cannot
  produce: bad ``Content-Length`` values, missing headers, bodies that are not JSON or not
  UTF-8, batches, deep nesting, a 10 MB document. Each says whether the server must still
  answer the request it holds (`Outgoing.must_answer`).
* Safety: folder-shaped parameters (``rootUri``, ``workspaceFolders``, added folders)
  and settings that run commands or name files (``apiKeyCommand``, ``apiKeyFile``,
  ``logFile``, ``baseUrl``) are never random: a fuzzer must not make the server index
  ``/`` or run a generated command line. Random URIs never start with ``file:``.
  Special files (FIFOs, ``/dev/zero``) are left to dedicated tests, because reading one
  blocks the server today (see docs/reliability.md).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hypothesis import strategies as st

from tests.reliability.rpc import encode, frame

__all__ = [
    "COMMANDS",
    "FuzzTarget",
    "IdSource",
    "Outgoing",
    "nasties",
    "programs",
]

#: The commands the server registers (plus a few it does not).
COMMANDS: Final[tuple[str, ...]] = (
    "minimax.status",
    "minimax.reindex",
    "minimax.showContext",
    "minimax.explain",
    "minimax.refactor",
    "minimax.chat",
)
_UNKNOWN_COMMANDS: Final = ("minimax.nope", "", "MINIMAX.STATUS", "minimax.status ", "x" * 300)

#: Integers at the edges: LSP's int32/uint32 limits, JS's 2**53, 10**9 lines, bigints.
EDGE_INTS: Final[tuple[int, ...]] = (
    0,
    1,
    2,
    -1,
    2**31 - 1,
    2**31,
    2**32,
    -(2**31) - 1,
    2**53 + 1,
    10**9,
    10**18,
    10**30,
)
#: Scalars of the wrong type where a number or an object is expected.
_JUNK_SCALARS: Final[tuple[Any, ...]] = (None, True, False, 1.5, -0.0, 1e308, "", "0", "x" * 1000)
#: Characters that break naive UTF-16 / line handling.
_NASTY_CHARS: Final[tuple[str, ...]] = (
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\x00",
    "\u2028",
    "\u0085",
    "\ufeff",
    "😀",
    "👍🏽",
    "\U0010ffff",
    "é",
    "\ud800",  # lone high surrogate (JSON-escaped on the wire)
    "\udfff",  # lone low surrogate
)
_SNIPPETS: Final[tuple[str, ...]] = (
    "def f(x):\n    return x\n",
    "class K:\n    def m(self):\n        pass\n",
    "import os\nfrom pkg.util import helper\n",
    "x = '😀😀'  # emoji\n",
    "s = '\ud800'\n",
    "    if x:\n",
    "def broken(:\n",
    'PASSWORD = "hunter2hunter2"\n',
    "\r\n",
    "\n\n\n",
    "é" * 40 + "\n",
)
LANGUAGE_IDS: Final = (
    "python",
    "javascript",
    "typescript",
    "go",
    "rust",
    "plaintext",
    "",
    "x" * 50,
)


@dataclass(frozen=True)
class FuzzTarget:
    """The workspace the fuzzed server runs on (see the module docstring)."""

    root: Path
    outside: Path

    @property
    def file_uris(self) -> tuple[str, ...]:
        """Files inside the workspace: indexed, secret, ignored, binary, missing."""
        names = (
            "pkg/main.py",
            "pkg/util.py",
            "pkg/__init__.py",
            "README.md",
            ".env",
            "ignored.py",
            "data.bin",
            "pkg/new_file.py",
            "pkg/../pkg/util.py",
        )
        return tuple((self.root / n).as_uri() for n in names)

    @property
    def folder_uris(self) -> tuple[str, ...]:
        """Folder-shaped values that are safe to add, remove or initialise with."""
        return (
            self.root.as_uri(),
            (self.root / "pkg").as_uri(),
            (self.root / "missing-folder").as_uri(),
            (self.root / "pkg/util.py").as_uri(),  # a file, not a folder
            self.outside.as_uri(),
            "untitled:folder",
            "",
        )

    @property
    def uris(self) -> tuple[str, ...]:
        """Every document URI worth trying (valid, odd and malformed)."""
        weird = (
            (self.outside / "elsewhere.py").as_uri(),
            self.root.as_uri(),  # a folder as a document
            self.root.as_uri() + "/",
            self.root.as_uri() + "/pkg/%ZZ.py",
            self.root.as_uri() + "/pkg/a%20b.py",
            self.root.as_uri() + "/pkg/a%00b.py",  # a NUL in the path
            self.root.as_uri() + "/pkg/%C3%BCn%C3%AF.py",
            self.root.as_uri() + "/../" + self.outside.name + "/elsewhere.py",
            self.root.as_uri().replace("file://", "file://localhost") + "/pkg/util.py",
            self.root.as_uri().upper(),
            "file://remote-host/share/x.py",
            "file:///C:/Users/x/y.py",
            "file://",
            "file:",
            "file:///" + "a/" * 600 + "deep.py",
            "untitled:Untitled-1",
            "vscode-notebook-cell:/x.ipynb#W0sZmlsZQ%3D%3D",
            "http://example.invalid/a.py",
            "pkg/util.py",
            "",
        )
        return self.file_uris + weird


@dataclass
class IdSource:
    """Fresh request ids; special shapes are made unique so responses can be matched."""

    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1_000_000))

    def plain(self) -> int:
        return next(self.counter)

    def shaped(self, shape: str) -> Any:
        n = next(self.counter)
        return {
            "int": n,
            "string": f"req-{n}",
            "unicode": f"ïd-😀-{n}",
            "negative": -n,
            "huge": 10**30 + n,
        }.get(shape, n)


@dataclass(frozen=True)
class Outgoing:
    """One thing to write to the server.

    ``payload`` is a JSON value (framed with `frame`) unless ``raw`` is set. A request
    that the server must answer has ``must_answer`` and its ``msg_id``; ``label`` names
    the case for the counts (``textDocument/hover``, ``envelope:float-id``...).
    """

    label: str
    payload: Any = None
    raw: bytes | None = None
    msg_id: Any = None
    must_answer: bool = False
    is_request: bool = False

    def to_bytes(self) -> bytes:
        return self.raw if self.raw is not None else frame(encode(self.payload))


# --------------------------------------------------------------------------- values


def _weighted(*pairs: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with integer weights.

    A composite (not ``one_of`` over repeated branches): hypothesis builds the ``repr``
    of nested ``one_of`` strategies eagerly, and with repeated branches nested a few
    levels deep that text grows to hundreds of megabytes.
    """
    table: list[tuple[int, st.SearchStrategy[Any]]] = []
    total = 0
    for weight, strategy in pairs:
        total += weight
        table.append((total, strategy))

    @st.composite
    def weighted(draw: st.DrawFn) -> Any:
        ticket = draw(st.integers(0, total - 1))
        return draw(next(s for bound, s in table if ticket < bound))

    return weighted()


INTS: Final = _weighted((3, st.integers(-3, 60)), (2, st.sampled_from(EDGE_INTS)))
JUNK_SCALARS: Final = st.sampled_from(_JUNK_SCALARS)
NUMBERS: Final = _weighted((8, INTS), (1, JUNK_SCALARS))
NASTY_TEXT: Final = st.lists(
    _weighted((3, st.characters()), (1, st.sampled_from(_NASTY_CHARS))), max_size=30
).map("".join)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function: hypothesis inspects the source of a lambda `extend` and can
    # misread it.
    return st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=4)


JSON_VALUES: Final = st.recursive(
    st.none()
    | st.booleans()
    | INTS
    | st.floats(allow_nan=False, allow_infinity=False)
    | NASTY_TEXT,
    _containers,
    max_leaves=6,
)
SOURCE_TEXT: Final = st.lists(
    _weighted((3, st.sampled_from(_SNIPPETS)), (1, NASTY_TEXT)), max_size=12
).map("".join)


def _maybe_junk(strategy: st.SearchStrategy[Any], weight: int = 6) -> st.SearchStrategy[Any]:
    """``strategy`` most of the time, else any JSON value (a wrong type)."""
    return _weighted((weight, strategy), (1, JSON_VALUES))


def _uris(target: FuzzTarget) -> st.SearchStrategy[Any]:
    random_text = NASTY_TEXT.filter(lambda s: not s.strip().lower().startswith("file:"))
    return _weighted((10, st.sampled_from(target.uris)), (1, random_text), (1, JUNK_SCALARS))


def _positions() -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"line": NUMBERS, "character": NUMBERS}))


def _ranges() -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"start": _positions(), "end": _positions()}))


def _doc_id(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"uri": _uris(target)}))


def _versioned(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"uri": _uris(target), "version": NUMBERS}))


def _diagnostics() -> st.SearchStrategy[Any]:
    diagnostic = st.fixed_dictionaries(
        {"range": _ranges(), "message": _maybe_junk(NASTY_TEXT)},
        optional={"severity": NUMBERS, "source": NASTY_TEXT, "code": JSON_VALUES},
    )
    return _maybe_junk(st.lists(_maybe_junk(diagnostic), max_size=3))


# --------------------------------------------------------------------------- params


def _did_open(target: FuzzTarget) -> st.SearchStrategy[Any]:
    item = st.fixed_dictionaries(
        {
            "uri": _uris(target),
            "languageId": _maybe_junk(st.sampled_from(LANGUAGE_IDS)),
            "version": NUMBERS,
            "text": _maybe_junk(SOURCE_TEXT, 10),
        }
    )
    return _maybe_junk(st.fixed_dictionaries({"textDocument": _maybe_junk(item)}))


def _did_change(target: FuzzTarget) -> st.SearchStrategy[Any]:
    change = _weighted(
        (2, st.fixed_dictionaries({"text": SOURCE_TEXT})),
        (4, st.fixed_dictionaries({"range": _ranges(), "text": SOURCE_TEXT})),
        (
            1,
            st.fixed_dictionaries({"range": _ranges(), "rangeLength": NUMBERS, "text": NASTY_TEXT}),
        ),
        (1, JSON_VALUES),
    )
    return _maybe_junk(
        st.fixed_dictionaries(
            {
                "textDocument": _versioned(target),
                "contentChanges": _maybe_junk(st.lists(change, max_size=4)),
            }
        )
    )


def _did_save(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(
        st.fixed_dictionaries({"textDocument": _doc_id(target)}, optional={"text": SOURCE_TEXT})
    )


def _did_close(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"textDocument": _doc_id(target)}))


def _watched(target: FuzzTarget) -> st.SearchStrategy[Any]:
    event = st.fixed_dictionaries(
        {"uri": st.sampled_from(target.file_uris), "type": st.sampled_from([1, 2, 3, 0, 4, -1])}
    )
    return _maybe_junk(st.fixed_dictionaries({"changes": _maybe_junk(st.lists(event, max_size=5))}))


def _settings() -> st.SearchStrategy[Any]:
    """Settings values with wrong types and extremes -- never the dangerous keys."""
    task = st.fixed_dictionaries(
        {},
        optional={
            "budget": NUMBERS,
            "maxOutputTokens": NUMBERS,
            "thinking": _maybe_junk(st.sampled_from(["disabled", "adaptive", "enabled", "max"])),
        },
    )
    tasks = st.fixed_dictionaries(
        {}, optional={k: _maybe_junk(task) for k in ("completion", "explain", "refactor", "chat")}
    )
    flat = st.fixed_dictionaries(
        {},
        optional={
            "model": _maybe_junk(st.sampled_from(["MiniMax-M3", "MiniMax-M2.5", "nope"])),
            "api": _maybe_junk(st.sampled_from(["anthropic", "openai", "grpc"])),
            "contextWindow": NUMBERS,
            "tasks": _maybe_junk(tasks),
            "inlineCompletion": _maybe_junk(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "enable": JSON_VALUES,
                        "languages": JSON_VALUES,
                        "fallback": st.sampled_from(["auto", "on", "off", 3]),
                        "multiline": JSON_VALUES,
                    },
                )
            ),
            "spend": _maybe_junk(
                st.fixed_dictionaries(
                    {}, optional={"automaticRequestsPerMinute": NUMBERS, "tokensPerDay": NUMBERS}
                )
            ),
            "ignore": _maybe_junk(st.lists(NASTY_TEXT, max_size=3)),
            "maxFileBytes": NUMBERS,
            "requestTimeoutSeconds": _maybe_junk(st.sampled_from([1, 5.5, 0, -1, 1e308])),
            "showNotifications": _maybe_junk(st.sampled_from(["off", "onError", "always"])),
            "logLevel": _maybe_junk(st.sampled_from(["error", "warning", "info", "verbose"])),
        },
    )
    return _weighted(
        (3, flat),
        (1, st.fixed_dictionaries({"minimax": flat})),
        (1, st.fixed_dictionaries({"settings": flat, "globalSettings": flat})),
        (1, st.none() | st.integers() | st.lists(st.integers(), max_size=2)),
    )


def _did_change_configuration() -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"settings": _settings()}))


def _folders_change(target: FuzzTarget) -> st.SearchStrategy[Any]:
    folder = st.fixed_dictionaries(
        {"uri": st.sampled_from(target.folder_uris), "name": _maybe_junk(NASTY_TEXT)}
    )
    event = st.fixed_dictionaries(
        {"added": st.lists(folder, max_size=2), "removed": st.lists(folder, max_size=2)}
    )
    return st.fixed_dictionaries({"event": event})


def _inline(target: FuzzTarget) -> st.SearchStrategy[Any]:
    context = st.fixed_dictionaries(
        {"triggerKind": _maybe_junk(st.sampled_from([1, 2, 0, 3]))},
        optional={
            "selectedCompletionInfo": _maybe_junk(
                st.fixed_dictionaries({"range": _ranges(), "text": NASTY_TEXT})
            )
        },
    )
    return _maybe_junk(
        st.fixed_dictionaries(
            {
                "textDocument": _doc_id(target),
                "position": _positions(),
                "context": _maybe_junk(context),
            }
        )
    )


def _completion(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(
        st.fixed_dictionaries(
            {"textDocument": _doc_id(target), "position": _positions()},
            optional={
                "context": st.fixed_dictionaries(
                    {"triggerKind": NUMBERS}, optional={"triggerCharacter": NASTY_TEXT}
                )
            },
        )
    )


def _code_action(target: FuzzTarget) -> st.SearchStrategy[Any]:
    context = st.fixed_dictionaries(
        {"diagnostics": _diagnostics()},
        optional={
            "only": _maybe_junk(
                st.lists(
                    st.sampled_from(
                        ["", "quickfix", "refactor", "refactor.rewrite", "source", "x"]
                    ),
                    max_size=3,
                )
            ),
            "triggerKind": NUMBERS,
        },
    )
    return _maybe_junk(
        st.fixed_dictionaries(
            {"textDocument": _doc_id(target), "range": _ranges(), "context": _maybe_junk(context)}
        )
    )


def _edit_data(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"uri": _uris(target), "range": _ranges()},
        optional={
            "version": NUMBERS,
            "kind": _maybe_junk(st.sampled_from(["refactor", "fix", "docstring", "tests", "x"])),
            "diagnostics": _diagnostics(),
            "instruction": _maybe_junk(NASTY_TEXT),
        },
    )


def _resolve(target: FuzzTarget) -> st.SearchStrategy[Any]:
    return _maybe_junk(
        st.fixed_dictionaries(
            {
                "title": _maybe_junk(
                    st.sampled_from(["MiniMax: Refactor…", "MiniMax: Explain", "?"])
                )
            },
            optional={
                "kind": st.sampled_from(["refactor.rewrite", "quickfix", "refactor.minimax.tests"]),
                "data": _maybe_junk(_edit_data(target), 3),
            },
        )
    )


def _command_argument(target: FuzzTarget, command: str) -> st.SearchStrategy[Any]:
    uri = _uris(target)
    if command == "minimax.showContext":
        return st.fixed_dictionaries(
            {"uri": uri, "position": _positions()},
            optional={
                "task": _maybe_junk(
                    st.sampled_from(["complete", "completion", "explain", "refactor", "chat", "x"])
                ),
                "budget": NUMBERS,
                "query": _maybe_junk(NASTY_TEXT),
                "includeText": JSON_VALUES,
            },
        )
    if command == "minimax.explain":
        return st.fixed_dictionaries(
            {"uri": uri},
            optional={
                "range": _ranges(),
                "question": _maybe_junk(NASTY_TEXT),
                "requestId": _maybe_junk(NASTY_TEXT),
            },
        )
    if command == "minimax.chat":
        return st.fixed_dictionaries(
            {"prompt": _maybe_junk(NASTY_TEXT)},
            optional={
                "uri": uri,
                "range": _ranges(),
                "conversationId": _maybe_junk(st.sampled_from(["c1", "c2", "", "x" * 200])),
                "requestId": _maybe_junk(NASTY_TEXT),
            },
        )
    if command == "minimax.refactor":
        return _edit_data(target)
    if command in ("minimax.status", "minimax.reindex"):
        return st.fixed_dictionaries(
            {}, optional={"uri": _weighted((3, st.sampled_from(target.folder_uris)), (1, uri))}
        )
    return JSON_VALUES


def _execute_command(target: FuzzTarget) -> st.SearchStrategy[Any]:
    def params(command: str) -> st.SearchStrategy[Any]:
        arguments = _weighted(
            (6, st.lists(_maybe_junk(_command_argument(target, command)), max_size=1)),
            (1, st.lists(JSON_VALUES, min_size=2, max_size=3)),
            (1, JSON_VALUES),
        )
        return st.fixed_dictionaries(
            {"command": st.just(command)}, optional={"arguments": arguments}
        )

    commands = _weighted(
        (8, st.sampled_from(COMMANDS)), (1, st.sampled_from(_UNKNOWN_COMMANDS)), (1, JSON_VALUES)
    )
    return _maybe_junk(
        commands.flatmap(lambda c: params(c) if isinstance(c, str) else st.just({"command": c}))
    )


def _cancel() -> st.SearchStrategy[Any]:
    return _maybe_junk(st.fixed_dictionaries({"id": _maybe_junk(INTS | NASTY_TEXT)}))


def _initialize(target: FuzzTarget) -> st.SearchStrategy[Any]:
    folders = st.lists(
        st.fixed_dictionaries({"uri": st.sampled_from(target.folder_uris), "name": NASTY_TEXT}),
        max_size=2,
    )
    return st.fixed_dictionaries(
        {"capabilities": _maybe_junk(st.just({}))},
        optional={
            "processId": NUMBERS,
            "rootUri": st.sampled_from((*target.folder_uris, None)),
            "workspaceFolders": st.none() | folders,
            "initializationOptions": _settings(),
            "trace": st.sampled_from(["off", "verbose", "x"]),
            "locale": NASTY_TEXT,
        },
    )


#: (method, is_request, weight, params strategy factory)
def _methods(target: FuzzTarget) -> list[tuple[str, bool, int, st.SearchStrategy[Any]]]:
    return [
        ("textDocument/didOpen", False, 6, _did_open(target)),
        ("textDocument/didChange", False, 8, _did_change(target)),
        ("textDocument/didSave", False, 2, _did_save(target)),
        ("textDocument/didClose", False, 3, _did_close(target)),
        ("workspace/didChangeWatchedFiles", False, 2, _watched(target)),
        ("workspace/didChangeConfiguration", False, 2, _did_change_configuration()),
        ("workspace/didChangeWorkspaceFolders", False, 1, _folders_change(target)),
        ("textDocument/inlineCompletion", True, 6, _inline(target)),
        ("textDocument/completion", True, 3, _completion(target)),
        ("textDocument/codeAction", True, 5, _code_action(target)),
        ("codeAction/resolve", True, 3, _resolve(target)),
        ("workspace/executeCommand", True, 10, _execute_command(target)),
        ("$/cancelRequest", False, 2, _cancel()),
        (
            "window/workDoneProgress/cancel",
            False,
            1,
            _maybe_junk(st.fixed_dictionaries({"token": _maybe_junk(NASTY_TEXT | INTS)})),
        ),
        (
            "$/setTrace",
            False,
            1,
            _maybe_junk(
                st.fixed_dictionaries(
                    {"value": st.sampled_from(["off", "messages", "verbose", "x"])}
                )
            ),
        ),
        ("textDocument/hover", True, 1, JSON_VALUES),
        ("textDocument/definition", True, 1, JSON_VALUES),
        ("initialize", True, 1, _initialize(target)),
        ("initialized", False, 1, JSON_VALUES),
        ("$/unknownNotification", False, 1, JSON_VALUES),
        ("minimax/custom", True, 1, JSON_VALUES),
        ("unknown/method", True, 1, JSON_VALUES),
    ]


# --------------------------------------------------------------------------- messages

_ID_SHAPES: Final = ("int", "int", "int", "int", "string", "unicode", "negative", "huge")
_BAD_IDS: Final[tuple[Any, ...]] = (None, 1.5, True, {"a": 1}, [1], 2.0)


def _request(method: str, params: Any, ids: IdSource, shape: str, *, omit_params: bool) -> Outgoing:
    msg_id = ids.shaped(shape)
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if not omit_params:
        message["params"] = params
    return Outgoing(method, message, msg_id=msg_id, must_answer=True, is_request=True)


def _notification(method: str, params: Any, *, omit_params: bool) -> Outgoing:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if not omit_params:
        message["params"] = params
    return Outgoing(method, message)


def _broken_envelope(method: str, params: Any, ids: IdSource, how: str) -> Outgoing:
    """A message whose JSON-RPC envelope is wrong (the server owes no answer)."""
    n = ids.plain()
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
    if how == "no-jsonrpc":
        del message["jsonrpc"]
    elif how == "jsonrpc-1.0":
        message["jsonrpc"] = "1.0"
    elif how == "method-not-string":
        message["method"] = 42
    elif how == "no-method":
        del message["method"]
    elif how.startswith("bad-id-"):
        message["id"] = _BAD_IDS[int(how.rsplit("-", 1)[1])]
    elif how == "result-and-method":
        message["result"] = None
    return Outgoing(f"envelope:{how}", message, msg_id=message.get("id"), is_request=True)


_ENVELOPE_FAULTS: Final = (
    "no-jsonrpc",
    "jsonrpc-1.0",
    "method-not-string",
    "no-method",
    "result-and-method",
    *(f"bad-id-{i}" for i in range(len(_BAD_IDS))),
)


def messages(
    target: FuzzTarget, ids: IdSource, *, exclude: frozenset[str] = frozenset()
) -> st.SearchStrategy[Outgoing]:
    """One `Outgoing` message (see the module docstring); ``exclude`` names methods to skip."""
    methods = [m for m in _methods(target) if m[0] not in exclude]
    branches: list[tuple[int, st.SearchStrategy[Outgoing]]] = []
    for method, is_request, weight, params in methods:

        @st.composite
        def message(
            draw: st.DrawFn,
            method: str = method,
            is_request: bool = is_request,
            params: st.SearchStrategy[Any] = params,
        ) -> Outgoing:
            value = draw(params)
            omit = draw(st.integers(0, 30)) == 0  # now and then: no "params" at all
            fault = draw(st.integers(0, 40))
            if fault == 0:
                how = draw(st.sampled_from(_ENVELOPE_FAULTS))
                return _broken_envelope(method, value, ids, how)
            if is_request:
                shape = draw(st.sampled_from(_ID_SHAPES))
                return _request(method, value, ids, shape, omit_params=omit)
            return _notification(method, value, omit_params=omit)

        branches.append((weight, message()))
    return _weighted(*branches)


def programs(
    target: FuzzTarget, ids: IdSource, *, exclude: frozenset[str] = frozenset()
) -> st.SearchStrategy[list[Outgoing]]:
    """1-4 messages sent back to back (a small interleaving)."""
    return st.lists(messages(target, ids, exclude=exclude), min_size=1, max_size=4)


# --------------------------------------------------------------------------- nasties


def _req(ids: IdSource, method: str, params: Any) -> tuple[int, bytes]:
    msg_id = ids.plain()
    body = encode({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return msg_id, body


def _status_body(ids: IdSource) -> tuple[int, bytes]:
    return _req(ids, "workspace/executeCommand", {"command": "minimax.status", "arguments": []})


def nasties(target: FuzzTarget, ids: IdSource) -> list[Outgoing]:
    """Hand-written frames (see the module docstring); each ends where a reader can resync.

    A frame whose header or body is broken is followed by ``\\r\\n`` so that the next
    well-formed frame starts on a line of its own: without it, the stray bytes and the
    next header would share one line and that next message would be lost too, which is
    the nature of the framing, not a server bug.
    """
    out: list[Outgoing] = []

    def add(label: str, raw: bytes, msg_id: Any = None, *, must: bool = False) -> None:
        out.append(Outgoing(label, raw=raw, msg_id=msg_id, must_answer=must, is_request=must))

    i, body = _status_body(ids)
    add("frame:content-length-too-short", b"Content-Length: 5\r\n\r\n" + body + b"\r\n", i)
    i, body = _status_body(ids)
    padded = body + b" " * 100  # trailing whitespace is valid JSON: must be answered
    add(
        "frame:content-length-padded",
        b"Content-Length: %d\r\n\r\n" % len(padded) + padded,
        i,
        must=True,
    )
    i, body = _status_body(ids)
    add("frame:no-header", body + b"\r\n", i)
    add("frame:blank-lines", b"\r\n\r\n\r\n")
    add("frame:content-length-zero", b"Content-Length: 0\r\n\r\n")
    i, body = _status_body(ids)
    add("frame:lowercase-header", b"content-length: %d\r\n\r\n" % len(body) + body + b"\r\n", i)
    i, body = _status_body(ids)
    add(
        "frame:content-length-trailing-space",
        b"Content-Length: %d \r\n\r\n" % len(body) + body + b"\r\n",
        i,
    )
    i, body = _status_body(ids)
    add(
        "frame:content-length-leading-zeros",
        b"Content-Length: 000%d\r\n\r\n" % len(body) + body,
        i,
        must=True,
    )
    i, body = _status_body(ids)
    add(
        "frame:content-type-first",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body,
        i,
        must=True,
    )
    i, body = _status_body(ids)
    add(
        "frame:content-type-after",
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
        % len(body)
        + body,
        i,
        must=True,
    )
    i, body = _status_body(ids)
    add(
        "frame:unknown-header",
        b"X-Weird: \xff\xfe\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
        i,
        must=True,
    )
    add("frame:not-json", frame(b"{not json at all"))
    add("frame:truncated-json", frame(b'{"jsonrpc": "2.0", "id": 5, "method": "minimax'))
    add("frame:empty-object", frame(b"{}"))
    i = ids.plain()
    add(
        "frame:invalid-utf8",
        frame(
            b'{"jsonrpc":"2.0","id":%d,"method":"workspace/executeCommand","params":'
            b'{"command":"minimax.status\xff\xfe"}}' % i
        ),
        i,
    )
    i, body = _status_body(ids)
    add("frame:utf8-bom", frame(b"\xef\xbb\xbf" + body), i)
    i, body = _status_body(ids)
    add("frame:utf16-body", frame(body.decode().encode("utf-16")), i)
    i, body = _status_body(ids)
    _, body2 = _status_body(ids)
    add("frame:batch-array", frame(b"[" + body + b"," + body2 + b"]"), i)
    add("frame:empty-array", frame(b"[]"))
    for scalar in (b"42", b'"str"', b"null", b"true"):
        add("frame:scalar", frame(scalar))
    i, body = _status_body(ids)
    add(
        "frame:duplicate-keys",
        frame(body[:-1] + b',"method":"workspace/executeCommand","id":%d}' % i),
        i,
        must=True,
    )
    i = ids.plain()
    deep = b"[" * 100_000 + b"]" * 100_000
    add(
        "frame:deeply-nested-100k",
        frame(
            b'{"jsonrpc":"2.0","id":%d,"method":"workspace/executeCommand","params":'
            b'{"command":"minimax.status","arguments":[%s]}}' % (i, deep)
        ),
        i,
    )
    i = ids.plain()
    nested = b'{"a":' * 400 + b"1" + b"}" * 400
    add(
        "frame:nested-400",
        frame(
            b'{"jsonrpc":"2.0","id":%d,"method":"workspace/executeCommand","params":'
            b'{"command":"minimax.status","arguments":[%s]}}' % (i, nested)
        ),
        i,
        must=True,
    )
    i = ids.plain()
    add(
        "frame:nested-jsonrpc-in-params",
        frame(
            encode(
                {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "workspace/executeCommand",
                    "params": {
                        "command": "minimax.status",
                        "arguments": [{"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover"}],
                    },
                }
            )
        ),
        i,
        must=True,  # server/protocol.py structures the top-level message only
    )
    i = ids.plain()
    add(
        "frame:unicode-escapes",
        frame(
            b'{"jsonrpc":"2.0","id":%d,"method":"workspace/execute\\u0043ommand","params":'
            b'{"command":"minimax.status","arguments":[{"uri":"\\ud800\\udfff\\u0000"}]}}' % i
        ),
        i,
        must=True,
    )
    for how, value in (
        ("null-id", None),
        ("huge-id", 10**30 + ids.plain()),
        ("negative-id", -ids.plain()),
        ("string-id", f"s-{ids.plain()}"),
        ("float-id", 1.25 + ids.plain()),
        ("object-id", {"k": ids.plain()}),
    ):
        message = {
            "jsonrpc": "2.0",
            "id": value,
            "method": "workspace/executeCommand",
            "params": {"command": "minimax.status"},
        }
        must = how in ("huge-id", "negative-id", "string-id")
        out.append(Outgoing(f"id:{how}", message, msg_id=value, must_answer=must, is_request=True))
    # A response from the client to a request the server never sent.
    out.append(
        Outgoing(
            "client-response:unknown-id", {"jsonrpc": "2.0", "id": 999_999, "result": {"x": 1}}
        )
    )
    out.append(
        Outgoing(
            "client-response:bad-error", {"jsonrpc": "2.0", "id": 999_998, "error": "not an object"}
        )
    )
    out.append(
        Outgoing(
            "cancel:null-params", {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": None}
        )
    )
    out.append(Outgoing("cancel:no-params", {"jsonrpc": "2.0", "method": "$/cancelRequest"}))
    return out


def describe(outgoing: Outgoing, limit: int = 300) -> str:
    """A short, printable form of a message (for reports and repros)."""
    if outgoing.raw is not None:
        text = repr(outgoing.raw[:limit])
    else:
        text = json.dumps(outgoing.payload, ensure_ascii=True)[:limit]
    return f"{outgoing.label}: {text}"
