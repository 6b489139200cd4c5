"""Crash safety of the index cache: SIGKILL while indexing, restart, compare.

Run it standalone from the repository root::

    python -m tests.reliability.crash               # CI-sized: 12 kills
    python -m tests.reliability.crash --long        # 100 kills, a bigger tree
    python -m tests.reliability.crash --kills 40 --files 4000 --seed 3 --json

``tests/reliability/test_cache_crash.py`` runs the CI-sized version. Each round:

1. changes part of the tree (so the next run has work to do: files modified, added,
   deleted; `mutate`);
2. starts ``minimax-lsp index ROOT`` (parallel or sequential parsing, alternately) or
   ``minimax-lsp serve`` (indexing in the background), all on one cache directory;
3. kills it with SIGKILL -- its whole process group, parser workers included -- after
   a random delay drawn from the duration of a full run, so the kill lands while
   scanning, parsing, or committing a batch;
4. checks what is on disk *before* anything repairs it: ``PRAGMA quick_check`` of the
   SQLite file, and the **trust invariant** -- every stored row that a refresh would
   reuse without reading the file (its size and mtime match the file on disk) must
   hold that file's content hash and symbols (`untrustworthy_rows`). A row failing it
   would be served wrong forever; a missing or stale row only costs a re-parse.

At the end one ``minimax-lsp index`` runs to completion and the persisted index must
equal a fresh index of the tree entry by entry (`tests.reliability.churn.compare_entries`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from minimax_lsp.indexer import parse
from minimax_lsp.indexer.languages import language_for_path
from minimax_lsp.indexer.records import FileEntry
from minimax_lsp.indexer.store import database_path
from tests.reliability.churn import compare_entries, fresh_entries, stored_entries
from tests.reliability.rpc import server_env

__all__ = ["CrashReport", "main", "mutate", "run_crashes", "untrustworthy_rows", "write_tree"]

CI_KILLS: Final = 10
LONG_KILLS: Final = 100
CI_FILES: Final = 1500
LONG_FILES: Final = 6000
_INDEX: Final = (sys.executable, "-m", "minimax_lsp", "index")
#: What each round runs and kills, in turn: ``index`` parsing in the calling thread or
#: in worker processes (killed at a random point), ``serve`` (random point), and
#: ``index`` killed the moment its SQLite write-ahead log grows (inside a write).
KINDS: Final = ("index-sequential", "index-parallel", "serve", "index-at-write")
_SERVE: Final = (sys.executable, "-m", "minimax_lsp", "serve")


def _module(rng: random.Random, k: int, generation: int) -> str:
    body = "\n".join(
        f"def f_{k}_{generation}_{j}(x):\n    return x + {rng.randint(0, 99)}\n\n"
        for j in range(rng.randint(2, 6))
    )
    return (
        f'"""File {k}, generation {generation}."""\n\n{body}\nclass C{k}_{generation}:\n    pass\n'
    )


def write_tree(root: Path, files: int, rng: random.Random) -> None:
    """``files`` small Python modules in packages of 50 under ``root``."""
    for k in range(files):
        path = root / f"pkg_{k // 50:03d}" / f"m_{k:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_module(rng, k, 0), encoding="utf-8")


def mutate(root: Path, rng: random.Random, generation: int) -> Counter[str]:
    """Modify ~40 % of the files, delete ~2 %, add as many; returns counts."""
    done: Counter[str] = Counter()
    files = sorted(root.rglob("*.py"))
    for path in files:
        roll = rng.random()
        if roll < 0.40:
            k = int(path.stem.split("_")[-1]) if path.stem.split("_")[-1].isdigit() else 0
            path.write_text(_module(rng, k, generation), encoding="utf-8")
            done["modified"] += 1
        elif roll < 0.42:
            path.unlink()
            done["deleted"] += 1
    # As many files added as deleted (and a few more): the tree keeps its size.
    for j in range(done["deleted"] + rng.randint(0, 10)):
        path = root / f"new_{generation:03d}" / f"n_{j:03d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_module(rng, j, generation), encoding="utf-8")
        done["added"] += 1
    return done


def untrustworthy_rows(root: Path, entries: Sequence[FileEntry]) -> list[str]:
    """Stored rows a refresh would reuse although they do not describe the file on disk."""
    wrong: list[str] = []
    for entry in entries:
        if entry.mtime_ns == 0:
            continue  # marked racy: always re-hashed
        try:
            st = os.stat(root / entry.path)
        except OSError:
            continue  # gone: the refresh removes the row
        if st.st_size != entry.size or st.st_mtime_ns != entry.mtime_ns:
            continue  # changed: the refresh re-reads it
        data = (root / entry.path).read_bytes()
        if hashlib.blake2b(data, digest_size=16).hexdigest() != entry.content_hash:
            wrong.append(f"{entry.path}: stored hash is not the file's")
        elif parse.extract(data, language_for_path(entry.path)) != entry.symbols:
            wrong.append(f"{entry.path}: stored symbols are not the file's")
    return wrong


def _wait_for_write(database: Path, process: subprocess.Popen[bytes], *, limit: float) -> float:
    """Poll until the database's WAL grows (a write transaction is under way); seconds."""
    wal = database.with_name(database.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    started = time.perf_counter()
    while time.perf_counter() - started < limit and process.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            if wal.stat().st_size != size:
                break
        time.sleep(0.0005)
    return time.perf_counter() - started


def _hashes(root: Path, cache: Path) -> dict[str, str]:
    return {e.path: e.content_hash for e in stored_entries(root, cache)}


def quick_check(database: Path) -> str:
    """``PRAGMA quick_check`` of the database (``"missing"`` if there is none)."""
    if not database.exists():
        return "missing"
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=10)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"error: {exc}"
    return "ok" if rows == [("ok",)] else f"problems: {rows[:3]}"


