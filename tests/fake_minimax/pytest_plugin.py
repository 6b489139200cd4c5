"""Pytest fixtures for the fake MiniMax server (registered by ``tests/conftest.py``).

* ``fake_minimax``: a started :class:`~.server.FakeMiniMax` with api key ``"test-key"``,
  stopped after the test. Teardown fails the test if the fake hit an internal error, so a bug
  in the fake never hides behind a client-side failure.
* ``fake_minimax_factory``: ``factory(**kwargs) -> FakeMiniMax`` for custom options
  (``automatic_cache=True``, ``tps=…``, an injected ``clock``…); all are stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import FakeMiniMax


def _check_and_stop(fake: FakeMiniMax) -> None:
    fake.stop()
    errors = fake.internal_errors
    assert not errors, f"fake MiniMax server had internal errors: {errors!r}"


@pytest.fixture
def fake_minimax() -> Iterator[FakeMiniMax]:
    """A running fake MiniMax server (api key ``test-key``)."""
    fake = FakeMiniMax(api_key="test-key").start()
    try:
        yield fake
    finally:
        _check_and_stop(fake)


@pytest.fixture
def fake_minimax_factory() -> Iterator[Callable[..., FakeMiniMax]]:
    """Start fakes with custom options: ``fake_minimax_factory(automatic_cache=True)``."""
    started: list[FakeMiniMax] = []

    def factory(**kwargs: Any) -> FakeMiniMax:
        kwargs.setdefault("api_key", "test-key")
        fake = FakeMiniMax(**kwargs).start()
        started.append(fake)
        return fake

    try:
        yield factory
    finally:
        for fake in started:
            _check_and_stop(fake)
