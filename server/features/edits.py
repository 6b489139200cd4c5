"""The edit engine behind the MiniMax code actions and ``minimax.refactor``.

`compute_edit` turns an `EditTarget` (an action's ``data`` or ``minimax.refactor``'s
argument, parsed and checked by `target_from_json`) into a ``WorkspaceEdit``, or into
one sentence saying why there is none (`EditOutcome`). It never applies the edit: the
LSP adapters do (``codeAction/resolve`` returns it, ``minimax.refactor`` sends it with
``workspace/applyEdit``).

1. The document must still be at the version the action was listed for, inside a
   workspace folder, and allowed (`Session.denial`).
2. The edit covers whole lines: the selected ones (a selection ending at column 0 of a
   line stops before it); for an empty selection, the innermost function/class around
   the cursor (tree-sitter), else the cursor's line; for a fix, also the lines of the
   diagnostics.
3. The context is packed for task ``refactor`` with that selection; the model answers
   with the replacement (`minimax_lsp.server.prompts.edit`), with the ``refactor``
   task's thinking, budget and output cap. A context overflow repacks smaller and
   retries once. Thinking never reaches the edit.
4. The answer becomes exactly the replacement code (fences, prose and tags removed,
   re-indented, the document's line breaks); an answer cut at the output cap, or one
   that would overwrite a redacted secret, gives no edit.
5. If the document changed while the model answered, there is no edit ("document
   changed; not applied", logged at INFO and shown once as a warning by
   `report_not_applied`).
6. The edit is a ``TextDocumentEdit`` with the document's version (``documentChanges``)
   when the client supports it -- declared, or implied by its ``resourceOperations``
   which only exist there -- else a plain ``changes`` entry.
7. Write tests: the tests go to a sibling test file (`prompts.edit.sibling_test_path`):
   appended at its end when it exists, else created (``CreateFile`` with
   ``ignoreIfExists`` + an insert), never outside the document's workspace folder.

Input checks: every malformed field of a target is a `CommandError` naming it (answered
as JSON-RPC *invalid params*; the field rules are `minimax_lsp.server.features.arguments`).
Open buffers are found by `Session.open_document`, whatever the spelling of their URI.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from lsprotocol import types

from minimax_lsp.indexer.languages import language_for_path
from minimax_lsp.indexer.parse import extract
from minimax_lsp.server.features.arguments import document_version, parse_range, plain
from minimax_lsp.server.model import ContextOverflow, ModelResult, estimate_tokens
from minimax_lsp.server.prompts.chat import overflow_budget
from minimax_lsp.server.prompts.edit import (
    DiagnosticNote,
    EditKind,
    EditParseError,
    EditSpec,
    build_edit_request,
    newline_of,
    replacement_text,
    sibling_test_path,
)
from minimax_lsp.server.session import CommandError, DocumentDenied, DocumentSnapshot, Session

__all__ = [
    "LABELS",
    "OUTSIDE",
    "STALE",
    "STALE_BEFORE",
    "EditFacts",
    "EditOutcome",
    "EditTarget",
    "compute_edit",
    "enclosing_definition",
    "lsp_lines",
    "range_json",
    "report_not_applied",
    "selected_lines",
    "target_from_json",
]

# Logged under the code actions' name, as before the engine had its own module.
_log = logging.getLogger("minimax_lsp.code_actions")

#: Labels of the applied edits (an editor's undo entry).
LABELS: Final[Mapping[EditKind, str]] = {
    "refactor": "MiniMax: Refactor",
    "fix": "MiniMax: Fix",
    "docstring": "MiniMax: Add docstring",
    "tests": "MiniMax: Write tests",
}
#: Definition kinds an empty selection expands to.
_BLOCK_KINDS: Final = frozenset({"function", "method", "class", "interface", "struct", "enum"})
#: The selection may use at most this share of the output cap (the rest: thinking).
_OUTPUT_SHARE: Final = 0.75
_SEVERITIES: Final[Mapping[int, str]] = {1: "error", 2: "warning", 3: "information", 4: "hint"}
_BREAK = re.compile(r"\r\n|\r|\n")

STALE: Final = "MiniMax: the document changed while the model answered; the edit was not applied."
STALE_BEFORE: Final = (
    "MiniMax: the document changed since the action was offered; ask for the actions again."
)
OUTSIDE: Final = "MiniMax only edits files inside a workspace folder."


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class EditFacts:
    """What the client can do with code actions and edits."""

    literals: bool = True
    resolve_edit: bool = False
    document_changes: bool = False
    create_files: bool = False
    apply_edit: bool = False

    @classmethod
    def from_capabilities(cls, caps: types.ClientCapabilities | None) -> EditFacts:
        """Read the facts from the client's capabilities (missing parts mean no)."""
        if caps is None:
            return cls()
        text = caps.text_document
        action = text.code_action if text else None
        resolve = action.resolve_support if action else None
        ws = caps.workspace
        edit = ws.workspace_edit if ws else None
        kinds = edit.resource_operations if edit and edit.resource_operations else ()
        operations = {str(getattr(op, "value", op)) for op in kinds}
        return cls(
            literals=bool(action and action.code_action_literal_support),
            resolve_edit=bool(
                resolve and "edit" in resolve.properties and action and action.data_support
            ),
            # Resource operations only exist in documentChanges: declaring them implies
            # support (Neovim declares them, not documentChanges, and applies both).
            document_changes=bool(edit and (edit.document_changes or operations)),
            create_files="create" in operations,
            apply_edit=bool(ws and ws.apply_edit),
        )


