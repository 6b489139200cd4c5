"""Edit prompts and answer parsing: exactly the replacement code, re-indented, secrets kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from minimax_lsp.indexer.context import Manifest, Span
from minimax_lsp.server.model import TextBlock
from minimax_lsp.server.prompts.edit import (
    DiagnosticNote,
    EditParseError,
    EditSpec,
    build_edit_request,
    extract_code,
    newline_of,
    reindent,
    replacement_text,
    restore_redacted,
    sibling_test_path,
    system_prompt,
)

METHOD = "    def total(self):\n        return sum(self.items)\n"
NEW_BODY = (
    "def total(self):\n    result = 0\n    for item in self.items:\n"
    "        result += item\n    return result"
)
EXPECTED = (
    "    def total(self):\n"
    "        result = 0\n"
    "        for item in self.items:\n"
    "            result += item\n"
    "        return result\n"
)


# --------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "answer",
    [
        f"<replacement>\n{NEW_BODY}\n</replacement>",
        f"Sure! Here is the refactored method:\n\n<replacement>\n{NEW_BODY}\n</replacement>\n\n"
        "It avoids the builtin so the loop is explicit.",
        f"<replacement>\n```python\n{NEW_BODY}\n```\n</replacement>",
        f"Here you go:\n\n```python\n{NEW_BODY}\n```\n\nThis is clearer.",
        f"```\n{NEW_BODY}\n```",
        f"~~~py\n{NEW_BODY}\n~~~",
        f"<replacement>\n\n{NEW_BODY}\n\n\n</replacement>",
        f"<think>I should keep the name.</think>\n<replacement>\n{NEW_BODY}\n</replacement>",
        f"<REPLACEMENT>\r\n{NEW_BODY.replace(chr(10), chr(13) + chr(10))}\r\n</REPLACEMENT>",
        # Cut off before the closing tag / fence: the rest is the code.
        f"<replacement>\n{NEW_BODY}\n",
        f"```python\n{NEW_BODY}\n",
    ],
    ids=[
        "tags",
        "tags-with-prose",
        "fence-in-tags",
        "fence-with-prose",
        "bare-fence",
        "tilde-fence",
        "blank-edges",
        "leaked-think",
        "crlf-upper-tags",
        "unclosed-tag",
        "unclosed-fence",
    ],
)
def test_extract_code_from_every_shape(answer: str) -> None:
    assert extract_code(answer) == NEW_BODY


def test_extract_keeps_fences_that_are_part_of_the_code() -> None:
    # Inside tags, a fence that is not the whole body belongs to the code (a docstring).
    code = 'def doc():\n    """Example:\n\n    ```\n    doc()\n    ```\n    """'
    assert extract_code(f"<replacement>\n{code}\n</replacement>") == code


def test_extract_takes_the_first_block_and_trims_trailing_spaces() -> None:
    answer = "```py\nx = 1   \n```\nor alternatively\n```py\nx = 2\n```"
    assert extract_code(answer) == "x = 1"


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   \n\n",
        "<replacement>\n\n</replacement>",
        "```python\n```",
        # Neither tags nor a code block: prose, never written into a file.
        "I cannot improve this code.",
        f"\n\n{NEW_BODY}\n",
    ],
)
def test_extract_refuses_answers_without_code(answer: str) -> None:
    with pytest.raises(EditParseError, match="no code"):
        extract_code(answer)


# --------------------------------------------------------------------------- indentation


def test_reindent_rebases_a_dedented_answer() -> None:
    assert reindent(NEW_BODY, METHOD) + "\n" == EXPECTED


def test_reindent_keeps_an_answer_already_at_file_indentation() -> None:
    assert reindent(EXPECTED.rstrip("\n"), METHOD) + "\n" == EXPECTED


def test_reindent_fixes_a_first_line_that_lost_its_indentation() -> None:
    lost = "def total(self):\n        return sum(self.items)"
    assert reindent(lost, METHOD) == METHOD.rstrip("\n")


def test_reindent_uses_the_least_indented_line_and_empties_blank_lines() -> None:
    original = "        x = 1\n    return x\n"
    answer = "    x = 2\n  \nreturn x"
    assert reindent(answer, original) == "        x = 2\n\n    return x"


def test_reindent_with_tabs() -> None:
    assert reindent("if a:\n\tb()", "\tif x:\n\t\ty()\n") == "\tif a:\n\t\tb()"


# --------------------------------------------------------------------------- the whole text


def test_replacement_text_in_a_crlf_document() -> None:
    original = METHOD.replace("\n", "\r\n")
    text = replacement_text(f"<replacement>\n{NEW_BODY}\n</replacement>", original, newline="\r\n")
    assert text == EXPECTED.replace("\n", "\r\n")
    assert "\n" not in text.replace("\r\n", "")


def test_replacement_text_without_final_newline_at_end_of_file() -> None:
    text = replacement_text("```\nx = 2\n```", "x = 1", final_newline=False)
    assert text == "x = 2"


def test_replacement_text_for_a_new_file_is_not_reindented() -> None:
    tests = "import pytest\n\n\ndef test_total():\n    assert True"
    answer = f"<replacement>\n{tests}\n</replacement>"
    assert replacement_text(answer, METHOD, indent=False) == tests + "\n"


def test_newline_of() -> None:
    assert newline_of("a\r\nb\n") == "\r\n"
    assert newline_of("a\nb\r\n") == "\n"
    assert newline_of("single line") == "\n"


# --------------------------------------------------------------------------- secrets

SECRET_LINE = '    API_KEY = "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678"\n'
SELECTION = f"def connect():\n{SECRET_LINE}    return open_client(API_KEY)\n"


def _sent_selection(spec: EditSpec) -> str:
    request = build_edit_request(_manifest(), spec)
    return "".join(b.text for b in request.messages[0].content if isinstance(b, TextBlock))


def test_selection_is_redacted_before_it_is_sent() -> None:
    spec = EditSpec("refactor", "app/main.py", 1, 3, SELECTION)
    sent = _sent_selection(spec)
    assert "sk-proj-Abc123" not in sent
    assert "[REDACTED:" in sent


def test_a_kept_redacted_line_gets_its_secret_back() -> None:
    spec = EditSpec("refactor", "app/main.py", 1, 3, SELECTION)
    sent = _sent_selection(spec)
    redacted_line = next(line for line in sent.splitlines() if "[REDACTED:" in line)
    answer = (
        f"<replacement>\ndef connect() -> Client:\n{redacted_line.strip()}\n"
        "    return open_client(API_KEY)\n</replacement>"
    )
    # The model dedented the whole body by one level: indentation is re-based, the
    # secret comes back verbatim.
    text = replacement_text(answer.replace("\n    return", "\nreturn"), SELECTION)
    assert text == f"def connect() -> Client:\n{SECRET_LINE.strip()}\nreturn open_client(API_KEY)\n"
    assert restore_redacted("x = 1", SELECTION) == "x = 1"


def test_a_changed_redacted_line_is_refused() -> None:
    answer = '<replacement>\nAPI_KEY = "[REDACTED:openai-key]"  # moved\n</replacement>'
    with pytest.raises(EditParseError, match="redacted secret"):
        replacement_text(answer, SELECTION)


# --------------------------------------------------------------------------- the prompt


def _manifest() -> Manifest:
    repo = Span("pkg/util.py", 1, 2, "full", 10, "imported", "def helper(x):\n    return x\n")
    current = Span("app/main.py", 1, 3, "full", 20, "current file", "import pkg\n\nrun()\n")
    return Manifest("refactor", 1000, 30, (repo, current), 3)


def _body(spec: EditSpec) -> dict[str, Any]:
    request = build_edit_request(_manifest(), spec, model="MiniMax-M3", max_tokens=2048)
    assert request.thinking == "adaptive"
    assert request.trigger == "explicit"
    assert request.max_tokens == 2048
    blocks = request.messages[0].content
    return {
        "system": request.system[0].text,
        "blocks": [b.text for b in blocks if isinstance(b, TextBlock)],
        "cached": [b.text for b in blocks if isinstance(b, TextBlock) and b.cache],
    }


def test_prompt_layout_and_answer_format() -> None:
    spec = EditSpec("refactor", "app/main.py", 3, 3, "run()\n", instruction="use a loop")
    body = _body(spec)
    assert "<replacement>" in body["system"]
    assert body["blocks"][0].startswith("<repository>")
    assert body["cached"] == [body["blocks"][0]]  # the stable part ends in a breakpoint
    assert body["blocks"][1].startswith("<current_file>")
    assert body["blocks"][2] == '<selection path="app/main.py" lines="3-3">\nrun()\n</selection>\n'
    assert "Instruction: use a loop" in body["blocks"][-1]
    assert "lines 3-3" in body["blocks"][-1]
    # Deterministic: equal inputs, equal requests.
    assert json.dumps(_body(spec)) == json.dumps(body)


def test_fix_prompt_lists_the_diagnostics() -> None:
    note = DiagnosticNote(3, "name  'run'\nis not defined", "error", "pyright", "reportX")
    body = _body(EditSpec("fix", "app/main.py", 3, 3, "run()\n", diagnostics=(note,)))
    assert (
        "<diagnostics>\nline 3: error [pyright reportX]: name 'run' is not defined\n"
        "</diagnostics>\n" in body["blocks"]
    )
    assert "Fix the diagnostics above" in body["blocks"][-1]


def test_tests_prompt_names_the_test_file() -> None:
    spec = EditSpec(
        "tests", "app/main.py", 1, 3, "import pkg\n\nrun()\n", test_path="app/test_main.py"
    )
    body = _body(spec)
    assert "`app/test_main.py`" in body["blocks"][-1]
    assert "complete contents of the new test file" in body["blocks"][-1]
    appended = EditSpec(
        "tests", "app/main.py", 1, 1, "x\n", test_path="app/test_main.py", test_file_exists=True
    )
    assert "append" in _body(appended)["blocks"][-1]


def test_system_prompts_differ_per_kind_and_reject_unknown() -> None:
    prompts = {
        kind: system_prompt(kind)[0].text for kind in ("refactor", "fix", "docstring", "tests")
    }
    assert len(set(prompts.values())) == 4
    with pytest.raises(ValueError):
        system_prompt("explain")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explain"}, "kind must be"),
        ({"start_line": 0}, "1-based"),
        ({"start_line": 4, "end_line": 2}, "1-based"),
        ({"kind": "tests"}, "test file"),
    ],
)
def test_edit_spec_validation(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "kind": "refactor",
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "text": "x\n",
    }
    with pytest.raises(ValueError, match=message):
        EditSpec(**{**base, **kwargs})


# --------------------------------------------------------------------------- test files


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("pkg/util.py", "pkg/test_util.py"),
        ("main.py", "test_main.py"),
        ("src/app.ts", "src/app.test.ts"),
        ("web/view.jsx", "web/view.test.jsx"),
        ("cmd/serve.go", "cmd/serve_test.go"),
        ("lib/parser.rb", "lib/parser_test.rb"),
        ("src/com/acme/Widget.java", "src/com/acme/WidgetTest.java"),
        ("lua/plugin/init.lua", "lua/plugin/init_spec.lua"),
        ("src/vec.c", "src/test_vec.c"),
    ],
)
def test_sibling_test_path(source: str, expected: str) -> None:
    assert sibling_test_path(source) == expected


def test_sibling_test_path_needs_a_file_name() -> None:
    with pytest.raises(ValueError):
        sibling_test_path("pkg/")
