"""Secret redaction: mask credentials in text and in environment variables before they are shown.

``redact`` masks credentials anywhere in a text: URL passwords, private keys, Authorization,
Bearer and Cookie values, command-line passwords (``curl -u``, ``docker login -p``,
``--password``), assignments to secret-named keys in every common shape (``-X main.dbPass=``,
``-X 'main.password=two words'``, ``PGPASSWORD='…'``, ``{"db_pass": "…"}``,
``aws_secret_access_key = …``) and the token formats Yelp's detect-secrets knows (GitHub, GitLab,
AWS, Slack, Stripe, npm, PyPI, JWT, ...: ``safety.secretformats``). ``redact_env`` also masks
every variable whose name says it holds a secret (``is_secret_name``).

Every pattern runs on untrusted text, so every pattern is RE2 (``goci_doctor.safety.linear``): linear
time whatever the input.

Imports: the standard library, ``safety.linear`` and ``safety.secretformats``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from goci_doctor.safety import linear, secretformats
from goci_doctor.safety.secretformats import MASK

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    pass


_SECRET_WORDS = frozenset(
    {
        "TOKEN",
        "TOKENS",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "PWD",
        "PW",
        "KEY",
        "KEYS",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "AUTHORIZATION",
        "PRIVATE",
        "SESSION",
        "COOKIE",
        "COOKIES",
        "PAT",
        "JWT",
        "BEARER",
        "SIGNATURE",
        "DSN",
        "SALT",
    }
)
# Concatenated names (GITHUBTOKEN, NPMAPIKEY, AWSSECRETACCESSKEY, DBPASS) end in one of these.
_SECRET_SUFFIXES = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "ACCESSKEY", "PRIVATEKEY")
# Names that contain a secret word but hold no secret. Their values are still scanned for
# embedded credentials (a GOFLAGS or GOPROXY URL can carry user:password).
_NOT_SECRET = frozenset({"GOPRIVATE", "GONOSUMDB", "GONOPROXY", "GOINSECURE", "GOAUTH", "PWD", "OLDPWD"})
# After "name:" (YAML, JSON, headers) a bare "key" is usually no secret (cache keys, map keys).
_WEAK_WORDS = frozenset({"KEY", "KEYS", "SESSION", "AUTH", "PAT", "SALT", "SIGNATURE", "DSN"})

_NAME_PARTS = linear.compile(r"[A-Z]+[a-z0-9]*|[a-z0-9]+|[A-Z]+")


def _name_parts(name: str) -> list[str]:
    # camelCase, snake_case, dotted and dashed names: main.dbPass -> MAIN, DB, PASS.
    return [p.upper() for p in _NAME_PARTS.findall(name)]


@functools.cache
def _denylist() -> re.Pattern[str]:
    """detect-secrets' keyword list (api_?key, db_?pass, passwd, contraseña, ...) as one RE2 pattern."""
    words = secretformats.keywords()
    return linear.compile("|".join(f"(?:{word})" for word in words), re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str, *, strict: bool = False) -> bool:
    """True when a variable's name says its value is a secret (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, ...).

    Matching is by whole name part (camelCase, snake_case and dotted names are split), so
    KEYBOARD_LAYOUT or MONKEY_PATCH stay visible while API_KEY, main.dbPass and DB_PASSWORD do
    not; detect-secrets' keyword list catches run-together names (dbpass, privkey). ``strict``
    drops weak words such as KEY, for ``name: value`` shapes where they are usually map keys.
    """
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    words = _SECRET_WORDS - _WEAK_WORDS if strict else _SECRET_WORDS
    parts = _name_parts(name)
    if any(p in words or p.endswith(_SECRET_SUFFIXES) for p in parts):
        return True
    return _denylist().search(name) is not None


# --------------------------------------------------------------------------------------------
# Rules: each a linear-time pattern and its replacement, applied in order.

_Repl = str | Callable[[re.Match[str]], str]


def _keep_numeric_ids(m: re.Match[str]) -> str:
    # "-u 1000:1000" is a uid:gid (docker run), not user:password.
    if m.group(3).isdigit() and m.group(4).isdigit():
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{m.group(3)}:{MASK}"


def _bare_userinfo(m: re.Match[str]) -> str:
    # A lone userinfo is usually a token (https://TOKEN@github.com); "git@" and "user@" are not.
    return m.group(0) if m.group(2).lower() in ("git", "user", "root", "ubuntu", "admin") else f"{m.group(1)}{MASK}@"


def _auth_header(m: re.Match[str]) -> str:
    scheme = f"{m.group(2)} " if m.group(2) else ""
    return f"{m.group(1)}{scheme}{MASK}"


_QUOTED_OR_WORD = r"""(?:'[^'\n]*'?|"[^"\n]*"?|[^\s'"-][^\s'"]*)"""

