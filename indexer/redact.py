"""Secret redaction for text that is about to be sent to the model.

Contract
--------
* `redact` replaces each secret-looking value in ``text`` by ``[REDACTED:<kind>]`` and
  returns a frozen `RedactionResult`. Only the secret itself is replaced (the name it is
  assigned to, the quotes, the URL around it stay), so the model still sees the shape
  of the code.
* The number of lines never changes: no placeholder contains a line break, no edit
  touches one (`_Edits.claim` refuses it, for every character ``str.splitlines``
  breaks at), and a multi-line private-key block keeps its ``BEGIN``/``END`` lines and
  has its body lines emptied (the first non-blank one carries the placeholder). 1-based
  line ranges computed on the original text stay valid.
* `Finding` records the kind and the line(s) of each redaction, never the secret.
* What is detected: token formats with a fixed prefix (AWS ``AKIA``/``ASIA``, GitHub
  ``ghp_``... ``github_pat_``, GitLab ``glpat-``, Slack ``xox?-`` and webhooks, Stripe
  ``sk_live_``, Google ``AIza``, OpenAI ``sk-``/``sk-proj-``, Anthropic ``sk-ant-``,
  MiniMax ``sk-cp-``, npm ``npm_``, Twilio ``SK``, SendGrid ``SG.``, Hugging Face
  ``hf_``, PyPI ``pypi-``), JWTs and other long ``eyJ`` tokens, private-key blocks,
  passwords in URLs (``postgres://user:pass@host``), Azure account keys and SAS
  signatures, GCP ``private_key_id``, and values assigned to secret-named variables or
  keys (``password``, ``*_secret``, ``*_token``, ``api_key``, ``SECRET_KEY``, YAML,
  ``.ini``, ``.env``, JSON, XML elements).
* What is left alone (`is_placeholder`): empty values, ``changeme``, ``<your-key>``,
  ``${VAR}``, ``{{ var }}``, ``%(x)s``, ``xxx``/``***``, values that say
  example/dummy/sample/fake/redacted/todo, an environment variable's name
  (``"OPENAI_API_KEY"``), the variable's own name (``PASSWORD = "password"``), and
  anything that is not a literal (``os.environ[...]``, ``getenv(...)``, a variable).
  Secret-named variables also need a value that looks generated (>= 8 characters,
  letters and digits, no spaces); quoted passwords need >= 4 characters and no spaces
  (unquoted ones, which may be variables, must look generated too). Token formats must
  look random as well (``sk-learn-compatible-...`` is prose). In a tuple assignment
  (``user, password = "wile", "coyote"``) the value in the name's position is taken.
* Speed: each detector hangs off a short literal ("needle"); ``str.find`` locates the
  needles and an anchored regex runs only there. docs/tokens.md has the numbers.
* Never raises on any ``str``: the regexes are bounded and have no nested quantifiers.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Finding", "RedactionResult", "is_placeholder", "placeholder", "redact"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One redaction: its kind (``aws-access-key``, ``password``...) and 1-based lines."""

    kind: str
    line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The redacted text and what was redacted (in order of position)."""

    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def redacted(self) -> bool:
        """True if anything was replaced."""
        return bool(self.findings)


def placeholder(kind: str) -> str:
    """The text that stands in for a secret of ``kind``."""
    return f"[REDACTED:{kind}]"


# ---------------------------------------------------------------------------
# Placeholder values
# ---------------------------------------------------------------------------

#: Values that are obviously not secrets (compared lower-cased, separators removed).
_PLACEHOLDER_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "apikey",
        "test",
        "testing",
        "none",
        "null",
        "nil",
        "undefined",
        "true",
        "false",
        "foo",
        "bar",
        "baz",
        "foobar",
        "empty",
        "default",
        "required",
        "optional",
        "string",
        "hidden",
        "masked",
        "notset",
    }
)
#: Substrings that mark a value as a stand-in or a template (compared lower-cased).
_PLACEHOLDER_MARKERS = (
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "example",
    "dummy",
    "sample",
    "placeholder",
    "redacted",
    "fake",
    "your_",
    "your-",
    "yourkey",
    "your key",
    "your token",
    "your password",
    "insert",
    "replace",
    "todo",
    "fixme",
    "xxxx",
    "****",
    "....",
    "<",
    "${",
    "{{",
    "%(",
    "$(",
    "%s",
    "%d",
    "environ",
    "getenv",
    "process.env",
)
_MARKERS = re.compile("|".join(re.escape(marker) for marker in _PLACEHOLDER_MARKERS))
# A reference to something else: $VAR, $1.
_REFERENCE = re.compile(r"^\$\w+$")
# An unquoted dotted name is an attribute, not a literal: process.env.TOKEN,
# settings.SECRET_KEY. (Only for bare values: a JWT looks the same from afar.)
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][\w$]{0,40}(?:\.[A-Za-z_$][\w$]{0,40})+$")
# Words that name a secret; a value spelling one in capitals is a stand-in: MYTOKEN1.
_SECRET_NAME_WORDS = re.compile("token|passw|secret|apikey|api_key|credential")
# An environment variable name: "OPENAI_API_KEY" names a secret, it is not one.
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_SEPARATORS = re.compile(r"[\s_\-.]")


def _normalise(value: str) -> str:
    return _SEPARATORS.sub("", value.lower())


def is_placeholder(value: str, name: str = "") -> bool:
    """True if ``value`` is obviously a stand-in, not a secret.

    Parameters
    ----------
    value:
        The candidate secret (without quotes).
    name:
        The variable or key it is assigned to, if any: a value equal to its own name
        (``PASSWORD = "password"``) is an enum-style constant.
    """
    stripped = value.strip()
    if not stripped or len(set(stripped)) <= 2:  # "", "xxx", "***", "0000", "abab"
        return True
    lowered = stripped.lower()
    compact = _normalise(stripped)
    if compact in _PLACEHOLDER_WORDS or (name and compact == _normalise(name)):
        return True
    if _MARKERS.search(lowered):
        return True
    if "{" in stripped and "}" in stripped:  # a format template: "{user}:{password}"
        return True
    if stripped == stripped.upper() and _SECRET_NAME_WORDS.search(lowered):
        return True
    return bool(_REFERENCE.match(stripped) or _ENV_NAME.match(stripped))


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def _looks_random(value: str, min_length: int = 8) -> bool:
    """True if ``value`` could be a generated key: long enough, mixed, no words or paths."""
    if len(value) < min_length or any(ch.isspace() for ch in value):
        return False
    if "://" in value or value.startswith(("/", "./", "../", "~")):
        return False  # a URL or a path (URLs with credentials have their own detector)
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    if not has_alpha:
        return len(value) >= 16 and _entropy(value) >= 3.0  # e.g. a long numeric PIN
    if not has_digit:
        # Random letters-only strings exist, but below this length they are almost
        # always words: "MySecretKeyName", "not-a-real-secret".
        return len(value) >= 24 and _entropy(value) >= 4.0 and not value.isidentifier()
    return _entropy(value) >= 2.5


def _password_like(value: str) -> bool:
    """A quoted value assigned to a password-named variable: anything but prose."""
    return len(value) >= 4 and not any(ch.isspace() for ch in value)


def _random(min_length: int) -> Callable[[str], bool]:
    def accept(value: str) -> bool:
        return not is_placeholder(value) and _looks_random(value, min_length)

    return accept


def _not_placeholder(value: str) -> bool:
    return not is_placeholder(value)


# ---------------------------------------------------------------------------
# Token formats, each found from a needle
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Detector:
    """A regex for one kind of secret, matched at a needle's position.

    ``group`` names the part of the match to replace; ``accept`` vets its text.
    """

    kind: str
    pattern: re.Pattern[str]
    group: int | str = 0
    accept: Callable[[str], bool] | None = None


# Tokens must not sit in the middle of a longer word.
_L = r"(?<![A-Za-z0-9_\-])"
_R = r"(?![A-Za-z0-9_\-])"

_AWS_ACCESS = _Detector(
    "aws-access-key",
    re.compile(rf"{_L}(?:AKIA|ASIA|ABIA)[0-9A-Z]{{16}}{_R}"),
    accept=_not_placeholder,  # AWS's documented example key ends in EXAMPLE
)
_GITHUB = _Detector(
    "github-token",
    re.compile(rf"{_L}(?:gh[pousr]_[A-Za-z0-9]{{36,255}}|github_pat_[A-Za-z0-9_]{{22,255}}){_R}"),
    accept=_random(20),
)
_GITLAB = _Detector(
    "gitlab-token",
    re.compile(rf"{_L}gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{{20,64}}{_R}"),
    accept=_random(20),
)
_SLACK = _Detector(
    "slack-token",
    re.compile(rf"{_L}(?:xox[abprse]-[A-Za-z0-9\-]{{10,250}}|xapp-\d-[A-Za-z0-9\-]{{10,250}}){_R}"),
    accept=_random(15),
)
_SLACK_WEBHOOK = _Detector(
    "slack-webhook",
    re.compile(
        r"://hooks\.slack\.com/(?P<v>(?:services|workflows|triggers)/[A-Za-z0-9/_\-]{20,200})"
    ),
    group="v",
    accept=_not_placeholder,
)
_STRIPE = _Detector(
    "stripe-key",
    re.compile(rf"{_L}[sr]k_(?:live|test)_[A-Za-z0-9]{{16,247}}{_R}"),
    accept=_random(20),
)
_GOOGLE = _Detector(
    "google-api-key",
    re.compile(rf"{_L}AIza[0-9A-Za-z_\-]{{35}}{_R}"),
    accept=_not_placeholder,
)
# The sk- family, most specific first: a span already claimed is not claimed again.
_ANTHROPIC = _Detector(
    "anthropic-key",
    re.compile(rf"{_L}sk-ant-[a-z]{{2,10}}\d{{0,3}}-[A-Za-z0-9_\-]{{20,300}}{_R}"),
    accept=_random(20),
)
_MINIMAX = _Detector(
    "minimax-key",
    re.compile(rf"{_L}sk-cp-[A-Za-z0-9_\-]{{20,300}}{_R}"),
    accept=_random(20),
)
_OPENAI = _Detector(
    "openai-key",
    re.compile(rf"{_L}sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{{20,300}}{_R}"),
    accept=_random(20),
)
_JWT = _Detector(
    "jwt",
    # header.payload.signature; MiniMax's older API keys are JWTs too, and a lone long
    # "eyJ..." (base64 of '{"') blob is a token as well.
    re.compile(
        rf"{_L}eyJ[A-Za-z0-9_\-]{{10,2000}}"
        rf"(?:\.eyJ[A-Za-z0-9_\-]{{10,8000}}\.[A-Za-z0-9_\-]{{0,2000}}|[A-Za-z0-9_\-]{{90,8000}}){_R}"
    ),
    accept=_not_placeholder,
)
_NPM = _Detector("npm-token", re.compile(rf"{_L}npm_[A-Za-z0-9]{{36}}{_R}"), accept=_random(20))
_TWILIO = _Detector("twilio-api-key", re.compile(rf"{_L}SK[0-9a-f]{{32}}{_R}"), accept=_random(20))
_SENDGRID = _Detector(
    "sendgrid-key",
    re.compile(rf"{_L}SG\.[A-Za-z0-9_\-]{{22}}\.[A-Za-z0-9_\-]{{43}}{_R}"),
    accept=_not_placeholder,
)
_HUGGINGFACE = _Detector(
    "huggingface-token",
    re.compile(rf"{_L}hf_[A-Za-z0-9]{{34,40}}{_R}"),
    # The body is letters only, so demand both cases instead of digits.
    accept=lambda value: (
        not is_placeholder(value) and not value[3:].islower() and not value[3:].isupper()
    ),
)
_PYPI = _Detector("pypi-token", re.compile(rf"{_L}pypi-AgE[A-Za-z0-9_\-]{{50,300}}{_R}"))
_AZURE_SAS = _Detector(
    "azure-sas",
    # The signature of a shared access signature URL or connection string.
    re.compile(r"(?<=[?&;])sig=(?P<v>[A-Za-z0-9%+/=]{30,200})"),
    group="v",
    accept=_random(20),
)
_URL_CREDENTIALS = _Detector(
    "url-credentials",
    # scheme://user:password@host -- only the password is replaced.
    re.compile(
        r"(?<=[A-Za-z0-9])://[^\s:/?#@\"'<>]{1,128}:(?P<v>[^\s/?#@\"'<>]{1,256})@(?=[A-Za-z0-9\[])"
    ),
    group="v",
    accept=lambda value: not is_placeholder(value, "password"),
)
# Reached from "key" in the lower-cased text (see _run_assignments).
_AZURE_KEY = _Detector(
    "azure-storage-key",
    re.compile(r"(?i)AccountKey=(?P<v>[A-Za-z0-9+/]{40,100}={0,2})"),
    group="v",
    accept=_random(20),
)
_GCP_KEY_ID = _Detector(
    "gcp-private-key-id",
    re.compile(r'"private_key_id"[ \t]*:[ \t]*"(?P<v>[0-9a-f]{40})"'),
    group="v",
)

#: (needle, offset of the match start before the needle, detectors tried there).
#: Needles are case-sensitive; a few are shared by a family ("gh" for five GitHub
#: prefixes) because each search is a pass over the text. "sk" and "SK" share one
#: search of the lower-cased text (see _run_needles).
_NEEDLES: tuple[tuple[str, int, tuple[_Detector, ...]], ...] = (
    ("IA", 2, (_AWS_ACCESS,)),  # AKIA, ASIA, ABIA
    ("gh", 0, (_GITHUB,)),  # ghp_ gho_ ghu_ ghs_ ghr_
    ("github_pat_", 0, (_GITHUB,)),
    ("gl", 0, (_GITLAB,)),
    ("xox", 0, (_SLACK,)),
    ("xapp-", 0, (_SLACK,)),
    ("k_", 1, (_STRIPE,)),  # sk_live_, rk_test_
    ("AIza", 0, (_GOOGLE,)),
    ("eyJ", 0, (_JWT,)),
    ("npm_", 0, (_NPM,)),
    ("SG.", 0, (_SENDGRID,)),
    ("hf_", 0, (_HUGGINGFACE,)),
    ("pypi-", 0, (_PYPI,)),
    ("sig=", 0, (_AZURE_SAS,)),
    ("://", 0, (_SLACK_WEBHOOK, _URL_CREDENTIALS)),
)
_SK_FAMILY = (_ANTHROPIC, _MINIMAX, _OPENAI)

# ---------------------------------------------------------------------------
# Values assigned to secret-named variables
# ---------------------------------------------------------------------------
#
# Found from the name, not the value: each occurrence of a keyword in the lower-cased
# text is a candidate, and an anchored regex checks for an assignment after it. (One
# regex over the whole text would try a keyword alternation at every position: about
# 1 MB/s.) The name must END with the keyword, whatever precedes it: DB_PASSWORD,
# userPassword, client_secret, GITHUB_TOKEN, SECRET_KEY, apiKey match; password_hash,
# token_type, secret_name, key_size, tokenizer do not.

#: (needle, regex for the whole word at the needle, is it a password word).
_KEYWORDS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("pass", re.compile(r"pass(?:w(?:or)?d|phrase)"), True),
    ("pwd", re.compile(r"pwd"), True),
    ("secret", re.compile(r"secret"), False),
    ("token", re.compile(r"token"), False),
    ("credential", re.compile(r"credentials?"), False),
    ("key", re.compile(r"key"), False),
)
# "key" alone is everywhere (sorted(key=...), dict keys): it counts only after one of
# these words, as in api_key, apiKey, SECRET_KEY, private-key, access.key.
_KEY_PREFIX = re.compile(
    r"(?:secret|private|access|auth|api|encryption|signing|master|client|account|app|session)"
    r"[_\-.]?$"
)
_IDENTIFIER_CHAR = re.compile(r"[a-z0-9_]")
_NOT_NAME_CHAR = re.compile(r"[^a-z0-9_\-.]")
# After the name: the closing quote of a dict key, an optional type annotation, an
# assignment operator, and a value.
_ASSIGN_TAIL = re.compile(
    r"[\"']?(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\]|, ]{0,40}?[ \t]*(?==))?[ \t]*(?:=>|:=|=|:)[ \t]*"
    # A string literal (with an optional Python prefix) holding no line break.
    r"(?:(?:[rRbBuU]{1,2})?(?:\"(?P<dq>[^\"\r\n]{1,512})\""
    r"|'(?P<sq>[^'\r\n]{1,512})'|`(?P<bq>[^`\r\n]{1,512})`)"
    # Or a bare config value (YAML, .ini, .env, .properties) running to the end of the
    # line or to a comment: no spaces, quotes, brackets or operators, so that code such
    # as `password = get_password()` or `token = a + b` does not qualify.
    r"|(?P<bare>[^\s\"'`#;,(){}\[\]<>=+*&|!]{4,256})[ \t]*(?=$|[ \t]#|[ \t];|\r))",
    re.MULTILINE,
)
# Around a name, the other targets of a tuple assignment: "user, " before it in
# `user, password = "wile", "coyote"` (and not "f(a, " in a call); ", user" after it in
# `password, user = ...`.
_TARGETS_BEFORE = re.compile(r"[ \t]*(?:[\w.]+[ \t]*,[ \t]*)*$")
_MORE_TARGETS = re.compile(r"(?:[ \t]*,[ \t]*[\w.]+)+(?=[ \t]*=[^=])")
# One string literal (any quote, optional prefix) and the comma after it.
_LITERAL = re.compile(
    r"""[rRbBuU]{0,2}(?:"([^"\r\n]{0,512})"|'([^'\r\n]{0,512})'|`([^`\r\n]{0,512})`)"""
)
_COMMA = re.compile(r"[ \t]*,[ \t]*")
# <password>...</password> in XML configuration (Maven settings.xml and the like).
_XML_ELEMENT = re.compile(r"<(?P<name>[\w.\-]{1,60})>(?P<v>[^<\s]{4,512})</(?P=name)>")
_XML_SECRET_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key")
_AWS_SECRET_VALUE = re.compile(r"^[A-Za-z0-9/+=]{40}$")

