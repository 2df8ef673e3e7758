"""Secret redaction: mask credentials in text and in environment variables before they are shown.

``redact`` masks credentials anywhere in a text: URL passwords, private keys, Authorization,
Bearer and Cookie values, command-line passwords (``curl -u``, ``docker login -p``,
``--password``), assignments to secret-named keys in every common shape (``-X main.dbPass=``,
``-X 'main.password=two words'``, ``PGPASSWORD='…'``, ``{"db_pass": "…"}``,
``aws_secret_access_key = …``) and the token formats Yelp's detect-secrets knows (GitHub, GitLab,
AWS, Slack, Stripe, npm, PyPI, JWT, ...). ``redact_env`` also masks every variable whose name
says it holds a secret (``is_secret_name``).

Every pattern runs on untrusted text, so every pattern is RE2 (``goci_doctor.safety.linear``): linear
time whatever the input. detect-secrets' own regular expressions are backtracking ones; we take
its plugins' token patterns and its keyword list as data and run them through RE2. Imports the
standard library, ``linear`` and its data file (``detect_secrets`` only to refresh that file).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from goci_doctor.safety import linear

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

MASK = "***"

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
    words = _detect_secrets_data()["keywords"]
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


# --------------------------------------------------------------------------------------------
# Token formats: detect-secrets' plugins, through RE2.

# Plugins whose findings are not credentials in our output (IP addresses), or that need
# look-behind RE2 cannot run and are covered by the keyword rule (IBM, Cloudant, Softlayer).
_SKIPPED_PLUGINS = frozenset({"IPPublicDetector", "PrivateKeyDetector"})
# The detect-secrets token rules only fit exact lengths; these catch the shorter or newer forms.
_EXTRA_TOKENS = (
    r"\bgh[opusr]_[A-Za-z0-9_]{16,}",
    r"\bgithub_pat_[A-Za-z0-9_]{16,}",
    r"\bgl(?:pat|cbt|dt|rt|ptt|soat|ft|imt|oas|agent)-[A-Za-z0-9_-]{16,}",
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{16}\b",
    r"\bxox[abprso]-[A-Za-z0-9-]{8,}",
    r"\bnpm_[A-Za-z0-9]{30,}",
    r"\bpypi-[A-Za-z0-9_-]{30,}",
    r"\bAIza[0-9A-Za-z_-]{30,}",
    r"\b(?:sk|rk)-(?:proj-)?[A-Za-z0-9_-]{20,}",
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+",
    r"\bhvs\.[A-Za-z0-9_-]{20,}",
)
_PREFIX = linear.compile(r"(?:github_pat_|[a-z]{2,6}[_-]|A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ABIA|ACCA|SG\.|hvs\.)")
_CONTEXT = " \t\r\n=:\"'"


def _re2_ready(pattern: str) -> str:
    # detect-secrets ends token rules with (?!\w) (RE2 has no look-ahead): masking a few more
    # word characters is harmless. RE2 caps counted repetition at 1000.
    return pattern.replace(r"(?!\w)", "").replace("{50,1024}", "{50,}")


DATA_FILE = "secret_patterns.json"


def detect_secrets_data() -> dict[str, object]:
    """What we take from the installed detect-secrets: its keyword list and, per plugin, the
    token patterns RE2 can run (look-behind keyword rules are left to the assignment rule).

    Shipped as ``data/secret_patterns.json`` so that redaction never imports detect-secrets at
    run time (it pulls in ``requests``); ``python -m goci_doctor.safety.redact --write`` refreshes the
    file and a test checks it matches the installed detect-secrets.
    """
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.keyword import DENYLIST

    plugins: dict[str, list[list[object]]] = {}
    classes: list[type] = sorted(get_mapping_from_secret_type_to_class().values(), key=lambda c: c.__name__)
    for cls in classes:
        if cls.__name__ in _SKIPPED_PLUGINS:
            continue
        for pattern in getattr(cls, "denylist", ()) or ():
            flags = pattern.flags & (re.IGNORECASE | re.MULTILINE)
            try:
                linear.compile(_re2_ready(pattern.pattern), flags)
            except re.error:
                continue
            plugins.setdefault(cls.__name__, []).append([_re2_ready(pattern.pattern), int(flags)])
    return {"keywords": list(DENYLIST), "plugins": plugins}


@functools.cache
def _detect_secrets_data() -> dict[str, Any]:
    # A plain file next to the package (importlib.resources costs ~5 ms of start-up to find it);
    # the resources API only when the package is not a folder on disk (a zip).
    beside = Path(__file__).resolve().parent.parent / "data" / DATA_FILE
    if beside.is_file():
        text = beside.read_text(encoding="utf-8")
    else:
        from importlib import resources

        text = resources.files("goci_doctor").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _token_sources() -> list[tuple[str, str, int]]:
    """(source, pattern, flags) of every token format, uncompiled."""
    found = [
        (name, pattern, int(flags))
        for name, patterns in _detect_secrets_data()["plugins"].items()
        for pattern, flags in patterns
    ]
    found.extend(("goci-doctor", p, 0) for p in _EXTRA_TOKENS)
    return found


@functools.cache
def token_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(source, pattern) of every token format redaction looks for: detect-secrets' plugin
    patterns (see ``detect_secrets_data``), then our own additions."""
    return tuple((name, linear.compile(pattern, flags)) for name, pattern, flags in _token_sources())


