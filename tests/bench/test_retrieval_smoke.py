"""Smoke test of the retrieval benchmark on a tiny synthetic project (seconds, no network).

The project has six files: a package whose ``__init__`` re-exports a class, a utility
module, a service module and a script that call into them, a large filler module (so
the workspace does not fit the 4k budget and the engine has to choose), and a README.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from minimax_lsp.indexer.context import Span
from minimax_lsp.indexer.tokens import TokenCounter
from tests.bench.retrieval.baselines import (
    BM25Baseline,
    Corpus,
    ImportsBaseline,
    PackedSpan,
    RandomBaseline,
    current_file_span,
    terms,
)
from tests.bench.retrieval.dataset import (
    GoldDefinition,
    ModuleMap,
    Resolver,
    build_cases,
    find_call_sites,
    imported_modules,
    read_source,
)
from tests.bench.retrieval.run import (
    BASELINES,
    BODY,
    HIT,
    METHODS,
    OUTLINE,
    Options,
    classify,
    evaluate_root,
)

FILES = {
    "pkg/__init__.py": """\
        from pkg.models import Widget

        __all__ = ["Widget"]
        """,
    "pkg/models.py": """\
        class Widget:
            def __init__(self, name):
                self.name = name


        def make_widget(name):
            return Widget(name.strip())
        """,
    "pkg/util.py": """\
        import re


        def slugify(text):
            return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        """,
    "pkg/service.py": """\
        from pkg.util import slugify
        from . import models


        def run(name):
            slug = slugify(name)
            widget = models.make_widget(slug)
            return widget
        """,
    "app.py": """\
        import pkg
        from pkg.service import run


        def main():
            first = pkg.Widget("a")
            return run(first.name)
        """,
    "README.md": "# demo\n\nA tiny project for the retrieval smoke test.\n",
}

#: (path, line, gold path, gold line, gold name, re-export hops) of every planted call.
PLANTED = {
    ("pkg/service.py", 6, "pkg/util.py", 4, "slugify", 0),
    ("pkg/service.py", 7, "pkg/models.py", 6, "make_widget", 0),
    ("app.py", 6, "pkg/models.py", 1, "Widget", 1),
    ("app.py", 7, "pkg/service.py", 5, "run", 0),
}


def _filler() -> str:
    """~9k tokens of unrelated functions: the workspace must not fit 4k."""
    parts = [
        f"def filler_{i}(alpha, beta):\n"
        f'    """Compute filler value number {i} from alpha and beta."""\n'
        f"    total = alpha * {i} + beta - {i * 7}\n"
        f"    return [total + k for k in range({i % 9 + 1})]\n"
        for i in range(220)
    ]
    return "\n\n".join(parts)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root / "pkg" / "filler.py").write_text(_filler(), encoding="utf-8")
    return root


def _reader(root: Path) -> Callable[[str], str | None]:
    def read(rel: str) -> str | None:
        return read_source((root / rel).read_bytes())

    return read


def _paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_dataset_finds_exactly_the_planted_calls(project: Path) -> None:
    sites = find_call_sites("demo", _paths(project), _reader(project))
    found = {(s.path, s.line, s.gold.path, s.gold.line, s.gold.name, s.hops) for s in sites}
    assert found == PLANTED
    cases, stats = build_cases("demo", _paths(project), _reader(project), count=10, seed=1)
    assert stats.call_sites == len(PLANTED) and len(cases) == len(PLANTED)
    by_id = {c.id: c for c in cases}
    case = by_id["demo:pkg/service.py:6"]
    assert case.masked_text.split("\n")[5] == "    slug = "
    assert case.column == len("    slug = ")
    assert case.original_line == "    slug = slugify(name)"
    assert "slugify(name)" not in case.masked_text
    # Everything but the masked line is the file on disk.
    disk = (project / "pkg/service.py").read_text().split("\n")
    masked = case.masked_text.split("\n")
    assert [i for i, (a, b) in enumerate(zip(disk, masked, strict=True)) if a != b] == [5]
    resolver = Resolver(ModuleMap.build(_paths(project)), _reader(project))
    assert imported_modules(case, resolver) == ["pkg/util.py", "pkg/models.py"]


def test_classify_reads_modes_and_outline_lines() -> None:
    gold = GoldDefinition("a.py", "f", "function", 10, 20, 9)

    def span(mode: str, start: int, end: int, text: str = "", path: str = "a.py") -> PackedSpan:
        return PackedSpan(path, start, end, mode, 1, text)

    assert classify(gold, [span("snippet", 5, 12)]) == "body"
    assert classify(gold, [span("full", 1, 30, path="b.py")]) == "miss"
    assert classify(gold, [span("snippet", 11, 20)]) == "miss"
    assert classify(gold, [span("outline", 1, 30, "9\u2502@dec\n10\u2502def f(x):\n")]) == "outline"
    # An outline whose range covers the line but does not show it is no hit.
    assert classify(gold, [span("outline", 1, 30, "3\u2502def g():\n")]) == "miss"
    engine_span = Span("a.py", 10, 10, "snippet", 3, "defines", "def f(x):\n")
    assert classify(gold, [engine_span]) == "body"


def test_baselines_respect_the_budget_and_rank_sensibly(project: Path) -> None:
    counter = TokenCounter()
    paths = _paths(project)
    read = _reader(project)
    cases, _ = build_cases("demo", paths, read, count=10, seed=1)
    case = next(c for c in cases if c.id == "demo:pkg/service.py:6")
    corpus = Corpus(paths, read, counter)
    resolver = Resolver(ModuleMap.build(paths), read)
    bm25 = BM25Baseline(corpus)
    assert "slugify" in terms("def slugify(text)") and "make" in terms("make_widget")
    assert bm25.rank("filler_12 alpha beta")[0] == "pkg/filler.py"
    for budget in (300, 4000):
        current = current_file_span(case, budget, counter)
        for baseline in (bm25, ImportsBaseline(corpus, resolver), RandomBaseline(corpus, seed=3)):
            spans = baseline.pack(case, budget, current)
            assert spans[-1] is current
            assert sum(s.tokens for s in spans) <= budget
            assert all(s.path != case.path for s in spans[:-1])
    imports = ImportsBaseline(corpus, resolver).pack(
        case, 4000, current_file_span(case, 4000, counter)
    )
    assert [s.path for s in imports] == ["pkg/util.py", "pkg/models.py", case.path]
    assert classify(case.gold, imports) == "body"


def test_engine_and_baselines_run_end_to_end(project: Path, tmp_path: Path) -> None:
    options = Options(
        cases=10,
        budgets=(4_000,),
        latency_budgets=(4_000,),
        latency_requests=2,
        workers=1,
    )
    result = evaluate_root("demo", project, options, cache_dir=tmp_path / "cache")
    assert result.tokens > 4_000  # the engine has to choose
    assert len(result.cases) == len(PLANTED)
    assert not result.problems, result.problem_examples
    for method in METHODS:
        for kinds in (HIT, BODY, OUTLINE):
            assert 0.0 <= result.rate(method, 4_000, kinds) <= 100.0
    assert set(BASELINES) < set(result.cases[0].hits)
    direct = next(c for c in result.cases if c.case.id == "demo:pkg/service.py:6")
    assert direct.hits["engine"][4_000] == "body"
    assert len(result.latency.packs_ms[4_000]) == 2 and len(result.latency.edit_ms) == 2
    assert result.latency.warm_seconds >= 0.0
