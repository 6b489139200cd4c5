"""ClientConfig.from_env, the models registry, Secret, and API-key sources."""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path

import pytest

from minimax_lsp.server.model import (
    ANTHROPIC_BASE_URL,
    MODELS,
    OPENAI_BASE_URL,
    ClientConfig,
    MissingApiKey,
    Secret,
    model_info,
)
from minimax_lsp.server.model.secret import load_api_key, scrub

KEY = "sk-cp-very-secret-value-42"


def test_from_env_defaults() -> None:
    cfg = ClientConfig.from_env({})
    assert (cfg.base_url, cfg.api, cfg.model, cfg.api_key) == (
        ANTHROPIC_BASE_URL,
        "anthropic",
        "MiniMax-M3",
        None,
    )


def test_from_env_reads_all_variables() -> None:
    env = {
        "MINIMAX_API_KEY": f"  {KEY}\n",
        "MINIMAX_BASE_URL": "https://api.minimaxi.com/anthropic/",
        "MINIMAX_MODEL": "MiniMax-M2.7",
        "MINIMAX_API": "Anthropic",
    }
    cfg = ClientConfig.from_env(env)
    assert cfg.base_url == "https://api.minimaxi.com/anthropic"
    assert cfg.model == "MiniMax-M2.7"
    assert cfg.api_key is not None and cfg.api_key.reveal() == KEY
    assert KEY not in repr(cfg)


def test_from_env_openai_default_base_and_overrides() -> None:
    cfg = ClientConfig.from_env({"MINIMAX_API": "openai"})
    assert (cfg.api, cfg.base_url) == ("openai", OPENAI_BASE_URL)
    cfg = ClientConfig.from_env({}, api="openai", read_timeout=5.0)
    assert (cfg.api, cfg.base_url, cfg.read_timeout) == ("openai", OPENAI_BASE_URL, 5.0)
    with pytest.raises(TypeError, match="bogus"):
        ClientConfig.from_env({}, bogus=1)


def test_from_env_invalid_values_fall_back_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="minimax_lsp.model"):
        cfg = ClientConfig.from_env({"MINIMAX_API": "grpc", "MINIMAX_BASE_URL": "api.minimax.io"})
    assert (cfg.api, cfg.base_url) == ("anthropic", ANTHROPIC_BASE_URL)
    assert len(caplog.records) == 2


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ClientConfig(base_url="ftp://x")
    with pytest.raises(ValueError, match="api"):
        ClientConfig(api="grpc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="argv"):
        ClientConfig(api_key_command="pass show minimax")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read_timeout"):
        ClientConfig(read_timeout=0)


def test_registry() -> None:
    m3 = MODELS["MiniMax-M3"]
    assert (m3.context_window, m3.max_output, m3.thinking) == (1_000_000, 524_288, "optional")
    for name in (
        "M2.7",
        "M2.7-highspeed",
        "M2.5",
        "M2.5-highspeed",
        "M2.1",
        "M2.1-highspeed",
        "M2",
    ):
        info = MODELS[f"MiniMax-{name}"]
        assert (info.context_window, info.max_output, info.recommended_output) == (
            204_800,
            204_800,
            65_536,
        )
        assert not info.can_disable_thinking
    her = model_info("M2-her")
    assert (her.context_window, her.max_output, her.thinking) == (65_536, 2_048, "never")
    assert model_info("minimax-m3").context_window == 1_000_000  # case-insensitive
    assert model_info("MiniMax-M3", 524_288).context_window == 524_288
    unknown = model_info("my-local-llama", 32_768)
    assert (unknown.known, unknown.context_window, unknown.max_output) == (False, 32_768, 32_768)
    assert model_info("other").context_window == 204_800


def test_secret_never_prints() -> None:
    secret = Secret(KEY)
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>40}",
        repr([secret]),
    ):
        assert KEY not in text
    assert secret.reveal() == KEY
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert scrub(f"echo {KEY} back", secret) == "echo *** back"


def test_key_precedence_command_then_file_then_env(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file-key\n")
    command = (sys.executable, "-c", "print('  from-command-key  ')")
    env_key = Secret("from-env-key")
    assert (
        load_api_key(key=env_key, key_file=key_file, key_command=command).reveal()
        == "from-command-key"
    )
    assert (
        load_api_key(key=env_key, key_file=key_file, key_command=None).reveal() == "from-file-key"
    )
    assert load_api_key(key=env_key, key_file=None, key_command=None).reveal() == "from-env-key"
    with pytest.raises(MissingApiKey, match="MINIMAX_API_KEY"):
        load_api_key(key=None, key_file=None, key_command=None)


def test_key_command_failures_never_echo_output(tmp_path: Path) -> None:
    leaky = (
        sys.executable,
        "-c",
        f"import sys; print('{KEY}'); print('{KEY}', file=sys.stderr); sys.exit(3)",
    )
    with pytest.raises(MissingApiKey) as info:
        load_api_key(key=None, key_file=None, key_command=leaky)
    assert (
        "exit status 3" in str(info.value)
        and KEY not in str(info.value)
        and KEY not in repr(info.value)
    )
    assert info.value.__context__ is None
    slow = (sys.executable, "-c", "import time; time.sleep(5)")
    with pytest.raises(MissingApiKey, match="timed out"):
        load_api_key(key=None, key_file=None, key_command=slow, command_timeout=0.2)
    with pytest.raises(MissingApiKey, match="Cannot run"):
        load_api_key(key=None, key_file=None, key_command=(str(tmp_path / "no-such-program"),))
    with pytest.raises(MissingApiKey, match="printed nothing"):
        load_api_key(key=None, key_file=None, key_command=(sys.executable, "-c", "pass"))


def test_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MissingApiKey, match="Cannot read") as info:
        load_api_key(key=None, key_file=tmp_path / "missing", key_command=None)
    assert info.value.__context__ is None
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(MissingApiKey, match="empty"):
        load_api_key(key=None, key_file=empty, key_command=None)


async def test_https_endpoints_verify_certificates() -> None:
    """The owned transport verifies TLS for https base URLs (the http shortcut skips only
    the CA bundle of a transport that never does TLS)."""
    import ssl

    from minimax_lsp.server.model import ModelClient

    client = ModelClient(ClientConfig(api_key=Secret(KEY)))
    try:
        # httpx/httpcore internals: the connection pool's SSL context.
        context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        await client.aclose()
