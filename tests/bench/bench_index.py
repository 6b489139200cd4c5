"""Benchmark of the workspace index (``indexer/index.py``, ``indexer/watch.py``) against aider.

Run from the repository root with the project's venv::

    python tests/bench/bench_index.py [--tree PATH] [--skip-aider] [--edits 50] [--runs 3]
                                      [--json OUT] [--profile] [--work DIR]

Without ``--tree`` it downloads the pinned Django 5.0.6 sdist with ``pip download``
(cached in ``tests/bench/_work/dl``), unpacks it to ``tests/bench/_work/django-5.0.6``
and runs ``git init`` there. That last step is needed because ``_work/`` lies inside our
own repository, where it is git-ignored: without a ``.git`` of its own the tree would be
judged by our ``.gitignore`` and the index would (correctly) see no files. Nothing is
committed; the files are untracked, as in a fresh checkout before ``git add``.

What is measured (each in a fresh process, ``--runs`` times, the median is reported)
    - cold: new process, empty cache dir, ``Index(root, cache_dir=...)`` + ``refresh()``;
    - warm restart: new process, the cache dir of the last cold run, ``Index()`` +
      ``refresh()`` with nothing changed;
    - for both: time inside the process (``index_s`` = construction + refresh) and wall
      time of the whole process (interpreter start and imports included), and peak RSS
      (``ru_maxrss``) of the main process and of the largest parse worker process;
    - update latency (one process, after a warm refresh): ``--edits`` times, append a
      uniquely named function to a random ``.py`` file, then ``index.update([path])``
      until ``index.definitions(name)`` finds it: p50/p95 of write-start -> visible;
    - the same through the file watcher: write -> ``Watcher`` applies the batch and calls
      ``on_change`` -> definition visible. Its latency includes the watcher's batching
      (``step_ms`` of quiet closes a batch, ``debounce_ms`` caps it), reported with it.
      Edited files are restored (bytes and mtime) afterwards, so the tree and the warm
      caches stay valid for the next run.

Aider baseline (unless ``--skip-aider``)
    ``aider-chat==0.86.2`` is installed into its own venv (``_work/aider-venv``, reused),
    and ``_aider_repomap.py`` builds its repository map (``map_tokens=1024``, stub token
    counter, ``PYTHONHASHSEED=0``, no LLM call) over every ``.py`` file. Aider only maps
    the files it is given, and writes its tags cache into the tree, so both tools run on
    a copy holding only the ``.py`` files (``_work/<tree>-py``, with a ``.gitignore`` for
    ``.aider*``): that is the like-for-like comparison, and the ratios (aider / ours) are
    taken there. Cold = aider's cache folder deleted; warm = a second process.

``--profile`` adds a cProfile of a sequential (``workers=1``) cold run and the slowest
imports (``python -X importtime``), written to ``_work/profile-cold.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import inspect
import io
import json
import os
import pstats
import queue
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path: make `tests.bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import common

DJANGO = "django==5.0.6"
AIDER = "aider-chat==0.86.2"
MAP_TOKENS = 1024
SEED = 20240506
#: How long an edit may take to show up before it counts as lost.
EDIT_TIMEOUT_S = 10.0

# The targets of the project issue.
TARGET_COLD_RATIO = 5.0  # cold index at least this many times faster than aider's map
TARGET_WARM_S = 1.0  # warm restart
TARGET_UPDATE_P50_MS = 50.0  # file save -> updated
TARGET_RSS_MIB = 400.0

Record = dict[str, Any]


# =========================================================================== children
# Each runs in its own process (started by the parent with `--child MODE`) and prints one
# JSON record through common.emit_json.


def _child_index(root: Path, cache: Path, workers: int | None) -> Record:
    """Construct the index and refresh it once (cold or warm depends on ``cache``)."""
    started = time.perf_counter()
    from minimax_lsp.indexer.index import Index

    imported = time.perf_counter()
    cpu = time.process_time()
    index = Index(root, cache_dir=cache, workers=workers)
    built = time.perf_counter()
    stats = index.refresh()
    refreshed = time.perf_counter()
    index.close()
    return {
        "import_s": imported - started,
        "init_s": built - imported,
        "refresh_s": refreshed - built,
        "index_s": refreshed - imported,
        # CPU seconds say more than wall time on a loaded machine; parse workers are
        # joined by the end of refresh(), so RUSAGE_CHILDREN holds their share.
        "index_cpu_s": time.process_time() - cpu + common.children_cpu_s(),
        "files": stats.files,
        "symbols": stats.symbols,
        "parsed": stats.parsed,
        "reused": stats.reused,
        "languages": dict(stats.languages),
        "skipped": dict(stats.skipped),
        "workers": getattr(index, "workers", None),
        "rss_main_mib": common.peak_rss_mib(),
        "rss_worker_mib": common.peak_rss_mib(children=True),
    }


class _Edits:
    """Appends uniquely named functions to ``.py`` files and puts them back afterwards."""

    def __init__(self, root: Path, candidates: Sequence[str], count: int, seed: int) -> None:
        if not candidates:
            raise SystemExit(f"{root}: the index holds no .py file to edit")
        rng = random.Random(seed)
        # Distinct files when the tree has enough of them (each edit then reparses an
        # untouched file); a tiny tree cycles through what it has.
        pool = rng.sample(sorted(candidates), min(len(candidates), count))
        self.root = root
        self.plan = [pool[i % len(pool)] for i in range(count)]
        self._saved: dict[str, tuple[bytes, int, int]] = {}
        self._nonce = f"{os.getpid():x}{time.time_ns() % 10**6:x}"

    def apply(self, number: int, rel: str) -> str:
        """Append a function to ``rel``; returns its name."""
        path = self.root / rel
        if rel not in self._saved:
            info = path.stat()
            self._saved[rel] = (path.read_bytes(), info.st_atime_ns, info.st_mtime_ns)
        name = f"bench_edit_{self._nonce}_{number}"
        with path.open("ab") as handle:
            handle.write(f"\n\ndef {name}():\n    return {number}\n".encode())
        return name

    def restore(self) -> None:
        """Put every edited file back, byte for byte and with its old mtime."""
        for rel, (data, atime_ns, mtime_ns) in self._saved.items():
            path = self.root / rel
            path.write_bytes(data)
            os.utime(path, ns=(atime_ns, mtime_ns))
        self._saved.clear()


def _child_edits(root: Path, cache: Path, edits: int, seed: int) -> Record:
    """Update latency through ``Index.update`` and through the ``Watcher``."""
    from minimax_lsp.indexer.index import Index
    from minimax_lsp.indexer.watch import Watcher

    index = Index(root, cache_dir=cache)
    started = time.perf_counter()
    stats = index.refresh()
    record: Record = {"refresh_s": time.perf_counter() - started, "refresh_parsed": stats.parsed}
    python = [p for p in index.paths() if p.endswith(".py")]
    editor = _Edits(index.root, python, 2 * edits, seed)
    try:
        record.update(_direct_updates(index, editor, editor.plan[:edits]))
        record.update(_watched_updates(index, editor, editor.plan[edits:], edits, Watcher))
    finally:
        index.close()
        editor.restore()
    record["rss_main_mib"] = common.peak_rss_mib()
    return record


def _direct_updates(index: Any, editor: _Edits, plan: Sequence[str]) -> Record:
    visible_ms: list[float] = []
    update_ms: list[float] = []
    lost = 0
    for number, rel in enumerate(plan):
        t0 = time.perf_counter()
        name = editor.apply(number, rel)
        t1 = time.perf_counter()
        index.update([rel])
        t2 = time.perf_counter()
        if any(path == rel for path, _ in index.definitions(name)):
            visible_ms.append((time.perf_counter() - t0) * 1000)
            update_ms.append((t2 - t1) * 1000)
        else:
            lost += 1
    return {"update_visible_ms": visible_ms, "update_call_ms": update_ms, "update_lost": lost}


def _watched_updates(
    index: Any, editor: _Edits, plan: Sequence[str], first: int, watcher_type: Any
) -> Record:
    applied: queue.Queue[tuple[float, list[str]]] = queue.Queue()

    def on_change(paths: list[str]) -> None:
        applied.put((time.perf_counter(), paths))

    watcher = watcher_type(index, on_change=on_change)
    defaults = {
        name: p.default
        for name, p in inspect.signature(watcher_type).parameters.items()
        if name in ("debounce_ms", "step_ms")
    }
    visible_ms: list[float] = []
    lost = 0
    watcher.start()
    try:
        for number, rel in enumerate(plan, start=first):
            _drain(applied)
            t0 = time.perf_counter()
            name = editor.apply(number, rel)
            seen_at = _wait_for(applied, rel, t0 + EDIT_TIMEOUT_S)
            if seen_at is not None and any(p == rel for p, _ in index.definitions(name)):
                visible_ms.append((seen_at - t0) * 1000)
            else:
                lost += 1
    finally:
        watcher.stop()
    return {"watcher_visible_ms": visible_ms, "watcher_lost": lost, "watcher_params": defaults}


def _drain(events: queue.Queue[tuple[float, list[str]]]) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            events.get_nowait()


def _wait_for(
    events: queue.Queue[tuple[float, list[str]]], rel: str, deadline: float
) -> float | None:
    """When the watcher reported ``rel`` as changed, or None at the deadline."""
    while (left := deadline - time.perf_counter()) > 0:
        try:
            at, paths = events.get(timeout=left)
        except queue.Empty:
            return None
        if rel in paths:
            return at
    return None


def _child_profile(root: Path, cache: Path, out: Path) -> Record:
    """cProfile of a sequential cold refresh (the work the parse workers do, in-process)."""
    from minimax_lsp.indexer.index import Index

    index = Index(root, cache_dir=cache, workers=1)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    stats = index.refresh()
    profiler.disable()
    seconds = time.perf_counter() - started
    index.close()
    text = io.StringIO()
    text.write(f"cold refresh, workers=1: {seconds:.2f} s, {stats.files} files (under cProfile)\n")
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(key).print_stats(25)
    out.write_text(text.getvalue(), encoding="utf-8")
    return {"seconds": seconds, "files": stats.files, "profile": str(out)}


def _run_child(args: argparse.Namespace) -> int:
    root, cache = Path(args.root), Path(args.cache)
    if args.child == "index":
        record = _child_index(root, cache, args.workers)
    elif args.child == "edits":
        record = _child_edits(root, cache, args.edits, args.seed)
    else:
        record = _child_profile(root, cache, Path(args.out))
    common.emit_json(record)
    return 0


# =========================================================================== the parent


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _child(mode: str, root: Path, cache: Path, *extra: str) -> common.ChildResult:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
    return common.run_json([*argv, "--root", str(root), "--cache", str(cache), *extra])


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _git_init(tree: Path) -> None:
    if not (tree / ".git").exists():
        subprocess.run(
            ["git", "-c", "init.defaultBranch=main", "init", "-q", str(tree)], check=True
        )


def _django_tree(work: Path) -> Path:
    archive = common.fetch_sdist(DJANGO, work / "dl")
    tree = common.unpack_sdist(archive, work / "django-5.0.6")
    _git_init(tree)
    return tree


def _python_copy(tree: Path, target: Path) -> Path:
    """A copy of ``tree`` with only its ``.py`` files (rebuilt each run: cheap, and exact)."""

    def skip(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n == ".git"
            or n.startswith(".aider")
            or (not n.endswith(".py") and not Path(folder, n).is_dir())
        ]

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(tree, target, ignore=skip, symlinks=True)
    (target / ".gitignore").write_text(".aider*\n", encoding="utf-8")
    _git_init(target)
    return target


def _ours(root: Path, caches: Path, label: str, runs: int) -> Record:
    """Cold and warm runs of our index on ``root``."""
    cold: list[Record] = []
    cache = caches
    for i in range(runs):
        cache = _fresh(caches / f"{label}-cold-{i}")
        result = _child("index", root, cache)
        cold.append({**result.data, "process_s": result.wall_seconds})
        _log(f"  ours {label} cold {i + 1}/{runs}: {result.data['index_s']:.2f} s in-process")
    warm: list[Record] = []
    for i in range(runs):
        result = _child("index", root, cache)
        warm.append({**result.data, "process_s": result.wall_seconds})
        _log(f"  ours {label} warm {i + 1}/{runs}: {result.data['index_s']:.3f} s in-process")
    reparsed = max(row["parsed"] for row in warm)
    if reparsed:
        # The cache is keyed on the extractor's source (parse.py, queries): editing it
        # between two runs invalidates every row. Such a "warm" run is really cold.
        _log(f"  WARNING: a warm run of {label} re-parsed {reparsed} files: cache invalidated")
    return {
        "cold": _summary(cold),
        "warm": _summary(warm),
        "warm_reparsed": reparsed,
        "cache": str(cache),
    }


def _aider(python: Path, tree: Path, runs: int) -> Record:
    script = str(Path(__file__).with_name("_aider_repomap.py"))
    env = {"PYTHONHASHSEED": "0", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    argv = [str(python), script, str(tree), "--map-tokens", str(MAP_TOKENS)]
    out: Record = {}
    for phase in ("cold", "warm"):
        rows: list[Record] = []
        for i in range(runs):
            if phase == "cold":
                shutil.rmtree(tree / ".aider.tags.cache.v4", ignore_errors=True)
            result = common.run_json(argv, env=env, cwd=tree)
            rows.append({**result.data, "process_s": result.wall_seconds})
            _log(f"  aider {phase} {i + 1}/{runs}: {result.data['map_s']:.2f} s get_repo_map")
        out[phase] = _summary(rows)
    return out


def _summary(rows: Sequence[Record]) -> Record:
    """Median of every numeric field over the runs; other fields from the first run."""
    summary: Record = {"runs": len(rows)}
    for key, value in rows[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [r[key] for r in rows]
            # Counts (files, symbols) stay integers: the lower median is one of them.
            middle = statistics.median_low if isinstance(value, int) else common.median
            summary[key] = middle(values)
            summary[key + "_all"] = values
        else:
            summary[key] = value
    return summary


def _latency(values: Sequence[float]) -> Record:
    return {
        "n": len(values),
        "p50_ms": common.percentile(values, 50),
        "p95_ms": common.percentile(values, 95),
        "max_ms": max(values, default=float("nan")),
    }


def _profile(root: Path, work: Path) -> Record:
    out = work / "profile-cold.txt"
    result = _child("profile", root, _fresh(work / "cache" / "profile"), "--out", str(out))
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import minimax_lsp.indexer.index"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in imports.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    slowest = sorted(rows, reverse=True)[:12]
    with out.open("a", encoding="utf-8") as handle:
        handle.write("\n-X importtime, slowest cumulative imports of indexer.index (us):\n")
        handle.writelines(f"{us:>10}  {name}\n" for us, name in slowest)
    return result.data


# --------------------------------------------------------------------------- the report


def _ratio(theirs: float, ours: float) -> float:
    return theirs / ours if ours > 0 else float("nan")


def _targets(report: Record) -> list[Record]:
    full = report["ours"]["full"]
    update = report["update"]
    rows = [
        {
            "target": f"warm restart <= {TARGET_WARM_S:g} s (full tree, Index()+refresh())",
            "value": f"{full['warm']['index_s']:.3f} s",
            "pass": full["warm"]["index_s"] <= TARGET_WARM_S,
        },
        {
            "target": f"file save -> updated p50 <= {TARGET_UPDATE_P50_MS:g} ms (update())",
            "value": f"{update['p50_ms']:.1f} ms",
            "pass": update["p50_ms"] <= TARGET_UPDATE_P50_MS,
        },
        {
            "target": f"file save -> updated p50 <= {TARGET_UPDATE_P50_MS:g} ms (via the watcher)",
            "value": f"{report['watcher']['p50_ms']:.1f} ms",
            "pass": report["watcher"]["p50_ms"] <= TARGET_UPDATE_P50_MS,
        },
        {
            "target": f"peak RSS <= {TARGET_RSS_MIB:g} MiB (full tree cold, main process)",
            "value": f"{full['cold']['rss_main_mib']:.0f} MiB",
            "pass": full["cold"]["rss_main_mib"] <= TARGET_RSS_MIB,
        },
    ]
    if report["ratios"]:
        ratio = report["ratios"]["cold_in_process"]
        rows.insert(
            0,
            {
                "target": f"cold >= {TARGET_COLD_RATIO:g}x faster than aider (.py tree)",
                "value": f"{ratio:.2f}x",
                "pass": ratio >= TARGET_COLD_RATIO,
            },
        )
    return rows


def _table(report: Record) -> str:
    lines = []
    full = report["ours"]["full"]
    py = report["ours"].get("py")
    aider = report["aider"]
    tree = report["tree"]
    lines.append(f"tree: {tree['path']} ({full['cold']['files']} files indexed)")
    lines.append("")
    lines.append("| measure | ours | aider | aider / ours |")
    lines.append("|---|---|---|---|")

    def row(name: str, ours: float, theirs: float | None, unit: str, digits: int = 2) -> None:
        if theirs is None:
            lines.append(f"| {name} | {ours:.{digits}f} {unit} | - | - |")
        else:
            ratio = _ratio(theirs, ours)
            lines.append(
                f"| {name} | {ours:.{digits}f} {unit} | {theirs:.{digits}f} {unit} | {ratio:.2f}x |"
            )

    if py is not None and aider is not None:
        pc, pw, ac, aw = py["cold"], py["warm"], aider["cold"], aider["warm"]
        row(f"cold, in-process (.py tree, {pc['files']} files)", pc["index_s"], ac["map_s"], "s")
        row("cold, CPU (ours: main + parse workers)", pc["index_cpu_s"], ac["map_cpu_s"], "s")
        row("cold, whole process", pc["process_s"], ac["process_s"], "s")
        row("warm restart, in-process", pw["index_s"], aw["map_s"], "s", 3)
        row("warm restart, CPU", pw["index_cpu_s"], aw["map_cpu_s"], "s", 3)
        row("warm restart, whole process", pw["process_s"], aw["process_s"], "s")
        row("peak RSS cold (main process)", pc["rss_main_mib"], ac["rss_mib"], "MiB", 0)
        row("peak RSS warm", pw["rss_main_mib"], aw["rss_mib"], "MiB", 0)
    n = full["cold"]["files"]
    row(f"cold, in-process (whole tree, {n} files)", full["cold"]["index_s"], None, "s")
    row("cold, CPU (whole tree)", full["cold"]["index_cpu_s"], None, "s")
    row("cold, whole process (whole tree)", full["cold"]["process_s"], None, "s")
    row("warm restart, in-process (whole tree)", full["warm"]["index_s"], None, "s", 3)
    row("warm restart, CPU (whole tree)", full["warm"]["index_cpu_s"], None, "s", 3)
    row("warm restart, whole process (whole tree)", full["warm"]["process_s"], None, "s")
    row("peak RSS cold, main process (whole tree)", full["cold"]["rss_main_mib"], None, "MiB", 0)
    row("peak RSS cold, largest parse worker", full["cold"]["rss_worker_mib"], None, "MiB", 0)
    row("peak RSS warm (whole tree)", full["warm"]["rss_main_mib"], None, "MiB", 0)
    up, wa = report["update"], report["watcher"]
    row(f"save -> visible via update(), p50 (n={up['n']})", up["p50_ms"], None, "ms", 1)
    row("save -> visible via update(), p95", up["p95_ms"], None, "ms", 1)
    params = ", ".join(f"{k}={v}" for k, v in wa["params"].items())
    row(f"save -> visible via Watcher ({params}), p50 (n={wa['n']})", wa["p50_ms"], None, "ms", 1)
    row("save -> visible via Watcher, p95", wa["p95_ms"], None, "ms", 1)
    lines.append("")
    lines.append("| target | reached | |")
    lines.append("|---|---|---|")
    for target in report["targets"]:
        verdict = "PASS" if target["pass"] else "MISS"
        lines.append(f"| {target['target']} | {target['value']} | {verdict} |")
    machine = report["machine"]
    lines.append("")
    lines.append(
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}; load average "
        f"before {machine['load_average']}, after {report['load_after']}; "
        f"{report['runs']} runs per measurement, medians shown"
    )
    for label, ours in report["ours"].items():
        if ours["warm_reparsed"]:
            lines.append(
                f"WARNING: a warm run on the {label} tree re-parsed {ours['warm_reparsed']} "
                "files (cache invalidated during the run): its warm numbers are not warm"
            )
    if report["update_lost"] or report["watcher_lost"]:
        lines.append(
            f"LOST EDITS: {report['update_lost']} via update(), {report['watcher_lost']} via "
            "the watcher (definition not visible in time)"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark our index against aider's repository map (see the docstring)."
    )
    parser.add_argument("--tree", type=Path, help="index this folder instead of Django 5.0.6")
    parser.add_argument("--skip-aider", action="store_true", help="no aider baseline")
    parser.add_argument("--edits", type=_positive, default=50, help="edits per variant (50)")
    parser.add_argument("--runs", type=_positive, default=3, help="runs per measurement (3)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="cProfile a cold run too")
    parser.add_argument("--work", type=Path, help="work folder (default tests/bench/_work)")
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    # Internal: the measuring children.
    parser.add_argument("--child", choices=("index", "edits", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _measure(args: argparse.Namespace, log: Callable[[str], None]) -> Record:
    work = common.work_dir(args.work)
    machine = common.machine_info()
    log(f"machine: {machine}")
    if args.tree is not None:
        tree = args.tree.resolve()
        if not tree.is_dir():
            raise SystemExit(f"--tree {args.tree}: not a directory")
    else:
        tree = _django_tree(work)
    caches = _fresh(work / "cache")
    report: Record = {"machine": machine, "runs": args.runs, "tree": {"path": str(tree)}}

    log(f"our index on {tree}")
    full = _ours(tree, caches, "full", args.runs)
    if full["cold"]["files"] == 0:
        raise SystemExit(f"{tree}: the index found no files (is the folder git-ignored?)")
    report["ours"] = {"full": full}

    log(f"update latency: {args.edits} edits via update(), {args.edits} via the watcher")
    edits = _child("edits", tree, Path(full["cache"]), "--edits", str(args.edits))
    edits_data = edits.data
    edits_data["seed"] = args.seed
    report["update"] = _latency(edits_data["update_visible_ms"])
    report["update"]["call_p50_ms"] = common.percentile(edits_data["update_call_ms"], 50)
    report["watcher"] = _latency(edits_data["watcher_visible_ms"])
    report["watcher"]["params"] = edits_data["watcher_params"]
    report["update_lost"] = edits_data["update_lost"]
    report["watcher_lost"] = edits_data["watcher_lost"]
    report["edits_raw"] = edits_data

    report["aider"] = None
    report["ratios"] = {}
    if not args.skip_aider:
        log(f"aider baseline: venv with {AIDER} (reused when present)")
        python = common.throwaway_venv(work / "aider-venv", [AIDER])
        py_tree = _python_copy(tree, work / f"{tree.name}-py")
        log(f"our index on {py_tree}")
        report["ours"]["py"] = _ours(py_tree, caches, "py", args.runs)
        log(f"aider's repo map on {py_tree}")
        aider = _aider(python, py_tree, args.runs)
        report["aider"] = aider
        py = report["ours"]["py"]
        report["ratios"] = {
            "cold_in_process": _ratio(aider["cold"]["map_s"], py["cold"]["index_s"]),
            "cold_cpu": _ratio(aider["cold"]["map_cpu_s"], py["cold"]["index_cpu_s"]),
            "cold_process": _ratio(aider["cold"]["process_s"], py["cold"]["process_s"]),
            "warm_in_process": _ratio(aider["warm"]["map_s"], py["warm"]["index_s"]),
            "warm_process": _ratio(aider["warm"]["process_s"], py["warm"]["process_s"]),
        }
    if args.profile:
        log("profiling a sequential cold run")
        report["profile"] = _profile(tree, work)
    report["load_after"] = common.machine_info()["load_average"]
    report["targets"] = _targets(report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _run_child(args)
    report = _measure(args, _log)
    print(_table(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
