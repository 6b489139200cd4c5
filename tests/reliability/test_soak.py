"""Soak: the CI-sized run of ``tests/reliability/soak.py`` and its stability criteria.

1,500 inline-completion requests (plus bursts that supersede, edits, open/close of
documents, explain and chat commands) against a generated 300-module workspace; the fake
answers at once. After the warm-up segment: RSS grows < 10 %, open descriptors, threads
and connections to the model endpoint stay flat, and the latency percentiles of the
last segment stay close to the first post-warm-up one. ``python tests/reliability/soak.py
--long`` is the full run; figures in ``docs/reliability.md`` (section *Soak*).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from tests.fake_minimax import FakeMiniMax
from tests.reliability._r2_harness import Document, generate_tree, launch, sample_process
from tests.reliability.soak import OPTIONS, SoakConfig, Typist, run_soak, soak_table, summary


@pytest.mark.slow
async def test_soak_ci_sized(tmp_path: Path) -> None:
    config = SoakConfig()
    report = await run_soak(config, tmp_path)
    print(summary(report))  # for docs/reliability.md (pytest -s)
    print(soak_table(report))

    assert report.requests >= 1000
    assert report.unexpected == []
    assert report.command_failures == []
    assert report.commands >= config.requests // config.explain_every - 1
    assert report.cancelled == 0  # nothing was cancelled: superseded requests answer []
    assert report.superseded > 0
    assert report.model_requests >= report.requests // 2  # most keystrokes asked the model
    assert report.suggestions >= report.requests // 2
    assert len(report.segments) == config.segments

    warm, final = report.warm, report.final
    assert report.rss_growth < 0.10, summary(report)
    assert final["fds"] <= warm.fds + 3, summary(report)
    assert final["threads"] <= warm.threads + 2, summary(report)
    assert final["connections"] <= 2, summary(report)
    assert final["open_streams"] == 0
    assert max(s.connections for s in report.segments) <= 4, soak_table(report)

    # Latency stays put: the last segment against the first one after the warm-up
    # (generous bounds: a shared CI machine stalls now and then; p99 is reported only).
    first, last = report.segments[1].latency, report.segments[-1].latency
    assert last["p50_ms"] <= max(2 * first["p50_ms"], first["p50_ms"] + 15), soak_table(report)
    assert last["p95_ms"] <= max(3 * first["p95_ms"], first["p95_ms"] + 60), soak_table(report)


async def _typed(typist: Typist, client: object, keys: int) -> None:
    """``keys`` keystrokes (``didChange`` only, no completion requests), then a round trip."""
    for n in range(keys):
        typist.key("a")
        if typist.column > 60:
            typist.erase_line()
            typist.new_line()
        if n % 100 == 0:
            await asyncio.sleep(0.005)  # let the server read as the editor writes
    await typist.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="minimax.status", arguments=[])
    )
    await asyncio.sleep(0.5)  # the debounced overlay update


@pytest.mark.slow
async def test_keystrokes_do_not_accumulate_memory(
    tmp_path: Path, fake_minimax: FakeMiniMax
) -> None:
    paths = generate_tree(tmp_path / "workspace", 12)
    async with launch(fake_minimax, tmp_path, tmp_path / "workspace", init_options=OPTIONS) as c:
        document = Document(c, paths[1])
        document.open()
        typist = Typist(c, document)
        typist.new_line()
        # Warm-up: keystrokes, and one completion, which loads what the first request
        # loads lazily (the tokenizer, the packing engine: tens of MB).
        await _typed(typist, c, 1000)
        await asyncio.wait_for(typist.request("warm"), 30)
        await _typed(typist, c, 500)
        before = sample_process(c.process.pid).rss_kib
        await _typed(typist, c, 4000)
        after = sample_process(c.process.pid).rss_kib
    print(f"RSS {before} -> {after} KiB over 4,000 keystrokes")  # docs (pytest -s)
    # Nothing of a keystroke should outlive the next one: the buffer stays the same size.
    assert after - before < 3 * 1024, f"RSS {before} -> {after} KiB over 4,000 keystrokes"
