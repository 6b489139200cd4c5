"""The persistent index cache: one SQLite database per workspace.

Contract
--------
- Where: ``<cache dir>/index/<root name>-<sha256(resolved root)[:16]>.sqlite3``. The cache
  dir is, strongest first, the ``cache_dir`` argument, the ``MINIMAX_LSP_CACHE_DIR``
  environment variable, then ``platformdirs.user_cache_dir("minimax-lsp")``.
- What: one row per indexed file, keyed by its workspace-relative path, holding the size,
  ``mtime_ns`` and content hash the symbols were extracted from, the line count, and the
  :class:`~minimax_lsp.indexer.records.FileSymbols` in two columns: ``symbols``, a compact
  JSON array ``[language, has_errors, definitions, imports]`` (so SQLite's JSON functions
  can inspect it: ``json_array_length(CAST(symbols AS TEXT), '$[2]')`` counts
  definitions), and ``refs``, the references packed as integer columns
  (:class:`~minimax_lsp.indexer.records.PackedReferences`; empty when there are none).
  Loaded symbols keep their references packed until somebody reads them.
- Versions: the schema version lives in ``PRAGMA user_version``; the *extractor
  fingerprint* (:func:`extractor_fingerprint`: :data:`EXTRACTOR_VERSION` plus a digest of
  the tag queries and the extractor's source) lives in the ``meta`` table. A schema
  mismatch rebuilds the database (quietly for an older version of ours: an upgrade, not
  damage); an extractor mismatch drops every parsed row (they are re-parsed on the next
  refresh).
- Robustness: the database runs in WAL mode and every write is one transaction, so a
  process killed mid-write leaves the last committed state. A second process opening the
  same database waits for the lock (``busy_timeout``). A database that is corrupted (not
  SQLite, truncated, malformed), of another schema version, or of an unknown layout is
  deleted and rebuilt with one ``WARNING`` log line; it never raises. If the cache
  directory cannot be written at all, the store falls back to an in-memory database
  (also with one warning), so indexing still works, only without persistence.
- Threads: a :class:`Store` may be used from several threads; calls are serialised by an
  internal lock.

A cache is only a cache: every row is checked against the file on disk (size, mtime,
hash) before it is trusted, so losing or rebuilding the database costs time, never
correctness.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Final

import platformdirs

from minimax_lsp.indexer.records import (
    Definition,
    FileEntry,
    FileSymbols,
    PackedReferences,
    packed_references,
    packed_symbols,
)

logger = logging.getLogger(__name__)

#: Layout version of the database (``PRAGMA user_version``). Bump on any schema change.
#: 2: the references moved to their own ``refs`` column, packed.
SCHEMA_VERSION: Final = 2
#: Version of what the extractor produces. Bump when parse.py / the queries change
#: their output in a way the source digest in :func:`extractor_fingerprint` cannot see
#: (a grammar wheel upgrade, say).
EXTRACTOR_VERSION: Final = 1
#: Environment variable overriding the user cache directory.
CACHE_DIR_ENV: Final = "MINIMAX_LSP_CACHE_DIR"
#: How long a second process waits for the database lock before giving up on a write.
BUSY_TIMEOUT_SECONDS: Final = 10.0

# SQLite primary result codes that mean "this file is damaged / not a database".
_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26

_FILES_COLUMNS: Final = ("path", "size", "mtime_ns", "hash", "line_count", "symbols", "refs")
_META_COLUMNS: Final = ("key", "value")
_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    symbols BLOB NOT NULL,
    refs BLOB NOT NULL
) WITHOUT ROWID;
"""
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


class CorruptDatabase(Exception):
    """The database file is unusable and must be rebuilt (carries the reason)."""


# --------------------------------------------------------------------------- locations


