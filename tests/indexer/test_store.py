"""The SQLite index cache: location, round trips, versions, damage, crashes, two processes."""

from __future__ import annotations

import hashlib
import logging
import pickle
import sqlite3
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from minimax_lsp.indexer.records import (
    Definition,
    FileEntry,
    FileSymbols,
    PackedReferences,
    Reference,
    packed_references,
    packed_symbols,
)
from minimax_lsp.indexer.store import (
    CACHE_DIR_ENV,
    SCHEMA_VERSION,
    Store,
    database_path,
    decode_symbols,
    default_cache_dir,
    encode_symbols,
    extractor_fingerprint,
)

RECORDS_LOGGER = "minimax_lsp.indexer.records"

STORE_LOGGER = "minimax_lsp.indexer.store"


def _symbols(seed: int = 0) -> FileSymbols:
    return FileSymbols(
        "python",
        (
            Definition(f"f{seed}", "function", 1, 3, f"def f{seed}(x: int) -> int:", ""),
            Definition("run", "method", 5, 9, "def run(self) -> None:", "Job.Inner"),
        ),
        (Reference("os", 1), Reference("path", 1), Reference("os", 7), Reference("Job", 9)),
        ("os.path", "..pkg.mod"),
        has_errors=bool(seed % 2),
    )


def _entry(path: str, seed: int = 0) -> FileEntry:
    return FileEntry(
        path, 100 + seed, 1_700_000_000_000_000_000 + seed, f"h{seed}", _symbols(seed), 9
    )


def _open(tmp_path: Path, root: str = "/work/root", extractor: str = "x1") -> Store:
    return Store(tmp_path / "index" / "db.sqlite3", root=root, extractor=extractor)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == STORE_LOGGER and r.levelno == logging.WARNING
    ]


# --------------------------------------------------------------------------- location


def test_database_path_is_named_after_the_root_and_its_digest(tmp_path: Path) -> None:
    root = tmp_path / "My Project!"
    root.mkdir()
    path = database_path(root, tmp_path / "cache")
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    assert path == tmp_path / "cache" / "index" / f"My_Project_-{digest}.sqlite3"


def test_two_spellings_of_one_root_share_a_database(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(root)
    cache = tmp_path / "cache"
    assert database_path(root, cache) == database_path(link, cache)
    assert database_path(root / "sub" / "..", cache) == database_path(root, cache)
    assert database_path(root / "sub", cache) != database_path(root, cache)


def test_cache_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    assert database_path(tmp_path).parent == tmp_path / "envcache" / "index"
    # The explicit argument wins over the environment.
    assert database_path(tmp_path, tmp_path / "arg").parent == tmp_path / "arg" / "index"


def test_without_the_environment_the_user_cache_dir_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    assert default_cache_dir().name == "minimax-lsp"


def test_extractor_fingerprint_is_stable_and_versioned() -> None:
    first = extractor_fingerprint()
    assert first == extractor_fingerprint()
    assert first.split("-")[0].isdigit()


# --------------------------------------------------------------------------- codec


def test_symbols_round_trip_exactly() -> None:
    odd = FileSymbols(
        "text",
        (Definition("é", "constant", 2, 2, "X = '\udcff' # ünïcode", "A.B"),),
        (Reference("naïve", 3),),
        ("<stdio.h>", 'A\\B\\"C'),
        has_errors=True,
    )
    for symbols in (_symbols(0), _symbols(1), odd, FileSymbols("text")):
        blob = encode_symbols(symbols)
        assert isinstance(blob, bytes)
        assert decode_symbols(blob) == symbols


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"[]",
        b"{}",
        b"[1,2,3,4,5,6]",
        b'["python",0,[[1]],[],[],[]]',
        b"\xff",
        b"\x10\x00\x00\x00" + b'["python",0,[],[]]',  # the head's length is wrong
        b"\x12\x00\x00\x00" + b'["python",0,[],[]]' + b"\x00" * 30,  # bad references
    ],
)
def test_undecodable_symbols_raise_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decode_symbols(blob)


def test_packed_references_round_trip_any_values() -> None:
    references = (
        Reference("os", 1),
        Reference("naïve\udcff", 2),  # a lone surrogate (undecodable source bytes)
        Reference("line\nbreak", 3),
        Reference("os", 3),
        Reference("far", 2**40),  # lines that do not fit 32 bits take the wide columns
        Reference("odd", -1),
    )
    for refs in (references, references[:4], ()):
        packed = PackedReferences.from_references(refs)
        assert len(packed) == len(refs)
        assert PackedReferences(packed.data).unpack() == refs


