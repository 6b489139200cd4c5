"""Plain records shared by every indexer module.

These are the only types that cross module boundaries inside ``indexer/`` (and out
of it, to ``server/``). They are frozen and slotted: cheap to create by the hundred
thousand, safe to share between threads, and trivially serialisable.

Line numbers are 1-based and inclusive everywhere, as in the public manifest.

`PackedReferences` is the compact form of a file's references; `packed_symbols` and
`packed_references` are for the modules that produce and store symbols (parse, store).
Readers never see it: ``FileSymbols.references`` always reads as a tuple.
"""

from __future__ import annotations

import json
import logging
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

logger = logging.getLogger(__name__)

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
    Files in languages without a grammar get ``language == TEXT_LANGUAGE`` and no
    definitions, imports or references: lexical search reads their text itself, and
    the words of prose, translation catalogs and data files made up three quarters
    of all stored references while linking nothing a ranking could use.

    ``references`` always reads as a ``tuple[Reference, ...]``. It may be *stored*
    packed (see `PackedReferences` and `packed_symbols`): the tuple is then built on
    first access and cached, so that loading a large index or moving results between
    processes does not create a million small objects nobody looks at.
    """

    language: str
    definitions: tuple[Definition, ...] = ()
    references: tuple[Reference, ...] = ()
    imports: tuple[str, ...] = ()
    #: True when the parser met syntax errors (the extraction is still best effort).
    has_errors: bool = False


class PackedReferences:
    """The references of one file as one immutable byte string.

    Layout (little-endian): a header ``(width, count, name count, names size, crc32)``,
    the distinct names as a JSON array (ASCII, so any ``str`` round-trips), then
    ``count`` name indexes (uint32) and ``count`` line numbers (uint32, or int64 when a
    line does not fit: ``width`` says which). Building and parsing it are a few C-level
    calls, where a tuple of `Reference` costs ~0.8 us per object to build.

    `unpack` builds the tuple once and caches it (concurrent first calls may both
    build it; the results are equal). Bytes that are not a valid packing raise
    ``ValueError`` in the constructor when ``check`` is set (the header, sizes and
    checksum are verified, without decoding); if unpacking still fails, the error is
    logged and the references read as empty: a damaged cache must never crash a reader.
    """

    __slots__ = ("_count", "_data", "_unpacked")

    _HEADER: Final = struct.Struct("<BxxxIIII")

    def __init__(self, data: bytes, *, check: bool = True) -> None:
        data = bytes(data)
        if len(data) < self._HEADER.size:
            raise ValueError("packed references: truncated header")
        width, count, n_names, names_size, crc = self._HEADER.unpack_from(data)
        expected = self._HEADER.size + names_size + count * (4 + width)
        if width not in (4, 8) or len(data) != expected or (count and not n_names):
            raise ValueError("packed references: inconsistent sizes")
        if check and zlib.crc32(memoryview(data)[self._HEADER.size :]) != crc:
            raise ValueError("packed references: checksum mismatch")
        self._data: bytes = data
        self._count: int = count
        self._unpacked: tuple[Reference, ...] | None = None

    @classmethod
    def from_columns(
        cls, names: Sequence[str], name_ids: Iterable[int], lines: Iterable[int]
    ) -> PackedReferences:
        """Pack ``Reference(names[i], line)`` for each ``(i, line)`` of the two columns."""
        ids = array("I", name_ids)
        try:
            rows = array("I", lines)
            width = 4
        except OverflowError:  # a negative or huge line: only hand-made records have one
            rows = array("q", lines)
            width = 8
        if len(ids) != len(rows):
            raise ValueError("packed references: columns of different lengths")
        if ids and max(ids) >= len(names):
            raise ValueError("packed references: name index out of range")
        if sys.byteorder != "little":
            ids.byteswap()
            rows.byteswap()
        blob = json.dumps(list(names), separators=(",", ":")).encode("ascii")
        body = blob + ids.tobytes() + rows.tobytes()
        header = cls._HEADER.pack(width, len(ids), len(names), len(blob), zlib.crc32(body))
        return cls(header + body, check=False)

    @classmethod
    def from_references(cls, references: Iterable[Reference]) -> PackedReferences:
        """Pack a sequence of `Reference` (order kept)."""
        index: dict[str, int] = {}
        ids: list[int] = []
        lines: list[int] = []
        for reference in references:
            ids.append(index.setdefault(reference.name, len(index)))
            lines.append(reference.line)
        return cls.from_columns(list(index), ids, lines)

    @property
    def data(self) -> bytes:
        """The packed bytes (what `PackedReferences(data)` reads back)."""
        return self._data

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"PackedReferences({self._count} references)"

    def unpack(self) -> tuple[Reference, ...]:
        """The references as records (built on the first call, then cached)."""
        unpacked = self._unpacked
        if unpacked is None:
            try:
                unpacked = self._decode()
            except (ValueError, TypeError, IndexError, OverflowError) as exc:
                logger.error("unreadable packed references dropped: %s", exc)
                unpacked = ()
            self._unpacked = unpacked
        return unpacked

    def _decode(self) -> tuple[Reference, ...]:
        data = self._data
        width, count, n_names, names_size, _ = self._HEADER.unpack_from(data)
        start = self._HEADER.size
        names = json.loads(data[start : start + names_size])
        if (
            not isinstance(names, list)
            or len(names) != n_names
            or not all(type(name) is str for name in names)
        ):
            raise ValueError("bad name table")
        start += names_size
        ids = array("I")
        ids.frombytes(data[start : start + 4 * count])
        rows = array("I" if width == 4 else "q")
        rows.frombytes(data[start + 4 * count :])
        if sys.byteorder != "little":
            ids.byteswap()
            rows.byteswap()
        # map() keeps the loop in C; names[i] raises IndexError on a bad index.
        return tuple(map(Reference, map(names.__getitem__, ids), rows))


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One indexed file: where it is, what it was when parsed, what it holds."""

    path: str  #: workspace-relative, POSIX separators
    size: int
    mtime_ns: int
    content_hash: str  #: hex digest of the bytes that were parsed
    symbols: FileSymbols = field(default_factory=lambda: FileSymbols(TEXT_LANGUAGE))
    line_count: int = 0


