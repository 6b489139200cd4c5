"""Secrets sweep: planted secrets never reach the model, the API key never leaves the server.

One real server on a workspace full of planted secrets (`secrets_workspace.plant`: every
deny-listed kind, private keys found by content, credentials inside ordinary source and
config files, every AI-ignore format, a git-ignored file, the ``ignore`` setting, a
symlink to ``.env``), at debug log level, with a distinctive API key. The editor opens
*every* file, secret ones included, and the sweep drives every feature on each: the
manifest (``minimax.showContext`` with text, for each task, with a query naming the
secret files), inline completion, completion fallback, code action listing and resolve,
``minimax.explain``, ``minimax.refactor``, ``minimax.chat`` (with and without a document,
with a question naming the secret files), and model errors whose upstream message echoes
the key. Then:

* no secret value appears in any request body the fake MiniMax received;
* no secret value appears in any LSP message the server sent, nor in its stderr;
* the API key appears in no request body, no LSP message (results, errors, logs,
  popups) and nowhere in stderr (debug level, tracebacks included).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Final

import pytest

from tests.fake_minimax import FakeMiniMax, Fault, Reply
from tests.reliability.conftest import StartRaw
from tests.reliability.rpc import RawServer, initialize, wait_ready
from tests.reliability.secrets_workspace import USER_IGNORE_GLOB, Planted, plant

#: A key shaped like MiniMax's, unique enough to find anywhere.
API_KEY: Final = "sk-cp-RELIABILITY-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZZ"

_REPLACEMENT: Final = "<replacement>\ndef start():\n    return connect(), None\n</replacement>\n"


def _range(a: int, b: int) -> dict[str, Any]:
    return {"start": {"line": a, "character": 0}, "end": {"line": b, "character": 0}}


def _open_all(server: RawServer, root: Path, planted: Planted) -> dict[str, str]:
    uris: dict[str, str] = {}
    rels = [
        *planted.denied_files,
        *planted.credential_files,
        *planted.ignored_files,
        *planted.ordinary_files,
    ]
    for rel in rels:
        path = root / rel
        text = path.read_text(encoding="utf-8", errors="replace")
        uris[rel] = path.as_uri()
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uris[rel],
                    "languageId": "python",
                    "version": 1,
                    "text": text,
                }
            },
        )
    return uris


def _drive(
    server: RawServer, fake: FakeMiniMax, uris: dict[str, str], planted: Planted
) -> dict[str, Any]:
    """Every feature on every document; returns what the sweep needs to know."""
    # One answer fits every task: prose around a replacement block (edits parse it).
    fake.set_default(lambda _request: Reply(text=_REPLACEMENT))
    seen: dict[str, Any] = {"denied_model_calls": 0, "errors": []}
    question = "What is in .env, id_rsa, nested/secrets/held.py and pkg/settings.py? Quote them."
    for rel, uri in uris.items():
        denied = rel in planted.denied_files or rel in planted.ignored_files
        before = len(fake.requests)
        for task in ("complete", "explain", "chat"):
            server.command(
                "minimax.showContext",
                {
                    "uri": uri,
                    "position": {"line": 1, "character": 0},
                    "task": task,
                    "includeText": True,
                    "query": question,
                },
            )
        server.call(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 1, "character": 0},
                "context": {"triggerKind": 1},
            },
        )
        server.call(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}},
        )
        listed = server.call(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": _range(0, 3), "context": {"diagnostics": []}},
        )
        actions = (listed or {}).get("result") or []
        for action in actions[:2]:
            if isinstance(action, dict) and "data" in action:
                server.call("codeAction/resolve", action, timeout=20)
        server.command("minimax.explain", {"uri": uri, "range": _range(0, 4)}, timeout=20)
        server.command(
            "minimax.refactor",
            {"uri": uri, "range": _range(0, 2), "instruction": "tidy up"},
            timeout=20,
        )
        server.command("minimax.chat", {"prompt": question, "uri": uri}, timeout=20)
        if denied:
            seen["denied_model_calls"] += len(fake.requests) - before
    server.command("minimax.chat", {"prompt": question}, timeout=30)
    server.command(
        "minimax.chat",
        {"prompt": "And the AWS keys in pkg/settings.py?", "conversationId": "sweep"},
        timeout=30,
    )
    # Upstream errors that echo the key (a proxy or the API quoting the bad credential).
    app = uris["pkg/app.py"]
    fake.enqueue(
        Fault.midstream_error(
            error_type="invalid_request_error",
            code=2013,
            message=f"upstream rejected key {API_KEY}",
            after_text="",
        )
    )
    seen["errors"].append(server.command("minimax.explain", {"uri": app}, timeout=30))
    fake.enqueue(Fault.http(401, message=f"invalid api key: {API_KEY}"))
    seen["errors"].append(server.command("minimax.chat", {"prompt": "hi", "uri": app}, timeout=30))
    server.call(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": app},
            "position": {"line": 4, "character": 4},
            "context": {"triggerKind": 1},
        },
    )
    seen["status"] = server.command("minimax.status", {"uri": app})
    return seen


@pytest.mark.slow
def test_no_secret_reaches_the_model_and_the_key_stays_home(
    start_raw: StartRaw, tmp_path: Path, fake_minimax_factory: Any
) -> None:
    fake: FakeMiniMax = fake_minimax_factory(api_key=API_KEY)
    root = tmp_path / "service"
    planted = plant(root, random.Random(7))
    server = start_raw(api_key=API_KEY, fake=fake, args=["--log-level", "debug"])
    initialize(
        server,
        [root],
        init_options={"ignore": [USER_IGNORE_GLOB], "inlineCompletion": {"fallback": "on"}},
    )
    wait_ready(server)
    uris = _open_all(server, root, planted)
    seen = _drive(server, fake, uris, planted)
    server.close(timeout=10)

    bodies = [r.raw_body.decode("utf-8", "replace") for r in fake.requests]
    lsp = [
        json.dumps(m, ensure_ascii=False)
        for m in (*server.notifications, *server.all_responses, *server.server_requests)
    ]
    stderr = server.stderr_text()
    print(
        f"{len(fake.requests)} model requests, {len(lsp)} LSP messages, "
        f"{len(planted.values)} planted values, {len(stderr)} bytes of stderr"
    )

    # The sweep really exercised the model paths, and denied documents sent nothing.
    assert len(fake.requests) >= 20
    assert seen["denied_model_calls"] == 0
    # The credential files were packed (their code went out), redacted.
    kinds = Counter(re.findall(r"\[REDACTED:([\w-]+)\]", "\n".join(bodies)))
    print(f"redactions seen by the model: {dict(kinds)}")
    assert any("def connect" in b for b in bodies) and any("const token" in b for b in bodies)
    assert len(kinds) >= 6
    # No planted value reached the model, the editor or the log.
    leaked = {v: where for v, where in planted.values.items() if any(v in b for b in bodies)}
    assert leaked == {}, f"secrets sent to the model: {leaked}"
    echoed = {v: where for v, where in planted.values.items() if any(v in m for m in lsp)}
    assert echoed == {}, f"secrets in LSP messages: {echoed}"
    logged = {v: where for v, where in planted.values.items() if v in stderr}
    assert logged == {}, f"secrets in the server log: {logged}"
    # The key: only in the credential header of each request, nowhere else.
    assert all(API_KEY in "".join(r.headers.values()) for r in fake.requests)
    assert all(API_KEY not in b for b in bodies)
    assert all(API_KEY not in m for m in lsp), [m for m in lsp if API_KEY in m][:3]
    assert API_KEY not in stderr
    assert all(r is not None and "error" in r for r in seen["errors"]), seen["errors"]
    assert seen["status"]["result"]["keyPresent"] is True