# ---------------------------------------------------------------------------
# Private keys
# ---------------------------------------------------------------------------

_KEY_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# A body line of a PEM block, possibly inside a string literal or a concatenation:
# >= 16 base64 characters (the last line may be shorter if it ends in padding), an
# RFC 1421 header ("Proc-Type: 4,ENCRYPTED"), or blank. The length floor keeps code
# such as `pass` after a stray BEGIN from being taken for key material.
_KEY_BODY_LINE = re.compile(
    r"^[ \t]*(?:[+,][ \t]*)?[rbuRBU]?[\"'`]?"
    r"(?:[A-Za-z0-9+/]{16,200}={0,2}|[A-Za-z0-9+/]{1,15}={1,2}"
    r"|[A-Za-z\-]{1,30}:[ \t]?[A-Za-z0-9,\-]{1,200})?"
    r"(?:\\n)?[\"'`]?[ \t]*[+,;\\]?[ \t]*\r?$"
)
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]+")
# What may follow a BEGIN marker on its line when the body starts on the next line.
_BLANK_TAIL = re.compile(r"^[\s\"'`,;+]*(?:\\n)?[\s\"'`,;+\\]*$")
#: A value to redact: start, end, kind.
_Claim = tuple[int, int, str] | None
#: Edit kind of a private-key body line (merged into one finding per block).
_BODY = "private-key-body"


