"""API-key handling: a `Secret` wrapper that never prints itself, and key loading.

Contract
--------
* `Secret` holds the key. `repr()`, `str()` and `format()` all show ``'***'``; only
  `Secret.reveal()` returns the value, and the client calls it in exactly one place (the
  ``Authorization`` header).
* `load_api_key` resolves the key from, in order of precedence, a key command the user
  named (run without a shell, with a timeout, output stripped), a key file the user
  named, then an explicit `Secret` (normally from ``MINIMAX_API_KEY``). A setting the user
  wrote is more specific than an ambient environment variable, so it wins (DESIGN.md §3.2:
  settings > environment).
* Failures raise `MissingApiKey` with one sentence that names the source but never its
  output (a failing key command may print the key to stderr).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from .errors import MissingApiKey

__all__ = ["Secret", "load_api_key", "scrub"]

_log = logging.getLogger("minimax_lsp.model")

_MASK = "***"


class Secret:
    """A string that refuses to be printed.

    Parameters
    ----------
    value:
        The secret text. Surrounding whitespace is stripped (key files usually end in a
        newline).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.strip()

    def reveal(self) -> str:
        """Return the secret text. Call only where it goes on the wire."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key to disk or a pipe; refuse rather than leak.
        raise TypeError("Secret values cannot be pickled")


def scrub(text: str, secret: Secret | None) -> str:
    """Return `text` with every occurrence of the secret replaced by ``***``.

    Used on any server-supplied text that ends up in an exception or a log line, in case
    an endpoint echoes the request headers back.
    """
    if secret is None or len(secret.reveal()) < 4:
        return text
    return text.replace(secret.reveal(), _MASK)


def load_api_key(
    *,
    key: Secret | None,
    key_file: Path | None,
    key_command: tuple[str, ...] | None,
    command_timeout: float = 10.0,
) -> Secret:
    """Resolve the API key from the configured sources.

    Parameters
    ----------
    key:
        A key given directly (``MINIMAX_API_KEY``).
    key_file:
        A file whose stripped content is the key.
    key_command:
        An argv (no shell) whose stripped stdout is the key, e.g.
        ``("pass", "show", "minimax")``.
    command_timeout:
        Seconds before the key command is killed.

    Raises
    ------
    MissingApiKey
        No source is configured, or the configured one fails or yields nothing.
    """
    if key_command:
        return _key_from_command(key_command, command_timeout)
    if key_file is not None:
        return _key_from_file(key_file)
    if key:
        return key
    raise MissingApiKey(
        "No MiniMax API key: set MINIMAX_API_KEY or name a key file or key command in the settings."
    )


def _key_from_file(path: Path) -> Secret:
    try:
        raw = path.expanduser().read_bytes()[:65536]
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        err = MissingApiKey(f"Cannot read the MiniMax API key file {path} ({reason}).")
    else:
        secret = Secret(raw.decode("utf-8", errors="replace"))
        if secret:
            return secret
        err = MissingApiKey(f"The MiniMax API key file {path} is empty.")
    # Raised outside the except block so no OSError is chained onto it.
    raise err


def _key_from_command(argv: tuple[str, ...], timeout: float) -> Secret:
    program = Path(argv[0]).name
    err: MissingApiKey
    try:
        # argv comes from the user's own settings and runs without a shell.
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        err = MissingApiKey(
            f"The MiniMax API key command {program!r} timed out after {timeout:g} s."
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        err = MissingApiKey(f"Cannot run the MiniMax API key command {program!r} ({reason}).")
    else:
        if proc.returncode != 0:
            # Never include stdout/stderr: a password manager may print the secret there.
            err = MissingApiKey(
                f"The MiniMax API key command {program!r} failed with exit status "
                f"{proc.returncode}."
            )
        else:
            secret = Secret(proc.stdout.decode("utf-8", errors="replace"))
            if secret:
                _log.debug("API key read from key command %r", program)
                return secret
            err = MissingApiKey(f"The MiniMax API key command {program!r} printed nothing.")
    raise err
