"""The index under churn: bursts of file changes while the real server serves requests.

Run it standalone from the repository root::

    python -m tests.reliability.churn                  # CI-sized: synthetic revisions
    python -m tests.reliability.churn --long           # two real sdists, more storms
    python -m tests.reliability.churn --files 5000 --storms 6 --json

``tests/reliability/test_index_churn.py`` runs the CI-sized version. What a run does:

1. **Revisions**: a git repository holding two revisions of one tree. CI-sized: two
   synthetic revisions (`synthesize`: ~2,000 Python/JS/Go files; from A to B a quarter
   are modified, a sixth deleted, a tenth renamed, a sixth added). ``--long``: the
   source distributions of two releases of a real project (`from_sdists`, fetched once
   with ``pip download`` into ``tests/bench/_work/``).
2. The real ``minimax-lsp serve`` indexes that tree (and a second, small folder) with
   its own file watcher, as for an editor that does not watch files for it.
3. **Storms**, each a burst applied as fast as the file system takes it:
   ``git checkout -f`` to the other revision (thousands of files created, modified,
   deleted, renamed); then hostile changes (`hostile_changes`): new untracked files,
   files made binary (NUL bytes), files replaced by dangling symlinks or a FIFO, a
   symlink loop, a folder symlink pointing at its parent, a package folder renamed,
   a folder deleted. Midway, the second workspace folder is deleted from disk and then
   removed from the session (``didChangeWorkspaceFolders``).
4. Throughout, a prober thread sends ``minimax.status`` and ``minimax.showContext``
   back to back and records each latency.
5. **Convergence**: after the last storm, the server's file and symbol counts must
   reach those of a fresh index of the final tree; then the server is shut down and the
   index it persisted is loaded and compared entry by entry (path, content hash,
   definitions) with the fresh index (`compare_entries`).

A file made "unreadable" with ``chmod 000`` is still readable by root (CI containers
often run as root), so unreadability is produced with dangling symlinks and a FIFO.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from minimax_lsp.indexer.index import Index
from minimax_lsp.indexer.records import FileEntry, FileSymbols
from tests.fake_minimax import FakeMiniMax
from tests.reliability.rpc import RawServer, initialize, server_env, wait_ready

__all__ = [
    "ChurnReport",
    "EntryDiff",
    "Revisions",
    "compare_entries",
    "fresh_entries",
    "from_sdists",
    "git",
    "hostile_changes",
    "main",
    "run_churn",
    "synthesize",
]

#: Synthetic files in the CI-sized run.
CI_FILES: Final = 2000
#: Storms (bursts) in the CI-sized run and in ``--long``.
CI_STORMS: Final = 3
LONG_STORMS: Final = 8
#: Releases compared by ``--long`` (pure Python, thousands of files).
LONG_SDISTS: Final = ("Django==5.0.6", "Django==5.1.4")
#: How long the index may take to converge after the last storm (seconds).
CONVERGE_TIMEOUT: Final = 90.0
#: The index must hold still this long to count as converged (seconds).
SETTLED_SECONDS: Final = 1.5
#: How long one probe may wait for its answer (seconds).
PROBE_TIMEOUT: Final = 60.0
#: A file present, unchanged, in both synthetic revisions (probed with showContext).
PROBE_FILE: Final = "pkg_000/mod_000.py"

_GIT_ENV: Final = {
    "GIT_AUTHOR_NAME": "churn",
    "GIT_AUTHOR_EMAIL": "churn@example.invalid",
    "GIT_COMMITTER_NAME": "churn",
    "GIT_COMMITTER_EMAIL": "churn@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


# --------------------------------------------------------------------------- git


def git(root: Path, *args: str) -> str:
    """Run ``git args`` in ``root``; its stdout (raises on failure)."""
    env = {**os.environ, **_GIT_ENV, "HOME": str(root.parent)}
    result = subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "-c", "core.autocrlf=false", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


@dataclass(frozen=True)
class Revisions:
    """A git work tree with two commits (``a`` checked out at the start)."""

    root: Path
    a: str
    b: str
    files_a: int
    files_b: int
    diff: Mapping[str, int]  # git's name-status letters from a to b: A, M, D, R


def _commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def _diff(root: Path, a: str, b: str) -> dict[str, int]:
    out = git(root, "diff", "--name-status", "-M", a, b)
    return dict(Counter(line.split("\t", 1)[0][:1] for line in out.splitlines() if line))


def _count_files(root: Path, commit: str) -> int:
    return len(git(root, "ls-tree", "-r", "--name-only", commit).splitlines())


# --------------------------------------------------------------------------- synthetic


def _python_module(rng: random.Random, package: str, index: int, generation: int) -> str:
    names = [f"func_{index}_{generation}_{k}" for k in range(rng.randint(1, 4))]
    lines = [f'"""Module {index} of {package} (generation {generation})."""', ""]
    if index:
        lines += [f"from {package}.mod_{index - 1:03d} import *  # noqa", ""]
    for name in names:
        lines += ["", f"def {name}(value):", f"    return value + {rng.randint(0, 999)}", ""]
    lines += [
        "",
        f"class Thing{index}G{generation}:",
        "    def method(self):",
        "        return 1",
        "",
    ]
    return "\n".join(lines)


def _js_module(rng: random.Random, index: int, generation: int) -> str:
    return (
        f"export function js{index}g{generation}(x) {{\n  return x * {rng.randint(1, 9)};\n}}\n"
        f"export class Js{index} {{}}\n"
    )


def _go_file(index: int, generation: int) -> str:
    return f"package main\n\nfunc Go{index}G{generation}() int {{\n\treturn {index}\n}}\n"


def _tree_a(rng: random.Random, files: int) -> dict[str, str]:
    tree: dict[str, str] = {".gitignore": "*.log\nbuild/\n", "README.md": "# churn\n"}
    per_package = 40
    for i in range(files):
        package = f"pkg_{i // per_package:03d}"
        j = i % per_package
        if i % 10 == 7:
            tree[f"web/{package}/m{j:03d}.js"] = _js_module(rng, j, 0)
        elif i % 10 == 9:
            tree[f"go/{package}/f{j:03d}.go"] = _go_file(j, 0)
        else:
            if j == 0:
                tree[f"{package}/__init__.py"] = ""
            tree[f"{package}/mod_{j:03d}.py"] = _python_module(rng, package, j, 0)
    return tree


def _tree_b(rng: random.Random, a: dict[str, str]) -> dict[str, str]:
    """Revision B: files kept, modified, deleted, renamed (some edited too), added."""
    b: dict[str, str] = {}
    for path, text in a.items():
        if (
            path == PROBE_FILE
            or path.endswith("__init__.py")
            or not path.startswith(("pkg", "web", "go"))
        ):
            b[path] = text
            continue
        roll = rng.random()
        if roll < 0.45:
            b[path] = text
        elif roll < 0.70:
            b[path] = text.replace("return", "return -1 +", 1) + "\n# modified in B\n"
        elif roll < 0.85:
            continue  # deleted
        else:
            new = path.replace("mod_", "moved_").replace("/m", "/moved_m").replace("/f", "/moved_f")
            b[new] = text if roll < 0.95 else text + "\n# renamed and edited\n"
    extra = len(a) // 6
    for k in range(extra):
        b[f"new_pkg_{k // 50:02d}/added_{k:04d}.py"] = f"def added_{k}():\n    return {k}\n"
    b[".gitignore"] = "*.log\nbuild/\n*.tmp\n"
    return b


def _write_tree(root: Path, tree: Mapping[str, str]) -> None:
    for rel, text in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def synthesize(root: Path, *, files: int = CI_FILES, seed: int = 0) -> Revisions:
    """A git repository at ``root`` with two synthetic revisions (see the module docstring)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    tree_a = _tree_a(rng, files)
    _write_tree(root, tree_a)
    a = _commit_all(root, "revision A")
    tree_b = _tree_b(rng, tree_a)
    # No `git mv`: git finds renames by content (`diff -M`), as after any real change.
    for rel in tree_a.keys() - tree_b.keys():
        (root / rel).unlink()
    _write_tree(root, tree_b)
    b = _commit_all(root, "revision B")
    git(root, "checkout", "-q", "-f", a)
    return Revisions(root, a, b, _count_files(root, a), _count_files(root, b), _diff(root, a, b))


