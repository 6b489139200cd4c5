"""Retrieval-quality benchmark of the context engine (no LLM).

Masked-call cases from pinned real Python sdists (:mod:`.dataset`), whole-file
baselines in the same harness (:mod:`.baselines`) and the runner that scores hit@budget
and pack latency (:mod:`.run`). Entry point: ``python tests/bench/bench_retrieval.py``.
"""
