"""Measure the context engine: pack latency per budget and task, warm-up, typing stability.

Run standalone from the repository root with the project's venv:

    python tests/bench/bench_pack.py                       # the Python stdlib as the tree
    python tests/bench/bench_pack.py /path/to/django-5.0.6 # any tree
    python tests/bench/bench_pack.py TREE --requests 200 --json

The tree is copied (without ``site-packages``, ``__pycache__``, ``.git``) to
``$TMPDIR/minimax-lsp-bench-pack/`` unless ``--in-place`` is given: a tree inside a
repository that ignores it (the stdlib under pyenv's checkout) would index as empty, and
so would a copy inside ours (``tests/bench/_work`` is git-ignored). It is indexed there
with git disabled, into a cache folder next to it (a second run reuses both).

What is printed
    1. the index (files, languages) and the engine's warm-up time (``warm()``: derived
       structures, then token counts and outlines of every file);
    2. pack latency in ms, p50/p95/max (and the packing thread's CPU time, p50), per
       budget (4k, 32k, 128k, 1M by default) and task (complete at the cursor, explain
       of a 10-line selection, chat about the file), on ``--requests`` random (file,
       line) pairs: a first pass (caches of those files cold) and a repeat (warm), plus
       the mean share of the budget used;
    3. typing: ``--typing`` files, a statement typed one character at a time at the end of
       a function body (the index overlay set, then a completion pack with the live
       text), at the completion budget: pack latency (it includes re-deriving the edited
       file), overlay (re-parse) latency, and the *prefix-hit share*: the
       tokens of the leading spans identical to the previous request's, over all tokens
       (what a prompt cache can reuse when the current file is the last block), and the
       same when the current file is cut in two blocks at the cursor line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from minimax_lsp.indexer.context import ContextEngine, ContextRequest, Manifest  # noqa: E402
from minimax_lsp.indexer.index import Index  # noqa: E402
from minimax_lsp.indexer.records import TEXT_LANGUAGE  # noqa: E402
from minimax_lsp.indexer.scan import ScanOptions  # noqa: E402

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
WORK = Path(tempfile.gettempdir()) / "minimax-lsp-bench-pack"
SKIP_DIRS = frozenset({"site-packages", "__pycache__", ".git", ".hg", ".svn"})
DEFAULT_BUDGETS = (4_000, 32_000, 128_000, 1_000_000)
TASKS = ("complete", "explain", "chat")
COMPLETION_BUDGET = 6_000
TYPED = "result = compute_total(values, default=None)  # note"


@dataclass(frozen=True, slots=True)
class Sample:
    """One request position: a file and a line inside it."""

    path: str
    line: int
    column: int
    line_count: int


def _default_tree() -> Path:
    return STDLIB if STDLIB.is_dir() else Path(os.__file__).parent


def prepare_tree(tree: Path, in_place: bool) -> Path:
    """The folder to index: ``tree`` itself, or a filtered copy under ``_work/pack``."""
    tree = tree.resolve()
    if in_place:
        return tree
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / "trees" / tree.name
    marker = target.with_suffix(".source")
    if marker.exists() and marker.read_text() == str(tree) and target.is_dir():
        return target
    if target.exists():
        shutil.rmtree(target)

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n in SKIP_DIRS or n.endswith(".pyc")]

    shutil.copytree(tree, target, ignore=ignore, symlinks=True)
    marker.write_text(str(tree))
    return target


def percentile(values: Sequence[float], share: float) -> float:
    """Linear-interpolated percentile (``share`` in [0, 1])."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def pick_samples(index: Index, count: int, seed: int) -> list[Sample]:
    """``count`` random positions in code files of at least 20 lines (deterministic)."""
    entries = [
        e
        for e in index.entries()
        if e.symbols.language != TEXT_LANGUAGE and e.line_count >= 20 and e.symbols.definitions
    ]
    if not entries:
        raise SystemExit("no code file of 20+ lines in the tree")
    rng = random.Random(seed)
    samples = []
    for _ in range(count):
        entry = rng.choice(entries)
        line = rng.randint(1, entry.line_count)
        text = index.read_text(entry.path) or ""
        lines = text.split("\n")
        current = lines[line - 1] if line <= len(lines) else ""
        column = len(current) - len(current.lstrip())
        samples.append(Sample(entry.path, line, column, entry.line_count))
    return samples


