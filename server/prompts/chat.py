"""Chat and explain prompts: a `Manifest` + a question + a conversation -> a `ModelRequest`.

Used by ``minimax-lsp ask`` and by the language server's ``minimax.chat`` /
``minimax.explain``. Pure functions, no I/O.

Layout (prompt caching is a byte-prefix match, so stable material comes first)::

    system    [instructions for the task]                             <- breakpoint (auto)
    user      [<repository>…</repository>]                            <- breakpoint
              [first question]                  (when there is history)
    assistant [first answer]
    …         (earlier turns, verbatim)
    assistant [last answer]                                           <- breakpoint
    user      [<current_file>…</current_file> <selection>…</selection>]
              [question]                                              <- breakpoint (auto)

* The repository pack (the manifest minus the current file, see
  `layout.split_manifest`) rides at the front of the conversation's *first* user turn,
  so a follow-up question whose pack is unchanged re-reads it from the cache. Past user
  turns hold only what the caller stored (normally the bare question); the current file
  and selection are volatile and go into the newest turn only, nearest the question.
* Breakpoints: ``TextBlock.cache`` on the repository block and on the last block of the
  history; the client's ``auto_cache`` adds the last system block and the last user
  block. That is at most 4, MiniMax's limit.
* Deterministic: equal inputs give equal requests, and so byte-identical wire bodies.
* Budgets: `auto_budget` sizes a pack when the task's budget setting is 0 (automatic);
  `overflow_budget` picks the smaller budget to retry with after a `ContextOverflow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from minimax_lsp.indexer.context import Manifest, Span
from minimax_lsp.server.model import (
    ContextOverflow,
    Message,
    ModelRequest,
    SystemBlock,
    TextBlock,
    ThinkingBlock,
    estimate_tokens,
)
from minimax_lsp.server.prompts.layout import (
    FORMAT_NOTE,
    render_current_file,
    render_repository,
    render_selection,
    render_span,
    selection_text,
    split_manifest,
)

__all__ = [
    "PromptTask",
    "auto_budget",
    "build_chat_request",
    "overflow_budget",
    "system_prompt",
]

PromptTask = Literal["chat", "explain"]
ThinkingMode = Literal["disabled", "adaptive"]

#: Fixed part of the automatic-budget reserve: system prompt, framing, the question.
RESERVE_TOKENS = 4096
#: Share of the window also held back: per-span framing plus the gap between our
#: token counter and the model's tokenizer (in percent).
RESERVE_PERCENT = 3
#: Never shrink by less than this after an overflow (tokens), nor by less than 10 %.
MIN_SHRINK = 1024

_ROLE = "You are MiniMax, a coding assistant working inside the user's editor on their repository."
_ANSWER = (
    "Answer in Markdown. Be concise and specific: cite code as `path:line`, quote only "
    "the lines that matter, and use fenced code blocks with a language tag. When the "
    "context does not contain what is needed, say so instead of inventing it."
)
_CHAT = "Answer the user's questions about the repository."
_EXPLAIN = (
    "The user selected code and wants it explained in the context of the repository: "
    "what it does and why, how it fits with the code around it (the definitions it "
    "uses, its callers), and anything subtle or surprising such as edge cases, side "
    "effects or likely bugs. If the user adds a question, answer that first."
)


def system_prompt(task: PromptTask) -> tuple[SystemBlock, ...]:
    """The system prompt of a task: role, task, context format, answer format.

    One block; constant per task so it is always a cache hit.
    """
    if task not in ("chat", "explain"):
        raise ValueError(f"task must be 'chat' or 'explain', not {task!r}")
    body = _CHAT if task == "chat" else _EXPLAIN
    return (SystemBlock(f"{_ROLE} {body}\n\n{FORMAT_NOTE}\n\n{_ANSWER}"),)


def _check_history(history: Sequence[Message]) -> None:
    """Earlier turns must alternate user/assistant, starting with user, ending with assistant."""
    for i, message in enumerate(history):
        expected = "user" if i % 2 == 0 else "assistant"
        if message.role != expected:
            raise ValueError(
                f"history message {i} must be a {expected} turn (turns alternate, "
                f"starting with the user), not {message.role}"
            )
    if history and history[-1].role != "assistant":
        raise ValueError("history must end with an assistant turn")


def _mark_last_text(message: Message) -> Message:
    """``message`` with a cache breakpoint on its last non-empty text block."""
    blocks = list(message.content)
    for i in range(len(blocks) - 1, -1, -1):
        block = blocks[i]
        if isinstance(block, TextBlock) and block.text:
            blocks[i] = replace(block, cache=True)
            return Message(message.role, tuple(blocks))
    return message


def _selection(
    volatile: Sequence[Span], current_path: str | None, selection: tuple[int, int] | None
) -> str:
    """The ``<selection>`` element, or ``""`` when the manifest does not carry those lines."""
    if current_path is None or selection is None:
        return ""
    chosen = selection_text(volatile, current_path, selection)
    return render_selection(chosen) if chosen is not None else ""


def _question_text(
    task: PromptTask,
    question: str,
    current_path: str | None,
    selection: tuple[int, int] | None,
) -> str:
    question = question.strip()
    if task == "chat":
        if not question:
            raise ValueError("the question is empty")
        return question
    if current_path is None:
        raise ValueError("explain needs the path of the current file")
    if selection is not None:
        what = f"the selected code (`{current_path}`, lines {selection[0]}-{selection[1]})"
    else:
        what = f"`{current_path}`"
    ask = f"Explain {what} in the context of the repository."
    return f"{ask}\n\n{question}" if question else ask


def _hint(request: ModelRequest, manifest: Manifest, packed: frozenset[str]) -> int:
    """Input tokens: the manifest's own count for the spans, an estimate for the rest.

    The manifest's count comes from the context engine's tokenizer, closer to the
    model's than the client's character estimate. ``packed`` are the texts of the
    blocks made of rendered spans: only their framing is estimated on top.
    """
    total = manifest.tokens
    total += sum(estimate_tokens(render_span(replace(span, text=""))) for span in manifest.items)
    total += sum(estimate_tokens(block.text) for block in request.system)
    for message in request.messages:
        total += 4
        for content in message.content:
            if isinstance(content, ThinkingBlock):
                total += estimate_tokens(content.thinking)
            elif content.text not in packed:
                total += estimate_tokens(content.text)
    return total


def build_chat_request(
    manifest: Manifest,
    question: str,
    *,
    history: Sequence[Message] = (),
    current_path: str | None = None,
    selection: tuple[int, int] | None = None,
    task: PromptTask | None = None,
    model: str | None = None,
    max_tokens: int = 16_384,
    thinking: ThinkingMode = "adaptive",
) -> ModelRequest:
    """Build the model request for one chat or explain turn (layout: module docstring).

    Parameters
    ----------
    manifest:
        The packed context for this turn (its spans are sent as they are: redacted).
    question:
        The user's question; for explain an optional extra instruction.
    history:
        Earlier turns of the conversation, oldest first: user, assistant, user, …,
        assistant. Store user turns as the bare question (``Message.user(q)``) and
        assistant turns as ``ModelResult.assistant_message()``.
    current_path:
        Workspace-relative path of the current file: the manifest's trailing spans of this
        path are the volatile part. Required for explain.
    selection:
        1-based inclusive line range selected in the current file; its text is cut from
        the manifest and shown in a ``<selection>`` element.
    task:
        ``"chat"`` or ``"explain"``; defaults to the manifest's task.
    model, max_tokens, thinking:
        Passed to the `ModelRequest` (``None`` model: the client's default).

    Raises
    ------
    ValueError
        An empty chat question, explain without a current file, a task other than chat
        or explain, or a malformed history.
    """
    kind = task if task is not None else manifest.task
    if kind not in ("chat", "explain"):
        raise ValueError(f"task must be 'chat' or 'explain', not {kind!r}")
    if selection is not None and not 1 <= selection[0] <= selection[1]:
        raise ValueError(f"selection must be a 1-based line range A-B with A <= B: {selection}")
    _check_history(history)
    stable, volatile = split_manifest(manifest, current_path)
    repository = render_repository(stable)
    final: list[TextBlock] = []
    current = render_current_file(volatile)
    if current:
        final.append(TextBlock(current))
    chosen = _selection(volatile, current_path, selection)
    if chosen:
        final.append(TextBlock(chosen))
    final.append(TextBlock(_question_text(kind, question, current_path, selection)))
    messages = list(history)
    if messages:
        messages[-1] = _mark_last_text(messages[-1])
    head = [TextBlock(repository, cache=True)] if repository else []
    if messages:
        messages[0] = Message("user", (*head, *messages[0].content))
        messages.append(Message("user", tuple(final)))
    else:
        messages.append(Message("user", (*head, *final)))
    request = ModelRequest(
        messages=tuple(messages),
        system=system_prompt(kind),
        model=model,
        max_tokens=max_tokens,
        thinking=thinking,
        trigger="explicit",
    )
    hint = _hint(request, manifest, frozenset({repository, current}))
    return replace(request, input_tokens_hint=hint)


def auto_budget(
    context_window: int,
    max_output: int,
    *,
    question: str = "",
    history: Sequence[Message] = (),
) -> int:
    """The context budget when the task's budget setting is 0 (automatic).

    The model's window, minus the answer's reservation (``max_output``, thinking
    included), minus a reserve for the system prompt, the per-span framing, the question
    and the history (`RESERVE_TOKENS` plus `RESERVE_PERCENT` of the window plus their
    estimate). Never negative.
    """
    reserve = RESERVE_TOKENS + context_window * RESERVE_PERCENT // 100
    reserve += estimate_tokens(question)
    for message in history:
        reserve += 4 + estimate_tokens(message.text)
    return max(0, context_window - max_output - reserve)


def overflow_budget(packed_tokens: int, error: ContextOverflow) -> int:
    """The budget to retry with after the model refused a pack of ``packed_tokens``.

    When the error's numbers (the client's estimate of the input, the output
    reservation, the window) show by how much the request overflowed, drop that much
    plus a margin (10 %, at least `MIN_SHRINK`); otherwise (the estimate looked fine but
    the server disagreed) halve the pack. Never negative.
    """
    estimate, window = error.input_tokens_estimate, error.context_window
    if estimate is not None and window is not None:
        excess = estimate + (error.max_tokens or 0) - window
        if excess > 0:
            return max(0, packed_tokens - excess - max(MIN_SHRINK, packed_tokens // 10))
    return packed_tokens // 2
