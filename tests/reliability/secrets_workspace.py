"""A workspace full of planted secrets, for the secrets sweep (docs/reliability.md).

Contract
--------
`plant(root, rng)` writes, under ``root``, and returns a `Planted` record:

* one **denied file for every pattern** of the built-in deny-lists
  (`~minimax_lsp.indexer.ignore.SECRET_DENY_LIST` and ``SECRET_DATA_NAMES``), made
  concrete by `concrete_name` (``*.pem`` -> ``prod.pem``, ``secrets/`` ->
  ``nested/secrets/held.py``), each holding a unique marker value;
* files denied by **content** (a PEM private-key block in the first 8 KiB of
  ``notes/deploy_key.txt`` and of a ``.py`` file);
* **credentials inside ordinary source files** that are indexed and must be redacted:
  AWS access key id and secret, GitHub classic and fine-grained tokens, a password in a
  database URL, Slack and Stripe tokens, passwords in YAML / INI / JSON / .py config,
  and a private-key block 9 KiB into a Python file;
* files hidden by **every AI-ignore file** (`~minimax_lsp.indexer.ignore.AI_IGNORE_FILES`,
  one at the top and an ``.aiignore`` nested in a folder), a **git-ignored** file (the
  workspace is a git repository), a file matched by the ``ignore`` **setting**
  (`USER_IGNORE_GLOB`), and a symlink pointing at ``.env``;
* ordinary code that imports the credential module, so that packs for ordinary files
  pull it in.

Every secret value is unique and random-looking (so the redaction detectors, which
skip placeholders, treat it as real); `Planted.values` maps each to where it lives.
"""

from __future__ import annotations

import random
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from minimax_lsp.indexer.ignore import AI_IGNORE_FILES, SECRET_DATA_NAMES, SECRET_DENY_LIST

__all__ = ["USER_IGNORE_GLOB", "Planted", "concrete_name", "plant"]

#: Passed as the ``ignore`` setting by the sweep.
USER_IGNORE_GLOB: Final = "user_ignored/**"

_PEM_HEADER: Final = "-----BEGIN RSA PRIVATE KEY-----"
_PEM_FOOTER: Final = "-----END RSA PRIVATE KEY-----"


@dataclass
class Planted:
    """What `plant` wrote: secret value -> where, and the files by role."""

    values: dict[str, str] = field(default_factory=dict)
    denied_files: list[str] = field(default_factory=list)
    credential_files: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    ordinary_files: list[str] = field(default_factory=list)


def concrete_name(pattern: str) -> str:
    """A file path matched by the deny-list ``pattern`` (see the module docstring)."""
    if pattern.endswith("/"):
        return f"nested/{pattern}held.py"
    name = pattern
    if name.endswith(".*"):
        name = name[:-1] + "prod"
    name = name.replace("*", "prod" if name.startswith("*") else "")
    return name.replace("?", "x")


class _Values:
    def __init__(self, rng: random.Random, planted: Planted) -> None:
        self.rng = rng
        self.planted = planted

    def token(self, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        # Mixed letters and digits (when the alphabet has both): the detectors skip
        # values that do not look generated.
        mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(length))
            if not mixed or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
                return value

    def new(self, where: str, value: str) -> str:
        assert value not in self.planted.values, value
        self.planted.values[value] = where
        return value


