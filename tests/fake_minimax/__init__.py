"""A faithful fake of the MiniMax API for tests (spec ``minimax-api.md`` §15).

Usage::

    from tests.fake_minimax import FakeMiniMax, Reply, Fault

    with FakeMiniMax(api_key="test-key") as fake:
        fake.enqueue(Reply(text="hello", thinking="hm"), Fault.http(429, retry_after=1))
        client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="test-key")
        ...
        assert fake.requests[0].headers["x-api-key"] == "test-key"

In pytest, use the ``fake_minimax`` fixture (registered suite-wide by ``tests/conftest.py``).
Standalone: ``python -m tests.fake_minimax --port 0 --api-key KEY`` prints the base URL.
"""

from __future__ import annotations

from .cache import CacheUsage
from .models import DEFAULT_MODELS, ModelSpec, ThinkingPolicy
from .script import Fault, FaultKind, RecordedRequest, Reply
from .server import FakeMiniMax, UsageRecord, UsageTotals
from .tokens import count_text

__all__ = [
    "DEFAULT_MODELS",
    "CacheUsage",
    "FakeMiniMax",
    "Fault",
    "FaultKind",
    "ModelSpec",
    "RecordedRequest",
    "Reply",
    "ThinkingPolicy",
    "UsageRecord",
    "UsageTotals",
    "count_text",
]