def request_for(sample: Sample, task: str, budget: int) -> ContextRequest:
    if task == "explain":
        end = min(sample.line_count, sample.line + 9)
        return ContextRequest(
            sample.path,
            line=sample.line,
            task="explain",
            selection=(sample.line, end),
            budget=budget,
        )
    if task == "chat":
        stem = Path(sample.path).stem
        return ContextRequest(
            sample.path,
            line=sample.line,
            task="chat",
            budget=budget,
            query=f"How does {stem} work, and what calls it?",
        )
    return ContextRequest(sample.path, line=sample.line, column=sample.column, budget=budget)


def timed(
    pack: Callable[[ContextRequest], Manifest], request: ContextRequest
) -> tuple[float, float, Manifest]:
    """Wall and CPU (this thread) milliseconds of one pack, and its manifest."""
    started, cpu = time.perf_counter(), time.thread_time()
    manifest = pack(request)
    return (
        (time.perf_counter() - started) * 1000.0,
        (time.thread_time() - cpu) * 1000.0,
        manifest,
    )


def bench_latency(
    engine: ContextEngine, samples: list[Sample], budgets: Sequence[int]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for task in TASKS:
        for budget in budgets:
            passes: list[list[float]] = []
            cpu: list[float] = []
            fill: list[float] = []
            for _ in range(2):
                times = []
                cpu = []
                for sample in samples:
                    ms, cpu_ms, manifest = timed(engine.pack, request_for(sample, task, budget))
                    assert manifest.tokens <= budget, "over budget"
                    times.append(ms)
                    cpu.append(cpu_ms)
                    fill.append(manifest.tokens / budget if budget else 0.0)
                passes.append(times)
            first, repeat = passes
            rows.append(
                {
                    "task": task,
                    "budget": budget,
                    "first_p50": percentile(first, 0.5),
                    "first_p95": percentile(first, 0.95),
                    "p50": percentile(repeat, 0.5),
                    "p95": percentile(repeat, 0.95),
                    "max": max(repeat),
                    "cpu_p50": percentile(cpu, 0.5),
                    "fill": statistics.fmean(fill),
                }
            )
            print(_latency_row(rows[-1]), flush=True)
    return rows


def _latency_row(row: dict[str, object]) -> str:
    return (
        f"  {row['task']:<9} {row['budget']:>9,}  first p50 {row['first_p50']:7.1f}  "
        f"p95 {row['first_p95']:7.1f} | repeat p50 {row['p50']:7.1f}  p95 {row['p95']:7.1f}  "
        f"max {row['max']:7.1f} (cpu p50 {row['cpu_p50']:5.1f}) ms | budget used {row['fill']:.0%}"
    )


def prefix_tokens(previous: Manifest | None, current: Manifest) -> int:
    """Tokens of the leading spans of ``current`` identical to ``previous``'s."""
    if previous is None:
        return 0
    shared = 0
    for old, new in zip(previous.items[:-1], current.items[:-1], strict=False):
        if (old.path, old.start_line, old.end_line, old.text) != (
            new.path,
            new.start_line,
            new.end_line,
            new.text,
        ):
            break
        shared += new.tokens
    return shared


def typing_position(index: Index, path: str) -> tuple[int, str] | None:
    """Where to type in ``path``: the last line of its first function of 5+ lines.

    Returns the line to insert at and its indentation; typing goes inside a function
    body, as it mostly does in real editing (a module-level assignment would instead
    define, keystroke by keystroke, the names ``r``, ``re``, ``res``...).
    """
    entry = index.get(path)
    text = index.read_text(path)
    if entry is None or text is None:
        return None
    lines = text.split("\n")
    for d in entry.symbols.definitions:
        if d.kind in ("function", "method") and d.end_line - d.start_line >= 4:
            last = lines[d.end_line - 1] if d.end_line <= len(lines) else ""
            return d.end_line, last[: len(last) - len(last.lstrip())]
    return None


def above_cursor(manifest: Manifest, line: int) -> tuple[str, int, str]:
    """The current file's span cut just above the cursor line: (path, start, text)."""
    span = manifest.items[-1]
    keep = max(0, line - span.start_line)
    return span.path, span.start_line, "".join(span.text.splitlines(keepends=True)[:keep])


def bench_typing(
    index: Index, engine: ContextEngine, samples: list[Sample], files: int, budget: int
) -> dict[str, float]:
    pack_ms: list[float] = []
    pack_cpu: list[float] = []
    overlay_ms: list[float] = []
    hits: list[float] = []
    split_hits: list[float] = []
    counter = engine.counter
    done: set[str] = set()
    for sample in samples:
        if len(done) >= files or sample.path in done:
            continue
        position = typing_position(index, sample.path)
        if position is None:
            continue
        done.add(sample.path)
        at, indent = position
        typed = indent + TYPED
        lines = (index.read_text(sample.path) or "").split("\n")
        previous: Manifest | None = None
        previous_above: tuple[str, int, str] | None = None
        for n in range(len(indent), len(typed) + 1):
            live = "\n".join([*lines[: at - 1], typed[:n], *lines[at - 1 :]])
            started = time.perf_counter()
            index.set_overlay(sample.path, live)
            overlay_ms.append((time.perf_counter() - started) * 1000.0)
            request = ContextRequest(
                sample.path, line=at, column=n, budget=budget, current_text=live
            )
            ms, cpu_ms, manifest = timed(engine.pack, request)
            pack_ms.append(ms)
            pack_cpu.append(cpu_ms)
            above = above_cursor(manifest, at)
            if previous is not None and manifest.tokens:
                shared = prefix_tokens(previous, manifest)
                hits.append(shared / manifest.tokens)
                # A server that cuts the current file at the cursor line caches its
                # upper part too, when the whole prefix before it matched.
                whole_prefix = shared == sum(s.tokens for s in manifest.items[:-1])
                if whole_prefix and above == previous_above:
                    shared += counter.with_margin(counter.count(above[2]))
                split_hits.append(min(1.0, shared / manifest.tokens))
            previous, previous_above = manifest, above
        index.clear_overlay(sample.path)
    return {
        "keystrokes": float(len(pack_ms)),
        "pack_p50": percentile(pack_ms, 0.5),
        "pack_p95": percentile(pack_ms, 0.95),
        "pack_cpu_p50": percentile(pack_cpu, 0.5),
        "pack_cpu_p95": percentile(pack_cpu, 0.95),
        "overlay_p50": percentile(overlay_ms, 0.5),
        "prefix_hit_share": statistics.fmean(hits) if hits else float("nan"),
        "split_hit_share": statistics.fmean(split_hits) if split_hits else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, default=_default_tree())
    parser.add_argument("--requests", type=int, default=100, help="random positions")
    parser.add_argument(
        "--budgets", default=",".join(map(str, DEFAULT_BUDGETS)), help="comma-separated"
    )
    parser.add_argument("--typing", type=int, default=5, help="files of the typing test")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--in-place", action="store_true", help="index TREE without copying")
    parser.add_argument("--json", action="store_true", help="also print one JSON record")
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]

    root = prepare_tree(args.tree, args.in_place)
    cache = WORK / "cache" if not args.in_place else root.parent / ".bench-pack-cache"
    index = Index(root, options=ScanOptions(use_git=False), cache_dir=cache)
    started = time.perf_counter()
    stats = index.refresh()
    print(
        f"tree {root}: {stats.files:,} files {dict(stats.languages)}; "
        f"index refresh {time.perf_counter() - started:.1f} s "
        f"({stats.parsed:,} parsed, {stats.reused:,} reused)",
        flush=True,
    )
    engine = ContextEngine(index)
    started = time.perf_counter()
    engine.warm()
    warm_s = time.perf_counter() - started
    total = engine.pack(ContextRequest(None, task="chat", budget=10**9)).tokens
    print(f"engine warm-up {warm_s:.1f} s; whole tree {total:,} budget tokens", flush=True)

    samples = pick_samples(index, args.requests, args.seed)
    print(f"pack latency over {len(samples)} random positions (ms):", flush=True)
    rows = bench_latency(engine, samples, budgets)
    typing = bench_typing(index, engine, samples, args.typing, COMPLETION_BUDGET)
    print(
        f"typing ({typing['keystrokes']:.0f} keystrokes, budget {COMPLETION_BUDGET:,}): "
        f"pack p50 {typing['pack_p50']:.1f} ms p95 {typing['pack_p95']:.1f} ms "
        f"(cpu p50 {typing['pack_cpu_p50']:.1f} p95 {typing['pack_cpu_p95']:.1f}); "
        f"overlay p50 {typing['overlay_p50']:.1f} ms; "
        f"prefix-hit share {typing['prefix_hit_share']:.0%} "
        f"({typing['split_hit_share']:.0%} with the current file cut at the cursor line)",
        flush=True,
    )
    if args.json:
        record = {
            "tree": str(root),
            "files": stats.files,
            "tokens": total,
            "warm_s": warm_s,
            "latency": rows,
            "typing": typing,
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
        }
        print(json.dumps(record))
    index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
