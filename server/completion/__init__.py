"""The pure pieces of inline completion (no LSP, no I/O).

* `decide` -- should we complete at the cursor, single- or multi-line (tree-sitter);
* `postprocess` -- turn the model's answer into the exact text to insert;
* `cache` -- recent suggestions, so typing through one does not call the model again.

The prompt lives in `minimax_lsp.server.prompts.completion`; the LSP adapters in
`minimax_lsp.server.features.inline_completion` and ``completion``.
"""

from __future__ import annotations

from .cache import CachedCompletion, CompletionCache
from .decide import Decision, Parsers, decide, grammar_language
from .postprocess import CLOSE_TAG, HOLE, OPEN_TAG, clean, extract, single_line_done

__all__ = [
    "CLOSE_TAG",
    "HOLE",
    "OPEN_TAG",
    "CachedCompletion",
    "CompletionCache",
    "Decision",
    "Parsers",
    "clean",
    "decide",
    "extract",
    "grammar_language",
    "single_line_done",
]
