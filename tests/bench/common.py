"""Small shared helpers for the benchmark scripts in ``tests/bench/`` (not part of the package).

Run a benchmark from the repository root with the project's venv, e.g.
``python tests/bench/bench_index.py``. A benchmark script that is run by path makes the
repository root importable with :func:`importable_repo_root` before it imports this
module as ``tests.bench.common``.

What is here
    - Work files: :data:`WORK_DIR` (``tests/bench/_work/``, ignored by git and ruff);
      :func:`work_dir` creates it and drops a ``conftest.py`` there that stops pytest from
      collecting the test suites of downloaded projects.
    - Inputs: :func:`fetch_sdist` (``pip download`` of one pinned source distribution,
      skipped when the archive is already there), :func:`unpack_sdist` (safe extraction,
      atomic: a half-unpacked tree is never reused), :func:`throwaway_venv` (a separate
      venv for a peer tool, never the project's; reused once completely installed).
    - Measuring: :func:`run_json` runs a child process that reports one JSON record on a
      line starting with :data:`JSON_MARKER` (printed with :func:`emit_json`) and times
      the whole process; :func:`peak_rss_mib` reads ``ru_maxrss`` and
      :func:`children_cpu_s` the CPU time of worker processes; :func:`median` and
      :func:`percentile` (linear interpolation, like numpy's default);
      :func:`machine_info` records CPUs and load averages (benchmarks on a shared
      machine must say how loaded it was).

Nothing here downloads anything except through ``pip`` (the package registry).
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: ``tests/bench/``.
BENCH_DIR = Path(__file__).resolve().parent
#: The repository root.
REPO_ROOT = BENCH_DIR.parents[1]
#: Downloads, unpacked trees, throwaway venvs and caches (git-ignored).
WORK_DIR = BENCH_DIR / "_work"
#: A child process prints its result as ``JSON_MARKER + json.dumps(record)`` on one line;
#: anything else it prints (warnings of a peer tool) is ignored.
JSON_MARKER = "BENCH-JSON: "

_PYTEST_GUARD = '''"""Written by tests/bench/common.py: nothing under _work/ is our test suite."""

collect_ignore_glob = ["*"]
'''


def importable_repo_root() -> None:
    """Put the repository root on ``sys.path`` (for scripts run as ``python tests/bench/x.py``)."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


def work_dir(base: Path | None = None) -> Path:
    """Create and return the benchmark work folder (``base`` or :data:`WORK_DIR`).

    A ``conftest.py`` that ignores everything below it is written there, because the
    downloaded trees contain files named ``test_*.py`` (Django's own test suite) that
    pytest would otherwise try to collect from ``tests/``.
    """
    folder = (base or WORK_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    guard = folder / "conftest.py"
    if not guard.exists():
        guard.write_text(_PYTEST_GUARD, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- inputs


def fetch_sdist(requirement: str, dest: Path, *, python: str = sys.executable) -> Path:
    """Download the source distribution of ``requirement`` (``name==version``) into ``dest``.

    Uses ``pip download --no-deps --no-binary :all:``; nothing is downloaded when an
    archive of that name and version is already in ``dest``.

    Returns
    -------
    Path
        The ``.tar.gz`` archive.
    """
    name, sep, version = requirement.partition("==")
    if not sep or not name or not version:
        raise ValueError(f"pin an exact version: 'name==version', got {requirement!r}")
    dest.mkdir(parents=True, exist_ok=True)
    found = _find_sdist(dest, name, version)
    if found is None:
        argv = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        argv += ["--no-deps", "--no-binary", ":all:", "-d", str(dest), requirement]
        subprocess.run(argv, check=True)
        found = _find_sdist(dest, name, version)
    if found is None:
        raise FileNotFoundError(f"pip download left no sdist of {requirement} in {dest}")
    return found


def _find_sdist(folder: Path, name: str, version: str) -> Path | None:
    # Sdist file names differ in case and separators ("Django-5.0.6.tar.gz").
    wanted = f"{name}-{version}.tar.gz".lower().replace("_", "-")
    for path in sorted(folder.iterdir()):
        if path.name.lower().replace("_", "-") == wanted:
            return path
    return None


def unpack_sdist(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` (one top-level folder) to ``target``; reuse ``target`` if present.

    Extraction goes to a temporary sibling that is renamed at the end, so an interrupted
    run never leaves a partial tree that a later run would take for complete.
    """
    if target.is_dir():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(staging, filter="data")  # "data": no absolute paths, links out, devices
    tops = list(staging.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise ValueError(f"{archive}: expected one top-level folder, found {len(tops)} entries")
    tops[0].rename(target)
    staging.rmdir()
    return target


def throwaway_venv(path: Path, requirements: Sequence[str]) -> Path:
    """A separate venv at ``path`` with ``requirements`` installed; returns its python.

    Reused when a previous call completed with the same requirements (a marker file is
    written last); otherwise the folder is rebuilt from scratch.
    """
    marker = path / ".bench-ready"
    wanted = "\n".join(requirements)
    python = path / "bin" / "python"
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted and python.exists():
        return python
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
    )
    marker.write_text(wanted, encoding="utf-8")
    return python


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class ChildResult:
    """What a benchmark child reported, and how long the whole process took."""

    data: dict[str, Any]
    wall_seconds: float


def emit_json(record: Mapping[str, Any]) -> None:
    """Print ``record`` for :func:`run_json` (in a child process)."""
    print(JSON_MARKER + json.dumps(record), flush=True)


def run_json(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800.0,
) -> ChildResult:
    """Run ``argv``; return the last :data:`JSON_MARKER` record it printed and its wall time.

    ``env`` entries are added to the current environment. A failing child raises
    :class:`RuntimeError` with the end of its stderr.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    records = [
        line[len(JSON_MARKER) :]
        for line in proc.stdout.splitlines()
        if line.startswith(JSON_MARKER)
    ]
    if proc.returncode != 0 or not records:
        tail = "\n".join(proc.stderr.splitlines()[-30:])
        raise RuntimeError(f"{argv[:3]}... exited with {proc.returncode}:\n{tail}")
    return ChildResult(json.loads(records[-1]), wall)


def peak_rss_mib(*, children: bool = False) -> float:
    """Peak resident set size in MiB of this process (or of its largest waited-for child).

    Linux reports ``ru_maxrss`` in KiB (macOS in bytes). For ``children=True`` it is the
    peak of the single largest child, not a sum.
    """
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    value = resource.getrusage(who).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return value / scale


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's waited-for children (worker pools)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values: Sequence[float]) -> float:
    """The median (``nan`` for no values, so a missing measurement shows as such)."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine_info() -> dict[str, Any]:
    """CPUs, load averages (1/5/15 min), Python and OS: to publish next to the numbers."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return {
        "cpus": cpus,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
