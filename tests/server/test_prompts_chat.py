"""Chat/explain prompt builders: layout order, cache breakpoints, determinism, multi-turn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from minimax_lsp.indexer.context import Manifest, Span
from minimax_lsp.server.model import (
    ContextOverflow,
    Message,
    ModelRequest,
    ModelResult,
    TextBlock,
    ThinkingBlock,
    Usage,
    model_info,
)
from minimax_lsp.server.model.wire_anthropic import AnthropicWire
from minimax_lsp.server.prompts.chat import (
    auto_budget,
    build_chat_request,
    overflow_budget,
    system_prompt,
)
from minimax_lsp.server.prompts.layout import (
    FORMAT_NOTE,
    render_span,
    selection_text,
    split_manifest,
)

OUTLINE = Span("pkg/outline.py", 1, 40, "outline", 12, "repository outline", "def a(): ...\n")
HELPERS = Span(
    "pkg/helpers.py", 1, 3, "full", 20, "defines `helper`", "def helper(x):\n    return x\n\n"
)
CURRENT_TEXT = "import pkg.helpers\n\ndef main():\n    value = helper(1)\n    return value\n"
CURRENT = Span("app/main.py", 1, 5, "full", 30, "current file", CURRENT_TEXT)


def manifest(*items: Span, task: Any = "chat") -> Manifest:
    return Manifest(
        task=task,
        budget=1000,
        tokens=sum(s.tokens for s in items),
        items=tuple(items),
        index_version=7,
    )


def wire_body(request: ModelRequest) -> dict[str, Any]:
    """What the Anthropic endpoint receives (cache breakpoints included)."""
    return AnthropicWire().body(request, model_info("MiniMax-M3"), request.max_tokens)


def cached_texts(body: dict[str, Any]) -> list[str]:
    found = [b["text"] for b in body.get("system", []) if "cache_control" in b]
    for message in body["messages"]:
        found += [b["text"] for b in message["content"] if "cache_control" in b]
    return found


def without_markers(value: Any) -> Any:
    """``value`` with every ``cache_control`` key removed."""
    if isinstance(value, dict):
        return {k: without_markers(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_markers(v) for v in value]
    return value


# --------------------------------------------------------------------------- layout


def test_a_span_renders_as_a_file_element_with_escaped_attributes_and_closing_tags() -> None:
    span = Span('we"ird<&>.py', 10, 12, "snippet", 5, "r", "x = '</file>'\ny = 2")
    assert render_span(span) == (
        '<file path="we&quot;ird&lt;&amp;&gt;.py" lines="10-12" mode="snippet">\n'
        "x = '<\\/file>'\ny = 2\n"
        "</file>\n"
    )
    assert "<\\/file>" in FORMAT_NOTE  # the model is told about the escape


def test_split_manifest_takes_the_trailing_spans_of_the_current_file_as_volatile() -> None:
    other_part = Span("app/main.py", 1, 2, "outline", 3, "r", "def main(): ...\n")
    m = manifest(other_part, OUTLINE, HELPERS, CURRENT)
    assert split_manifest(m, "app/main.py") == ((other_part, OUTLINE, HELPERS), (CURRENT,))
    assert split_manifest(m, None) == (m.items, ())
    assert split_manifest(m, "elsewhere.py") == (m.items, ())


def test_selection_text_is_cut_from_the_manifest_and_clipped_to_what_it_carries() -> None:
    window = Span("a.py", 10, 13, "snippet", 9, "current file", "l10\nl11\fstill 11\nl12\nl13")
    chosen = selection_text([window], "a.py", (11, 12))
    assert chosen is not None
    # Only \n separates lines (a form feed does not), as in the index's line numbers.
    assert (chosen.start_line, chosen.end_line, chosen.text) == (11, 12, "l11\fstill 11\nl12\n")
    clipped = selection_text([window], "a.py", (12, 99))
    assert clipped is not None and (clipped.start_line, clipped.end_line) == (12, 13)
    assert selection_text([window], "a.py", (1, 5)) is None
    outline = Span("a.py", 1, 50, "outline", 9, "r", "def f(): ...\n")
    assert selection_text([outline], "a.py", (1, 2)) is None


def test_chat_layout_puts_stable_material_first_and_the_question_last() -> None:
    request = build_chat_request(
        manifest(OUTLINE, HELPERS, CURRENT), "Where is `helper` used?", current_path="app/main.py"
    )
    assert request.thinking == "adaptive" and request.trigger == "explicit"
    assert [b.text for b in request.system] == [s.text for s in system_prompt("chat")]
    (user,) = request.messages
    texts = [b.text for b in user.content]
    assert len(texts) == 3
    repository, current, question = texts
    assert repository.startswith("<repository>\n") and repository.endswith("</repository>\n")
    assert repository.index('path="pkg/outline.py"') < repository.index('path="pkg/helpers.py"')
    assert "app/main.py" not in repository
    assert current == f"<current_file>\n{render_span(CURRENT)}</current_file>\n"
    assert question == "Where is `helper` used?"
    assert user.content[0] == TextBlock(repository, cache=True)
    # The manifest's own count for the spans, plus an estimate of the rest.
    assert request.input_tokens_hint is not None
    assert request.input_tokens_hint > manifest(OUTLINE, HELPERS, CURRENT).tokens


def test_breakpoints_sit_after_the_system_prompt_the_repository_and_the_question() -> None:
    request = build_chat_request(
        manifest(OUTLINE, HELPERS, CURRENT), "why?", current_path="app/main.py"
    )
    body = wire_body(request)
    cached = cached_texts(body)
    assert cached == [body["system"][0]["text"], request.messages[0].content[0].text, "why?"]


def test_explain_puts_the_file_then_the_selection_then_the_instruction() -> None:
    m = manifest(OUTLINE, HELPERS, CURRENT, task="explain")
    request = build_chat_request(
        m, "Is the return needed?", current_path="app/main.py", selection=(3, 4)
    )
    assert "explained" in request.system[0].text
    blocks = [b.text for b in request.messages[-1].content]
    assert blocks[1].startswith("<current_file>")
    assert blocks[2] == (
        '<selection path="app/main.py" lines="3-4">\n'
        "def main():\n    value = helper(1)\n"
        "</selection>\n"
    )
    assert blocks[3] == (
        "Explain the selected code (`app/main.py`, lines 3-4) in the context of the "
        "repository.\n\nIs the return needed?"
    )
    # Without an instruction, and with a selection the manifest does not carry.
    bare = build_chat_request(m, "", current_path="app/main.py", selection=(40, 41))
    last = [b.text for b in bare.messages[-1].content]
    assert not any(t.startswith("<selection") for t in last)
    assert last[-1].startswith("Explain the selected code (`app/main.py`, lines 40-41)")


def test_an_empty_manifest_still_makes_a_valid_request() -> None:
    request = build_chat_request(manifest(), "hello?")
    assert [b.text for b in request.messages[0].content] == ["hello?"]
    assert cached_texts(wire_body(request))[-1] == "hello?"


# --------------------------------------------------------------------------- determinism


def test_equal_inputs_give_byte_identical_wire_bodies() -> None:
    def build() -> bytes:
        # Fresh, equal objects each time: nothing may depend on identity or ordering luck.
        spans = [
            Span(s.path, s.start_line, s.end_line, s.mode, s.tokens, s.reason, s.text)
            for s in (OUTLINE, HELPERS, CURRENT)
        ]
        history = (Message.user("first?"), Message.assistant("first answer"))
        request = build_chat_request(
            manifest(*spans), "second?", history=history, current_path="app/main.py"
        )
        return json.dumps(wire_body(request)).encode()

    assert build() == build()


def test_editing_the_current_file_keeps_the_cached_prefix_byte_identical() -> None:
    before = build_chat_request(
        manifest(OUTLINE, HELPERS, CURRENT), "q", current_path="app/main.py"
    )
    edited = Span("app/main.py", 1, 6, "full", 31, "current file", CURRENT_TEXT + "# edit\n")
    after = build_chat_request(manifest(OUTLINE, HELPERS, edited), "q", current_path="app/main.py")
    body_before, body_after = wire_body(before), wire_body(after)
    assert body_before["system"] == body_after["system"]
    assert body_before["messages"][0]["content"][0] == body_after["messages"][0]["content"][0]
    assert body_before["messages"][0]["content"][1] != body_after["messages"][0]["content"][1]


# --------------------------------------------------------------------------- multi-turn


def test_follow_up_keeps_the_repository_at_the_front_and_the_history_verbatim() -> None:
    m = manifest(OUTLINE, HELPERS, CURRENT)
    first = build_chat_request(m, "What is helper?", current_path="app/main.py")
    result = ModelResult(
        text="It returns x.",
        thinking="hm",
        usage=Usage(),
        stop_reason="end_turn",
        model="MiniMax-M3",
        thinking_blocks=(ThinkingBlock("hm", "sig"),),
    )
    history = (Message.user("What is helper?"), result.assistant_message())
    second = build_chat_request(m, "And main?", history=history, current_path="app/main.py")

    assert [msg.role for msg in second.messages] == ["user", "assistant", "user"]
    head, answer, final = second.messages
    assert [b.text for b in head.content] == [first.messages[0].content[0].text, "What is helper?"]
    assert answer.content == (ThinkingBlock("hm", "sig"), TextBlock("It returns x.", cache=True))
    assert [b.text for b in final.content] == [first.messages[0].content[1].text, "And main?"]

    body_first, body_second = wire_body(first), wire_body(second)
    # The cached prefix of the first turn (system + repository) is repeated byte for byte.
    assert body_first["system"] == body_second["system"]
    assert body_first["messages"][0]["content"][0] == body_second["messages"][0]["content"][0]
    # Four breakpoints, MiniMax's maximum: system, repository, last answer, question.
    assert cached_texts(body_second) == [
        body_second["system"][0]["text"],
        head.content[0].text,
        "It returns x.",
        "And main?",
    ]


def test_a_third_turn_re_reads_the_second_turns_prefix_up_to_the_last_answer() -> None:
    m = manifest(OUTLINE, HELPERS)
    turn_two = (Message.user("q1"), Message.assistant("a1"))
    turn_three = (*turn_two, Message.user("q2"), Message.assistant("a2"))
    second = wire_body(build_chat_request(m, "q2", history=turn_two))
    third = wire_body(build_chat_request(m, "q3", history=turn_three))
    # Everything the second turn cached up to its last answer is a prefix of the third
    # (breakpoint markers are not part of the cached content).
    assert second["messages"][1]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert without_markers(third["messages"][:2]) == without_markers(second["messages"][:2])
    assert cached_texts(third)[1:] == [third["messages"][0]["content"][0]["text"], "a2", "q3"]


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ((Message.assistant("a"),), "history message 0 must be a user turn"),
        ((Message.user("q"),), "history must end with an assistant turn"),
        ((Message.user("q"), Message.user("q")), "history message 1 must be a assistant turn"),
    ],
)
def test_malformed_history_is_refused(history: tuple[Message, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_chat_request(manifest(HELPERS), "q", history=history)


def test_bad_input_is_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="question is empty"):
        build_chat_request(manifest(HELPERS), "   ")
    with pytest.raises(ValueError, match="explain needs the path"):
        build_chat_request(manifest(HELPERS, task="explain"), "")
    with pytest.raises(ValueError, match="task must be 'chat' or 'explain'"):
        build_chat_request(manifest(HELPERS, task="complete"), "q")
    with pytest.raises(ValueError, match="selection"):
        build_chat_request(manifest(CURRENT), "q", current_path="app/main.py", selection=(5, 2))


# --------------------------------------------------------------------------- budgets


def test_auto_budget_leaves_room_for_the_answer_and_a_reserve() -> None:
    budget = auto_budget(1_000_000, 16_384)
    assert budget == 1_000_000 - 16_384 - 4096 - 30_000
    assert auto_budget(1_000_000, 16_384, question="x" * 300) == budget - 100
    history = (Message.user("y" * 30), Message.assistant("z" * 30))
    assert auto_budget(1_000_000, 16_384, history=history) == budget - 28
    assert auto_budget(8000, 8000) == 0


def test_overflow_budget_drops_the_known_excess_or_halves() -> None:
    known = ContextOverflow(
        "too long", input_tokens_estimate=210_000, context_window=204_800, max_tokens=8_000
    )
    # 13,200 over, plus 10 % of the pack as margin.
    assert overflow_budget(200_000, known) == 200_000 - 13_200 - 20_000
    unknown = ContextOverflow("too long", input_tokens_estimate=1000, context_window=204_800)
    assert overflow_budget(5000, unknown) == 2500
    assert overflow_budget(5000, ContextOverflow("too long")) == 2500
