"""Retrieval quality (no LLM) and pack latency of the context engine, next to baselines.

Run from the repository root with the project's venv:

    python tests/bench/bench_retrieval.py                 # 100 cases per project (~12-15 min)
    python tests/bench/bench_retrieval.py --quick         # 20 cases, 10 timed packs
    python tests/bench/bench_retrieval.py --json out.json --projects click,django

Pinned sdists (click, rich, pytest, Django 5.0.6) are fetched once with
``pip download`` into ``tests/bench/_work/retrieval/``. A masked call line is the
request; the gold definition is found with Python's ``ast``; hit@4k/32k/128k of the
engine, BM25 whole files, imports-only and random are printed side by side, then
pack latency and the targets. See ``tests/bench/retrieval/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run by path: make `tests.bench...` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.retrieval.run import main

if __name__ == "__main__":
    sys.exit(main())