def _pem(values: _Values, where: str) -> tuple[str, list[str]]:
    lines = [
        values.new(where, values.token(64, string.ascii_letters + string.digits + "+/"))
        for _ in range(4)
    ]
    return "\n".join([_PEM_HEADER, *lines, _PEM_FOOTER]) + "\n", lines


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def plant(root: Path, rng: random.Random) -> Planted:
    """Write the secret workspace under ``root`` (see the module docstring)."""
    planted = Planted()
    values = _Values(rng, planted)
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True, timeout=30)

    # 1. Deny-listed names: every pattern, plus upper-case twins of two of them.
    patterns = [*SECRET_DENY_LIST, *SECRET_DATA_NAMES, "ID_RSA", "Server.KEY"]
    for pattern in patterns:
        rel = concrete_name(pattern)
        if rel in planted.denied_files:
            continue
        secret = values.new(rel, "S3CR3T" + values.token(28))
        _write(root, rel, f"value={secret}\npassword: {secret}\n")
        planted.denied_files.append(rel)

    # 2. Denied by content: a private-key block in the first 8 KiB.
    for rel in ("notes/deploy_key.txt", "pkg/embedded_key.py"):
        pem, _ = _pem(values, rel)
        prefix = 'KEY = """\n' if rel.endswith(".py") else ""
        suffix = '"""\n' if rel.endswith(".py") else ""
        _write(root, rel, prefix + pem + suffix)
        planted.denied_files.append(rel)

    # 3. Credentials inside ordinary, indexed source and config files.
    aws_id = values.new(
        "pkg/settings.py", "AKIA" + values.token(16, string.ascii_uppercase + string.digits)
    )
    aws_secret = values.new(
        "pkg/settings.py", values.token(40, string.ascii_letters + string.digits + "/+")
    )
    ghp = values.new("pkg/settings.py", "ghp_" + values.token(36))
    db_password = values.new("pkg/settings.py", values.token(18))
    slack = values.new(
        "pkg/settings.py", f"xoxb-{values.token(12, string.digits)}-{values.token(24)}"
    )
    stripe = values.new("pkg/settings.py", "sk_live_" + values.token(32))
    plain_password = values.new("pkg/settings.py", values.token(16))
    _write(
        root,
        "pkg/settings.py",
        (
            '"""Settings (credentials planted for the secrets sweep)."""\n\n'
            f'AWS_ACCESS_KEY_ID = "{aws_id}"\n'
            f'AWS_SECRET_ACCESS_KEY = "{aws_secret}"\n'
            f'GITHUB_TOKEN = "{ghp}"\n'
            f'DATABASE_URL = "postgres://admin:{db_password}@db.internal:5432/app"\n'
            f'SLACK_BOT_TOKEN = "{slack}"\n'
            f'STRIPE_KEY = "{stripe}"\n'
            f'password = "{plain_password}"\n\n\n'
            "def connect():\n    return DATABASE_URL\n"
        ),
    )
    yaml_password = values.new("config/app.yaml", values.token(20))
    yaml_key = values.new("config/app.yaml", values.token(32))
    _write(
        root,
        "config/app.yaml",
        (f"database:\n  user: app\n  password: {yaml_password}\napi_key: {yaml_key}\n"),
    )
    ini_password = values.new("config/db.ini", values.token(20))
    _write(root, "config/db.ini", f"[db]\nuser = app\npassword = {ini_password}\n")
    json_secret = values.new("config/app.json", values.token(40))
    _write(root, "config/app.json", f'{{"client_id": "app", "client_secret": "{json_secret}"}}\n')
    fine_grained = values.new(
        "web/client.js", "github_pat_" + values.token(22) + "_" + values.token(59)
    )
    _write(
        root,
        "web/client.js",
        (f'const token = "{fine_grained}";\nexport function call() {{\n  return token;\n}}\n'),
    )
    late_pem, _ = _pem(values, "pkg/late_key.py")
    filler = "".join(f"def filler_{k}():\n    return {k}\n\n\n" for k in range(400))
    _write(root, "pkg/late_key.py", filler + 'PRIVATE = """\n' + late_pem + '"""\n')
    planted.credential_files += [
        "pkg/settings.py",
        "config/app.yaml",
        "config/db.ini",
        "config/app.json",
        "web/client.js",
        "pkg/late_key.py",
    ]

    # 4. Ignored files: every AI-ignore format, nested .aiignore, .gitignore, the setting.
    ignore_lines: dict[str, list[str]] = {}
    for name in AI_IGNORE_FILES:
        rel = f"private/{name.lstrip('.')}_only.py"
        ignore_lines.setdefault(name, []).append(rel)
        secret = values.new(rel, "IGN" + values.token(28))
        _write(root, rel, f'HIDDEN = "{secret}"\n')
        planted.ignored_files.append(rel)
    for name, lines in ignore_lines.items():
        _write(root, name, "\n".join(lines) + "\n")
    nested = values.new("deep/inner/hidden.py", "IGN" + values.token(28))
    _write(root, "deep/.aiignore", "inner/hidden.py\n")
    _write(root, "deep/inner/hidden.py", f'HIDDEN = "{nested}"\n')
    _write(root, "deep/inner/visible.py", "def visible():\n    return 1\n")
    planted.ignored_files.append("deep/inner/hidden.py")
    git_ignored = values.new("local_only.py", "IGN" + values.token(28))
    _write(root, ".gitignore", "local_only.py\n")
    _write(root, "local_only.py", f'LOCAL = "{git_ignored}"\n')
    planted.ignored_files.append("local_only.py")
    user_ignored = values.new("user_ignored/mine.py", "IGN" + values.token(28))
    _write(root, "user_ignored/mine.py", f'MINE = "{user_ignored}"\n')
    planted.ignored_files.append("user_ignored/mine.py")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs/env_link.txt").symlink_to("../.env")
    planted.denied_files.append("docs/env_link.txt")

    # 5. Ordinary code that uses the credentials (so its packs pull settings.py in).
    _write(root, "pkg/__init__.py", "")
    _write(
        root,
        "pkg/app.py",
        (
            "from pkg.settings import DATABASE_URL, GITHUB_TOKEN, connect\n\n\n"
            "def start():\n    handle = connect()\n    return handle, GITHUB_TOKEN\n\n\n"
            "def report(items):\n    total = 0\n    for item in items:\n        total += item\n"
            "    return total\n"
        ),
    )
    _write(root, "README.md", "# service\n\nReads its credentials from pkg/settings.py.\n")
    planted.ordinary_files += ["pkg/app.py", "README.md"]
    return planted