def _is_key_material(body: str) -> bool:
    """True unless the body of a key block is a stand-in ("XXXX", "...") or nothing."""
    base64 = "".join(_BASE64_CHARS.findall(body.replace("\\n", "\n")))
    return len(base64) >= 16 and not is_placeholder(base64)


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each line, end excluding the newline."""
    spans = []
    start = 0
    for piece in text.split("\n"):
        spans.append((start, start + len(piece)))
        start += len(piece) + 1
    return spans


def _body_edit(start: int, line: str, first: bool) -> tuple[int, int, str, str]:
    """The edit blanking one private-key body line: the placeholder once, then nothing.

    The line's indentation and a trailing ``\\r`` (CRLF files) are kept.
    """
    indent = len(line) - len(line.lstrip(" \t"))
    end = start + len(line) - line.endswith("\r")
    return start + indent, end, placeholder("private-key") if first else "", _BODY


def _body_edits(
    text: str, lines: list[tuple[int, int]], rows: Iterable[int], with_placeholder: bool
) -> Iterator[tuple[int, int, str, str]]:
    """Edits blanking the body ``rows`` of a key block, if they hold key material.

    The placeholder goes on the first non-blank row (unless ``with_placeholder`` is
    False: it is already on the BEGIN line); the other rows are emptied.
    """
    bodies = [(lines[row][0], text[lines[row][0] : lines[row][1]]) for row in rows]
    if not _is_key_material("".join(body for _, body in bodies)):
        return
    for start, body in bodies:
        if body.strip():
            yield _body_edit(start, body, with_placeholder)
            with_placeholder = False


def _private_key_edits(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, replacement, kind) edits that blank private-key blocks.

    Handles a block on its own lines, a block inside one line (JSON's ``"-----BEGIN
    PRIVATE KEY-----\\nMII...\\n-----END..."``), and a block cut by the span: a BEGIN
    with no END blanks the body lines that follow; an END with no BEGIN blanks the
    body lines before it.
    """
    lines = _line_spans(text)
    index = 0
    claimed_until = -1
    while index < len(lines):
        start, end = lines[index]
        line = text[start:end]
        begin = _KEY_BEGIN.search(line)
        stop = _KEY_END.search(line)
        if begin and stop and stop.start() >= begin.end():
            # The whole block on one line (JSON escapes its newlines as "\n").
            if _is_key_material(line[begin.end() : stop.start()]):
                yield (
                    start + begin.end(),
                    start + stop.start(),
                    placeholder("private-key"),
                    "private-key",
                )
            index += 1
            continue
        if begin:
            tail_start = start + begin.end()
            tail = text[tail_start:end]
            first = bool(_BLANK_TAIL.match(tail))
            if not first and _is_key_material(tail):
                # The body goes on after BEGIN on the same line (a one-line block cut short).
                yield (
                    tail_start,
                    end - tail.endswith("\r"),
                    placeholder("private-key"),
                    "private-key",
                )
            index += 1
            body_rows = []
            while index < len(lines):
                body = text[lines[index][0] : lines[index][1]]
                if _KEY_END.search(body) or not _KEY_BODY_LINE.match(body):
                    break
                body_rows.append(index)
                index += 1
            yield from _body_edits(text, lines, body_rows, first)
            claimed_until = index
            continue
        if stop and index > claimed_until:
            # END without BEGIN in this text: the span starts inside the block.
            back = index
            while back - 1 > claimed_until:
                body = text[lines[back - 1][0] : lines[back - 1][1]]
                if not body.strip() or not _KEY_BODY_LINE.match(body):
                    break
                back -= 1
            yield from _body_edits(text, lines, range(back, index), True)
        index += 1


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


