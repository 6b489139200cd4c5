"""Edit prompts (refactor, fix, docstring, tests) and turning the answer into code.

Pure functions, no I/O. Used by the code actions and ``minimax.refactor``.

Prompt layout (same cache-friendly order as `minimax_lsp.server.prompts.chat`)::

    system  [role, the task, the context format, the answer format]   <- breakpoint (auto)
    user    [<repository>…</repository>]                              <- breakpoint
            [<current_file>…</current_file>]
            [<selection path lines>…</selection>]   the live lines to rewrite (redacted)
            [<diagnostics>…</diagnostics>]           fix only
            [the instruction]                                         <- breakpoint (auto)

The model is asked to answer with the complete replacement of the selected lines (for
``tests``: the test code) between ``<replacement>`` and ``</replacement>`` tags.

Answer contract (`replacement_text`)
------------------------------------
1. **Extract** (`extract_code`): leaked ``<think>…</think>`` blocks are dropped; the text
   between the first ``<replacement>`` and the next ``</replacement>`` is taken (to the
   end when the closing tag is missing); inside the tags a body that is one fenced block
   is unwrapped. Without tags, the first fenced block is taken (prose around it is
   dropped). An answer with neither is prose (a refusal, a question) and an
   `EditParseError`, as is one with nothing but blank lines in its block. Leading and
   trailing blank lines and trailing spaces go; line breaks become ``\\n``. A unified
   diff is not replacement code: a block fenced as ``diff`` / ``patch``, or code that
   begins like a patch (``---`` / ``+++`` / ``diff --git`` / ``@@``) and holds a hunk
   header ``@@ -a,b +c,d @@`` or a ``---`` / ``+++`` file-header pair, is an
   `EditParseError` too: its headers may name any path, and written verbatim it would
   put diff markers into the document.
2. **Secrets** (`restore_redacted`): the selection was sent redacted. A line of the
   answer holding a ``[REDACTED:…]`` placeholder gets its original text back when it
   matches a redacted line of the selection (indentation aside); any other placeholder
   is an `EditParseError`, so an edit never writes a placeholder over a secret.
3. **Indentation** (`reindent`): the answer is dedented and re-based on the selection's
   base indentation (its least-indented non-blank line). One special case: when only
   the answer's first line lost its indentation and the other lines kept the file's,
   only the first line is fixed.
4. **Line breaks**: joined with the document's line break, ending with one when the
   selected lines did.

Test files (`sibling_test_path`): next to the source, named the way the language's common
test runner finds them (``test_x.py``, ``x.test.ts``, ``x_test.go``, ``XTest.java``, …).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from minimax_lsp.indexer.context import Manifest
from minimax_lsp.indexer.redact import redact
from minimax_lsp.server.model import Message, ModelRequest, SystemBlock, TextBlock
from minimax_lsp.server.prompts.layout import (
    FORMAT_NOTE,
    SelectionText,
    render_current_file,
    render_repository,
    render_selection,
    split_manifest,
)

__all__ = [
    "EDIT_KINDS",
    "DiagnosticNote",
    "EditKind",
    "EditParseError",
    "EditSpec",
    "build_edit_request",
    "extract_code",
    "newline_of",
    "reindent",
    "replacement_text",
    "restore_redacted",
    "sibling_test_path",
    "system_prompt",
]

EditKind = Literal["refactor", "fix", "docstring", "tests"]
EDIT_KINDS: Final[tuple[str, ...]] = get_args(EditKind)
ThinkingMode = Literal["disabled", "adaptive"]

OPEN_TAG: Final = "<replacement>"
CLOSE_TAG: Final = "</replacement>"

_ROLE = (
    "You are MiniMax, a coding assistant working inside the user's editor on their "
    "repository. You edit code: your answer is applied to the file as it is."
)
_TASKS: Final[dict[str, str]] = {
    "refactor": (
        "Rewrite the selected code as the user instructs; without an instruction, make it "
        "clearer and simpler. Keep its behaviour, its public names and signatures unless "
        "the instruction says otherwise, and keep the code around it working."
    ),
    "fix": (
        "Fix the problems the diagnostics report in the selected code, changing as little "
        "as possible and keeping the code around it working."
    ),
    "docstring": (
        "Add documentation to the definitions in the selected code: a docstring, or the "
        "language's documentation comment, in the style the repository already uses. "
        "Describe what the code does, its parameters, return value and errors. Change "
        "nothing else."
    ),
    "tests": (
        "Write unit tests for the selected code with the test framework and conventions "
        "the repository already uses (for Python, pytest when unsure). Cover the normal "
        "cases and the edge cases; import the code under test from its module."
    ),
}
_REPLACE_FORMAT = (
    "Answer with the complete new text of the selected lines and nothing else, between "
    f"{OPEN_TAG} and {CLOSE_TAG}: every selected line rewritten or kept, indented as in "
    "the file. No explanation, no line numbers, no Markdown fences. Keep every "
    "`[REDACTED:…]` value exactly as it is."
)
_TESTS_FORMAT = (
    f"Answer with the test code only, between {OPEN_TAG} and {CLOSE_TAG}. No "
    "explanation, no Markdown fences. Never write a `[REDACTED:…]` value into a test."
)

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN = re.compile(r"<replacement(?:\s[^>]*)?>", re.IGNORECASE)
_CLOSE = re.compile(r"</replacement\s*>", re.IGNORECASE)
_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.MULTILINE)
#: Fence info strings that announce a patch rather than code.
_DIFF_LANGUAGES: Final = frozenset({"diff", "patch", "udiff", "gitdiff"})
#: A unified-diff hunk header: ``@@ -12,3 +12,4 @@`` (counts optional).
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@", re.MULTILINE)
#: ``--- a/x`` immediately followed by ``+++ b/x``: a file-header pair.
_FILE_HEADERS = re.compile(r"^--- \S.*\n\+\+\+ \S", re.MULTILINE)
#: How a patch begins: a file header, a git header or a hunk header.
_DIFF_START = re.compile(r"(?:--- \S|\+\+\+ \S|diff --git |Index: \S|@@ -\d)")
_PLACEHOLDER = "[REDACTED:"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class EditParseError(ValueError):
    """The model's answer holds no usable code (the message says why, in one sentence)."""


