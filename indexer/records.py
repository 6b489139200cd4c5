"""Plain records shared by every indexer module.

These are the only types that cross module boundaries inside ``indexer/`` (and out
of it, to ``server/``). They are frozen and slotted: cheap to create by the hundred
thousand, safe to share between threads, and trivially serialisable.

Line numbers are 1-based and inclusive everywhere, as in the public manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Language id used for files we index as plain text (no grammar).
TEXT_LANGUAGE = "text"


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition found in a file.

    Parameters
    ----------
    name:
        The defined identifier (``"parse"``, ``"Index"``).
    kind:
        One of ``function``, ``method``, ``class``, ``interface``, ``struct``,
        ``enum``, ``type``, ``module``, ``constant``, ``variable``, ``macro``,
        ``field``.
    start_line, end_line:
        1-based inclusive range of the whole definition (body included).
    signature:
        The definition's header as written (first line, or the lines up to the
        body opener), whitespace-collapsed, at most 240 characters.
    scope:
        Dotted names of the enclosing definitions (``"Index.refresh"`` for a
        function nested in a method), ``""`` at top level.
    """

    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str
    scope: str = ""

    @property
    def qualified_name(self) -> str:
        """``scope.name``, or ``name`` at top level."""
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True, slots=True)
class Reference:
    """An identifier used (not defined) at ``line`` (1-based)."""

    name: str
    line: int


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """Everything extracted from one file's text.

    ``imports`` holds the raw module strings as written in the source
    (``"os.path"``, ``"./util"``,
    ``"crate::model::Item"``; system includes keep their angle brackets,
    ``"<stdio.h>"``); resolving them to files is the context engine's job.
    Files in languages without a grammar get ``language == TEXT_LANGUAGE``, no
    definitions and no imports, and their identifier-like words as references, so
    lexical search still finds them.
    """

    language: str
    definitions: tuple[Definition, ...] = ()
    references: tuple[Reference, ...] = ()
    imports: tuple[str, ...] = ()
    #: True when the parser met syntax errors (the extraction is still best effort).
    has_errors: bool = False


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed file: where it is, what it was when parsed, what it holds."""

    path: str  #: workspace-relative, POSIX separators
    size: int
    mtime_ns: int
    content_hash: str  #: hex digest of the bytes that were parsed
    symbols: FileSymbols = field(default_factory=lambda: FileSymbols(TEXT_LANGUAGE))
    line_count: int = 0
