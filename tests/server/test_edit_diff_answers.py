"""A diff is not replacement code: `extract_code` refuses it like prose."""

from __future__ import annotations

import pytest

from minimax_lsp.server.prompts.edit import EditParseError, extract_code, replacement_text

DIFF_BODY = "--- a/pkg/cart.py\n+++ b/pkg/cart.py\n@@ -8,2 +8,2 @@\n-    return 0\n+    return 1"


@pytest.mark.parametrize(
    "answer",
    [
        # Fenced as a diff / patch, whatever it holds.
        "```diff\n--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root:x:0:0\n+evil\n```",
        "```patch\ndef total(self):\n    return 1\n```",
        "Here is the change:\n\n```diff\n@@ -1 +1 @@\n-a\n+b\n```",
        # Bare inside the tags, or fenced without a language.
        f"<replacement>\n{DIFF_BODY}\n</replacement>",
        f"<replacement>\n```\n{DIFF_BODY}\n```\n</replacement>",
        f"```\n{DIFF_BODY}\n```",
        "<replacement>\n@@ -8,2 +8,2 @@\n-    return 0\n+    return 1\n</replacement>",
        "<replacement>\ndiff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n"
        "</replacement>",
    ],
    ids=[
        "diff-fence-outside-path",
        "patch-fence",
        "diff-fence-with-prose",
        "bare-in-tags",
        "plain-fence-in-tags",
        "plain-fence",
        "hunk-only",
        "git-header",
    ],
)
def test_diff_answers_are_refused(answer: str) -> None:
    with pytest.raises(EditParseError, match="holds a diff"):
        extract_code(answer)
    with pytest.raises(EditParseError):
        replacement_text(answer, "    def total(self):\n        return 0\n")


@pytest.mark.parametrize(
    "code",
    [
        # A test module with a patch in a string constant is still code.
        'PATCH = """\\\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"""',
        # Lua / SQL / Haskell comments that start with dashes.
        "--- Adds two numbers.\nlocal function add(a, b)\n  return a + b\nend",
        "-- total of the cart\nSELECT SUM(price) FROM items;",
        # A docstring that documents hunk headers.
        'def parse(line):\n    """Parse ``@@ -1,2 +3,4 @@``."""\n    return line',
    ],
    ids=["patch-constant", "lua-doc", "sql-comment", "docstring"],
)
def test_code_that_mentions_diffs_is_kept(code: str) -> None:
    assert extract_code(f"<replacement>\n{code}\n</replacement>") == code