@dataclass(frozen=True, slots=True)
class DiagnosticNote:
    """One diagnostic shown to the model for a fix.

    Parameters
    ----------
    line:
        1-based line where it starts.
    message:
        The diagnostic's message.
    severity, source, code:
        As the editor reported them (``""`` when absent).
    """

    line: int
    message: str
    severity: str = ""
    source: str = ""
    code: str = ""

    def render(self) -> str:
        """``line 12: error [pyright reportX]: message`` on one line."""
        origin = " ".join(part for part in (self.source, self.code) if part)
        head = f"line {self.line}"
        if self.severity:
            head += f": {self.severity}"
        if origin:
            head += f" [{origin}]"
        return f"{head}: {' '.join(self.message.split())}"


@dataclass(frozen=True, slots=True)
class EditSpec:
    """What the model is asked to do.

    Parameters
    ----------
    kind:
        ``refactor``, ``fix``, ``docstring`` or ``tests``.
    path:
        Workspace-relative path of the current file.
    start_line, end_line:
        1-based inclusive range of the selected lines.
    text:
        The selected lines as they are in the editor (any line breaks; not yet redacted:
        `build_edit_request` redacts them).
    instruction:
        The user's instruction (refactor), or ``""``.
    diagnostics:
        Diagnostics in the selection (fix).
    language:
        Language tag for the model's orientation (``python``), or ``""``.
    test_path:
        Workspace-relative path of the test file (tests only).
    test_file_exists:
        The test file exists already: the answer is appended to it.
    """

    kind: EditKind
    path: str
    start_line: int
    end_line: int
    text: str
    instruction: str = ""
    diagnostics: tuple[DiagnosticNote, ...] = ()
    language: str = ""
    test_path: str | None = None
    test_file_exists: bool = False

    def __post_init__(self) -> None:
        if self.kind not in EDIT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(EDIT_KINDS)}, not {self.kind!r}")
        if not 1 <= self.start_line <= self.end_line:
            raise ValueError(
                f"selection must be a 1-based line range A-B with A <= B: "
                f"{self.start_line}-{self.end_line}"
            )
        if self.kind == "tests" and not self.test_path:
            raise ValueError("a tests edit needs the test file's path")