def default_cache_dir() -> Path:
    """The cache root: ``$MINIMAX_LSP_CACHE_DIR``, else the platform's user cache dir."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("minimax-lsp"))


def database_path(root: Path, cache_dir: Path | None = None) -> Path:
    """Path of the database for the workspace ``root``.

    Parameters
    ----------
    root:
        The workspace root; it is resolved, so two spellings of one folder share a cache.
    cache_dir:
        Overrides :func:`default_cache_dir`.
    """
    resolved = root.resolve()
    digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()
    # The readable prefix only helps a human browsing the cache; the digest is the key.
    name = _UNSAFE_NAME.sub("_", resolved.name)[:40] or "root"
    base = cache_dir if cache_dir is not None else default_cache_dir()
    return base / "index" / f"{name}-{digest[:16]}.sqlite3"


def extractor_fingerprint() -> str:
    """What produced the stored symbols: a row from another fingerprint is re-parsed.

    It is :data:`EXTRACTOR_VERSION` plus a digest of the tag queries
    (``indexer/queries/*.scm``), the source of ``parse.py`` and ``languages.py``, and the
    installed versions of tree-sitter and the grammar wheels, so editing a query or
    upgrading a grammar invalidates the cache even if nobody remembers to bump the
    constant. The source of ``scan.py`` and ``ignore.py`` is digested too: a warm refresh
    does not re-sniff the content of stored files whose size and mtime are unchanged
    (``scan(known=...)``), which is only sound while the content rules are the ones that
    admitted them. Costs ~50 ms (package metadata look-ups), once per opened index.
    """
    # Imported here: the grammar table pulls in tree_sitter, which store users that only
    # locate or inspect a database (doctor) do not need.
    from minimax_lsp.indexer.languages import GRAMMARS

    digest = hashlib.blake2b(digest_size=8)
    for module in sorted({g.module for g in GRAMMARS.values()} | {"tree_sitter"}):
        try:
            version = metadata.version(module)
        except metadata.PackageNotFoundError:
            version = "?"
        digest.update(f"{module}={version}\0".encode())
    package = resources.files("minimax_lsp.indexer")
    sources = [
        package.joinpath(name) for name in ("parse.py", "languages.py", "scan.py", "ignore.py")
    ]
    queries = package.joinpath("queries")
    if queries.is_dir():
        sources += sorted(
            (q for q in queries.iterdir() if q.name.endswith(".scm")), key=lambda q: q.name
        )
    for source in sources:
        try:
            data = source.read_bytes()
        except OSError:  # not shipped as source (a frozen build): the constant decides
            continue
        digest.update(source.name.encode() + b"\0" + data + b"\0")
    return f"{EXTRACTOR_VERSION}-{digest.hexdigest()}"


# --------------------------------------------------------------------------- codec
#
# The symbols of one file travel (from a parse worker) and are stored as two parts:
#   head: compact JSON [language, has_errors, definitions, imports], with
#         definitions as [[name, kind, start_line, end_line, signature, scope], ...];
#   refs: the references in `records.PackedReferences` form (b"" when there are none):
#         a name table and two integer columns, checksummed.
# A warm start used to be dominated by building a `Reference` per stored reference
# (~0.6 us each: 1.6 s of CPU for the whole Django tree). Now loading only verifies the
# packed part (sizes and a CRC-32, ~1 GB/s) and the references are built when somebody
# reads them. Definitions stay JSON: json.loads is C, and they are needed at once (the
# symbol table). As one blob (`encode_symbols`) the head is prefixed with its length.

_LENGTH: Final = 4


def encode_parts(symbols: FileSymbols) -> tuple[bytes, bytes]:
    """``symbols`` as the ``(symbols, refs)`` column values (see the codec notes)."""
    head = [
        symbols.language,
        int(symbols.has_errors),
        [
            [d.name, d.kind, d.start_line, d.end_line, d.signature, d.scope]
            for d in symbols.definitions
        ],
        list(symbols.imports),
    ]
    # ensure_ascii keeps lone surrogates (from undecodable source bytes) encodable.
    data = json.dumps(head, separators=(",", ":")).encode("ascii")
    references = packed_references(symbols)
    return data, references.data if len(references) else b""


def decode_parts(head: bytes | str, refs: bytes) -> FileSymbols:
    """Inverse of :func:`encode_parts`; raises ``ValueError`` on bad data.

    The references are checked (sizes, checksum) but built only when first read.
    """
    try:
        language, has_errors, defs, imports = json.loads(head)
        definitions = tuple([Definition(*d) for d in defs])
        references = PackedReferences(refs) if refs else _NO_REFERENCES
        return packed_symbols(
            str(language), definitions, references, tuple(imports), bool(has_errors)
        )
    except (ValueError, TypeError, IndexError, UnicodeError) as exc:
        raise ValueError(f"undecodable symbols: {exc}") from exc


def encode_symbols(symbols: FileSymbols) -> bytes:
    """Serialise ``symbols`` as one blob (inverse of :func:`decode_symbols`)."""
    head, refs = encode_parts(symbols)
    return len(head).to_bytes(_LENGTH, "little") + head + refs


def decode_symbols(data: bytes) -> FileSymbols:
    """Deserialise what :func:`encode_symbols` wrote; raises ``ValueError`` on bad data."""
    head, refs = split_blob(data)
    return decode_parts(head, refs)


def split_blob(data: bytes) -> tuple[bytes, bytes]:
    """The ``(symbols, refs)`` column values of an :func:`encode_symbols` blob."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"undecodable symbols: not bytes but {type(data).__name__}")
    blob = bytes(data)
    size = int.from_bytes(blob[:_LENGTH], "little")
    if len(blob) < _LENGTH + size or len(blob) < _LENGTH:
        raise ValueError("undecodable symbols: truncated")
    return blob[_LENGTH : _LENGTH + size], blob[_LENGTH + size :]


_NO_REFERENCES: Final = PackedReferences.from_columns((), (), ())


# --------------------------------------------------------------------------- store


class Store:
    """The SQLite cache of one workspace (see the module docstring).

    Parameters
    ----------
    path:
        The database file (see :func:`database_path`); its folder is created.
    root:
        The resolved workspace root, recorded in the database so a (practically
        impossible) digest collision or a copied file is detected.
    extractor:
        The extractor fingerprint; defaults to :func:`extractor_fingerprint`.
    """

    def __init__(self, path: Path, *, root: str, extractor: str | None = None) -> None:
        self.path = path
        self.root = root
        self.extractor = extractor if extractor is not None else extractor_fingerprint()
        #: False when the store fell back to an in-memory database.
        self.persistent = True
        #: How many times a database found corrupted while in use was rebuilt empty.
        self.resets = 0
        self._lock = threading.Lock()
        self._conn = self._open()

    # -- opening -------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._open_checked()
        except CorruptDatabase as exc:
            logger.warning("index cache %s is unusable (%s); rebuilding it", self.path, exc)
        except (OSError, sqlite3.Error) as exc:
            if not _is_corruption(exc):
                return self._in_memory(exc)
            logger.warning("index cache %s is corrupted (%s); rebuilding it", self.path, exc)
        try:
            self._delete_files()
            return self._open_checked()
        except (OSError, sqlite3.Error, CorruptDatabase) as exc:
            return self._in_memory(exc)

    def _in_memory(self, exc: BaseException) -> sqlite3.Connection:
        logger.warning(
            "cannot use the index cache %s (%s); keeping the index in memory only",
            self.path,
            exc,
        )
        self.persistent = False
        conn = _connect(":memory:")
        _create_schema(conn)
        self._write_meta(conn)
        return conn

    def _open_checked(self) -> sqlite3.Connection:
        conn = _connect(str(self.path))
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Bring a fresh or existing database to our schema, or raise CorruptDatabase."""
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes in WAL mode (only a power cut can lose
        # the last commits), which is plenty for a cache.
        conn.execute("PRAGMA synchronous=NORMAL")
        # IMMEDIATE: two processes opening a new database must not both create the schema.
        with _transaction(conn, immediate=True):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if version == 0 and not tables:
                _create_schema(conn)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._write_meta(conn)
                return
            if 0 < version < SCHEMA_VERSION:
                # Written by an older version of ours: an upgrade, not damage. The rows
                # are only a cache of what the next refresh re-parses.
                logger.info(
                    "index cache %s: upgrading schema %d -> %d", self.path, version, SCHEMA_VERSION
                )
                for table in tables:
                    if table in ("files", "meta"):
                        conn.execute(f"DROP TABLE {table}")
                _create_schema(conn)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._write_meta(conn)
                return
            if version != SCHEMA_VERSION:
                raise CorruptDatabase(f"schema version {version}, expected {SCHEMA_VERSION}")
            if _columns(conn, "files") != _FILES_COLUMNS or _columns(conn, "meta") != _META_COLUMNS:
                raise CorruptDatabase("unexpected table layout")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("root") != self.root:
                raise CorruptDatabase(f"written for another root ({meta.get('root')!r})")
            if meta.get("extractor") != self.extractor:
                # Not damage: the extractor changed, so every parsed row is stale.
                conn.execute("DELETE FROM files")
                self._write_meta(conn)

    def _write_meta(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("root", self.root), ("extractor", self.extractor)],
        )

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _reset(self, reason: BaseException) -> None:
        """Replace a database found corrupted while in use by an empty one."""
        logger.warning("index cache %s is corrupted (%s); rebuilding it", self.path, reason)
        self.resets += 1
        self._conn.close()
        try:
            self._delete_files()
            self._conn = self._open_checked()
        except (OSError, sqlite3.Error, CorruptDatabase) as exc:
            self._conn = self._in_memory(exc)

    # -- reading -------------------------------------------------------------------------

    def load(self) -> dict[str, FileEntry]:
        """Every stored entry by path. A corrupted database is rebuilt and reads as empty."""
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT path, size, mtime_ns, hash, line_count, symbols, refs FROM files"
                ).fetchall()
            except sqlite3.Error as exc:
                if not _is_corruption(exc):
                    logger.warning("cannot read the index cache %s: %s", self.path, exc)
                    return {}
                self._reset(exc)
                return {}
        entries: dict[str, FileEntry] = {}
        bad: list[str] = []
        with gc_paused():
            for path, size, mtime_ns, content_hash, line_count, head, refs in rows:
                try:
                    symbols = decode_parts(head, refs)
                except ValueError:
                    bad.append(path)
                    continue
                entries[path] = FileEntry(path, size, mtime_ns, content_hash, symbols, line_count)
        if bad:
            # A damaged row is simply re-parsed; no need to throw the whole cache away.
            logger.warning("index cache %s: %d unreadable rows dropped", self.path, len(bad))
            self.write(deleted=bad)
        return entries

    def count(self) -> int:
        """Number of stored rows."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM files").fetchone()[0])

    # -- writing -------------------------------------------------------------------------

    def write(
        self,
        *,
        upserted: Iterable[FileEntry] = (),
        touched: Iterable[FileEntry] = (),
        deleted: Iterable[str] = (),
        blobs: Mapping[str, bytes] | None = None,
    ) -> bool:
        """Apply one batch in one transaction.

        Parameters
        ----------
        upserted:
            Entries to insert or replace (symbols serialised).
        touched:
            Entries whose content is unchanged: only their size and mtime are updated.
        deleted:
            Paths whose rows are removed.
        blobs:
            Already serialised symbols by path (from :func:`encode_symbols` in a worker
            process), used instead of encoding the entry's symbols again.

        Returns
        -------
        bool
            True when the batch was written. False when the database turned out to be
            corrupted and was rebuilt empty (:attr:`resets` then increases: the caller
            should rewrite everything with :meth:`replace_all`), or could not be written
            (locked by another process past the busy timeout; the rows on disk stay
            stale, which the size/mtime/hash checks catch on the next load).
        """
        blobs = blobs or {}
        rows = []
        for e in upserted:
            blob = blobs.get(e.path)
            head, refs = split_blob(blob) if blob else encode_parts(e.symbols)
            rows.append((e.path, e.size, e.mtime_ns, e.content_hash, e.line_count, head, refs))
        touches = [(e.size, e.mtime_ns, e.path) for e in touched]
        gone = [(p,) for p in deleted]
        if not (rows or touches or gone):
            return True
        with self._lock:
            try:
                with _transaction(self._conn, immediate=True):
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                    )
                    self._conn.executemany(
                        "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", touches
                    )
                    self._conn.executemany("DELETE FROM files WHERE path = ?", gone)
            except sqlite3.Error as exc:
                if _is_corruption(exc):
                    self._reset(exc)
                else:
                    logger.warning("could not write the index cache %s: %s", self.path, exc)
                return False
        return True

    def replace_all(self, entries: Iterable[FileEntry]) -> bool:
        """Make the database hold exactly ``entries`` (after a reset, say)."""
        with self._lock:
            try:
                with _transaction(self._conn, immediate=True):
                    self._conn.execute("DELETE FROM files")
            except sqlite3.Error as exc:
                logger.warning("could not write the index cache %s: %s", self.path, exc)
                return False
        return self.write(upserted=entries)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()


# --------------------------------------------------------------------------- helpers


def _connect(target: str) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: the
    # Store serialises access with its own lock, and the index writes from worker threads.
    return sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Decoding a warm index creates ~10^6 small records that can hold no cycles; the
    collector's repeated passes over them doubled the load time (measured 1.6 s vs
    0.75 s for 1.3 M references). The collector is re-enabled afterwards only if it was
    enabled before, so a caller that disabled it on purpose keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _create_schema(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would commit the caller's transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


@contextmanager
def _transaction(conn: sqlite3.Connection, *, immediate: bool = False) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _columns(conn: sqlite3.Connection, table: str) -> tuple[Any, ...]:
    return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))


def _is_corruption(exc: BaseException) -> bool:
    """True for errors that mean "damaged file", not "busy" or "disk full"."""
    if isinstance(exc, CorruptDatabase):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text