@dataclass
class CrashReport:
    """Figures of one run (plain data)."""

    files: int = 0
    kills: int = 0
    killed: Counter[str] = field(default_factory=Counter)
    finished_before_kill: int = 0
    partial_progress_persisted: int = 0
    kill_delays: list[float] = field(default_factory=list)
    startup_seconds: float = 0.0
    full_run_seconds: float = 0.0
    round_seconds: float = 0.0
    quick_check: Counter[str] = field(default_factory=Counter)
    untrustworthy: list[str] = field(default_factory=list)
    rebuilt_warnings: int = 0
    mutations: Counter[str] = field(default_factory=Counter)
    final_exit_status: int | None = None
    final_vs_fresh: dict[str, list[str]] = field(default_factory=dict)
    final_files: int = 0
    fresh_files: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["killed"] = dict(self.killed)
        data["quick_check"] = dict(self.quick_check)
        data["mutations"] = dict(self.mutations)
        return data


def _spawn(argv: Sequence[str], env: dict[str, str], stdin: int | None) -> subprocess.Popen[bytes]:
    # A session of its own: SIGKILL goes to the group, parser worker processes included.
    return subprocess.Popen(
        list(argv),
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill_group(process: subprocess.Popen[bytes]) -> tuple[bool, str]:
    """SIGKILL the process group: (whether it was still running, its stderr)."""
    finished = process.poll() is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    _out, err = process.communicate(timeout=30)
    return not finished, err.decode("utf-8", "replace")


def _index_run(
    root: Path, cache: Path, env: dict[str, str], workers: int
) -> subprocess.Popen[bytes]:
    argv = [*_INDEX, str(root), "--json", "--cache-dir", str(cache), "--workers", str(workers)]
    return _spawn(argv, env, subprocess.DEVNULL)


def _serve_run(root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = _spawn(_SERVE, env, subprocess.PIPE)
    assert process.stdin is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {},
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            },
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    ]
    for message in messages:
        body = json.dumps(message).encode()
        process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    process.stdin.flush()
    return process


