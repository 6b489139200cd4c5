"""Build aider's repository map of a tree, with no LLM call, and report timings.

Runs inside aider's own throwaway venv (``tests/bench/_work/aider-venv``), started by
``bench_index.py``; it imports nothing from our project. Usage::

    aider-venv/bin/python _aider_repomap.py ROOT [--map-tokens 1024]

It maps every ``*.py`` file under ROOT (the ``.git`` folder and aider's own ``.aider*``
folders left out), as aider's ``RepoMap.get_repo_map(chat_files=[], other_files=...)`` with
``refresh="always"``. The model is a stub whose ``token_count`` is ``len(text) / 4``
(the recipe of docs/shared feasibility §5), so litellm is never imported and nothing is
fetched. Aider's tags cache is ``ROOT/.aider.tags.cache.v4``: the caller deletes it for a
cold run and keeps it for a warm one. Set ``PYTHONHASHSEED=0`` for a deterministic map.

Prints one line ``BENCH-JSON: {...}`` with ``import_s``, ``init_s`` (RepoMap
construction), ``map_s`` and ``map_cpu_s`` (wall and CPU time of ``get_repo_map``),
``files``, ``map_chars``, ``map_sha1`` and ``rss_mib`` (peak of this process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time
from pathlib import Path

JSON_MARKER = "BENCH-JSON: "  # same as tests/bench/common.py (not importable from here)


class StubModel:
    """Stands in for ``aider.models.Model``: RepoMap only calls ``token_count``."""

    def token_count(self, text: str) -> float:
        return len(text) / 4


def python_files(root: Path) -> list[str]:
    """Absolute paths of every ``.py`` file under ``root``, sorted (``.git``/``.aider*`` pruned)."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not d.startswith(".aider"))
        found += [os.path.join(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--map-tokens", type=int, default=1024)
    args = parser.parse_args()
    root = args.root.resolve()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    started = time.perf_counter()
    from aider.io import InputOutput
    from aider.repomap import RepoMap

    imported = time.perf_counter()
    files = python_files(root)
    io = InputOutput(pretty=False, yes=True, fancy_input=False)
    repo_map = RepoMap(
        map_tokens=args.map_tokens,
        root=str(root),
        main_model=StubModel(),
        io=io,
        refresh="always",
    )
    built = time.perf_counter()
    cpu = time.process_time()
    text = repo_map.get_repo_map(chat_files=[], other_files=files) or ""
    mapped = time.perf_counter()
    map_cpu = time.process_time() - cpu

    record = {
        "import_s": imported - started,
        "init_s": built - imported,
        "map_s": mapped - built,
        "map_cpu_s": map_cpu,
        "files": len(files),
        "map_chars": len(text),
        "map_sha1": hashlib.sha1(text.encode("utf-8")).hexdigest(),
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(JSON_MARKER + json.dumps(record), flush=True)
    return 0 if text else 1  # an empty map means the baseline did not run


if __name__ == "__main__":
    sys.exit(main())
