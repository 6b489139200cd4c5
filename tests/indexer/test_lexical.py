"""BM25 over chunks: tokenizer, definition-aligned chunking, ranking, incremental updates."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimax_lsp.indexer.lexical import (
    ATTACH_GAP_LINES,
    MAX_CHUNK_LINES,
    Chunk,
    ChunkTerms,
    LexicalIndex,
    ScoredChunk,
    chunk_file,
    line_windows,
    make_chunk,
    split_identifier,
    tokenize,
)
from minimax_lsp.indexer.records import TEXT_LANGUAGE, Definition, FileSymbols

# --------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize(
    ("identifier", "terms"),
    [
        ("value", ["value"]),
        ("snake_case_name", ["snake", "case", "name", "snake_case_name"]),
        ("camelCaseName", ["camel", "case", "name", "camelcasename"]),
        ("HTTPServer", ["http", "server", "httpserver"]),
        ("parseHTTPResponse2", ["parse", "http", "response", "parsehttpresponse2"]),
        ("IOError", ["io", "error", "ioerror"]),
        ("base64encode", ["base", "64", "encode", "base64encode"]),
        ("getX", ["get", "getx"]),
        ("__init__", ["init", "__init__"]),
        ("_private", ["private", "_private"]),
        ("MAX_RETRY_COUNT", ["max", "retry", "count", "max_retry_count"]),
        ("TestCase", ["test", "case", "testcase"]),
        ("größe_wert", ["größe", "wert", "größe_wert"]),
        ("x", []),  # one character
        ("self", []),  # stop word
        ("Return", []),  # stop word in any case
        ("x1", ["x1"]),  # its parts are too short, the whole is kept
    ],
)
def test_split_identifier(identifier: str, terms: list[str]) -> None:
    assert split_identifier(identifier) == terms


def test_tokenize_drops_keywords_numbers_and_punctuation() -> None:
    code = "def load_config(self, path):\n    return 42 + readFile(path)  # the end\n"
    assert tokenize(code) == [
        "load",
        "config",
        "load_config",
        "path",
        "read",
        "file",
        "readfile",
        "path",
        "end",
    ]


def test_tokenize_survives_hostile_text() -> None:
    junk = "\x00\x01\x02" * 100 + "\ufffd" * 50 + " " + "a" * 100_000 + " 123 4.5"
    assert tokenize(junk) == ["a" * 100_000]
    assert tokenize("") == []
    assert tokenize("naïve_café Größe") == ["naïve", "café", "naïve_café", "größe"]


# --------------------------------------------------------------------------- chunking


def _defn(name: str, start: int, end: int, scope: str = "") -> Definition:
    return Definition(name, "function", start, end, f"def {name}()", scope)


def _text(n_lines: int) -> str:
    return "".join(f"line_{i} = {i}\n" for i in range(1, n_lines + 1))


def _ranges(chunks: list[Chunk]) -> list[tuple[int, int]]:
    return [(c.start_line, c.end_line) for c in chunks]


def test_chunks_follow_top_level_definitions() -> None:
    defs = (
        _defn("alpha", 13, 30),  # after a 12-line module header: the header is its own chunk
        _defn("inner", 15, 20, scope="alpha"),  # nested: not a boundary
        _defn("beta", 33, 40),  # 2-line gap before it: joins beta
        _defn("C1", 41, 41),  # three one-line constants, grouped with what follows
        _defn("C2", 42, 42),
        _defn("C3", 43, 43),
        _defn("gamma", 44, 60),
    )
    symbols = FileSymbols("python", definitions=defs)
    chunks = chunk_file("m.py", _text(64), symbols)  # 4 trailing lines join gamma
    assert _ranges(chunks) == [(1, 12), (13, 30), (31, 40), (41, 64)]
    assert {c.path for c in chunks} == {"m.py"}


def test_long_definitions_and_long_gaps_become_overlapping_windows() -> None:
    symbols = FileSymbols("python", definitions=(_defn("huge", 1, 130),))
    chunks = chunk_file("big.py", _text(200), symbols)
    assert _ranges(chunks) == [(1, 50), (41, 90), (81, 130), (131, 180), (151, 200)]


def test_plain_text_is_windowed() -> None:
    symbols = FileSymbols(TEXT_LANGUAGE, definitions=(_defn("ignored", 1, 5),))
    assert _ranges(chunk_file("README", _text(120), symbols)) == [(1, 50), (41, 90), (71, 120)]
    assert _ranges(chunk_file("short.txt", "one line, no newline", symbols)) == [(1, 1)]
    assert chunk_file("empty.txt", "", symbols) == []


def test_chunk_text_and_terms_match_their_lines() -> None:
    text = "import os\n" * 10 + "def fetch_rows(db):\n    return db.rows\n"
    symbols = FileSymbols("python", definitions=(_defn("fetch_rows", 11, 12),))
    header, body = chunk_file("q.py", text, symbols)
    assert (header.start_line, header.end_line) == (1, 10)
    assert dict(header.terms) == {"os": 10}
    assert dict(body.terms) == {"fetch": 1, "rows": 2, "fetch_rows": 1, "db": 2}
    assert body.length == 6


def test_line_numbers_count_newlines_only() -> None:
    # A form feed or U+2028 must not start a new line (tree-sitter does not either).
    text = "a = 1\x0c\nb = 2\u2028c\r\nd = 4"
    assert _ranges(chunk_file("f.py", text, FileSymbols("python"))) == [(1, 3)]


def test_bogus_definition_ranges_are_clamped() -> None:
    defs = (
        _defn("past_the_end", 8, 500),
        _defn("backwards", 5, 2),
        _defn("beyond", 900, 950),
        _defn("overlapping", 6, 9),
    )
    chunks = chunk_file("x.py", _text(10), FileSymbols("python", definitions=defs))
    assert _ranges(chunks) == [(1, 10)]


def test_line_windows_validation() -> None:
    assert line_windows(5, 4) == []
    assert line_windows(1, 3, size=2, overlap=1) == [(1, 2), (2, 3)]
    with pytest.raises(ValueError):
        line_windows(1, 10, size=5, overlap=5)
    with pytest.raises(ValueError):
        make_chunk("a", 3, 2, "")


@st.composite
def _files(draw: st.DrawFn) -> tuple[str, FileSymbols]:
    n_lines = draw(st.integers(0, 300))
    defs = draw(
        st.lists(
            st.builds(
                _defn,
                st.sampled_from(["f", "g", "h"]),
                st.integers(-5, 420),
                st.integers(-5, 420),
                st.sampled_from(["", "", "", "Outer"]),
            ),
            max_size=25,
        )
    )
    language = draw(st.sampled_from(["python", TEXT_LANGUAGE]))
    trailing = draw(st.sampled_from(["\n", ""]))
    text = "\n".join(f"word{i} other_{i}" for i in range(n_lines)) + (trailing if n_lines else "")
    return text, FileSymbols(language, definitions=tuple(defs))


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(_files())
def test_chunks_cover_every_line_in_order(file: tuple[str, FileSymbols]) -> None:
    text, symbols = file
    n_lines = len(text.split("\n")) - (1 if text.endswith("\n") else 0) if text else 0
    chunks = chunk_file("p.py", text, symbols)
    if n_lines == 0:
        assert chunks == []
        return
    assert chunks[0].start_line == 1
    assert chunks[-1].end_line == n_lines
    for prev, nxt in pairwise(chunks):
        assert prev.start_line < nxt.start_line <= prev.end_line + 1  # no hole, in order
        assert nxt.end_line > prev.end_line
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= n_lines
        assert chunk.end_line - chunk.start_line + 1 <= MAX_CHUNK_LINES


def test_attach_gap_constant_is_used_for_short_gaps() -> None:
    gap = ATTACH_GAP_LINES
    defs = (_defn("first", 1, 20), _defn("second", 21 + gap, 40 + gap))
    chunks = chunk_file("g.py", _text(40 + gap), FileSymbols("python", definitions=defs))
    assert _ranges(chunks) == [(1, 20), (21, 40 + gap)]


# --------------------------------------------------------------------------- BM25


def _chunk(path: str, text: str, start: int = 1) -> Chunk:
    return make_chunk(path, start, start + text.count("\n"), text)


def _index(docs: dict[str, str], **kwargs: Any) -> LexicalIndex:
    # Toy corpora are tiny, so every term is "common": score them all unless told.
    kwargs.setdefault("max_df_fraction", 1.0)
    index = LexicalIndex(**kwargs)
    for path, text in docs.items():
        index.add_file(path, [_chunk(path, text)])
    return index


_FILLER = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda_ mu nu xi omicron"


def test_version_moves_with_every_change_and_only_then() -> None:
    """Callers memoise search results by ``version``."""
    index = _index({"a.py": "alpha beta", "b.py": "gamma delta"})
    before = index.version
    assert index.search(["alpha"]) == index.search(["alpha"])
    assert not index.remove_file("missing.py")
    assert index.version == before  # queries and no-ops leave it
    index.add_file("c.py", [_chunk("c.py", "alpha epsilon")])
    after_add = index.version
    assert after_add > before
    assert index.remove_file("a.py")
    assert index.version > after_add


def test_chunk_with_the_rare_query_term_ranks_first() -> None:
    docs = {f"common{i}.py": f"{_FILLER} render template request" for i in range(8)}
    docs["needle.py"] = f"{_FILLER} render frobnicate_widget request"
    index = _index(docs)
    hits = index.search("def view(request): return render(frobnicate_widget(request))", 3)
    assert hits[0].path == "needle.py"
    assert hits[0].score > hits[1].score > 0


def test_idf_prefers_rare_terms_and_stays_positive() -> None:
    docs = {f"d{i}.py": "shared_word " + ("rare_word" if i == 0 else "other") for i in range(10)}
    index = _index(docs)
    assert index.idf("rare_word") > index.idf("other") > index.idf("shared_word") > 0
    assert index.idf("missing") == 0.0
    assert index.document_frequency("shared_word") == 10
    # A term in every chunk still scores (positive idf), just weakly.
    assert index.search("shared_word", 1)[0].score > 0


def test_length_normalisation_prefers_the_shorter_chunk() -> None:
    docs = {
        "short.py": "parse_header value",
        "long.py": "parse_header value " + " ".join(f"pad{i}" for i in range(400)),
        "other.py": "nothing relevant here",
    }
    hits = _index(docs).search("parse_header", 5)
    assert [h.path for h in hits] == ["short.py", "long.py"]
    # With b = 0 the length stops mattering: a tie, broken by path.
    flat = _index(docs, b=0.0).search("parse_header", 5)
    assert flat[0].score == flat[1].score
    assert [h.path for h in flat] == ["long.py", "short.py"]


def test_term_frequency_saturates() -> None:
    docs = {f"tf{n}.py": " ".join(["connect"] * n + ["x_pad"] * (8 - n)) for n in (1, 2, 8)}
    docs.update({f"z{i}.py": "unrelated words" for i in range(5)})
    scores = {h.path: h.score for h in _index(docs).search("connect", 3)}
    gain_first = scores["tf2.py"] - scores["tf1.py"]
    gain_later = (scores["tf8.py"] - scores["tf2.py"]) / 6
    assert scores["tf8.py"] > scores["tf2.py"] > scores["tf1.py"]
    assert gain_later < gain_first  # each extra occurrence is worth less


def test_results_are_ordered_and_tie_broken_by_path_then_line() -> None:
    index = LexicalIndex(max_df_fraction=1.0)
    index.add_file("b.py", [_chunk("b.py", "token_x", 1), _chunk("b.py", "token_x", 5)])
    index.add_file("a.py", [_chunk("a.py", "token_x", 3)])
    index.add_file("c.py", [_chunk("c.py", "unrelated")])
    hits = index.search(["token_x"], 10)
    assert hits == [
        ScoredChunk("a.py", 3, 3, hits[0].score),
        ScoredChunk("b.py", 1, 1, hits[0].score),
        ScoredChunk("b.py", 5, 5, hits[0].score),
    ]
    assert [h.path for h in index.search(["token_x"], 2)] == ["a.py", "b.py"]


def test_exclude_and_restrict_paths() -> None:
    docs = {f"f{i}.py": "shared_symbol" for i in range(5)}
    docs.update({f"pad{i}.py": "padding text" for i in range(20)})
    index = _index(docs)
    assert {h.path for h in index.search("shared_symbol", 10, exclude_paths={"f0.py"})} == {
        "f1.py",
        "f2.py",
        "f3.py",
        "f4.py",
    }
    hits = index.search("shared_symbol", 10, restrict_paths=["f3.py", "f4.py", "nope.py"])
    assert [h.path for h in hits] == ["f3.py", "f4.py"]
    assert index.search("shared_symbol", 10, restrict_paths=[]) == []
    assert (
        index.search("shared_symbol", 10, restrict_paths=["f3.py"], exclude_paths=["f3.py"]) == []
    )


def test_common_terms_and_the_postings_budget_bound_the_work() -> None:
    docs = {f"f{i}.py": f"everywhere word{i % 3} unique{i}" for i in range(12)}
    index = _index(docs, max_df_fraction=0.5)
    # "everywhere" is in every chunk: skipped, so only word1 scores.
    terms = [t for t, _ in index.query_terms("everywhere word1")]
    assert terms == ["word1"]
    # Budget of one posting: only the rarest term is read.
    assert [t for t, _ in index.query_terms("word1 unique7", max_postings=1)] == ["unique7"]
    assert [h.path for h in index.search("word1 unique7", 5, max_postings=1)] == ["f7.py"]
    assert len(index.search("word1 unique7", 5)) == 4
    with pytest.raises(ValueError):
        index.search("word1", 5, max_postings=0)


def test_query_term_repeats_weigh_more_with_saturation() -> None:
    index = _index({"a.py": "foo_term", "b.py": "bar_term", "c.py": "zzz", "d.py": "yyy"})
    weights = dict(index.query_terms("foo_term foo_term foo_term bar_term"))
    assert weights["foo_term"] == pytest.approx(1.5 * weights["bar_term"])
    assert index.search("foo_term foo_term bar_term", 1)[0].path == "a.py"


def test_empty_and_degenerate_queries() -> None:
    index = LexicalIndex()
    assert index.search("anything", 5) == []
    index.add_file("a.py", [_chunk("a.py", "something")])
    assert index.search("", 5) == []
    assert index.search("self return", 5) == []  # stop words only
    assert index.search("something", 0) == []
    assert index.search("unknown_term", 5) == []


def test_bad_input_is_rejected() -> None:
    index = LexicalIndex()
    with pytest.raises(ValueError):
        index.add_file("a.py", [_chunk("b.py", "x_y")])
    with pytest.raises(ValueError):
        LexicalIndex(b=2.0)
    with pytest.raises(ValueError):
        LexicalIndex(max_df_fraction=0.0)


def test_add_file_replaces_and_remove_file_forgets() -> None:
    index = _index({"a.py": "oldword", "b.py": "other_thing", "c.py": "third"})
    index.add_file("a.py", [_chunk("a.py", "new_name"), _chunk("a.py", "new_name more", 2)])
    assert index.search("oldword", 5) == []
    assert index.document_frequency("oldword") == 0
    assert [h.start_line for h in index.search("new_name", 5)] == [1, 2]
    assert index.chunk_ranges("a.py") == [(1, 1), (2, 2)]
    assert "a.py" in index
    assert len(index) == 4
    assert index.remove_file("a.py") is True
    assert index.remove_file("a.py") is False
    assert "a.py" not in index
    assert index.search("new_name", 5) == []
    assert index.document_frequency("new_name") == 0
    assert index.paths() == ["b.py", "c.py"]
    stats = index.stats()
    assert (stats.files, stats.chunks, stats.terms) == (2, 2, 4)  # other, thing, other_thing


_WORDS = [f"w{i}" for i in range(12)] + ["parse_config", "loadData", "HTTPClient"]


@st.composite
def _operations(draw: st.DrawFn) -> list[tuple[str, list[str] | None]]:
    """A sequence of (path, chunk texts) adds and (path, None) removes."""
    paths = [f"p{i}.py" for i in range(6)]
    texts = st.lists(
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(" ".join),
        min_size=0,
        max_size=4,
    )
    ops = st.tuples(st.sampled_from(paths), st.one_of(st.none(), texts))
    return draw(st.lists(ops, min_size=1, max_size=30))


def _chunks_for(path: str, texts: list[str]) -> list[Chunk]:
    return [make_chunk(path, i + 1, i + 1, text) for i, text in enumerate(texts)]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(_operations())
def test_incremental_updates_equal_a_rebuild(ops: list[tuple[str, list[str] | None]]) -> None:
    index = LexicalIndex(max_df_fraction=0.6)
    final: dict[str, list[str]] = {}
    for path, texts in ops:
        if texts is None:
            index.remove_file(path)
            final.pop(path, None)
        else:
            index.add_file(path, _chunks_for(path, texts))
            final[path] = texts
    rebuilt = LexicalIndex(max_df_fraction=0.6)
    for path in sorted(final):
        rebuilt.add_file(path, _chunks_for(path, final[path]))
    assert index.stats().chunks == rebuilt.stats().chunks
    for word in _WORDS:
        for term in tokenize(word):
            assert index.document_frequency(term) == rebuilt.document_frequency(term)
    for query in ("w1 w2 parse", "load data w3", "w0 w0 w5 http client", " ".join(_WORDS)):
        assert index.search(query, 20) == rebuilt.search(query, 20)
    index.compact()
    assert index.stats().dead_chunks == 0
    for query in ("w1 w2 parse", " ".join(_WORDS)):
        assert index.search(query, 20) == rebuilt.search(query, 20)


def test_many_rewrites_keep_postings_compact() -> None:
    index = LexicalIndex(max_df_fraction=1.0)
    index.add_file("stable.py", [_chunk("stable.py", "keep_me around")])
    for i in range(300):  # an editor rewriting one buffer again and again
        chunks = [_chunk("hot.py", f"edited_{i % 7} around", j) for j in range(1, 4)]
        index.add_file("hot.py", chunks)
    stats = index.stats()
    assert stats.chunks == 4
    # 300 rewrites wrote 2,700 postings; dead ones are dropped as they pile up.
    assert stats.postings < 120
    assert [h.path for h in index.search("keep_me", 5)] == ["stable.py"]
    hits = index.search("edited_6", 5)
    assert [(h.path, h.start_line) for h in hits] == [("hot.py", 1), ("hot.py", 2), ("hot.py", 3)]
    assert all(math.isfinite(h.score) and h.score > 0 for h in hits)


# --------------------------------------------------------------------------- edits


def test_chunk_file_cache_reuses_terms_and_keeps_only_current_texts() -> None:
    defs = (_defn("first", 1, 20), _defn("second", 21, 40))
    symbols = FileSymbols("python", definitions=defs)
    text = _text(40)
    plain = chunk_file("c.py", text, symbols)
    cache: dict[str, ChunkTerms] = {}
    assert chunk_file("c.py", text, symbols, cache=cache) == plain
    assert len(cache) == len(plain)
    # A cached text is not tokenized again: planted terms for it come back as they are.
    body = "\n".join(text.split("\n")[:20])
    cache[body] = ((("planted", 1),), 1)
    again = chunk_file("c.py", text, symbols, cache=cache)
    assert again[0].terms == (("planted", 1),) and again[0].length == 1
    assert again[1] == plain[1]
    # After a call the cache holds exactly that call's chunk texts.
    edited = text.replace("line_30 = 30", "line_30 = thirty")
    chunk_file("c.py", edited, symbols, cache=cache)
    assert len(cache) == 2 and body in cache
    assert all(key.startswith("line_1 =") or "thirty" in key for key in cache)


def test_add_file_keeps_unchanged_chunks_and_moves_their_lines() -> None:
    index = LexicalIndex(max_df_fraction=1.0)
    index.add_file("other.py", [_chunk("other.py", "unrelated words here")])
    texts = ["alpha_one beta", "gamma_two delta", "epsilon_three zeta"]
    index.add_file(
        "f.py", [make_chunk("f.py", 10 * i + 1, 10 * i + 5, t) for i, t in enumerate(texts)]
    )
    # An edit above shifts every chunk down two lines and changes the middle one.
    texts[1] = "gamma_two delta edited"
    chunks = [make_chunk("f.py", 10 * i + 3, 10 * i + 7, t) for i, t in enumerate(texts)]
    index.add_file("f.py", chunks)
    assert index.stats().dead_chunks == 1  # only the edited chunk was replaced
    assert index.chunk_ranges("f.py") == [(3, 7), (13, 17), (23, 27)]
    rebuilt = LexicalIndex(max_df_fraction=1.0)
    rebuilt.add_file("other.py", [_chunk("other.py", "unrelated words here")])
    rebuilt.add_file("f.py", chunks)
    for query in ("alpha_one", "gamma_two edited", "zeta beta delta words"):
        assert index.search(query, 10) == rebuilt.search(query, 10)
    assert index.document_frequency("edited") == 1
    assert index.document_frequency("gamma_two") == 1


def test_query_terms_budget_counts_live_postings_only() -> None:
    fresh = LexicalIndex(max_df_fraction=1.0, max_postings=2)
    edited = LexicalIndex(max_df_fraction=1.0, max_postings=2)
    for index in (fresh, edited):
        index.add_file("a.py", [_chunk("a.py", "apple zebra")])
        index.add_file("b.py", [_chunk("b.py", "apple")])
    for i in range(8):  # rewrites leave dead postings of "zebra" behind (not compacted)
        edited.add_file("a.py", [_chunk("a.py", f"apple zebra v{i}")])
    edited.add_file("a.py", [_chunk("a.py", "apple zebra")])
    assert edited.stats().dead_chunks > 0
    expected = fresh.query_terms("zebra apple")
    assert [t for t, _ in expected] == ["zebra", "apple"]
    assert edited.query_terms("zebra apple") == expected