def from_sdists(root: Path, requirements: Sequence[str], work: Path) -> Revisions:
    """A git repository at ``root`` with two releases of one sdist (fetched with pip)."""
    from tests.bench.common import fetch_sdist, unpack_sdist, work_dir

    folder = work_dir(work)
    trees = []
    for requirement in requirements:
        archive = fetch_sdist(requirement, folder / "dl")
        trees.append(unpack_sdist(archive, folder / requirement.replace("==", "-")))
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    commits = []
    for tree in trees:
        for child in root.iterdir():
            if child.name != ".git":
                shutil.rmtree(
                    child
                ) if child.is_dir() and not child.is_symlink() else child.unlink()
        shutil.copytree(tree, root, dirs_exist_ok=True, symlinks=True)
        commits.append(_commit_all(root, tree.name))
    git(root, "checkout", "-q", "-f", commits[0])
    a, b = commits
    return Revisions(root, a, b, _count_files(root, a), _count_files(root, b), _diff(root, a, b))


# --------------------------------------------------------------------------- hostile changes


def hostile_changes(root: Path, rng: random.Random, storm: int, keep: str) -> Counter[str]:
    """Untracked files, binary files, dangling links, a FIFO, loops, a renamed folder.

    Returns counts of what was done. Everything is relative to the files present now;
    ``keep`` (the file open in the editor, a relative path) is left alone: an open
    buffer rightly stays in the index whatever happens to its file on disk.
    """
    done: Counter[str] = Counter()
    sources = sorted(
        p
        for p in root.rglob("*.py")
        if ".git" not in p.parts and p.is_file() and not p.is_symlink()
    )
    sources = [p for p in sources if p.relative_to(root).as_posix() != keep]
    rng.shuffle(sources)
    scratch = root / f"scratch_{storm}"
    scratch.mkdir(exist_ok=True)
    for k in range(150):
        (scratch / f"untracked_{k:03d}.py").write_text(f"def scratch_{storm}_{k}():\n    pass\n")
        done["created untracked"] += 1
    for path in sources[:60]:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\ndef appended_{storm}():\n    return {storm}\n")
        done["modified"] += 1
    for path in sources[60:70]:
        path.write_bytes(b"def half():\n\x00\x00\x00binary now\n")
        done["made binary"] += 1
    for path in sources[70:80]:
        path.unlink()
        path.symlink_to(path.with_name("does-not-exist.py"))
        done["replaced by a dangling symlink"] += 1
    for path in sources[80:85]:
        path.unlink()
        done["deleted"] += 1
    fifo = sources[85] if len(sources) > 85 else root / "fifo.py"
    with contextlib.suppress(FileNotFoundError):
        fifo.unlink()
    os.mkfifo(fifo)
    done["replaced by a FIFO"] += 1
    loop_a, loop_b = scratch / "loop_a.py", scratch / "loop_b.py"
    loop_a.symlink_to(loop_b.name)
    loop_b.symlink_to(loop_a.name)
    (scratch / "parent").symlink_to("..", target_is_directory=True)
    (scratch / "outside.py").symlink_to("/etc/hostname")
    done["symlink loop / parent link / outside link"] += 3
    packages = sorted(
        p for p in root.glob("pkg_*") if p.is_dir() and not keep.startswith(f"{p.name}/")
    )
    if packages:
        victim = packages[(storm * 7) % len(packages)]
        victim.rename(victim.with_name(victim.name + f"_renamed_{storm}"))
        done["folder renamed"] += 1
    if len(packages) > 1:
        shutil.rmtree(packages[(storm * 7 + 3) % len(packages)], ignore_errors=True)
        done["folder deleted"] += 1
    return done


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class EntryDiff:
    """How two indexes differ (empty lists: identical)."""

    missing: tuple[str, ...]  # in the fresh index only
    extra: tuple[str, ...]  # in the checked index only
    different: tuple[str, ...]  # same path, other hash or definitions

    @property
    def same(self) -> bool:
        return not (self.missing or self.extra or self.different)