def group_count(pattern: str) -> int:
    """The capturing groups of a regular expression, counted from its text: ``(`` that is not
    escaped, not in a character class and not ``(?`` (but ``(?P<name>`` and ``(?<name>`` are).
    Compiling ~45 token patterns one by one only to learn this cost ~6 ms of every start-up."""
    count = 0
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":  # a leading "]" is a literal
                i += 1
            continue
        elif ch == "(":
            if not pattern.startswith("?", i + 1):
                count += 1
            elif pattern.startswith(("?P<", "?<"), i + 1) and not pattern.startswith(("?<=", "?<!"), i + 1):
                count += 1
        i += 1
    return count


@functools.cache
def _all_tokens() -> tuple[re.Pattern[str], tuple[tuple[int, int], ...]]:
    """Every token pattern as one alternation (one pass over the text instead of ~50), and per
    alternative the number of its outer group and of its own first group (0: none)."""
    parts: list[str] = []
    groups: list[tuple[int, int]] = []
    next_group = 1
    for _, pattern, pattern_flags in _token_sources():
        # Scoped flags keep each alternative's own case rule.
        flags = "".join(
            letter
            for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"))
            if pattern_flags & flag or pattern.startswith(f"(?{letter})")
        )
        body = pattern.removeprefix("(?i)").removeprefix("(?m)")
        parts.append(f"((?{flags}:{body}))" if flags else f"({body})")
        own = group_count(pattern)
        groups.append((next_group, next_group + 1 if own else 0))
        next_group += 1 + own
    return linear.compile("|".join(parts)), tuple(groups)


_TOKEN_TAIL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _token_spans(text: str) -> Iterator[tuple[int, int]]:
    combined, groups = _all_tokens()
    covered = 0
    for m in combined.finditer(text):
        if m.start() < covered:
            continue  # inside a token already masked (and scanned: linear overall)
        outer, inner = next(g for g in groups if m.start(g[0]) >= 0)
        begin, end = m.span(outer)
        if inner and m.group(inner) is not None and len(m.group(inner)) >= 8:
            begin, end = m.span(inner)
        # A token never ends inside a word: an exact-length rule must not leave a visible tail.
        while end < len(text) and text[end] in _TOKEN_TAIL:
            end += 1
        covered = end
        while begin < end and text[begin] in _CONTEXT:
            begin += 1
        while end > begin and text[end - 1] in _CONTEXT:
            end -= 1
        if end - begin >= 8:
            prefix = _PREFIX.match(text[begin:end])  # the slice: matching at pos re-encodes all text
            yield begin + (prefix.end() if prefix else 0), end


def _tokens(text: str) -> str:
    spans = list(_token_spans(text))
    if not spans:
        return text
    out: list[str] = []
    cursor = 0
    for begin, end in spans:
        if end <= cursor:
            continue
        begin = max(begin, cursor)
        if text[begin:end] == MASK:
            continue
        out.append(text[cursor:begin])
        out.append(MASK)
        cursor = end
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
    return _tokens(_assignments(text))


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


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m goci_doctor.safety.redact --write   (refresh data/secret_patterns.json)")
    target = Path(__file__).parent / "data" / DATA_FILE
    target.write_text(json.dumps(detect_secrets_data(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")