# Everything str.splitlines() breaks at, so that no notion of "line" can shift.
_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class _Edits:
    """Non-overlapping replacements of ``text``, kept sorted; the first claim wins."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = []
        self.items: list[tuple[int, int, str, str]] = []  # start, end, replacement, kind

    def claim(self, start: int, end: int, replacement: str, kind: str) -> bool:
        """Record an edit unless it is empty, overlaps another, or touches a line break.

        The last rule is what guarantees the line count: the patterns already exclude
        line breaks, and this check makes it hold even if one slips.
        """
        if end <= start or _LINE_BREAK.search(replacement):
            return False
        if _LINE_BREAK.search(self.text, start, end):
            return False
        at = bisect.bisect_right(self.starts, start)
        if at > 0 and self.items[at - 1][1] > start:
            return False
        if at < len(self.items) and self.items[at][0] < end:
            return False
        self.starts.insert(at, start)
        self.items.insert(at, (start, end, replacement, kind))
        return True

    def apply(self, text: str, detector: _Detector, position: int) -> None:
        """Try ``detector`` at ``position`` and claim what it finds."""
        if position < 0:
            return
        match = detector.pattern.match(text, position)
        if match is None:
            return
        value = match.group(detector.group)
        if detector.accept is None or detector.accept(value):
            start, end = match.span(detector.group)
            self.claim(start, end, placeholder(detector.kind), detector.kind)


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    """Every index where ``needle`` starts in ``haystack`` (C-speed ``str.find``)."""
    index = haystack.find(needle)
    while index != -1:
        yield index
        index = haystack.find(needle, index + 1)


def _scan_views(text: str) -> tuple[str, str]:
    """Two one-byte-per-character views of ``text`` with the same length and offsets.

    The first for case-sensitive needles, the second lower-cased. Non-ASCII characters
    become ``?``: no needle contains one, ``str.find`` runs much faster on one-byte
    strings, and ``str.lower`` could change the length ("İ" lowers to two characters).
    """
    if not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii")
    return text, text.lower()


def _run_needles(text: str, view: str, folded: str, edits: _Edits) -> None:
    for needle, back, detectors in _NEEDLES:
        for index in _occurrences(view, needle):
            for detector in detectors:
                edits.apply(text, detector, index - back)
    for index in _occurrences(folded, "sk"):
        follower = view[index + 2 : index + 3]
        if follower == "-":
            for detector in _SK_FAMILY:
                edits.apply(text, detector, index)
        elif view.startswith("SK", index):
            edits.apply(text, _TWILIO, index)


def _keyword_end(folded: str, keyword: str, word: re.Pattern[str], index: int) -> int | None:
    """End of the secret ``word`` at ``index`` if it ends a name, else None."""
    match = word.match(folded, index)
    if match is None:
        return None
    end = match.end()
    if _IDENTIFIER_CHAR.match(folded, end):
        return None  # the name goes on: password_hash, tokenizer, keys
    if keyword == "key" and not _KEY_PREFIX.search(folded, max(0, index - 12), index):
        return None
    return end


def _name_start(folded: str, index: int) -> int:
    """Start of the name (identifier, dotted or dashed) that ends at the keyword."""
    before = folded[max(0, index - 60) : index][::-1]  # read backwards from the keyword
    stop = _NOT_NAME_CHAR.search(before)
    return index - (stop.start() if stop else len(before))


def _vet_value(value: str, name: str, quoted: bool, is_password: bool) -> str | None:
    """The finding kind for ``value`` assigned to ``name``, or None to leave it."""
    if not _password_like(value):  # the cheapest test first: every rule needs this
        return None
    if is_placeholder(value, name):
        return None
    if quoted and is_password:
        return "password"
    # Unquoted values may be variables (`password = other`), so they need the random
    # look even for passwords; secret-named values always do.
    if not quoted and _DOTTED_NAME.match(value):
        return None
    if not _looks_random(value, 6 if is_password else 8):
        return None
    if is_password:
        return "password"
    if "aws" in name.lower() and _AWS_SECRET_VALUE.match(value):
        return "aws-secret-key"
    return "secret"


def _assignment_value(text: str, folded: str, index: int, end: int, is_password: bool) -> _Claim:
    """The edit for an assignment to the name whose keyword spans ``index:end``, if any."""
    name_start = _name_start(folded, index)
    line_start = text.rfind("\n", 0, name_start) + 1
    # In a tuple assignment (`user, password = "wile", "coyote"`) other targets may
    # come before the name or after it, before the operator.
    more = _MORE_TARGETS.match(text, end)
    tuple_assignment = bool(
        _TARGETS_BEFORE.match(text, line_start, name_start)
        and (more or "," in text[line_start:name_start])
    )
    match = _ASSIGN_TAIL.match(text, more.end() if more and tuple_assignment else end)
    if match is None:
        return None
    group = next(g for g in ("dq", "sq", "bq", "bare") if match.group(g) is not None)
    start, stop = match.span(group)
    if tuple_assignment and group != "bare":
        target = _tuple_target_value(text, name_start, match.start(group) - 1)
        if target is None:
            return None
        start, stop = target
    kind = _vet_value(text[start:stop], text[name_start:end], group != "bare", is_password)
    return None if kind is None else (start, stop, kind)


def _tuple_target_value(text: str, name_start: int, quote: int) -> tuple[int, int] | None:
    """In ``user, password = "wile", "coyote"``, the span of the password's literal.

    The name starts at ``name_start``; the first literal's quote is at ``quote``.
    Returns None if the right-hand side is not a plain list of literals.
    """
    line_start = text.rfind("\n", 0, name_start) + 1
    position = quote
    for _ in range(text.count(",", line_start, name_start)):
        literal = _LITERAL.match(text, position)
        comma = _COMMA.match(text, literal.end()) if literal else None
        if comma is None:
            return None
        position = comma.end()
    literal = _LITERAL.match(text, position)
    if literal is None or literal.lastindex is None:
        return None
    return literal.span(literal.lastindex)


def _run_assignments(text: str, folded: str, edits: _Edits) -> None:
    for keyword, word, is_password in _KEYWORDS:
        for index in _occurrences(folded, keyword):
            if keyword == "key":
                # Two formats hang off "key" as well, saving a pass each.
                if index >= 7 and folded.startswith("accountkey=", index - 7):
                    edits.apply(text, _AZURE_KEY, index - 7)
                elif index >= 9 and folded.startswith('"private_key_id"', index - 9):
                    edits.apply(text, _GCP_KEY_ID, index - 9)
            end = _keyword_end(folded, keyword, word, index)
            found = (
                None if end is None else _assignment_value(text, folded, index, end, is_password)
            )
            if found is not None:
                start, stop, kind = found
                edits.claim(start, stop, placeholder(kind), kind)


def _run_xml(text: str, edits: _Edits) -> None:
    for match in _XML_ELEMENT.finditer(text):
        name = match.group("name").lower()
        if not any(word in name for word in _XML_SECRET_WORDS):
            continue
        is_password = "pass" in name or "pwd" in name
        kind = _vet_value(match.group("v"), name, True, is_password)
        if kind is not None:
            edits.claim(match.start("v"), match.end("v"), placeholder(kind), kind)


def redact(text: str) -> RedactionResult:
    """Replace secret-looking values in ``text`` by ``[REDACTED:<kind>]`` placeholders.

    The result has exactly as many lines as ``text`` (see the module docstring for
    what counts as a secret and what is left alone).

    Parameters
    ----------
    text:
        Any string (a file, or a span of one).
    """
    if not isinstance(text, str):
        raise TypeError(f"redact() needs a str, not {type(text).__name__}")
    edits = _Edits(text)
    view, folded = _scan_views(text)
    # Earlier claims win overlaps, so the most precise detectors go first.
    if "PRIVATE KEY" in view:
        for start, end, replacement, kind in _private_key_edits(text):
            edits.claim(start, end, replacement, kind)
    _run_needles(text, view, folded, edits)
    _run_assignments(text, folded, edits)
    if "</" in view:
        _run_xml(text, edits)
    if not edits.items:
        return RedactionResult(text)
    return _apply(text, edits)


def _apply(text: str, edits: _Edits) -> RedactionResult:
    parts: list[str] = []
    findings: list[Finding] = []
    position = 0
    line = 1
    for start, end, replacement, kind in edits.items:
        # Edits are sorted, disjoint and never hold a line break (see _Edits.claim), so
        # the line of each edit is the running count of newlines before it.
        line += text.count("\n", position, start)
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
        if kind == _BODY:
            # Consecutive body lines of one private-key block make one finding.
            last = findings[-1] if findings else None
            if last is not None and last.kind == "private-key" and last.end_line >= line - 1:
                findings[-1] = Finding("private-key", last.line, line)
                continue
            kind = "private-key"
        findings.append(Finding(kind, line, line))
    parts.append(text[position:])
    return RedactionResult("".join(parts), tuple(findings))
