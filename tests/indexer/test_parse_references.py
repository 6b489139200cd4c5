"""`parse.extract` keeps no reference to the bytes it parsed.

py-tree-sitter 0.26.1 leaks a reference to every chunk a read callable returns; the
extractor parses through such a callable (for its time budget), so without the
workaround in `parse.Extractor._parse` every parsed source stayed alive forever (the
long soak's RSS growth). Measured with ``sys.getrefcount`` on the source itself, which
only this test and the extractor ever see.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

from minimax_lsp.indexer.parse import Extractor, extract

SOURCE = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(40))


def test_extract_drops_every_reference_to_the_source() -> None:
    source = SOURCE.encode()
    before = sys.getrefcount(source)
    for _ in range(5):
        symbols = extract(source, "python")
    assert [d.name for d in symbols.definitions][:2] == ["f0", "f1"]
    assert sys.getrefcount(source) == before


def test_a_parse_over_its_budget_drops_its_references_too() -> None:
    impatient = Extractor(base_timeout=0.0, timeout_per_mb=0.0)
    source = (SOURCE * 20).encode()
    before = sys.getrefcount(source)
    symbols = impatient.extract(source, "python")
    assert symbols.has_errors and not symbols.definitions  # the text fallback
    assert sys.getrefcount(source) == before


def test_memory_does_not_grow_with_the_sources_parsed() -> None:
    extractor = Extractor()
    extractor.extract(SOURCE.encode(), "python")  # grammar and queries loaded
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            extractor.extract((SOURCE + "#" * i).encode(), "python")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    # Leaking the sources would keep 200 x ~1.3 kB; allow a small fixed overhead.
    assert grown < 64 * 1024, grown