# --------------------------------------------------------------------------- packing
#
# `FileSymbols.references` is a slot holding either a tuple or a `PackedReferences`.
# The slot's descriptor is wrapped so that every read returns a tuple: readers see the
# dataclass they always saw (equality, hashing, repr, pickling and `replace` all read
# fields through this descriptor), and only the modules that produce and store symbols
# (parse, store) know about the packed form.


class _ReferencesSlot:
    """Data descriptor over the ``references`` slot that unpacks on read."""

    __slots__ = ("_slot",)

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self._slot.__get__(instance, owner)
        if type(value) is PackedReferences:
            return value.unpack()
        return value

    def __set__(self, instance: object, value: object) -> None:
        self._slot.__set__(instance, value)

    def __delete__(self, instance: object) -> None:
        self._slot.__delete__(instance)

    def raw(self, instance: FileSymbols) -> object:
        """What is stored: a tuple, or a `PackedReferences`."""
        return self._slot.__get__(instance, type(instance))


_REFERENCES: Final = _ReferencesSlot(FileSymbols.__dict__["references"])
type.__setattr__(FileSymbols, "references", _REFERENCES)


def packed_symbols(
    language: str,
    definitions: tuple[Definition, ...],
    references: PackedReferences,
    imports: tuple[str, ...] = (),
    has_errors: bool = False,
) -> FileSymbols:
    """A `FileSymbols` holding ``references`` packed (unpacked on first read).

    Equal to the `FileSymbols` built from the unpacked tuple, in every respect.
    """
    stored: object = references if len(references) else ()
    return FileSymbols(language, definitions, stored, imports, has_errors)  # type: ignore[arg-type]


def packed_references(symbols: FileSymbols) -> PackedReferences:
    """``symbols.references`` in packed form, without unpacking a packed one."""
    raw = _REFERENCES.raw(symbols)
    if type(raw) is PackedReferences:
        return raw
    return PackedReferences.from_references(symbols.references)
