"""The def/ref graph: aider-style weighting, global and personalised PageRank, updates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimax_lsp.indexer.graph import (
    GraphWeights,
    RankedDefinition,
    RepoGraph,
    StaleRankingError,
    identifier_weight,
)
from minimax_lsp.indexer.records import TEXT_LANGUAGE, Definition, FileSymbols, Reference


def sym(
    defs: Sequence[str] = (), refs: Sequence[str] = (), language: str = "python"
) -> FileSymbols:
    """Symbols defining ``defs`` and referencing ``refs`` (repeat a name to count it twice)."""
    return FileSymbols(
        language,
        definitions=tuple(Definition(n, "function", i + 1, i + 1, n) for i, n in enumerate(defs)),
        references=tuple(Reference(n, i + 1) for i, n in enumerate(refs)),
    )


def textbook_pagerank(
    graph: RepoGraph, personalization: Mapping[str, float] | None = None, damping: float = 0.85
) -> dict[str, float]:
    """networkx's definition, written out: dangling nodes jump by the personalisation."""
    nodes = graph.paths()
    edges = graph.edges()
    out_total = dict.fromkeys(nodes, 0.0)
    for (src, _dst), w in edges.items():
        out_total[src] += w
    if personalization:
        total = sum(personalization.get(v, 0.0) for v in nodes)
        s = {v: personalization.get(v, 0.0) / total for v in nodes}
    else:
        s = {v: 1.0 / len(nodes) for v in nodes}
    x = dict(s)
    for _ in range(5000):
        dangling = sum(x[v] for v in nodes if out_total[v] == 0.0)
        new = {v: (1 - damping) * s[v] + damping * dangling * s[v] for v in nodes}
        for (src, dst), w in edges.items():
            new[dst] += damping * x[src] * w / out_total[src]
        diff = sum(abs(new[v] - x[v]) for v in nodes)
        x = new
        if diff < 1e-14:
            break
    return x