def _key(entry: FileEntry) -> tuple[str, int, FileSymbols]:
    return entry.content_hash, entry.line_count, entry.symbols


def compare_entries(checked: Sequence[FileEntry], fresh: Sequence[FileEntry]) -> EntryDiff:
    """Compare two indexes by path, content hash, line count and extracted symbols."""
    a = {e.path: _key(e) for e in checked}
    b = {e.path: _key(e) for e in fresh}
    return EntryDiff(
        missing=tuple(sorted(b.keys() - a.keys())),
        extra=tuple(sorted(a.keys() - b.keys())),
        different=tuple(sorted(p for p in a.keys() & b.keys() if a[p] != b[p])),
    )


def fresh_entries(root: Path, cache_dir: Path) -> tuple[list[FileEntry], int]:
    """A fresh index of ``root`` (its own empty cache): entries and symbol count."""
    with Index(root, cache_dir=cache_dir, workers=1) as index:
        stats = index.refresh()
        return index.entries(), stats.symbols


def stored_entries(root: Path, cache_dir: Path) -> list[FileEntry]:
    """What a server persisted for ``root`` in ``cache_dir`` (loaded, not refreshed)."""
    with Index(root, cache_dir=cache_dir, workers=1) as index:
        return index.entries()


# --------------------------------------------------------------------------- probing