def test_packed_symbols_behave_like_plain_ones() -> None:
    plain = _symbols(1)
    packed = packed_symbols(
        plain.language,
        plain.definitions,
        PackedReferences.from_references(plain.references),
        plain.imports,
        plain.has_errors,
    )
    assert packed == plain and plain == packed and hash(packed) == hash(plain)
    assert repr(packed) == repr(plain)
    assert isinstance(packed.references, tuple)
    assert packed.references is packed.references  # built once, then cached
    assert replace(packed, language="go").references == plain.references
    assert pickle.loads(pickle.dumps(packed)) == plain
    assert packed_references(packed) is packed_references(packed)  # no re-packing
    with pytest.raises(FrozenInstanceError):
        packed.references = ()  # type: ignore[misc]


@pytest.mark.parametrize("cut", [0, 5, 21, -1])
def test_damaged_packed_references_are_refused(cut: int) -> None:
    data = PackedReferences.from_references(_symbols().references).data
    flipped = bytearray(data)
    flipped[cut] ^= 0x20
    for bad in (data[:cut], bytes(flipped)):
        with pytest.raises(ValueError):
            PackedReferences(bad)


def test_references_that_cannot_be_unpacked_read_as_empty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Sizes and checksum valid, content not (only a bug could write this): a reader
    # gets no references and one error line, never an exception.
    names = b"[1,2]"  # a name table of numbers
    body = names + (7).to_bytes(4, "little") + (1).to_bytes(4, "little")
    header = struct.pack("<BxxxIIII", 4, 1, 1, len(names), zlib.crc32(body))
    packed = PackedReferences(header + body)
    symbols = packed_symbols("python", (), packed)
    with caplog.at_level(logging.ERROR, logger=RECORDS_LOGGER):
        assert symbols.references == ()
    assert len(caplog.records) == 1


# --------------------------------------------------------------------------- reading and writing


def test_entries_round_trip_through_the_database(tmp_path: Path) -> None:
    store = _open(tmp_path)
    entries = [_entry(f"src/m{i}.py", i) for i in range(5)]
    assert store.write(upserted=entries)
    store.close()
    store = _open(tmp_path)
    assert store.load() == {e.path: e for e in entries}
    assert store.persistent


def test_touch_updates_only_size_and_mtime_and_delete_removes(tmp_path: Path) -> None:
    store = _open(tmp_path)
    a, b = _entry("a.py", 1), _entry("b.py", 2)
    store.write(upserted=[a, b])
    moved = FileEntry("a.py", 7, 42, a.content_hash, FileSymbols("ignored"), 0)
    assert store.write(touched=[moved], deleted=["b.py", "never-there.py"])
    loaded = store.load()
    assert list(loaded) == ["a.py"]
    assert (loaded["a.py"].size, loaded["a.py"].mtime_ns) == (7, 42)
    assert loaded["a.py"].symbols == a.symbols  # a touch never rewrites the symbols
    assert loaded["a.py"].line_count == a.line_count


def test_pre_serialised_blobs_are_stored_as_given(tmp_path: Path) -> None:
    store = _open(tmp_path)
    entry = _entry("a.py", 3)
    store.write(upserted=[entry], blobs={"a.py": encode_symbols(entry.symbols)})
    assert store.load()["a.py"] == entry


def test_database_is_wal_with_the_schema_version(tmp_path: Path) -> None:
    store = _open(tmp_path)
    store.close()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_another_extractor_drops_parsed_rows_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _open(tmp_path, extractor="old")
    store.write(upserted=[_entry("a.py")])
    store.close()
    store = _open(tmp_path, extractor="new")
    assert store.load() == {}
    assert _warnings(caplog) == []
    store.close()
    # The new fingerprint is recorded: reopening keeps what is written now.
    store = _open(tmp_path, extractor="new")
    store.write(upserted=[_entry("b.py")])
    store.close()
    assert list(_open(tmp_path, extractor="new").load()) == ["b.py"]


# --------------------------------------------------------------------------- damage


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database at all\x00\xff" * 500)


def _damage_truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _damage_version(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 41}")
    conn.commit()
    conn.close()