# --------------------------------------------------------------------------- prompt


def system_prompt(kind: EditKind) -> tuple[SystemBlock, ...]:
    """The system prompt of an edit kind (constant per kind: always a cache hit)."""
    if kind not in _TASKS:
        raise ValueError(f"kind must be one of {', '.join(EDIT_KINDS)}, not {kind!r}")
    answer = _TESTS_FORMAT if kind == "tests" else _REPLACE_FORMAT
    return (SystemBlock(f"{_ROLE} {_TASKS[kind]}\n\n{FORMAT_NOTE}\n\n{answer}"),)


def _lf(text: str) -> str:
    return _LINE_BREAK.sub("\n", text)


def _diagnostics_block(notes: Sequence[DiagnosticNote]) -> str:
    if not notes:
        return ""
    lines = "".join(redact(note.render()).text + "\n" for note in notes)
    return f"<diagnostics>\n{lines}</diagnostics>\n"


def _ask(spec: EditSpec) -> str:
    where = f"lines {spec.start_line}-{spec.end_line} of `{spec.path}`"
    language = f" ({spec.language})" if spec.language else ""
    if spec.kind == "tests":
        if spec.test_file_exists:
            target = (
                f"The test file `{spec.test_path}` exists already: answer with new tests to "
                "append to it, with the imports they need."
            )
        else:
            target = f"Answer with the complete contents of the new test file `{spec.test_path}`."
        ask = f"Write tests for the selected code ({where}){language}. {target}"
    elif spec.kind == "fix" and spec.diagnostics:
        ask = f"Fix the diagnostics above in the selected code ({where}){language}."
    elif spec.kind == "fix":
        ask = f"Fix the bugs in the selected code ({where}){language}."
    elif spec.kind == "docstring":
        ask = f"Add documentation to the selected code ({where}){language}."
    else:
        ask = f"Refactor the selected code ({where}){language}."
    instruction = spec.instruction.strip()
    if instruction:
        ask += f"\n\nInstruction: {instruction}"
    if spec.kind == "tests":
        what = "the test code"
    else:
        what = f"the new text of lines {spec.start_line}-{spec.end_line}"
    return f"{ask}\n\nReply with {what} between {OPEN_TAG} and {CLOSE_TAG}, nothing else."


def build_edit_request(
    manifest: Manifest,
    spec: EditSpec,
    *,
    model: str | None = None,
    max_tokens: int = 16_384,
    thinking: ThinkingMode = "adaptive",
) -> ModelRequest:
    """Build the model request for one edit (layout: module docstring).

    Parameters
    ----------
    manifest:
        The packed context (task ``refactor``); its trailing spans of ``spec.path`` are
        the current file.
    spec:
        What to do and the live selected lines (redacted here before they are sent).
    model, max_tokens, thinking:
        Passed to the `ModelRequest` (``None`` model: the client's default).
    """
    stable, volatile = split_manifest(manifest, spec.path)
    repository = render_repository(stable)
    selected = redact(_lf(spec.text)).text
    blocks: list[TextBlock] = []
    if repository:
        blocks.append(TextBlock(repository, cache=True))
    current = render_current_file(volatile)
    if current:
        blocks.append(TextBlock(current))
    selection = SelectionText(spec.path, spec.start_line, spec.end_line, selected)
    blocks.append(TextBlock(render_selection(selection)))
    notes = _diagnostics_block(spec.diagnostics)
    if notes:
        blocks.append(TextBlock(notes))
    blocks.append(TextBlock(_ask(spec)))
    return ModelRequest(
        messages=(Message("user", tuple(blocks)),),
        system=system_prompt(spec.kind),
        model=model,
        max_tokens=max_tokens,
        thinking=thinking,
        trigger="explicit",
    )


