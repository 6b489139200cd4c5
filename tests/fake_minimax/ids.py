"""Identifier and signature formats MiniMax uses (spec §5, §6.2).

Message and request ids are 32 lowercase hex characters (no ``msg_``/``req_`` prefix), tool-call
ids are ``call_function_<12 [a-z0-9]>_<n>`` with ``n`` counting from 1 within a turn, and a
thinking signature is 64 hex characters: the fake signs with
``sha256(secret + thinking_text)``, so it can check replayed blocks.
"""

from __future__ import annotations

import hashlib
import secrets
import string

_STEM_ALPHABET = string.ascii_lowercase + string.digits


def hex_id() -> str:
    """32 lowercase hex characters (message ids and request ids)."""
    return secrets.token_hex(16)


def tool_call_stem() -> str:
    """The 12-character random part shared by the tool calls of one turn."""
    return "".join(secrets.choice(_STEM_ALPHABET) for _ in range(12))


def tool_call_id(stem: str, n: int) -> str:
    """``call_function_<stem>_<n>``; ``n`` starts at 1."""
    return f"call_function_{stem}_{n}"


def thinking_signature(secret: str, thinking: str) -> str:
    """The 64-hex signature the fake gives (and expects back on) a thinking block."""
    data = (secret + thinking).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()