@dataclass(frozen=True, slots=True)
class EditTarget:
    """One edit request (a resolved action's ``data`` or ``minimax.refactor``'s argument).

    ``version`` is the document version the request was made against (``None``:
    whatever is current).
    """

    uri: str
    range: types.Range
    kind: EditKind
    version: int | None = None
    instruction: str = ""
    diagnostics: tuple[types.Diagnostic, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The ``data`` of an action / the argument of ``minimax.refactor``."""
        data: dict[str, object] = {
            "uri": self.uri,
            "version": self.version,
            "range": range_json(self.range),
            "kind": self.kind,
        }
        if self.instruction:
            data["instruction"] = self.instruction
        if self.diagnostics:
            data["diagnostics"] = [_diagnostic_json(d) for d in self.diagnostics]
        return data


@dataclass(frozen=True, slots=True)
class EditOutcome:
    """The computed edit, or why there is none (one sentence)."""

    edit: types.WorkspaceEdit | None
    reason: str | None = None
    label: str = ""


# --------------------------------------------------------------------------- JSON


def range_json(rng: types.Range) -> dict[str, dict[str, int]]:
    """An LSP range as JSON (the inverse of `parse_range`)."""
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }


def _diagnostic_json(diagnostic: types.Diagnostic) -> dict[str, object]:
    data: dict[str, object] = {
        "range": range_json(diagnostic.range),
        "message": diagnostic.message,
    }
    if diagnostic.severity is not None:
        data["severity"] = int(diagnostic.severity)
    if diagnostic.source:
        data["source"] = diagnostic.source
    if diagnostic.code is not None:
        data["code"] = diagnostic.code
    return data


def _parse_diagnostic(value: object, index: int) -> types.Diagnostic:
    name = f"diagnostics[{index}]"
    if not isinstance(value, Mapping) or not isinstance(value.get("message"), str):
        raise CommandError(f"`{name}` must be an object {{range, message, …}}")
    severity = value.get("severity")
    source, code = value.get("source"), value.get("code")
    return types.Diagnostic(
        range=parse_range(value.get("range"), f"{name}.range"),
        message=value["message"],
        severity=types.DiagnosticSeverity(severity)
        if type(severity) is int and severity in _SEVERITIES
        else None,
        source=source if isinstance(source, str) else None,
        code=code if isinstance(code, (str, int)) and not isinstance(code, bool) else None,
    )


def target_from_json(value: object, *, default_kind: EditKind | None = None) -> EditTarget:
    """An `EditTarget` from an action's ``data`` or ``minimax.refactor``'s argument.

    Raises
    ------
    CommandError
        A missing or malformed field (the message names it).
    """
    data = plain(value)
    if not isinstance(data, Mapping):
        raise CommandError("expected one object argument")
    uri = data.get("uri")
    if not isinstance(uri, str) or not uri:
        raise CommandError("`uri` must be a document URI string")
    kind = data.get("kind", default_kind)
    if kind not in ("refactor", "fix", "docstring", "tests"):
        raise CommandError("`kind` must be one of refactor, fix, docstring, tests")
    version = document_version(data.get("version"))
    instruction = data.get("instruction", "")
    if not isinstance(instruction, str):
        raise CommandError("`instruction` must be a string")
    raw = data.get("diagnostics") or []
    if not isinstance(raw, list):
        raise CommandError("`diagnostics` must be a list")
    return EditTarget(
        uri=uri,
        range=parse_range(data.get("range")),
        kind=cast(EditKind, kind),
        version=version,
        instruction=instruction,
        diagnostics=tuple(_parse_diagnostic(item, i) for i, item in enumerate(raw)),
    )


# --------------------------------------------------------------------------- lines


def lsp_lines(text: str) -> list[str]:
    """The lines of ``text`` as LSP counts them (``\\r\\n``, ``\\r``, ``\\n``), ends kept.

    Never empty: ``""`` is one empty line. A text ending with a break has no trailing
    empty entry (position ``(len(lines), 0)`` is its end).
    """
    lines: list[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text) or not lines:
        lines.append(text[start:])
    return lines


def selected_lines(lines: Sequence[str], rng: types.Range) -> tuple[int, int]:
    """0-based inclusive (first, last) lines a range covers, clamped to the document.

    A range ending at column 0 of a later line does not include that line.
    """
    last_index = len(lines) - 1
    first = min(rng.start.line, last_index)
    last = rng.end.line
    if last > rng.start.line and rng.end.character == 0:
        last -= 1
    return first, min(max(last, first), last_index)


def _lines_range(
    lines: Sequence[str], first: int, last: int, snapshot: DocumentSnapshot
) -> types.Range:
    """The range of whole lines ``first..last`` (0-based), their final line break included."""
    tail = lines[last]
    body = tail.rstrip("\r\n")
    if body != tail:
        end = types.Position(line=last + 1, character=0)
    else:
        end = types.Position(line=last, character=snapshot.codec.client_num_units(body))
    return types.Range(start=types.Position(line=first, character=0), end=end)


def _end_position(text: str, snapshot: DocumentSnapshot) -> types.Position:
    lines = lsp_lines(text)
    tail = lines[-1]
    if tail.rstrip("\r\n") != tail:
        return types.Position(line=len(lines), character=0)
    return types.Position(line=len(lines) - 1, character=snapshot.codec.client_num_units(tail))


def _innermost(text: str, name: str, line: int) -> tuple[int, int] | None:
    symbols = extract(text.encode("utf-8", errors="replace"), language_for_path(name))
    best: tuple[int, int] | None = None
    for definition in symbols.definitions:
        if definition.kind not in _BLOCK_KINDS:
            continue
        if definition.start_line <= line <= definition.end_line and (
            best is None or definition.end_line - definition.start_line < best[1] - best[0]
        ):
            best = (definition.start_line, definition.end_line)
    return best


async def enclosing_definition(snapshot: DocumentSnapshot, line: int) -> tuple[int, int] | None:
    """1-based lines of the innermost function/class around 1-based ``line`` (off the loop)."""
    name = snapshot.rel or (snapshot.path.name if snapshot.path else snapshot.uri)
    try:
        return await asyncio.to_thread(_innermost, snapshot.text, name, line)
    except Exception:
        _log.debug("could not parse %s for the enclosing definition", snapshot.uri, exc_info=True)
        return None


async def _edit_lines(
    snapshot: DocumentSnapshot, lines: Sequence[str], target: EditTarget
) -> tuple[int, int]:
    """0-based (first, last) lines to rewrite (step 2 of the module docstring)."""
    rng = target.range
    if rng.start != rng.end:
        first, last = selected_lines(lines, rng)
    else:
        cursor = min(rng.start.line, len(lines) - 1)
        found = await enclosing_definition(snapshot, cursor + 1)
        first, last = (found[0] - 1, found[1] - 1) if found else (cursor, cursor)
    if target.kind == "fix":
        for diagnostic in target.diagnostics:
            first = min(first, diagnostic.range.start.line)
            last = max(last, diagnostic.range.end.line)
    last_index = len(lines) - 1
    return min(first, last_index), min(last, last_index)


# --------------------------------------------------------------------------- reporting


def report_not_applied(session: Session, message: str) -> None:
    """Log an edit that was not made (INFO) and show it once, unless notifications are off."""
    _log.info("%s", message)
    if session.settings.showNotifications != "off":
        session.outbox.show_message("warning", message)


# --------------------------------------------------------------------------- the engine


async def compute_edit(session: Session, target: EditTarget) -> EditOutcome:
    """The workspace edit for ``target`` (steps 1-7 of the module docstring).

    Parameters
    ----------
    session:
        The server session.
    target:
        What to edit.

    Raises
    ------
    DocumentDenied
        The document is secret or ignored.
    ModelError
        The model call failed (a context overflow only after the retry).
    """
    snapshot = session.snapshot(target.uri)
    if (
        target.version is not None
        and snapshot.version is not None
        and snapshot.version != target.version
    ):
        return EditOutcome(None, STALE_BEFORE)
    location = snapshot.location
    if location is None:
        return EditOutcome(None, OUTSIDE)
    reason = await session.denial(target.uri, snapshot.text)
    if reason is not None:
        raise DocumentDenied(target.uri, reason)
    lines = lsp_lines(snapshot.text)
    first, last = await _edit_lines(snapshot, lines, target)
    original = "".join(lines[first : last + 1])
    if not original.strip():
        return EditOutcome(None, "MiniMax: there is no code on the selected lines.")
    knobs = session.settings.task("refactor")
    if target.kind != "tests" and estimate_tokens(original) > knobs.maxOutputTokens * _OUTPUT_SHARE:
        return EditOutcome(
            None,
            f"MiniMax: the selection is too long to rewrite in one answer (about "
            f"{estimate_tokens(original):,} tokens; tasks.refactor.maxOutputTokens is "
            f"{knobs.maxOutputTokens:,}).",
        )
    tests: _TestFile | None = None
    if target.kind == "tests":
        found = await _test_file(session, snapshot)
        if isinstance(found, str):
            return EditOutcome(None, found)
        tests = found
    spec = EditSpec(
        kind=target.kind,
        path=location.rel,
        start_line=first + 1,
        end_line=last + 1,
        text=original,
        instruction=target.instruction,
        diagnostics=tuple(_note(d) for d in target.diagnostics),
        language=snapshot.language_id or language_for_path(location.rel) or "",
        test_path=tests.rel if tests else None,
        test_file_exists=tests.exists if tests else False,
    )
    result = await _ask(session, snapshot, spec, target)
    if result.stop_reason == "max_tokens":
        return EditOutcome(
            None,
            "MiniMax: the answer was cut off at the output limit "
            "(tasks.refactor.maxOutputTokens); nothing was applied.",
        )
    newline = newline_of(snapshot.text)
    try:
        if tests is not None:
            code = replacement_text(result.text, original, newline=newline, indent=False)
        else:
            code = replacement_text(
                result.text,
                original,
                newline=newline,
                final_newline=lines[last].rstrip("\r\n") != lines[last],
            )
    except EditParseError as exc:
        return EditOutcome(None, f"MiniMax: {exc}")
    session.report_model_ok()
    current = session.snapshot(target.uri)
    if current.version != snapshot.version or current.text != snapshot.text:
        _log.info("%s changed while the model answered; edit dropped", target.uri)
        return EditOutcome(None, STALE)
    facts = EditFacts.from_capabilities(session.server.client_capabilities)
    if tests is not None:
        edit = tests.edit(code, newline, facts)
    else:
        edit = _text_edit(
            target.uri, snapshot.version, _lines_range(lines, first, last, snapshot), code, facts
        )
    return EditOutcome(edit, label=LABELS[target.kind])


def _note(diagnostic: types.Diagnostic) -> DiagnosticNote:
    severity = _SEVERITIES.get(int(diagnostic.severity), "") if diagnostic.severity else ""
    return DiagnosticNote(
        line=diagnostic.range.start.line + 1,
        message=diagnostic.message,
        severity=severity,
        source=diagnostic.source or "",
        code=str(diagnostic.code) if diagnostic.code is not None else "",
    )


async def _ask(
    session: Session,
    snapshot: DocumentSnapshot,
    spec: EditSpec,
    target: EditTarget,
) -> ModelResult:
    """Pack, call the model, repack smaller and retry once after a context overflow."""
    settings = session.settings
    knobs = settings.task("refactor")
    query = " ".join([target.instruction, *(d.message for d in target.diagnostics)]).strip()
    position = types.Position(line=spec.start_line - 1, character=0)
    selection = (spec.start_line, spec.end_line)
    budget = session.budget_for("refactor")
    retried = False
    while True:
        manifest = await session.pack(
            snapshot, position, task="refactor", budget=budget, query=query, selection=selection
        )
        request = build_edit_request(
            manifest,
            spec,
            model=settings.model,
            max_tokens=knobs.maxOutputTokens,
            thinking=knobs.thinking,
        )
        try:
            # Not streamed: complete() restarts a cut stream, and nothing is shown
            # before the edit is whole anyway.
            return await session.model_client.complete(request)
        except ContextOverflow as exc:
            smaller = overflow_budget(manifest.tokens, exc)
            if retried or smaller < 1 or smaller >= manifest.tokens:
                raise
            _log.info("%s; retrying with %d context tokens", exc, smaller)
            retried, budget = True, smaller


def _text_edit(
    uri: str, version: int | None, rng: types.Range, text: str, facts: EditFacts
) -> types.WorkspaceEdit:
    edit = types.TextEdit(range=rng, new_text=text)
    if facts.document_changes:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=document, edits=[edit])]
        )
    return types.WorkspaceEdit(changes={uri: [edit]})


# --------------------------------------------------------------------------- test files


@dataclass(frozen=True, slots=True)
class _TestFile:
    """Where the tests go, and what is there now."""

    rel: str
    uri: str
    exists: bool
    version: int | None
    end: types.Position
    ends_with_newline: bool
    python: bool

    def edit(self, code: str, newline: str, facts: EditFacts) -> types.WorkspaceEdit:
        if not self.exists:
            create = types.CreateFile(
                uri=self.uri,
                options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True),
            )
            start = types.Position(line=0, character=0)
            document = types.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=None)
            insert = types.TextEdit(range=types.Range(start=start, end=start), new_text=code)
            return types.WorkspaceEdit(
                document_changes=[
                    create,
                    types.TextDocumentEdit(text_document=document, edits=[insert]),
                ]
            )
        # Appended after a blank line (two in Python, as PEP 8 separates top-level defs).
        gap = newline * (2 if self.python else 1)
        text = ("" if self.ends_with_newline else newline) + gap + code
        return _text_edit(
            self.uri, self.version, types.Range(start=self.end, end=self.end), text, facts
        )


async def _test_file(session: Session, snapshot: DocumentSnapshot) -> _TestFile | str:
    """The test file for ``snapshot``'s document, or why tests cannot be written."""
    location = snapshot.location
    assert location is not None
    rel = sibling_test_path(location.rel)
    path = location.workspace.root / rel
    uri = path.as_uri()
    inside = session.workspaces.locate(uri)
    if inside is None or inside.workspace is not location.workspace:
        return OUTSIDE
    if await session.denial(uri) is not None:
        return f"MiniMax: the test file {rel} is ignored or secret; not written."
    python = (language_for_path(rel) or "") == "python"
    document = session.open_document(uri)
    if document is not None:
        # The open buffer (unsaved text, its version), under the client's own URI spelling.
        return _appended_to(rel, document.uri, document.version, document.source, snapshot, python)
    kind, text = await asyncio.to_thread(_read_small, path, session.settings.maxFileBytes)
    if kind == "missing":
        facts = EditFacts.from_capabilities(session.server.client_capabilities)
        if not facts.create_files:
            return f"MiniMax: the editor cannot create files, and {rel} does not exist."
        return _TestFile(rel, uri, False, None, types.Position(line=0, character=0), True, python)
    if kind != "file":
        return f"MiniMax: cannot append tests to {rel} ({kind})."
    return _appended_to(rel, uri, None, text, snapshot, python)


def _appended_to(
    rel: str, uri: str, version: int | None, text: str, snapshot: DocumentSnapshot, python: bool
) -> _TestFile:
    """An existing test file holding ``text``: the tests go at its end."""
    ends_with_newline = text.endswith(("\n", "\r")) or not text
    return _TestFile(
        rel, uri, True, version, _end_position(text, snapshot), ends_with_newline, python
    )


def _read_small(path: Path, limit: int) -> tuple[str, str]:
    """(``file``/``missing``/a reason, text) of a file we may append to."""
    try:
        if not path.exists():
            return "missing", ""
        if not path.is_file():
            return "not a file", ""
        if path.stat().st_size > limit:
            return "too large", ""
        return "file", path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text", ""
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}", ""