@dataclass
class Prober:
    """A thread sending status / showContext back to back, recording latencies."""

    server: RawServer
    uri: str
    root: Path
    #: (monotonic time, files, symbols) of the root's workspace in each status answer.
    counts: list[tuple[float, int, int]] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"status": [], "showContext": []}
    )
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def _run(self) -> None:
        position = {"line": 3, "character": 4}
        while not self._stop.is_set():
            for name, args in (
                ("status", ("minimax.status",)),
                ("showContext", ("minimax.showContext", {"uri": self.uri, "position": position})),
            ):
                started = time.perf_counter()
                reply = self.server.command(*args, timeout=PROBE_TIMEOUT)
                elapsed = time.perf_counter() - started
                if reply is None or "result" not in reply:
                    at = time.strftime("%H:%M:%S")
                    self.failures.append(f"{name} at {at}: {reply!r} after {elapsed:.1f} s")
                    continue
                self.latencies[name].append(elapsed)
                item = _workspace(reply["result"], self.root) if name == "status" else None
                if item is not None:
                    files, symbols = int(item.get("files", -1)), int(item.get("symbols", -1))
                    self.counts.append((time.monotonic(), files, symbols))
            self._stop.wait(0.02)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max (seconds) and the count."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


# --------------------------------------------------------------------------- the run


@dataclass
class ChurnReport:
    """Figures of one run (plain data)."""

    source: str = ""
    files_a: int = 0
    files_b: int = 0
    diff_a_to_b: dict[str, int] = field(default_factory=dict)
    storms: int = 0
    hostile: dict[str, int] = field(default_factory=dict)
    initial_index_seconds: float = 0.0
    storm_seconds: list[float] = field(default_factory=list)
    #: From the end of the last storm to the moment the server's counts reached the
    #: fresh index's and stayed there (sampled by the prober).
    converge_seconds: float | None = None
    converged: bool = False
    server_files: int = 0
    server_symbols: int = 0
    fresh_files: int = 0
    fresh_symbols: int = 0
    stored_vs_fresh: dict[str, list[str]] = field(default_factory=dict)
    second_folder: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    probe_failures: list[str] = field(default_factory=list)
    server_alive: bool = True
    exit_status: int | None = None
    error_logs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def _status(server: RawServer) -> dict[str, Any]:
    reply = server.command("minimax.status", timeout=30)
    return (reply or {}).get("result") or {}


def _workspace(status: Mapping[str, Any], root: Path) -> Mapping[str, Any] | None:
    items: list[Mapping[str, Any]] = status.get("workspaces", [])
    return next((item for item in items if Path(item.get("root", "")) == root), None)