def l1(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return sum(abs(a[k] - b[k]) for k in b)


# --------------------------------------------------------------------------- weighting


@pytest.mark.parametrize(
    ("name", "definers", "weight"),
    [
        ("parse", 1, 1.0),
        ("parse_config_file", 1, 10.0),  # long snake_case: descriptive
        ("parseConfigFile", 1, 10.0),  # long camelCase
        ("make-config-file", 1, 10.0),  # long kebab-case
        ("parseconfigfile", 1, 1.0),  # long, but one word: not "descriptive"
        ("parse_it", 1, 10.0),  # exactly 8 characters
        ("_helper", 1, 0.1),  # private
        ("_private_helper_fn", 1, 1.0),  # private (0.1) and descriptive (10)
        ("__init__", 1, 0.1),  # dunder: private, not snake_case
        ("db", 1, 0.1),  # short
        ("_x", 1, 0.1 * 0.1),  # short and private
        ("render", 5, 1.0),
        ("render", 6, 0.1),  # defined in many files
        ("render", 50, 0.1),
        ("render", 51, 0.0),  # too many definers: no edge
        ("render", 0, 0.0),
        ("HTTP_TIMEOUT", 1, 10.0),
        ("CONSTANT", 1, 1.0),  # upper case only: not camelCase
    ],
)
def test_identifier_weight(name: str, definers: int, weight: float) -> None:
    assert identifier_weight(name, definers) == pytest.approx(weight)


def test_edge_weights_follow_the_rules() -> None:
    files = {
        "main.py": sym(refs=["_helper", *["load_settings_file"] * 4, "common"]),
        "private.py": sym(defs=["_helper"]),
        "settings.py": sym(defs=["load_settings_file"]),
        **{f"c{i}.py": sym(defs=["common"]) for i in range(6)},
    }
    edges = RepoGraph.build(files).edges()
    assert edges[("main.py", "private.py")] == pytest.approx(0.1)
    assert edges[("main.py", "settings.py")] == pytest.approx(10.0 * math.sqrt(4))
    for i in range(6):  # six definers: each gets the full weight times 0.1
        assert edges[("main.py", f"c{i}.py")] == pytest.approx(0.1)
    assert all(src == "main.py" for src, _ in edges)


def test_likely_definers_win_over_namesakes() -> None:
    files = {
        "imports_b.py": sym(refs=["render"]),
        "defines_it.py": sym(defs=["render"], refs=["render"]),
        "plain.py": sym(refs=["render"]),
        "a.py": sym(defs=["render"]),
        "b.py": sym(defs=["render"]),
    }
    edges = RepoGraph.build(files, imports={"imports_b.py": ["b.py"]}).edges()
    import_weight = GraphWeights().import_weight
    # The imported definer keeps the weight (plus the import edge); namesakes get 0.1x.
    assert edges[("imports_b.py", "b.py")] == pytest.approx(1.0 + import_weight)
    assert edges[("imports_b.py", "a.py")] == pytest.approx(0.1)
    assert edges[("imports_b.py", "defines_it.py")] == pytest.approx(0.1)
    # A local definition makes every other definer unlikely, and adds no self-loop.
    assert edges[("defines_it.py", "a.py")] == pytest.approx(0.1)
    assert ("defines_it.py", "defines_it.py") not in edges
    # Without either hint every definer counts fully.
    assert edges[("plain.py", "a.py")] == pytest.approx(1.0)
    assert edges[("plain.py", "b.py")] == pytest.approx(1.0)


def test_import_edges_and_unknown_import_targets() -> None:
    files = {"a.py": sym(), "b.py": sym()}
    graph = RepoGraph.build(files, imports={"a.py": ["b.py", "a.py", "missing.py"]})
    assert graph.edges() == {("a.py", "b.py"): GraphWeights().import_weight}
    # The import of a file that appears later becomes an edge then.
    graph.update_file("missing.py", sym())
    assert ("a.py", "missing.py") in graph.edges()
    graph.remove_file("missing.py")
    assert ("a.py", "missing.py") not in graph.edges()


def test_rows_keep_only_the_heaviest_edges() -> None:
    weights = GraphWeights(max_out_edges=2)
    files = {
        "src.py": sym(refs=["alpha_name_x", "alpha_name_x", "beta_name_xy", "gamma", "delta"]),
        "a.py": sym(defs=["alpha_name_x"]),
        "b.py": sym(defs=["beta_name_xy"]),
        "c.py": sym(defs=["gamma"]),
        "d.py": sym(defs=["delta"]),
    }
    edges = RepoGraph.build(files, weights=weights).edges()
    assert set(edges) == {("src.py", "a.py"), ("src.py", "b.py")}
    # Ties (gamma, delta both weigh 1.0) are broken by path.
    files["src.py"] = sym(refs=["gamma", "delta"])
    edges = RepoGraph.build(files, weights=weights).edges()
    assert set(edges) == {("src.py", "c.py"), ("src.py", "d.py")}
    weights = GraphWeights(max_out_edges=1)
    assert set(RepoGraph.build(files, weights=weights).edges()) == {("src.py", "c.py")}


def test_text_files_link_to_the_code_they_mention() -> None:
    files = {
        "README.md": sym(refs=["configure_logging", "the", "and"], language=TEXT_LANGUAGE),
        "log.py": sym(defs=["configure_logging"]),
    }
    assert RepoGraph.build(files).edges() == {("README.md", "log.py"): pytest.approx(10.0)}


def test_bad_weights_are_rejected() -> None:
    with pytest.raises(ValueError):
        GraphWeights(damping=1.0)
    with pytest.raises(ValueError):
        GraphWeights(private_factor=-1.0)
    with pytest.raises(ValueError):
        GraphWeights(max_out_edges=0)


# --------------------------------------------------------------------------- ranking


def _hub_and_leaves() -> dict[str, FileSymbols]:
    files = {"hub.py": sym(defs=["read_settings_file"], refs=["leaf_helper_0"])}
    for i in range(6):
        files[f"leaf{i}.py"] = sym(defs=[f"leaf_helper_{i}"], refs=["read_settings_file"])
    return files


def test_the_hub_everyone_references_ranks_first() -> None:
    graph = RepoGraph.build(_hub_and_leaves())
    ranking = graph.global_rank()
    order = list(ranking)
    assert order[0] == "hub.py"
    assert order[1] == "leaf0.py"  # the hub's own reference target
    assert [p for p, _ in ranking.top(2)] == order[:2]
    assert math.fsum(ranking.values()) == pytest.approx(1.0)
    assert ranking.residual == 0.0


def _two_clusters() -> dict[str, FileSymbols]:
    files: dict[str, FileSymbols] = {}
    for c in "ab":
        for i in range(4):
            nxt = (i + 1) % 4
            refs = [f"{c}_function_{nxt}", f"{c}_function_{(i + 2) % 4}"]
            if i == 0:
                refs.append("bridge_function")  # one weak link between the clusters
            files[f"{c}{i}.py"] = sym(defs=[f"{c}_function_{i}"], refs=refs)
    files["bridge.py"] = sym(defs=["bridge_function"])
    return files


@pytest.mark.parametrize(("seed", "near", "far"), [("a0.py", "a", "b"), ("b2.py", "b", "a")])
def test_personalisation_moves_rank_to_the_neighbourhood(seed: str, near: str, far: str) -> None:
    graph = RepoGraph.build(_two_clusters())
    ranking = graph.rank({seed: 1.0})
    near_scores = [ranking[f"{near}{i}.py"] for i in range(4)]
    far_scores = [ranking[f"{far}{i}.py"] for i in range(4)]
    assert min(near_scores) > max(far_scores)
    assert next(iter(ranking)) == seed
    glob = graph.global_rank()
    assert ranking[f"{near}1.py"] > glob[f"{near}1.py"]
    assert ranking[f"{far}1.py"] < glob[f"{far}1.py"]


@st.composite
def _random_graphs(draw: st.DrawFn) -> tuple[dict[str, FileSymbols], dict[str, float]]:
    names = ["parse_input", "render", "_cache", "db", "load_everything", "Widget", "run"]
    n_files = draw(st.integers(2, 9))
    files: dict[str, FileSymbols] = {}
    for i in range(n_files):
        defs = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        refs = draw(st.lists(st.sampled_from(names), max_size=8))
        files[f"f{i}.py"] = sym(defs=defs, refs=refs)
    seeds = draw(st.lists(st.sampled_from(sorted(files)), min_size=1, max_size=3, unique=True))
    weights = draw(st.lists(st.floats(0.1, 5.0), min_size=len(seeds), max_size=len(seeds)))
    return files, dict(zip(seeds, weights, strict=True))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(_random_graphs())
def test_push_agrees_with_exact_pagerank(
    case: tuple[dict[str, FileSymbols], dict[str, float]],
) -> None:
    files, personalization = case
    graph = RepoGraph.build(files)
    exact = textbook_pagerank(graph, personalization)
    # The reference solver agrees with networkx's definition...
    assert l1(graph.rank_exact(personalization), exact) < 1e-9
    assert l1(graph.rank_exact(), textbook_pagerank(graph)) < 1e-9
    # ... a fine push converges to it ...
    fine = graph.rank(personalization, epsilon=1e-10, max_work=10**7)
    assert l1(fine, exact) < 1e-6
    # ... and the default push stays within its documented error bound:
    # |estimate - exact|_1 <= 4 * damping * residual / alpha (see graph.py).
    coarse = graph.rank(personalization)
    assert l1(coarse, exact) <= 4 * 0.85 * coarse.residual / 0.15 + 1e-9
    assert math.fsum(coarse.values()) == pytest.approx(1.0)
    # The maintained global rank matches the exact one.
    assert l1(graph.global_rank(), textbook_pagerank(graph)) < 1e-3


def test_push_is_local_on_a_long_chain() -> None:
    # A chain f0 -> f1 -> ... -> f299: a push from f0 touches a short prefix only.
    files = {
        f"f{i:03}.py": sym(defs=[f"step_number_{i}"], refs=[f"step_number_{i + 1}"])
        for i in range(300)
    }
    graph = RepoGraph.build(files)
    ranking = graph.rank({"f000.py": 1.0}, epsilon=1e-3)
    assert 0 < ranking.touched < 60
    assert [p for p, _ in ranking.top(3)] == ["f000.py", "f001.py", "f002.py"]


def test_work_cap_falls_back_on_the_prior() -> None:
    graph = RepoGraph.build(_two_clusters())
    capped = graph.rank({"a0.py": 1.0}, max_work=0)
    assert capped.residual == pytest.approx(1.0)
    assert next(iter(capped)) == "a0.py"
    assert math.fsum(capped.values()) == pytest.approx(1.0)
    # Apart from the seed, files come in global order.
    rest = [p for p in capped if p != "a0.py"]
    assert rest == [p for p in graph.global_rank() if p != "a0.py"]


def test_top_definitions_follow_what_the_focus_file_uses() -> None:
    files = {
        "cart.py": sym(
            defs=["checkout"],
            refs=["compute_total_price"] * 5 + ["format_label", "checkout"],
        ),
        "prices.py": sym(defs=["compute_total_price", "unused_price_helper"]),
        "labels.py": sym(defs=["format_label"]),
        "other.py": sym(defs=["unrelated_thing"], refs=["format_label"]),
    }
    graph = RepoGraph.build(files)
    ranking = graph.rank({"cart.py": 1.0})
    top = ranking.top_definitions(5, exclude_paths=["cart.py"])
    assert [(d.path, d.name) for d in top[:2]] == [
        ("prices.py", "compute_total_price"),
        ("labels.py", "format_label"),
    ]
    assert all(isinstance(d, RankedDefinition) and d.score > 0 for d in top)
    assert top == sorted(top, key=lambda d: (-d.score, d.path, d.name))
    assert [name for name, _ in ranking.definitions("prices.py")] == ["compute_total_price"]
    assert ranking.definitions("nowhere.py") == []
    assert ranking.top_definitions(0) == []


def test_rankings_are_deterministic_with_ties_broken_by_path() -> None:
    files = {f"twin{i}.py": sym(defs=[f"twin_function_{i}"]) for i in (3, 1, 2)}
    files["user.py"] = sym(refs=["twin_function_1", "twin_function_2", "twin_function_3"])
    forward = RepoGraph.build(files)
    backward = RepoGraph.build(dict(reversed(list(files.items()))))
    for graph in (forward, backward):
        ranking = graph.rank({"user.py": 1.0})
        assert list(ranking) == ["user.py", "twin1.py", "twin2.py", "twin3.py"]
    a, b = forward.rank({"user.py": 1.0}), backward.rank({"user.py": 1.0})
    assert [(p, a[p]) for p in a] == [(p, b[p]) for p in b]
    assert list(forward.global_rank()) == list(backward.global_rank())
    assert forward.global_rank().top(4) == backward.global_rank().top(4)


def test_bad_and_degenerate_personalisation() -> None:
    graph = RepoGraph.build(_hub_and_leaves())
    with pytest.raises(ValueError):
        graph.rank({"hub.py": -1.0})
    with pytest.raises(ValueError):
        graph.rank({"hub.py": math.nan})
    with pytest.raises(ValueError):
        graph.rank({"hub.py": 1.0}, epsilon=0.0)
    glob = list(graph.global_rank())
    assert list(graph.rank({"not-indexed.py": 1.0})) == glob
    assert list(graph.rank({"hub.py": 0.0})) == glob
    assert list(graph.rank({})) == glob
    with pytest.raises(KeyError):
        graph.global_rank()["not-indexed.py"]
    empty = RepoGraph()
    assert len(empty.rank({"x.py": 1.0})) == 0
    assert empty.global_rank().top(5) == []
    assert RepoGraph.build({}).rank_exact() == {}


def test_top_excludes_and_truncates() -> None:
    graph = RepoGraph.build(_hub_and_leaves())
    ranking = graph.rank({"leaf3.py": 1.0})
    top = ranking.top(3, exclude=["leaf3.py"])
    assert len(top) == 3 and "leaf3.py" not in dict(top)
    assert top[0][0] == "hub.py"
    assert [p for p, _ in top] == [p for p in ranking if p != "leaf3.py"][:3]
    assert ranking.top(0) == []
    assert len(ranking.top(100)) == len(graph)


# --------------------------------------------------------------------------- updates


@st.composite
def _update_sequences(
    draw: st.DrawFn,
) -> list[tuple[str, FileSymbols | None, tuple[str, ...]]]:
    names = ["parse_input", "render", "_cache", "db", "load_everything", "Widget"]
    paths = [f"m{i}.py" for i in range(6)]
    ops = []
    for _ in range(draw(st.integers(1, 25))):
        path = draw(st.sampled_from(paths))
        if draw(st.booleans()) and draw(st.booleans()):
            ops.append((path, None, ()))
            continue
        defs = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        refs = draw(st.lists(st.sampled_from(names), max_size=6))
        imports = tuple(draw(st.lists(st.sampled_from(paths), max_size=2)))
        ops.append((path, sym(defs=defs, refs=refs), imports))
    return ops


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(_update_sequences())
def test_incremental_updates_equal_a_rebuild(
    ops: list[tuple[str, FileSymbols | None, tuple[str, ...]]],
) -> None:
    graph = RepoGraph()
    state: dict[str, tuple[FileSymbols, tuple[str, ...]]] = {}
    for path, symbols, imports in ops:
        version = graph.version
        if symbols is None:
            assert graph.remove_file(path) is (path in state)
            state.pop(path, None)
        else:
            graph.update_file(path, symbols, imports)
            state[path] = (symbols, imports)
        assert graph.version >= version
    rebuilt = RepoGraph.build(
        {p: s for p, (s, _) in state.items()}, imports={p: i for p, (_, i) in state.items()}
    )
    assert graph.paths() == rebuilt.paths()
    assert graph.edges() == pytest.approx(rebuilt.edges())
    if len(rebuilt):
        assert graph.pending_global() == 0
        assert l1(graph.global_rank(), rebuilt.rank_exact()) < 1e-2
        seed = {graph.paths()[0]: 1.0}
        assert l1(graph.rank(seed), rebuilt.rank(seed)) < 1e-2


def test_updates_bump_the_version_and_stale_rankings_refuse_graph_reads() -> None:
    files = _hub_and_leaves()
    graph = RepoGraph.build(files)
    ranking = graph.rank({"leaf1.py": 1.0})
    score = ranking["hub.py"]
    version = graph.version
    graph.update_file("leaf1.py", files["leaf1.py"])  # identical: nothing changes
    assert graph.version == version
    assert ranking.top_definitions(3)  # still fresh
    graph.update_file("leaf1.py", sym(defs=["leaf_helper_1"], refs=["hub_is_gone"]))
    assert graph.version > version
    assert ranking["hub.py"] == score  # captured scores stay readable
    with pytest.raises(StaleRankingError):
        ranking.top_definitions(3)
    with pytest.raises(StaleRankingError):
        ranking.definitions("hub.py")
    assert graph.remove_file("nope.py") is False


def test_a_new_definition_rewires_its_referencers() -> None:
    files = {
        "user.py": sym(refs=["shiny_new_function"]),
        "old.py": sym(defs=["something_else"]),
    }
    graph = RepoGraph.build(files)
    assert graph.edges() == {}
    graph.update_file("old.py", sym(defs=["something_else", "shiny_new_function"]))
    assert set(graph.edges()) == {("user.py", "old.py")}
    assert graph.definers("shiny_new_function") == ("old.py",)
    assert [p for p, _ in graph.rank({"user.py": 1.0}).top(2)] == ["user.py", "old.py"]
    graph.remove_file("old.py")
    assert graph.edges() == {}
    assert graph.definers("shiny_new_function") == ()
    assert "old.py" not in graph
    assert graph.settle() is True
