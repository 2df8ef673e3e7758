"""Secret redaction: mask credentials in text and in environment variables before they are shown.

``redact`` masks credentials anywhere in a text (URL passwords, known token shapes,
Authorization headers, ``password=`` assignments); ``redact_env`` also masks every variable whose
name says it holds a secret (``is_secret_name``). Standard library only: every module that shows
user data can import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_SECRET_WORDS = frozenset({
    "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE",
    "KEY", "KEYS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "PRIVATE",
    "SESSION", "COOKIE", "COOKIES", "PAT", "JWT", "BEARER", "SIGNATURE", "DSN", "SALT",
})
# Concatenated names (GITHUBTOKEN, NPMAPIKEY, AWSSECRETACCESSKEY) end in one of these.
_SECRET_SUFFIXES = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "ACCESSKEY", "PRIVATEKEY")
# Names that contain a secret word but hold no secret. Their values are still scanned for
# embedded credentials (a GOFLAGS or GOPROXY URL can carry user:password).
_NOT_SECRET = frozenset({"GOPRIVATE", "GONOSUMDB", "GONOPROXY", "GOINSECURE", "GOAUTH", "PWD", "OLDPWD"})

MASK = "***"


def is_secret_name(name: str) -> bool:
    """True when a variable's name says its value is a secret (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, ...).

    Matching is by whole name part, so KEYBOARD_LAYOUT or MONKEY_PATCH stay visible while
    API_KEY, SSH_KEY and DB_PASSWORD do not.
    """
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    parts = [p for p in re.split(r"[^A-Z0-9]+", upper) if p]
    return any(p in _SECRET_WORDS or p.endswith(_SECRET_SUFFIXES) for p in parts)


_KEYWORDS = (r"(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?"
             r"|client[_-]?secret)")

_TEXT_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # PEM private keys, whole block.
    (re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
     r"-----BEGIN \1PRIVATE KEY-----***-----END \1PRIVATE KEY-----"),
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@'\"]+):([^/\s@'\"]+)@"), r"\1\2:***@"),
    # scheme://TOKEN@host -> scheme://***@host (a bare userinfo is usually a token; "git@" is not)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?!git@)([^/\s:@'\"]+)@"), r"\1***@"),
    # Known token shapes, keeping the prefix so the reader still sees what kind of token it was.
    (re.compile(r"\b(gh[opusr]_)[A-Za-z0-9]{16,}"), r"\1***"),
    (re.compile(r"\b(github_pat_)[A-Za-z0-9_]{16,}"), r"\1***"),
    (re.compile(r"\b(glpat-)[A-Za-z0-9_-]{16,}"), r"\1***"),
    (re.compile(r"\b(gl(?:cbt|dt|rt|ptt|soat)-)[A-Za-z0-9_-]{16,}"), r"\1***"),
    (re.compile(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA))[A-Z0-9]{16}\b"), r"\1***"),
    (re.compile(r"\b(xox[abprs]-)[A-Za-z0-9-]{8,}"), r"\1***"),
    (re.compile(r"\b(npm_)[A-Za-z0-9]{30,}"), r"\1***"),
    (re.compile(r"\b(pypi-)[A-Za-z0-9_-]{30,}"), r"\1***"),
    (re.compile(r"\b(AIza)[0-9A-Za-z_-]{30,}"), r"\1***"),
    (re.compile(r"\b(sk-(?:proj-)?)[A-Za-z0-9_-]{20,}"), r"\1***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "***"),
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(bearer|basic|token|digest)\s+)?([^\s'\",]+)"),
     lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{MASK}"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    # password=..., ?token=..., GITHUB_TOKEN=... in query strings, command lines and env dumps.
    (re.compile(rf"(?i)\b([A-Za-z0-9_.-]*{_KEYWORDS}[A-Za-z0-9_.-]*=)([^\s&;,'\"]+)"), r"\1***"),
    (re.compile(r"(?i)([?&;](?:pass|pw|pwd|auth|key|sig|signature)=)([^\s&;'\"]+)"), r"\1***"),
    # "password": "x" (JSON) and  password: x  (YAML, at the start of a line).
    (re.compile(rf"(?i)(\"[^\"\n]*{_KEYWORDS}[^\"\n]*\"\s*:\s*\")([^\"\n]*)(\")"), r"\1***\3"),
    (re.compile(rf"(?im)^(\s*-?\s*[A-Za-z0-9_.-]*{_KEYWORDS}[A-Za-z0-9_.-]*\s*:[ \t]+)"
                r"(?![*]{3})(\S[^\n]*)$"), r"\1***"),
    # --password x, --token=x (docker login, gh, curl -u is rarer and ambiguous)
    (re.compile(r"(?i)(--(?:password|passwd|token|secret|api-key|access-key)(?:=|\s+))(?!-)(\S+)"), r"\1***"),
    # .netrc: machine h login u password p
    (re.compile(r"(?i)(\bmachine\s+\S+\s+login\s+\S+\s+password\s+)(\S+)"), r"\1***"),
)


def redact(text: str) -> str:
    """Mask credentials anywhere in ``text``: URL passwords and tokens, known token shapes
    (GitHub, GitLab, AWS, Slack, npm, PyPI, ...), Authorization/Bearer values and
    ``password=``/``token=`` assignments. Idempotent; ordinary text is left as it is."""
    if not text:
        return text
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)
    return text


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
