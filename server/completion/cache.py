"""Recent completions, so typing through a suggestion does not call the model again.

Contract
--------
`CompletionCache.put(uri, prefix, suffix, text)` remembers that ``text`` was suggested
at the cursor between ``prefix`` (document text before it) and ``suffix`` (after it).
`CompletionCache.get(uri, prefix, suffix)` answers a later request in the same document
from memory when the user has since typed the first ``k >= 0`` characters of that
suggestion and nothing else changed nearby:

* the new prefix is the old one plus exactly those ``k`` characters (checked on the
  last `prefix_chars` characters of the old prefix and on its length),
* the text after the cursor starts with the same `suffix_chars` characters,
* what remains of the suggestion has a visible character.

It then returns the remainder (``text[k:]``), else ``None``. ``k = 0`` is the same
position asked again (a re-request after a cancel). The newest matching entry wins.

Bounds: `per_document` entries per document (oldest dropped first) and `documents`
documents (least recently used dropped). Keys are built from text that stays in this
process; nothing is persisted. Not thread-safe: used on the event loop only.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CachedCompletion", "CompletionCache"]


@dataclass(frozen=True, slots=True)
class CachedCompletion:
    """One remembered suggestion and the place it was made for."""

    prefix_tail: str
    prefix_length: int
    suffix_head: str
    text: str

    def remainder(self, prefix: str, suffix: str) -> str | None:
        """What is left of the suggestion at the cursor ``prefix|suffix``, if it applies."""
        typed = len(prefix) - self.prefix_length
        if typed < 0 or typed >= len(self.text):
            return None
        if typed and prefix[len(prefix) - typed :] != self.text[:typed]:
            return None
        if not prefix.endswith(self.prefix_tail, 0, self.prefix_length):
            return None
        if not suffix.startswith(self.suffix_head):
            return None
        rest = self.text[typed:]
        return rest if rest.strip() else None


class CompletionCache:
    """LRU of recent suggestions per document (see the module docstring).

    Parameters
    ----------
    documents:
        Documents remembered.
    per_document:
        Suggestions remembered per document.
    prefix_chars, suffix_chars:
        How much of the text before / after the cursor must match.
    """

    def __init__(
        self,
        *,
        documents: int = 64,
        per_document: int = 8,
        prefix_chars: int = 512,
        suffix_chars: int = 256,
    ) -> None:
        if min(documents, per_document, prefix_chars, suffix_chars) < 1:
            raise ValueError("cache sizes must be positive")
        self._documents = documents
        self._per_document = per_document
        self._prefix_chars = prefix_chars
        self._suffix_chars = suffix_chars
        self._entries: OrderedDict[str, list[CachedCompletion]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def put(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        """Remember ``text`` suggested at ``prefix|suffix`` of document ``uri``."""
        if not text.strip():
            return
        entry = CachedCompletion(
            prefix_tail=prefix[-self._prefix_chars :],
            prefix_length=len(prefix),
            suffix_head=suffix[: self._suffix_chars],
            text=text,
        )
        entries = self._entries.pop(uri, [])
        entries = [e for e in entries if e != entry]
        entries.append(entry)
        self._entries[uri] = entries[-self._per_document :]
        while len(self._entries) > self._documents:
            self._entries.popitem(last=False)

    def get(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a cached suggestion that applies at ``prefix|suffix``, or None."""
        entries = self._entries.get(uri)
        if not entries:
            return None
        self._entries.move_to_end(uri)
        for entry in reversed(entries):
            rest = entry.remainder(prefix, suffix)
            if rest is not None:
                return rest
        return None

    def forget(self, uri: str) -> None:
        """Drop everything remembered for ``uri`` (the document was closed)."""
        self._entries.pop(uri, None)

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()