# --------------------------------------------------------------------------- parsing


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _fenced(body: str, *, whole: bool) -> tuple[str, str] | None:
    """``(info string, content)`` of the first fenced block of ``body`` (or None).

    ``whole``: only when the block is all of ``body`` (blank lines aside). A fence that
    is never closed runs to the end (a cut-off answer).
    """
    lines = body.split("\n")
    kept = _strip_blank_edges(lines) if whole else lines
    for i, line in enumerate(kept):
        opening = _FENCE_OPEN.fullmatch(line)
        if opening is None:
            if whole:
                return None
            continue
        fence, info = opening.group("fence"), opening.group("info").strip()
        for j in range(i + 1, len(kept)):
            closing = kept[j].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                if whole and any(rest.strip() for rest in kept[j + 1 :]):
                    return None
                return info, "\n".join(kept[i + 1 : j])
        return info, "\n".join(kept[i + 1 :])
    return None


def _is_diff(info: str, code: str) -> bool:
    """Whether a block is a patch: fenced as one, or shaped like a unified diff.

    Unfenced, the code must *begin* like a patch and hold a hunk header or a file-header
    pair: a test module with a diff in a string constant is still code.
    """
    words = info.split()
    if words and words[0].lower() in _DIFF_LANGUAGES:
        return True
    first = next((line for line in code.split("\n") if line.strip()), "")
    if _DIFF_START.match(first) is None:
        return False
    return _HUNK.search(code) is not None or _FILE_HEADERS.search(code) is not None


def extract_code(answer: str) -> str:
    """The code in a model answer (step 1 of the module docstring), ``\\n`` line breaks.

    Raises
    ------
    EditParseError
        Nothing but blank lines (or nothing at all) is left.
    """
    text = _THINK.sub("", _lf(answer))
    opening = _OPEN.search(text)
    if opening is not None:
        rest = text[opening.end() :]
        closing = _CLOSE.search(rest)
        body = rest[: closing.start()] if closing else rest
        unwrapped = _fenced(body, whole=True)
        info, code = ("", body) if unwrapped is None else unwrapped
    else:
        fenced = _fenced(text, whole=False)
        if fenced is None:
            # Asked for tags, the model gave neither tags nor a code block: this is
            # prose (a refusal, a question), never something to write into a file.
            raise EditParseError("The model's answer holds no code block.")
        info, code = fenced
    if _is_diff(info, code):
        # A patch is not the replacement text: written as is, it would put diff
        # markers (and whatever paths its headers name) into the document.
        raise EditParseError(
            "The model's answer holds a diff, not replacement code; nothing was applied."
        )
    lines = [line.rstrip() for line in _strip_blank_edges(code.split("\n"))]
    if not lines:
        raise EditParseError("The model's answer holds no code.")
    return "\n".join(lines)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _base_indent(lines: Sequence[str]) -> str:
    """The indentation of the least-indented non-blank line (``""`` when none)."""
    indents = [_indent_of(line) for line in lines if line.strip()]
    return min(indents, key=len) if indents else ""


def _common_indent(lines: Sequence[str]) -> str:
    """The longest whitespace prefix shared by every non-blank line."""
    indents = [_indent_of(line) for line in lines if line.strip()]
    if not indents:
        return ""
    prefix = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def reindent(code: str, original: str) -> str:
    """Re-base ``code`` on the indentation of ``original`` (step 3 of the module docstring).

    Parameters
    ----------
    code:
        The extracted answer (``\\n`` line breaks).
    original:
        The selected lines as they are in the file.
    """
    lines = code.split("\n")
    source = [line for line in _lf(original).split("\n") if line.strip()]
    base = _base_indent(source)
    if len(lines) > 1 and source and lines[0].strip():
        first_source = _indent_of(source[0])
        rest_code = _common_indent(lines[1:])
        if (
            not _indent_of(lines[0])
            and first_source
            and rest_code
            and rest_code == _common_indent(source[1:])
        ):
            # Only the first line lost its indentation (copied from a quote that started
            # mid-line); the others are already where the file has them.
            return "\n".join([first_source + lines[0], *lines[1:]])
    common = _common_indent(lines)
    out = []
    for line in lines:
        if not line.strip():
            out.append("")
        else:
            out.append(base + line[len(common) :])
    return "\n".join(out)


