"""The current file of a context request: its live text, parse, imports and names.

Contract
--------
- :meth:`LiveTexts.current` checks the current file against the workspace policy
  (:class:`~minimax_lsp.indexer.context_records.ContextDenied` when it may not be
  sent) and returns a :class:`CurrentFile`: the redacted live text (the request's
  ``current_text``, else the index's, else the file on disk), its token blocks, its
  symbols, the cursor clamped to it, its resolved imports and the names it imports
  (re-exports followed).
- A completion on a live text the index does not hold never parses that text: it reads
  the parse of the text with the cursor line blanked, kept per file (one parse per
  edited line). Other tasks parse the live text once per version.
- Not thread-safe: the engine's lock guards it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from minimax_lsp.indexer import parse
from minimax_lsp.indexer.context_blocks import TokenBlocks
from minimax_lsp.indexer.context_records import ContextDenied, ContextRequest
from minimax_lsp.indexer.context_workspace import WorkspaceCache, join_module, text_digest
from minimax_lsp.indexer.index import Index, read_regular
from minimax_lsp.indexer.languages import language_for_path
from minimax_lsp.indexer.outline import SourceText
from minimax_lsp.indexer.rank import ImportBinding, import_bindings
from minimax_lsp.indexer.records import Definition, FileSymbols
from minimax_lsp.indexer.redact import redact
from minimax_lsp.indexer.scan import SkipReason
from minimax_lsp.indexer.tokens import TokenCounter

__all__ = ["CurrentFile", "ImportedName", "LiveTexts", "line_start", "live_window"]

#: Memo sizes (files): live current texts, and their cursor-line-blanked parses and
#: imported names.
_TEXT_MEMO: Final = 8
_PARSE_MEMO: Final = 32
#: Attribute segments read after an imported module's name (``m.a.b.f``).
_MAX_MODULE_DEPTH: Final = 4
#: A live text over the size limit is read through a window of about this many
#: characters (at most the limit) around the cursor, this share of it above.
_WINDOW_CHARS: Final = 64 * 1024
_TYPING_BEFORE_SHARE: Final = 0.75
_OTHER_BEFORE_SHARE: Final = 0.5
#: Characters scanned per ``str.count`` when looking for a line's offset.
_SCAN_BLOCK: Final = 1 << 16


@dataclass(frozen=True, slots=True)
class CurrentFile:
    """The current file as this request sees it."""

    path: str
    source: SourceText
    blocks: TokenBlocks
    symbols: FileSymbols
    line: int
    column: int
    selection: tuple[int, int] | None
    imports: frozenset[str]
    #: The symbols the ranking reads: ``symbols``, or, for completion in a text that
    #: does not parse, those of the text with the cursor line blanked (see
    #: ``LiveTexts._stable_symbols``).
    stable_symbols: FileSymbols
    #: Names the current file defines (per ``stable_symbols``).
    local_names: frozenset[str]
    #: What the names the current file imports mean, and where it uses them.
    imported: tuple[ImportedName, ...] = ()
    #: ``imports`` plus the files defining the names it imports by name (re-exports
    #: followed): the files the current file really depends on.
    import_closure: frozenset[str] = frozenset()
    #: The live text is over the size limit: ``source`` is only a window of it, and
    #: every line number here (``line``, ``selection``, symbols) is relative to that
    #: window, whose first line is line ``offset + 1`` of the file.
    windowed: bool = False
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ImportedName:
    """A name the current file imports: its definitions and where the file uses it."""

    #: As written in the current file: ``CharField``, ``models.CharField``.
    name: str
    #: What it means (re-exports followed); never empty.
    definitions: tuple[tuple[str, Definition], ...]
    #: Lines using it, ascending (import statements and the line being typed left out).
    uses: tuple[int, ...]
    #: Bound by name by an import statement (``from m import X``), not an attribute of an
    #: imported module (``m.X``).
    explicit: bool


class LiveTexts:
    """The current file of each request, and the memos that make keystrokes cheap.

    Holds, per file, the last live text the index does not hold (redacted, its token
    blocks, its parse once needed), the parse of the last text with the cursor line
    blanked, and the last imported names. Not thread-safe (the engine's lock guards it).
    """

    def __init__(self, index: Index, counter: TokenCounter) -> None:
        self.index = index
        self.counter = counter
        # path -> (digest, redacted source, symbols or None if not parsed yet, blocks) of
        # the last live text of a current file the index does not hold (an unsaved
        # buffer the server did not overlay).
        self._texts: OrderedDict[str, tuple[str, SourceText, FileSymbols | None, TokenBlocks]] = (
            OrderedDict()
        )
        # path -> (digest, symbols) of the last current text with its cursor line blanked.
        self._parses: OrderedDict[str, tuple[str, FileSymbols]] = OrderedDict()
        # path -> ((text digest, skipped line, raw imports), export generation, imported
        # names) of the last current text (see _imported_names; valid while no export
        # answer changed).
        self._imported: OrderedDict[
            str,
            tuple[tuple[str, int | None, tuple[str, ...]], int, tuple[ImportedName, ...]],
        ] = OrderedDict()

    def workspace_changed(self) -> None:
        """Forget what depended on the previous workspace object (its imported names)."""
        self._imported.clear()

    def current(self, ws: WorkspaceCache, request: ContextRequest) -> CurrentFile | None:
        """The current file of ``request`` (``None`` without a path).

        Raises
        ------
        ContextDenied
            The path is outside the root or denied by the workspace policy, an
            unindexed file on disk is not a regular file or is over the size limit, or
            the cursor line of a live text over the limit is itself longer than the
            window read around it.
        """
        if request.path is None:
            return None
        policy = self.index.policy
        rel = policy.relative(request.path)
        if rel is None or rel in ("", "."):
            raise ContextDenied(request.path, SkipReason.OUTSIDE_ROOT.value)
        reason = policy.check_path(rel)
        if reason is not None:
            raise ContextDenied(rel, reason.value)
        typing = request.task == "complete" and request.selection is None
        anchor = request.selection[0] if request.selection is not None else request.line
        live = self._current_text(ws, rel, request.current_text, typing, anchor)
        source, symbols, blocks, offset = live.source, live.symbols, live.blocks, live.offset
        n = source.line_count
        line = max(1, min(request.line - offset, max(1, n)))
        selection = None
        if request.selection is not None:
            a, b = (max(1, x - offset) for x in request.selection)
            a = min(a, max(1, n))
            selection = (a, min(max(a, b), max(1, n)))
        if typing and (symbols is None or symbols.has_errors):
            stable, blanked_key = self._stable_symbols(rel, source, line)
        else:
            assert symbols is not None  # only completion leaves the live text unparsed
            stable, blanked_key = symbols, ""
        # The imported names read the text without the line being typed (see below).
        if typing:
            text_key = blanked_key or text_digest(_blanked(source, line))
        else:
            text_key = text_digest(source.text)
        resolver = ws.resolver
        imports: frozenset[str] = frozenset()
        if resolver is not None:
            resolved = resolver.resolve_all(rel, stable.language, stable.imports)
            imports = frozenset(p for p in resolved if p in ws.entries)
        skip = line if typing else None
        # (The raw imports matter for languages the import scanner does not read.)
        memo_key = (text_key, skip, stable.imports)
        memo = self._imported.get(rel)
        if memo is not None and memo[0] == memo_key and memo[1] == ws.export_generation:
            imported = memo[2]
            self._imported.move_to_end(rel)
        else:
            imported = self._imported_names(ws, rel, source, stable, skip)
            self._imported[rel] = (memo_key, ws.export_generation, imported)
            self._imported.move_to_end(rel)
            if len(self._imported) > _PARSE_MEMO:
                self._imported.popitem(last=False)
        return CurrentFile(
            rel,
            source,
            blocks,
            symbols if symbols is not None else stable,
            line,
            request.column,
            selection,
            imports,
            stable,
            frozenset(d.name for d in stable.definitions),
            imported,
            imports
            | frozenset(p for item in imported if item.explicit for p, _ in item.definitions),
            live.windowed,
            offset,
        )

    def _imported_names(
        self,
        ws: WorkspaceCache,
        rel: str,
        source: SourceText,
        symbols: FileSymbols,
        skip_line: int | None,
    ) -> tuple[ImportedName, ...]:
        """The names the current file imports, resolved, with the lines that use them.

        ``from m import A as B`` and ``import m`` / ``from p import m`` followed by
        ``m.f`` uses; each is resolved to its definitions through :meth:`WorkspaceCache.export`
        (re-exports followed). Uses are found in the text (whole words; a mention in a
        comment counts too), so the answer depends on the text and the workspace only;
        lines of import statements and ``skip_line`` (the line being typed) do not count.
        """
        language = symbols.language
        bindings = import_bindings(source.text, language)
        if not bindings and language in _RAW_BINDING_LANGUAGES:
            bindings = _raw_bindings(symbols.imports)
        if not bindings:
            return ()
        import_lines: set[int] = set()
        for binding in bindings:
            import_lines.update(range(binding.start_line, binding.end_line + 1))
        if skip_line is not None:
            import_lines.add(skip_line)
        named: dict[str, tuple[tuple[str, Definition], ...]] = {}
        modules: dict[str, tuple[str, str]] = {}
        for binding in bindings:
            if not binding.local or binding.local in named or binding.local in modules:
                continue
            target = ws.binding_target(rel, language, binding)
            if target is None:
                continue
            path, name = target
            if name is None:
                module = binding.module
                if binding.name is not None:
                    module = join_module(binding.module, binding.name)
                modules[binding.local] = (path, module)
            else:
                definitions = ws.export(path, name)
                if definitions:
                    named[binding.local] = definitions
        out: list[ImportedName] = []
        if named:
            # A name as a whole word, not as an attribute (``x.name``) of something else.
            pattern = re.compile(r"(?<![\w.])(" + "|".join(_alternatives(named)) + r")\b")
            uses: dict[str, set[int]] = {}
            for match in pattern.finditer(source.text):
                line = source.line_at(match.start())
                if line not in import_lines:
                    uses.setdefault(match.group(1), set()).add(line)
            for local in sorted(named):
                lines = tuple(sorted(uses.get(local, ())))
                out.append(ImportedName(local, named[local], lines, True))
        if modules:
            out += self._module_members(ws, rel, language, source, modules, import_lines)
        return tuple(out)

    @staticmethod
    def _module_members(
        ws: WorkspaceCache,
        rel: str,
        language: str,
        source: SourceText,
        modules: Mapping[str, tuple[str, str]],
        import_lines: set[int],
    ) -> list[ImportedName]:
        """``m.f`` uses of imported modules ``m``, resolved (sub-modules walked)."""
        pattern = re.compile(
            r"(?<![\w.])(" + "|".join(_alternatives(modules)) + r")((?:\.[^\W\d]\w*){1,4})"
        )
        uses: dict[str, list[int]] = {}
        for match in pattern.finditer(source.text):
            line = source.line_at(match.start())
            if line not in import_lines:
                uses.setdefault(match.group(1) + match.group(2), []).append(line)
        out: list[ImportedName] = []
        resolved: dict[tuple[str, str], tuple[tuple[str, Definition], ...]] = {}
        for chain in sorted(uses):
            head, *parts = chain.split(".")
            path, module = modules[head]
            definitions: tuple[tuple[str, Definition], ...] = ()
            name = head
            for part in parts[:_MAX_MODULE_DEPTH]:
                name = f"{name}.{part}"
                key = (path, part)
                if key not in resolved:
                    resolved[key] = ws.export(path, part)
                definitions = resolved[key]
                if definitions or language != "python" or ws.resolver is None:
                    break
                # ``import a`` then ``a.b.f``: walk into the sub-module ``a.b``.
                module = f"{module}.{part}"
                found = ws.resolver.resolve(rel, language, module)
                if not found:
                    break
                path = found[0]
            if definitions:
                out.append(ImportedName(name, definitions, tuple(uses[chain]), False))
        # Several chains may name the same definition (``m.f`` and ``m.f.x``): merge.
        merged: dict[str, ImportedName] = {}
        for item in out:
            old = merged.get(item.name)
            if old is None:
                merged[item.name] = item
            else:
                lines = tuple(sorted(set(old.uses) | set(item.uses)))
                merged[item.name] = ImportedName(item.name, item.definitions, lines, False)
        return [merged[k] for k in sorted(merged)]

    def _stable_symbols(self, rel: str, source: SourceText, line: int) -> tuple[FileSymbols, str]:
        """Symbols of the current text with the cursor line blanked (memoised per file),
        and the digest of that text.

        A line being typed is often unbalanced (``f(x, ``), and tree-sitter's error
        recovery then drops or moves definitions far from it, differently at every
        keystroke. Blanking that line gives the same parse for every keystroke on it, so
        the cursor region and the same-file lookups stay put while the user types, and
        it costs one parse per edited line: the last one is kept for each of the
        :data:`_PARSE_MEMO` most recent files.
        """
        blanked = _blanked(source, line)
        digest = text_digest(blanked)
        cached = self._parses.get(rel)
        if cached is not None and cached[0] == digest:
            self._parses.move_to_end(rel)
            return cached[1], digest
        raw = blanked.encode("utf-8", "surrogatepass")
        symbols = parse.extract(raw, language_for_path(rel))
        self._parses[rel] = (digest, symbols)
        self._parses.move_to_end(rel)
        if len(self._parses) > _PARSE_MEMO:
            self._parses.popitem(last=False)
        return symbols, digest

    def _current_text(
        self, ws: WorkspaceCache, rel: str, text: str | None, typing: bool, anchor: int
    ) -> _LiveText:
        """Redacted text, symbols and token blocks of the current file's live text.

        A live text the index does not hold is parsed here, except while typing
        (``typing``: completion without a selection), whose ranking reads the parse of
        the text with the cursor line blanked instead (see :meth:`_stable_symbols`): then
        the symbols are ``None``. A live text over the size limit (``maxFileBytes``) is
        never redacted, counted or parsed whole: only a window of it around line
        ``anchor`` is (see :func:`live_window`).
        """
        entry = ws.entries.get(rel)
        data = ws.data(rel) if entry is not None else None
        if text is None:
            if data is not None:
                return _LiveText(data.source, data.entry.symbols, data.blocks)
            text = self._read_unindexed(rel)
        offset, windowed = 0, False
        limit = self.index.options.max_file_bytes
        if _over(text, limit):
            # The user would rather have the code around the cursor than nothing, but a
            # whole multi-megabyte buffer at every keystroke stalls the server (the
            # parser holds the GIL): the window is bounded, and stays put while typing.
            share = _TYPING_BEFORE_SHARE if typing else _OTHER_BEFORE_SHARE
            window = live_window(text, anchor, min(limit, _WINDOW_CHARS), share)
            if window is None:
                raise ContextDenied(rel, SkipReason.TOO_LARGE.value)
            text, offset = window
            windowed = True
            digest = f"{text_digest(text)}@{offset}"
        else:
            digest = text_digest(text)
            if data is not None and data.raw_digest == digest:
                return _LiveText(data.source, data.entry.symbols, data.blocks)
        cached = self._texts.get(rel)
        if cached is None or cached[0] != digest:
            source = SourceText(redact(text).text)
            # Token counts are per block of lines: an edit recounts the edited block only
            # (the counter caches texts it has seen, the previous version's blocks too).
            cached = (digest, source, None, TokenBlocks(source, self.counter))
            self._texts[rel] = cached
        self._texts.move_to_end(rel)
        if len(self._texts) > _TEXT_MEMO:
            self._texts.popitem(last=False)
        symbols = cached[2]
        if symbols is None and not typing:
            if entry is not None and entry.content_hash == digest:
                symbols = entry.symbols
            else:
                raw = text.encode("utf-8", "surrogatepass")
                symbols = parse.extract(raw, language_for_path(rel))
            self._texts[rel] = (cached[0], cached[1], symbols, cached[3])
        return _LiveText(cached[1], symbols, cached[3], offset, windowed)

    def _read_unindexed(self, rel: str) -> str:
        """Text of a current file the index does not hold (new, or not indexed yet).

        Only a regular file is read, and at most ``min(maxFileBytes, size) + 1`` bytes of
        it: a larger one is denied as too large (``TOO_LARGE``), anything else (a FIFO, a
        device) as unreadable.
        """
        verdict = self.index.policy.check_file(rel)
        if isinstance(verdict, SkipReason):
            raise ContextDenied(rel, verdict.value)
        data = read_regular(Path(self.index.root, rel), self.index.options.max_file_bytes)
        if data is None:
            return ""  # a buffer never saved: nothing on disk yet
        if isinstance(data, str):  # too large, or not a readable regular file
            raise ContextDenied(rel, data)
        return data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class _LiveText:
    """The current file's text as a request reads it (see LiveTexts._current_text)."""

    source: SourceText
    #: ``None`` when not parsed (see ``LiveTexts._current_text``).
    symbols: FileSymbols | None
    blocks: TokenBlocks
    #: Lines of the file before ``source`` (a window of a text over the size limit).
    offset: int = 0
    windowed: bool = False


def _over(text: str, limit: int) -> bool:
    """Whether ``text`` is over ``limit`` UTF-8 bytes (encoding only when in doubt)."""
    if len(text) > limit:
        return True
    if len(text) * 4 <= limit:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > limit


def line_start(text: str, line: int) -> tuple[int, int]:
    """``(offset, line)``: where 1-based ``line`` starts in ``text``, the line clamped to
    the last one. Counts newlines by blocks (``str.count``), not one by one."""
    pos, remaining, size = 0, max(0, line - 1), len(text)
    while remaining:
        end = min(size, pos + _SCAN_BLOCK)
        found = text.count("\n", pos, end)
        if found < remaining and end < size:
            remaining -= found
            pos = end
            continue
        while remaining:
            newline = text.find("\n", pos, end)
            if newline < 0:
                pos = text.rfind("\n") + 1  # past the end: the last line
                break
            pos, remaining = newline + 1, remaining - 1
        break
    return pos, max(1, line) - remaining


def live_window(text: str, line: int, chars: int, before_share: float) -> tuple[str, int] | None:
    """Whole lines of ``text`` around ``line`` within about ``chars`` characters.

    Returns ``(window, offset)``, ``offset`` being the number of lines before the
    window, or ``None`` when line ``line`` alone is longer than ``chars``. The window
    starts ``before_share * chars`` characters before the line's start (moved forward to
    a line start) and ends by ``(1 - before_share) * chars`` after it (moved back to a
    line end, never before the line's own end): both ends depend on the text around
    them, not on the line's length, so that typing on the line moves neither often.
    """
    start, line = line_start(text, line)
    newline = text.find("\n", start)
    end = len(text) if newline < 0 else newline + 1
    if end - start > chars:
        return None
    lo = max(0, start - int(before_share * chars))
    if lo > 0:
        lo = min(start, text.find("\n", lo - 1) + 1)
    hi = max(end, min(len(text), start + chars - int(before_share * chars)))
    if hi < len(text):
        hi = max(end, text.rfind("\n", end, hi) + 1)
    offset = line - 1 - text.count("\n", lo, start)
    return text[lo:hi], offset


def _blanked(source: SourceText, line: int) -> str:
    """``source``'s text with line ``line`` emptied (its newline kept)."""
    start, end = source.clamp(line, line)
    text = source.text
    if end < start:
        return text
    head = source.lines(1, line - 1) if line > 1 else ""
    tail = source.lines(line + 1, source.line_count) if line < source.line_count else ""
    return head + "\n" + tail if tail or text.endswith("\n") else head


def _alternatives(names: Iterable[str]) -> list[str]:
    """``names`` escaped for a regex alternation, longest first (``ab`` before ``a``)."""
    return [re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n))]


#: Languages whose raw imports bind their last segment (``pkg.F``, ``mod::f``, ``C.m``).
_RAW_BINDING_LANGUAGES: Final = frozenset({"go", "rust", "java", "kotlin", "scala"})
_RAW_SEPARATORS: Final = re.compile(r"::|[./\\]")


def _raw_bindings(imports: Iterable[str]) -> tuple[ImportBinding, ...]:
    """Module bindings from a parser's raw imports, for languages the scanner does not
    read: ``"x/y/z"`` (Go), ``"a::b"`` (Rust), ``"a.b.C"`` (Java) bind their last
    segment to the module (line numbers unknown: 0)."""
    out: list[ImportBinding] = []
    for raw in imports:
        parts = [p for p in _RAW_SEPARATORS.split(raw.strip("<>\"'")) if p]
        if parts and parts[-1].isidentifier():
            out.append(ImportBinding(parts[-1], raw, None, 0, 0))
    return tuple(out)
