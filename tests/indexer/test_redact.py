"""redact(): planted secrets, placeholders left alone, line structure, private keys.

Every secret here is built at run time from pieces, so that this file itself never
holds a string that a secret scanner (ours or a code host's) would flag.
"""

from __future__ import annotations

import importlib.util
import random
import string
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimax_lsp.indexer import redact as redact_module
from minimax_lsp.indexer.redact import Finding, RedactionResult, is_placeholder, placeholder, redact

_RNG = random.Random(20240601)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def mixed(n: int) -> str:
    """Random alphanumerics guaranteed to hold a digit, a lower and an upper letter."""
    return "a7Q" + rand(n - 3)


UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"

# (expected kind, line template with {s}, the secret)
PLANTED: list[tuple[str, str, str]] = [
    ("aws-access-key", 'aws_access_key_id = "{s}"', "AK" + "IA" + "Z7" + rand(14, UPPER_DIGITS)),
    ("aws-access-key", "key_id: {s}", "AS" + "IA" + "Q4" + rand(14, UPPER_DIGITS)),
    ("aws-secret-key", "AWS_SECRET_ACCESS_KEY={s}", "wJ7/" + rand(36, B64)),
    ("aws-secret-key", 'aws_secret_access_key = "{s}"', "Zx9+" + rand(36, B64)),
    ("github-token", 'token = "{s}"', "gh" + "p_" + mixed(36)),
    ("github-token", "GITHUB_TOKEN={s}", "gh" + "s_" + mixed(36)),
    ("github-token", "auth: {s}", "github" + "_pat_" + mixed(22) + "_" + mixed(59)),
    ("gitlab-token", 'gl_token = "{s}"', "gl" + "pat-" + mixed(20)),
    (
        "slack-token",
        'SLACK_BOT = "{s}"',
        "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + mixed(24),
    ),
    (
        "slack-webhook",
        'hook = "https://hooks.slack.com/{s}"',
        "services/T0" + mixed(8) + "/B0" + mixed(9) + "/" + mixed(24),
    ),
    ("stripe-key", "stripe.api_key = '{s}'", "sk" + "_live_" + mixed(24)),
    ("stripe-key", "STRIPE={s}", "rk" + "_test_" + mixed(24)),
    ("google-api-key", 'const maps = "{s}";', "AI" + "za" + "Sy" + mixed(33)),
    ("openai-key", 'client = OpenAI(api_key="{s}")', "sk-" + "proj-" + mixed(48)),
    ("openai-key", "OPENAI_API_KEY={s}", "sk-" + mixed(48)),
    ("anthropic-key", "ANTHROPIC_API_KEY={s}", "sk-" + "ant-api03-" + mixed(93) + "AA"),
    ("minimax-key", 'MINIMAX_API_KEY: "{s}"', "sk-" + "cp-" + mixed(60)),
    (
        "jwt",
        "Authorization: Bearer {s}",
        "ey" + "JhbGciOiJIUzI1NiJ9." + "ey" + "J" + mixed(40) + "." + mixed(43),
    ),
    ("jwt", 'minimax_key = "{s}"', "ey" + "J" + mixed(300)),
    ("npm-token", "//registry.npmjs.org/:_authToken={s}", "np" + "m_" + mixed(36)),
    ("twilio-api-key", 'TWILIO = "{s}"', "SK" + "a7" + rand(30, HEX)),
    ("sendgrid-key", "SENDGRID={s}", "SG" + "." + mixed(22) + "." + mixed(43)),
    ("huggingface-token", "HF_TOKEN={s}", "hf" + "_" + rand(34, string.ascii_letters)),
    ("pypi-token", "password = {s}", "pypi" + "-AgEIcHlwaS5vcmc" + mixed(70)),
    (
        "url-credentials",
        "DATABASE_URL=postgres://app:{s}@db.internal:5432/app",
        "pa55-" + mixed(12),
    ),
    ("url-credentials", 'redis = "redis://default:{s}@cache:6379/0"', mixed(20)),
    ("gcp-private-key-id", '  "private_key_id": "{s}",', rand(38, HEX) + "a1"),
    (
        "azure-storage-key",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};",
        mixed(86) + "==",
    ),
    (
        "azure-sas",
        'url = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig={s}"',
        mixed(43) + "%3D",
    ),
    ("password", 'password = "{s}"', "hunter2!x"),
    ("password", "db_password: {s}", "Tr0ub4dor3x"),
    ("password", "    Password: '{s}',", "c0rrect-h0rse"),
    ("password", "<password>{s}</password>", "s3cr3t-P4ss"),
    ("password", 'connect(host="db", user="app", passwd="{s}")', "Zq9!wLm2"),
    ("password", 'password: str = "{s}"', "n0t-a-Placeh0lder"),
    ("password", "$pwd = '{s}';", "Qw3rty!9"),
    ("password", "export PGPASSWORD={s}", "s3cure99x"),
    ("secret", "SECRET_KEY = '{s}'", "django-insecure-" + mixed(40)),
    ("secret", '{{"api_key": "{s}"}}', mixed(32)),
    ("secret", "const apiKey = `{s}`;", mixed(24)),
    ("secret", "client_secret: {s}", mixed(40)),
    ("secret", 'auth_token => "{s}"', rand(32, HEX) + "a1"),
    ("secret", "export ACCESS_TOKEN={s}", mixed(30)),
    ("secret", "<apiKey>{s}</apiKey>", mixed(28)),
    ("secret", 'private.key = "{s}"', mixed(44)),
]