def restore_redacted(code: str, original: str) -> str:
    """Put back the secrets of ``original`` that the answer kept as placeholders.

    Raises
    ------
    EditParseError
        A placeholder that cannot be traced to an unchanged line of ``original``.
    """
    if _PLACEHOLDER not in code:
        return code
    source = _lf(original).split("\n")
    redacted = redact("\n".join(source)).text.split("\n")
    originals: dict[str, str] = {}
    for before, after in zip(source, redacted, strict=False):
        if before != after:
            originals.setdefault(after.strip(), before.strip())
    out = []
    for line in code.split("\n"):
        if _PLACEHOLDER in line:
            restored = originals.get(line.strip())
            if restored is None:
                raise EditParseError(
                    "The answer changed a line holding a redacted secret; applying it would "
                    "lose the secret, so it was not applied."
                )
            line = _indent_of(line) + restored
        out.append(line)
    return "\n".join(out)


def newline_of(text: str) -> str:
    """The line break ``text`` uses (its first one; ``\\n`` when it has none)."""
    match = _LINE_BREAK.search(text)
    return match.group(0) if match else "\n"


def replacement_text(
    answer: str,
    original: str,
    *,
    newline: str = "\n",
    final_newline: bool = True,
    indent: bool = True,
) -> str:
    """The exact text to write for a model answer (steps 1-4 of the module docstring).

    Parameters
    ----------
    answer:
        The model's answer text (thinking excluded).
    original:
        The selected lines as they are in the file (secrets, indentation).
    newline:
        The document's line break.
    final_newline:
        End with a line break (the replaced lines ended with one).
    indent:
        Re-base the indentation on ``original`` (False for a new test file).

    Raises
    ------
    EditParseError
        No code in the answer, or a placeholder that would overwrite a secret.
    """
    code = restore_redacted(extract_code(answer), original)
    if indent:
        code = reindent(code, original)
    text = code.replace("\n", newline)
    return text + newline if final_newline else text


# --------------------------------------------------------------------------- test files

_SUFFIX_STYLE: Final[dict[str, str]] = {
    ".js": "dot",
    ".jsx": "dot",
    ".mjs": "dot",
    ".cjs": "dot",
    ".ts": "dot",
    ".tsx": "dot",
    ".mts": "dot",
    ".cts": "dot",
    ".go": "underscore",
    ".rb": "underscore",
    ".rs": "underscore",
    ".ex": "underscore",
    ".exs": "underscore",
    ".lua": "spec",
    ".java": "pascal",
    ".kt": "pascal",
    ".scala": "pascal",
    ".cs": "pascal",
    ".swift": "pascal",
    ".php": "pascal",
}


def sibling_test_path(rel_path: str) -> str:
    """Where the tests for ``rel_path`` go: a sibling file the usual runner finds.

    ``pkg/util.py`` -> ``pkg/test_util.py``; ``src/a.ts`` -> ``src/a.test.ts``;
    ``x.go`` -> ``x_test.go``; ``Foo.java`` -> ``FooTest.java``; ``m.lua`` ->
    ``m_spec.lua``; anything else -> ``test_<name>``.
    """
    folder, name = posixpath.split(rel_path.replace("\\", "/"))
    if not name:
        raise ValueError(f"not a file path: {rel_path!r}")
    stem, ext = posixpath.splitext(name)
    style = _SUFFIX_STYLE.get(ext.lower(), "prefix")
    if style == "dot":
        test = f"{stem}.test{ext}"
    elif style == "underscore":
        test = f"{stem}_test{ext}"
    elif style == "spec":
        test = f"{stem}_spec{ext}"
    elif style == "pascal":
        test = f"{stem[:1].upper()}{stem[1:]}Test{ext}"
    else:
        test = f"test_{stem}{ext}"
    return posixpath.join(folder, test) if folder else test