_RULES: tuple[tuple[re.Pattern[str], _Repl], ...] = (
    # PEM private keys: the whole block, or to the end when the END line was cut off.
    (
        linear.compile(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY"
            r"(?: BLOCK)?-----|[\s\S]*)"
        ),
        r"-----BEGIN \1PRIVATE KEY\2-----***-----END \1PRIVATE KEY\2-----",
    ),
    # scheme://user:password@host. The password runs to the last "@" of the word, so passwords
    # holding "/" or "@" are masked whole (redis://:pw@h, https://u:p@ss/w@h, tcp://u:pw@h:2376).
    (linear.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s:/@'\"<>]*):([^\s'\"<>]*)@"), r"\1\2:***@"),
    (linear.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@'\"<>]+)@"), _bare_userinfo),
    # Authorization headers, bearer tokens and cookies.
    (
        linear.compile(
            r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(bearer|basic|token|digest)\s+)?"
            r"([^\s'\",]+)"
        ),
        _auth_header,
    ),
    (linear.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    (linear.compile(r"(?i)\b((?:set-)?cookie\s*:\s*)[^\r\n'\"]+"), r"\1***"),
    # Passwords on command lines: --password x, --token=x, docker login -p x, curl -u user:pw.
    (
        linear.compile(
            r"(?i)(--(?:password|passwd|pass|token|secret|api-key|access-key|client-secret)(?:=|\s+))" + _QUOTED_OR_WORD
        ),
        r"\1***",
    ),
    (linear.compile(r"(?i)(\blogin\b[^\n|;&]*?\s-p(?:=|\s+))" + _QUOTED_OR_WORD), r"\1***"),
    (
        linear.compile(r"""(?i)((?:^|\s)(?:-u|--user|--proxy-user)(?:=|\s+))(['"]?)([^\s:'"]+):([^\s'"]+)"""),
        _keep_numeric_ids,
    ),
    # .netrc: machine h login u password p
    (linear.compile(r"(?i)(\bmachine\s+\S+\s+login\s+\S+\s+password\s+)(\S+)"), r"\1***"),
    # Query strings: ?sig=..., &key=... (short names the keyword rule leaves alone).
    (linear.compile(r"(?i)([?&;](?:pass|pw|pwd|auth|key|sig|signature|code)=)([^\s&;'\"#]+)"), r"\1***"),
)

# name=value / name: value / "name": "value". Only the name is matched here; the value is
# scanned by hand (quote-aware), which keeps the whole pass linear and lets the name's own
# opening quote ('main.password=two words') bound the value.
# Only names holding a fragment of a secret word are candidates (is_secret_name decides): most
# text then has no candidate at all, and "a=a=a=..." costs one pass.
_HINT = r"(?:pass|pw|secret|token|key|auth|cred|private|session|cookie|pat|jwt|bearer|signature|dsn|salt|contrase)"
_ASSIGN = linear.compile(
    rf"""(?i)(['"]?)((?:[A-Za-z_][A-Za-z0-9_.\-]*?)?{_HINT}[A-Za-z0-9_.\-]*)(['"]?)[ \t]*(:=|=|:)[ \t]*"""
)
# Headers have their own rules above (they keep the scheme: "Authorization: Bearer ***").
_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_WORD_END = frozenset(" \t\r\n&;,'\"<>)]}")


def _value_span(text: str, name_m: re.Match[str], at_line_start: bool) -> tuple[int, int]:
    """Where the value after ``name=`` (or ``name:``) starts and ends: quote-aware, one line at most.

    Plain string scans, no pattern: a pattern call would re-encode the whole text each time.
    """
    start = name_m.end()
    eol = text.find("\n", start)
    eol = len(text) if eol < 0 else eol
    if start < len(text) and text[start] in "'\"`":
        close = text.find(text[start], start + 1, eol)
        return start + 1, (close if close >= 0 else eol)
    quote, closing, sep = name_m.group(1), name_m.group(3), name_m.group(4)
    if quote and not closing and sep != ":":
        # 'main.password=two words': the quote before the name closes the value.
        close = text.find(quote, start, eol)
        return start, (close if close >= 0 else eol)
    if sep == ":" and not quote and at_line_start:
        return start, eol  # YAML "password: two words"
    end = start
    while end < eol and text[end] not in _WORD_END:
        end += 1
    return start, end


def _assignments(text: str) -> str:
    out: list[str] = []
    cursor = line_begin = scanned = 0
    for m in _ASSIGN.finditer(text):
        if m.start() < cursor:
            continue
        strict = m.group(4) == ":"
        if strict and text.startswith("//", m.end(4)):
            continue  # a URL scheme, not a key
        if m.group(2).lower() in _HEADER_NAMES or not is_secret_name(m.group(2), strict=strict):
            continue
        # Every character is looked at a bounded number of times: line starts are tracked
        # incrementally and a value, masked or not, is never scanned again (linear overall).
        newline = text.rfind("\n", scanned, m.start())
        if newline >= 0:
            line_begin = newline + 1
        scanned = m.start()
        j = m.start()
        while j > line_begin and text[j - 1] in " \t-":
            j -= 1
        begin, end = _value_span(text, m, j == line_begin)
        value = text[begin:end].strip()
        # Leave references ($TOKEN, ${{ secrets.X }}, <password>) and values an earlier rule masked.
        if not value or MASK in value or value.startswith(("$", "%", "<")) or value in ("true", "false", "null"):
            out.append(text[cursor:end])
        else:
            out.append(text[cursor:begin])
            out.append(MASK)
        cursor = end
    if not out:
        return text
    out.append(text[cursor:])
    return "".join(out)


# One search tells whether any rule can apply (most log lines: none).
_ANY_RULE = linear.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _RULES))


def redact(text: str) -> str:
    """Mask credentials anywhere in ``text`` (see the module docstring for the shapes).
    Linear time, idempotent; ordinary text is left as it is."""
    if not text:
        return text
    if _ANY_RULE.search(text):
        for pattern, repl in _RULES:
            text = pattern.sub(repl, text)
    return secretformats.mask_tokens(_assignments(text))


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Copy of ``env`` in which secret-named variables read "***" (empty ones stay empty, so a
    missing token is still visible) and every other value has embedded credentials masked."""
    out: dict[str, str] = {}
    for name, value in env.items():
        if is_secret_name(name) and value:
            out[name] = MASK
        else:
            out[name] = redact(value)
    return out
