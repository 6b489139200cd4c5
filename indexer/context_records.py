"""The context engine's public records: the request, the spans, the manifest.

Contract
--------
- :class:`ContextRequest` validates itself (``ValueError`` on a negative budget, a line
  below 1, a negative column, an unknown task or an inverted selection).
- :class:`Manifest` holds :class:`Span` items in prompt order; ``to_json`` gives the
  shape documented in ``docs/context.md`` (``partial`` only when set).
- :class:`ContextDenied` carries a :class:`~minimax_lsp.indexer.scan.SkipReason` value.

They are re-exported by :mod:`minimax_lsp.indexer.context`, the public import path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from minimax_lsp.indexer.rank import TASKS, Task

__all__ = ["ContextDenied", "ContextRequest", "Manifest", "Mode", "Span", "Task"]

Mode = Literal["full", "outline", "snippet"]


@dataclass(frozen=True, slots=True)
class ContextRequest:
    """One request for context (see the module docstring and ``docs/context.md``).

    Raises
    ------
    ValueError
        On a negative budget, a line below 1, a negative column, an unknown task or an
        inverted selection.
    """

    path: str | None
    line: int = 1
    column: int = 0
    task: Task = "complete"
    selection: tuple[int, int] | None = None
    open_paths: tuple[str, ...] = ()
    recent_paths: tuple[str, ...] = ()
    query: str = ""
    budget: int = 8000
    current_text: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        if not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError(f"budget must be a non-negative integer, got {self.budget!r}")
        if self.line < 1:
            raise ValueError(f"line is 1-based, got {self.line}")
        if self.column < 0:
            raise ValueError(f"column must be >= 0, got {self.column}")
        if self.selection is not None:
            a, b = self.selection
            if a < 1 or b < a:
                raise ValueError(f"selection must be 1-based with start <= end, got {a}-{b}")


@dataclass(frozen=True, slots=True)
class Span:
    """One piece of the prompt: lines of a file, whole, outlined or cut."""

    path: str
    start_line: int
    end_line: int
    mode: Mode
    tokens: int
    reason: str
    text: str
    score: float = 0.0

    def to_json(self, *, include_text: bool = False) -> dict[str, object]:
        """``{"path","start_line","end_line","mode","tokens","reason","score"}`` (+ text)."""
        out: dict[str, object] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "mode": self.mode,
            "tokens": self.tokens,
            "reason": self.reason,
            "score": round(self.score, 6),
        }
        if include_text:
            out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    """What is sent for one request, in prompt order (see the module docstring)."""

    task: Task
    budget: int
    tokens: int
    items: tuple[Span, ...]
    index_version: int
    #: How many leading items form the repository section. For completion they do not
    #: move while the user types, so a prompt-cache breakpoint belongs after them.
    stable_items: int = 0
    #: Empty, or why the manifest was packed from incomplete structures: the engine's
    #: first build or a large update was still running in the background, so ranking
    #: knew only the current file and its imports, or some files were not re-derived.
    partial: str = ""

    def to_json(self, *, include_text: bool = False) -> dict[str, object]:
        """``{"task","budget","tokens","stable_items","items":[...]}`` (texts on request),
        plus ``"partial"`` (the reason) when the manifest is partial."""
        out: dict[str, object] = {
            "task": self.task,
            "budget": self.budget,
            "tokens": self.tokens,
            "stable_items": self.stable_items,
            "items": [span.to_json(include_text=include_text) for span in self.items],
        }
        if self.partial:
            out["partial"] = self.partial
        return out


class ContextDenied(Exception):
    """The current file may not be sent (ignored, secret, vendored, outside the root...).

    ``reason`` is a :class:`~minimax_lsp.indexer.scan.SkipReason` value.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: context denied ({reason})")
        self.path = path
        self.reason = reason