def run_crashes(
    workdir: Path,
    *,
    kills: int = CI_KILLS,
    files: int = CI_FILES,
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
) -> CrashReport:
    """One crash run (see the module docstring)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    report = CrashReport(files=files)
    root = workdir / "tree"
    cache = workdir / "cache"
    write_tree(root, files, rng)
    env = server_env("http://127.0.0.1:9", cache)  # no model calls happen here
    database = database_path(root, cache)
    # Timing, so that kills land while indexing (not while importing, not after the end):
    # a run on an empty folder is the start-up; a cold run creates the cache; then one
    # uninterrupted round (same mutation rate) is how long a round's run takes.
    empty = workdir / "empty"
    empty.mkdir()
    t0 = time.perf_counter()
    _index_run(empty, workdir / "timing-cache", env, 1).communicate(timeout=600)
    report.startup_seconds = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    _index_run(root, cache, env, 1).communicate(timeout=600)
    report.full_run_seconds = round(time.perf_counter() - t0, 2)
    mutate(root, rng, 0)
    t0 = time.perf_counter()
    _index_run(root, cache, env, 1).communicate(timeout=600)
    report.round_seconds = round(time.perf_counter() - t0, 2)
    low = report.startup_seconds * 0.9
    high = max(low + 0.1, report.round_seconds * 0.95)
    for round_ in range(kills):
        report.mutations += mutate(root, rng, round_ + 1)
        kind = KINDS[round_ % len(KINDS)]
        before = _hashes(root, cache) if database.exists() else {}
        if kind == "serve":
            process = _serve_run(root, env)
        else:
            process = _index_run(root, cache, env, 2 if kind == "index-parallel" else 1)
        if kind == "index-at-write":
            delay = _wait_for_write(database, process, limit=high * 3)
        else:
            delay = rng.uniform(low, high)
            time.sleep(delay)
        report.kill_delays.append(round(delay, 3))
        was_running, stderr = _kill_group(process)
        if was_running:
            report.killed[kind] += 1
            if database.exists() and _hashes(root, cache) != before:
                report.partial_progress_persisted += 1
        else:
            report.finished_before_kill += 1
        report.kills += 1
        report.rebuilt_warnings += stderr.count("rebuil")
        report.quick_check[quick_check(database)] += 1
        if database.exists():
            report.untrustworthy += untrustworthy_rows(root, stored_entries(root, cache))
        log(f"round {round_ + 1}/{kills}: {kind} killed after {delay:.2f} s")
    final = _index_run(root, cache, env, 2)
    _out, err = final.communicate(timeout=600)
    report.final_exit_status = final.returncode
    report.rebuilt_warnings += err.decode("utf-8", "replace").count("rebuil")
    stored = stored_entries(root, cache)
    fresh, _ = fresh_entries(root, workdir / "fresh-cache")
    diff = compare_entries(stored, fresh)
    report.final_files, report.fresh_files = len(stored), len(fresh)
    report.final_vs_fresh = {
        "missing": list(diff.missing[:20]),
        "extra": list(diff.extra[:20]),
        "different": list(diff.different[:20]),
    }
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.reliability.crash [--long] [--kills N] [--files N] [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--long", action="store_true", help=f"{LONG_KILLS} kills, {LONG_FILES} files"
    )
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kills = args.kills or (LONG_KILLS if args.long else CI_KILLS)
    files = args.files or (LONG_FILES if args.long else CI_FILES)
    with tempfile.TemporaryDirectory(prefix="minimax-crash-") as tmp:
        report = run_crashes(
            Path(tmp),
            kills=kills,
            files=files,
            seed=args.seed,
            log=lambda m: print(m, file=sys.stderr),
        )
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {json.dumps(value)[:1500]}")
    ok = not report.untrustworthy and not any(report.final_vs_fresh.values())
    return 0 if ok and report.final_exit_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
