"""Suite-wide pytest configuration: registers the fake MiniMax server fixtures."""

from __future__ import annotations

pytest_plugins = ["tests.fake_minimax.pytest_plugin"]