def _damage_layout(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE files")
    conn.execute("CREATE TABLE files (path TEXT PRIMARY KEY, blob BLOB)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    "damage", [_damage_garbage, _damage_truncate, _damage_version, _damage_layout]
)
def test_damaged_database_is_rebuilt_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    store = _open(tmp_path)
    # Enough rows to span many pages, so that truncation cuts table pages.
    store.write(upserted=[_entry(f"pkg/file{i:04}.py", i) for i in range(400)])
    store.close()
    assert callable(damage)
    damage(store.path)
    caplog.set_level(logging.WARNING, logger=STORE_LOGGER)

    store = _open(tmp_path)
    assert store.load() == {}
    assert len(_warnings(caplog)) == 1
    assert store.persistent
    # The rebuilt database works and persists.
    assert store.write(upserted=[_entry("new.py")])
    store.close()
    assert list(_open(tmp_path).load()) == ["new.py"]
    assert len(_warnings(caplog)) == 1


def test_a_database_of_another_root_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _open(tmp_path, root="/one")
    store.write(upserted=[_entry("a.py")])
    store.close()
    assert _open(tmp_path, root="/two").load() == {}
    assert len(_warnings(caplog)) == 1


def test_a_damaged_row_is_dropped_not_the_whole_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _open(tmp_path)
    store.write(upserted=[_entry("good.py"), _entry("bad.py")])
    store.close()
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE files SET symbols = x'00ff' WHERE path = 'bad.py'")
    conn.commit()
    conn.close()
    store = _open(tmp_path)
    assert list(store.load()) == ["good.py"]
    assert store.count() == 1
    assert len(_warnings(caplog)) == 1


def test_a_row_with_damaged_references_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _open(tmp_path)
    store.write(upserted=[_entry("good.py"), _entry("bad.py")])
    store.close()
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE files SET refs = substr(refs, 1, length(refs) - 1) WHERE path = 'bad.py'")
    conn.commit()
    conn.close()
    store = _open(tmp_path)
    assert list(store.load()) == ["good.py"]
    assert len(_warnings(caplog)) == 1


def test_loaded_references_are_equal_and_read_lazily(tmp_path: Path) -> None:
    store = _open(tmp_path)
    entry = _entry("a.py", 2)
    store.write(upserted=[entry])
    loaded = store.load()["a.py"].symbols
    assert len(packed_references(loaded)) == len(entry.symbols.references)
    assert loaded.references == entry.symbols.references


def test_definitions_stay_countable_with_sql(tmp_path: Path) -> None:
    # `minimax-lsp doctor` counts symbols without decoding rows in Python.
    store = _open(tmp_path)
    store.write(upserted=[_entry("a.py"), _entry("b.py", 1)])
    store.close()
    conn = sqlite3.connect(store.path)
    query = "SELECT sum(json_array_length(CAST(symbols AS TEXT), '$[2]')) FROM files"
    assert conn.execute(query).fetchone()[0] == 4
    conn.close()


def test_a_database_of_an_older_schema_is_upgraded_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "index" / "db.sqlite3"
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL, line_count INTEGER NOT NULL,
            symbols BLOB NOT NULL) WITHOUT ROWID;
        INSERT INTO files VALUES ('old.py', 1, 1, 'h', 1, '["python",0,[],[],[],[]]');
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    store = _open(tmp_path)
    assert store.load() == {}
    assert _warnings(caplog) == []
    assert store.write(upserted=[_entry("new.py")])
    store.close()
    assert list(_open(tmp_path).load()) == ["new.py"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_unwritable_cache_dir_falls_back_to_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    store = Store(blocker / "index" / "db.sqlite3", root="/r", extractor="x")
    assert not store.persistent
    assert len(_warnings(caplog)) == 1
    assert store.write(upserted=[_entry("a.py")])
    assert list(store.load()) == ["a.py"]


# --------------------------------------------------------------------------- processes

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from minimax_lsp.indexer.records import FileEntry, FileSymbols, Reference
    from minimax_lsp.indexer.store import Store

    store = Store(Path(sys.argv[1]), root="/work/root", extractor="x1")
    refs = tuple(Reference(f"name{i}", i) for i in range(300))
    batch = 0
    while True:
        rows = [
            FileEntry(f"b{batch}/f{i}.py", i, i, "h", FileSymbols("python", (), refs), 1)
            for i in range(50)
        ]
        store.write(upserted=rows)
        batch += 1
        if batch == 2:
            print("written", flush=True)
    """
)


def test_sigkill_during_writes_leaves_whole_batches(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "index" / "db.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "written"
        time.sleep(0.2)  # let it get into the middle of later transactions
    finally:
        proc.kill()  # SIGKILL: no cleanup, no checkpoint
        proc.wait()
    store = _open(tmp_path)
    loaded = store.load()
    assert _warnings(caplog) == []
    assert len(loaded) >= 100
    assert len(loaded) % 50 == 0  # every batch is all or nothing


_LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO files VALUES ('held.py', 1, 1, 'h', 0, ?, ?)",
                 (b'["text",0,[],[]]', b''))
    print("locked", flush=True)
    time.sleep(0.6)
    conn.execute("COMMIT")
    """
)


def test_a_second_process_waits_for_the_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _open(tmp_path)
    store.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = _open(tmp_path)  # opening takes the write lock: it must wait, not fail
        assert second.write(upserted=[_entry("mine.py")])
        waited = time.monotonic() - started
    finally:
        proc.wait(5)
    assert waited > 0.2
    assert sorted(second.load()) == ["held.py", "mine.py"]
    assert _warnings(caplog) == []