def _case_id(case: tuple[str, str, str]) -> str:
    return f"{case[0]}:{case[1][:24]}"


@pytest.mark.parametrize("case", PLANTED, ids=[_case_id(c) for c in PLANTED])
def test_planted_secret_is_redacted(case: tuple[str, str, str]) -> None:
    kind, template, secret = case
    line = template.format(s=secret)
    text = f"first line\n{line}\nlast line\n"
    result = redact(text)
    assert secret not in result.text
    assert placeholder(kind) in result.text
    assert result.findings == (Finding(kind, 2, 2),)
    assert secret not in repr(result.findings)
    assert result.text.count("\n") == text.count("\n")
    # The rest of the line is kept: only the secret was replaced.
    assert result.text.split("\n")[1] == line.replace(secret, placeholder(kind))
    # Placeholders are never taken for secrets: redacting twice changes nothing.
    assert redact(result.text).findings == ()


NOT_SECRETS = [
    'password = ""',
    "password = ''",
    'password = "changeme"',
    'api_key = "<your-key>"',
    'API_KEY = "your_api_key_here"',
    'api_key = os.environ["API_KEY"]',
    'token = os.getenv("GITHUB_TOKEN")',
    "let idToken = process.env.NPM_ID_TOKEN",
    'password = "${DB_PASSWORD}"',
    'secret: "{{ vault_secret }}"',
    "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    'password = "xxx"',
    'password = "********"',
    'API_KEY_ENV = "OPENAI_API_KEY"',
    'PASSWORD = "password"',
    'PASSWORD = "MYTOKEN1"',
    'token_type = "bearer"',
    'password_hash = "pbkdf2:sha256:abc123def456"',
    "tokens = tokenize(source)",
    'key = "name"',
    "sorted(items, key=lambda item: item[1])",
    'if password == "letmein1":',
    "password = get_password()",
    "token = a + b",
    'secret = "%s:%s" % (user, pw)',
    'secret = "{user}:{password}"',
    'prompt = "Enter password: "',
    'password = "pw"',
    'token = "NAME"',
    'SECRET_KEY = "MY_APP_SECRET_KEY"',
    "api_key = settings.API_KEY",
    'url = "https://user:${PASS}@host/path"',
    'url = "https://user@host/path"',
    'url = "http://localhost:8080/path"',
    'x = "sk-learn-compatible-estimators-list"',
    'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY"',
    'key_id = "AK' + 'IAIOSFODNN7EXAMPLE"',
    'token = "gh' + "p_" + "x" * 36 + '"',
    "cache_key = compute_key(path)",
    "keys: list[str] = []",
    "credentials = load_credentials()",
    'kw = dict(password=None, token="")',
    "-----BEGIN PRIVATE KEY-----\nXXXX\nXXXX\n-----END PRIVATE KEY-----",
    'key = "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----"',
    'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    return True',
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_placeholders_and_ordinary_code_are_left_alone(text: str) -> None:
    result = redact(text)
    assert result.findings == ()
    assert result.text == text
    assert not result.redacted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", True),
        ("xxxx", True),
        ("<token>", True),
        ("$API_KEY", True),
        ("{password}", True),
        ("CHANGE_ME", True),
        ("example-key-123", True),
        ("OPENAI_API_KEY", True),
        ("hunter2!x", False),
        ("a7Qk29Lmx0", False),
    ],
)
def test_is_placeholder(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected


def test_value_equal_to_its_name_is_a_placeholder() -> None:
    assert is_placeholder("db_password", "DB_PASSWORD")
    assert not is_placeholder("db_password", "other")


# -- private keys ------------------------------------------------------------------------

KEY_BODY = [rand(64, B64) for _ in range(6)] + [rand(20, B64) + "=="]


def pem(kind: str = "RSA PRIVATE KEY", newline: str = "\n", indent: str = "") -> str:
    lines = [f"-----BEGIN {kind}-----", *KEY_BODY, f"-----END {kind}-----"]
    return newline.join(indent + line for line in lines)


def test_private_key_block_body_is_blanked_and_lines_kept() -> None:
    text = f'import ssl\n\nKEY = """\n{pem()}\n"""\nprint(KEY)\n'
    result = redact(text)
    lines = result.text.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[3] == "-----BEGIN RSA PRIVATE KEY-----"
    assert lines[4] == placeholder("private-key")
    assert lines[5:10] == [""] * 5
    assert lines[11] == "-----END RSA PRIVATE KEY-----"
    assert lines[13] == "print(KEY)"
    assert result.findings == (Finding("private-key", 5, 11),)
    assert all(chunk not in result.text for chunk in KEY_BODY)


def test_private_key_block_with_crlf_and_indentation() -> None:
    text = "key: |\r\n" + pem("OPENSSH PRIVATE KEY", "\r\n", "  ") + "\r\nnext: 1\r\n"
    result = redact(text)
    assert result.text.count("\n") == text.count("\n")
    assert result.text.count("\r") == text.count("\r")
    assert "  " + placeholder("private-key") + "\r\n" in result.text
    assert all(chunk not in result.text for chunk in KEY_BODY)
    assert "next: 1" in result.text


def test_private_key_on_one_line_as_in_a_service_account_json(tmp_path: Path) -> None:
    body = "\\n".join(KEY_BODY)
    key_id = rand(38, HEX) + "b2"
    account = (
        "{\n"
        '  "type": "service_account",\n'
        f'  "private_key_id": "{key_id}",\n'
        f'  "private_key": "-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n",\n'
        '  "client_email": "bot@project.iam.gserviceaccount.com"\n'
        "}\n"
    )
    path = tmp_path / "service-account.json"
    path.write_text(account, encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    result = redact(text)
    assert key_id not in result.text
    assert all(chunk not in result.text for chunk in KEY_BODY)
    assert {(f.kind, f.line) for f in result.findings} == {
        ("gcp-private-key-id", 3),
        ("private-key", 4),
    }
    assert result.text.count("\n") == text.count("\n")
    assert '"client_email": "bot@project.iam.gserviceaccount.com"' in result.text


def test_placeholder_goes_on_the_first_non_blank_body_line() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\n\n" + "\n".join(KEY_BODY[:2])
    result = redact(text)
    assert result.text == "-----BEGIN RSA PRIVATE KEY-----\n\n" + placeholder("private-key") + "\n"
    assert result.findings == (Finding("private-key", 3, 4),)


def test_span_cut_after_begin_still_hides_the_body() -> None:
    text = "x = 1\n" + "\n".join(pem().split("\n")[:4])  # BEGIN and three body lines
    result = redact(text)
    assert all(chunk not in result.text for chunk in KEY_BODY[:3])
    assert result.findings == (Finding("private-key", 3, 5),)


def test_span_starting_inside_a_key_still_hides_the_body() -> None:
    text = "\n".join(pem().split("\n")[3:]) + "\nx = 1\n"  # body tail, END, code
    result = redact(text)
    assert all(chunk not in result.text for chunk in KEY_BODY[2:])
    assert result.findings == (Finding("private-key", 1, 5),)
    assert result.text.endswith("-----END RSA PRIVATE KEY-----\nx = 1\n")


# -- several secrets, structure ----------------------------------------------------------


def test_findings_are_in_order_with_the_right_lines() -> None:
    github = "gh" + "p_" + mixed(36)
    password = "Zq9!wLm2"
    aws = "AK" + "IA" + "Z7" + rand(14, UPPER_DIGITS)
    text = f"a = 1\nTOKEN = '{github}'\n\n\nconfig = dict(password=\"{password}\")  # {aws}\n"
    result = redact(text)
    assert [(f.kind, f.line) for f in result.findings] == [
        ("github-token", 2),
        ("password", 5),
        ("aws-access-key", 5),
    ]
    for secret in (github, password, aws):
        assert secret not in result.text
        assert secret not in repr(result)


@pytest.mark.parametrize(
    ("line", "kept", "secret"),
    [
        ('user, password = "wile", "c0yote!x"', '"wile"', "c0yote!x"),
        ("self.user, self.password = 'wile', 'c0yote!x'", "'wile'", "c0yote!x"),
        ('password, user = "c0yote!x", "wile"', '"wile"', "c0yote!x"),
        ('connect(host, password="c0yote!x")', "host", "c0yote!x"),
    ],
)
def test_tuple_assignment_redacts_the_matching_value(line: str, kept: str, secret: str) -> None:
    result = redact(line)
    assert secret not in result.text
    assert kept in result.text
    assert [f.kind for f in result.findings] == ["password"]


def test_a_format_match_wins_over_the_generic_assignment() -> None:
    secret = "sk-" + "proj-" + mixed(48)
    result = redact(f'api_key = "{secret}"')
    assert [f.kind for f in result.findings] == ["openai-key"]


def test_result_is_frozen_and_rejects_non_text() -> None:
    result = redact("password = 'hunter2!x'")
    assert isinstance(result, RedactionResult)
    with pytest.raises(FrozenInstanceError):
        result.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        redact(b"password = 'x'")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "module",
    [
        "smtplib",
        "imaplib",
        "ftplib",
        "netrc",
        "getpass",
        "secrets",
        "hmac",
        "tokenize",
        "ssl",
        "http.client",
    ],
)
def test_no_false_positives_in_credential_handling_stdlib_modules(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    text = Path(spec.origin).read_text(encoding="utf-8")
    assert redact(text).findings == ()


# -- properties --------------------------------------------------------------------------


def line_breaks(text: str) -> list[int]:
    """How many of each character str.splitlines() breaks at."""
    return [text.count(ch) for ch in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_line_count_is_preserved_for_any_text(text: str) -> None:
    result = redact(text)
    assert line_breaks(result.text) == line_breaks(text)


FRAGMENTS = [
    "\n",
    "\r\n",
    "\r",
    " ",
    '"',
    "'",
    "=",
    ": ",
    "password = ",
    "api_key: ",
    "SECRET_KEY=",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "\\n",
    KEY_BODY[0],
    "postgres://u:",
    "@host",
    "gh" + "p_" + mixed(36),
    "sk-" + "ant-api03-" + mixed(30),
    "ey" + "J" + mixed(100),
    "AK" + "IA" + rand(16, UPPER_DIGITS),
    "<password>",
    "</password>",
    "hunter2!x",
    "中文",
    "\u2028",
    "\x0c",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_line_structure_is_preserved_for_secret_shaped_text(text: str) -> None:
    result = redact(text)
    assert line_breaks(result.text) == line_breaks(text)
    lines = text.count("\n") + 1
    for finding in result.findings:
        assert 1 <= finding.line <= finding.end_line <= lines


def test_module_has_no_mutable_globals() -> None:
    mutable = (list, dict, set, bytearray)
    offenders = [
        name
        for name, value in vars(redact_module).items()
        if not name.startswith("__") and isinstance(value, mutable)
    ]
    assert offenders == []