def run_churn(
    workdir: Path,
    fake: FakeMiniMax,
    *,
    revisions: Revisions | None = None,
    files: int = CI_FILES,
    storms: int = CI_STORMS,
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
) -> ChurnReport:
    """One churn run (see the module docstring); ``revisions`` default to `synthesize`."""
    started = time.perf_counter()
    report = ChurnReport()
    rng = random.Random(seed)
    revs = revisions or synthesize(workdir / "repo", files=files, seed=seed)
    report.source = "sdists" if revisions else f"synthetic ({files} files, seed {seed})"
    report.files_a, report.files_b, report.diff_a_to_b = revs.files_a, revs.files_b, dict(revs.diff)
    second = workdir / "second"
    _write_tree(second, {f"lib/m{k}.py": f"def second_{k}():\n    return {k}\n" for k in range(50)})
    cache = workdir / "cache"
    server = RawServer(server_env(fake.anthropic_base_url, cache), cwd=workdir).start()
    hostile: Counter[str] = Counter()
    fresh: list[FileEntry] = []
    try:
        t0 = time.perf_counter()
        initialize(server, [revs.root, second])
        wait_ready(server, timeout=300)
        report.initial_index_seconds = time.perf_counter() - t0
        log(f"indexed in {report.initial_index_seconds:.1f} s")
        probe_path = revs.root / PROBE_FILE
        if not probe_path.is_file():
            probe_path = next(p for p in sorted(revs.root.rglob("*.py")) if ".git" not in p.parts)
        uri = probe_path.as_uri()
        probe_rel = probe_path.relative_to(revs.root).as_posix()
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": probe_path.read_text(encoding="utf-8", errors="replace"),
                }
            },
        )
        prober = Prober(server, uri, revs.root)
        prober.start()
        target = revs.b
        for storm in range(storms):
            t1 = time.perf_counter()
            git(revs.root, "checkout", "-q", "-f", target)
            hostile += hostile_changes(revs.root, rng, storm, probe_rel)
            if storm == storms // 2:
                report.second_folder = _remove_second(server, second)
            report.storm_seconds.append(round(time.perf_counter() - t1, 2))
            log(
                f"{time.strftime('%H:%M:%S')} storm {storm + 1}/{storms} done in "
                f"{report.storm_seconds[-1]} s"
            )
            target = revs.a if target == revs.b else revs.b
            time.sleep(0.3)  # let the watcher see part of the storm before the next one
        storms_ended = time.monotonic()
        report.storms = storms
        report.hostile = dict(hostile)
        fresh, fresh_symbols = fresh_entries(revs.root, workdir / "fresh-cache")
        log(f"fresh index: {len(fresh)} files, {fresh_symbols} symbols")
        report.fresh_files, report.fresh_symbols = len(fresh), fresh_symbols
        report.converged = _wait_converged(server, revs.root, len(fresh), fresh_symbols, report)
        prober.stop()
        if report.converged:
            report.converge_seconds = _settled_after(
                prober.counts, len(fresh), fresh_symbols, storms_ended
            )
        report.latency = {k: latency_summary(v) for k, v in prober.latencies.items()}
        report.probe_failures = prober.failures
        report.server_alive = server.alive()
    finally:
        report.exit_status = server.close(timeout=30)
        report.error_logs = [
            line for line in server.stderr_text().splitlines() if " ERROR " in line
        ][:50]
    if fresh:
        # Also when it did not converge: the paths that differ are the repro.
        diff = compare_entries(stored_entries(revs.root, cache), fresh)
        report.stored_vs_fresh = {
            "missing": list(diff.missing[:20]),
            "extra": list(diff.extra[:20]),
            "different": list(diff.different[:20]),
        }
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _remove_second(server: RawServer, second: Path) -> dict[str, Any]:
    """Delete the second folder from disk, then remove it from the session."""
    shutil.rmtree(second)
    time.sleep(0.3)
    still_answers = bool(_status(server))
    server.notify(
        "workspace/didChangeWorkspaceFolders",
        {"event": {"added": [], "removed": [{"uri": second.as_uri(), "name": second.name}]}},
    )
    deadline = time.monotonic() + 10
    gone = False
    while time.monotonic() < deadline and not gone:
        gone = _workspace(_status(server), second) is None
        time.sleep(0.05)
    return {"answers_after_rmtree": still_answers, "removed_from_status": gone}


def _settled_after(
    counts: Sequence[tuple[float, int, int]], files: int, symbols: int, since: float
) -> float | None:
    """Seconds from ``since`` until the counts last became (and stayed) the final ones."""
    settled: float | None = None
    for at, seen_files, seen_symbols in counts:
        if seen_files == files and seen_symbols == symbols:
            settled = settled if settled is not None else at
        else:
            settled = None
    return None if settled is None else round(max(0.0, settled - since), 2)


def _wait_converged(
    server: RawServer, root: Path, files: int, symbols: int, report: ChurnReport
) -> bool:
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    settled_since: float | None = None
    while time.monotonic() < deadline:
        item = _workspace(_status(server), root) or {}
        report.server_files = int(item.get("files", -1))
        report.server_symbols = int(item.get("symbols", -1))
        if report.server_files == files and report.server_symbols == symbols:
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= SETTLED_SECONDS:
                return True
        else:
            settled_since = None
        time.sleep(0.1)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.reliability.churn [--long] [--files N] [--storms N] [--json]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help=f"sdists {LONG_SDISTS}, more storms")
    parser.add_argument("--files", type=int, default=CI_FILES, help="synthetic files")
    parser.add_argument("--storms", type=int, default=None, help="bursts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    storms = args.storms or (LONG_STORMS if args.long else CI_STORMS)
    with tempfile.TemporaryDirectory(prefix="minimax-churn-") as tmp, FakeMiniMax() as fake:
        work = Path(tmp)
        revisions = None
        if args.long:
            from tests.bench.common import WORK_DIR

            revisions = from_sdists(work / "repo", LONG_SDISTS, WORK_DIR)
        report = run_churn(
            work,
            fake,
            revisions=revisions,
            files=args.files,
            storms=storms,
            seed=args.seed,
            log=lambda m: print(m, file=sys.stderr),
        )
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {json.dumps(value)[:1500]}")
    stored = report.stored_vs_fresh
    ok = report.converged and not any(stored.values()) and not report.probe_failures
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
