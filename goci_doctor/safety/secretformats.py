"""Token formats of credentials (GitHub, GitLab, AWS, Slack, Stripe, npm, PyPI, JWT, ...), masked
wherever they appear in a text (``mask_tokens``), and detect-secrets' keyword list.

Yelp's detect-secrets knows the formats; its regular expressions backtrack, so we take its
plugins' token patterns and keyword list as data (``data/secret_patterns.json``, refreshed by
``python -m goci_doctor.safety.secretformats --write`` and checked against the installed
detect-secrets by a test) and run them through RE2: linear time whatever the input.

Imports: the standard library, ``safety.linear`` and its data file (``detect_secrets`` only to
refresh that file).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

from goci_doctor.safety import linear

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

MASK = "***"
"""What a masked secret reads, in every output."""


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
    run time (it pulls in ``requests``); ``python -m goci_doctor.safety.secretformats --write`` refreshes the
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


def keywords() -> list[str]:
    """detect-secrets' keyword list (api_?key, db_?pass, passwd, contraseña, ...), as patterns."""
    words: list[str] = _detect_secrets_data()["keywords"]
    return words


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


def mask_tokens(text: str) -> str:
    """``text`` with every token of a known format replaced by the mask (linear time)."""
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


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m goci_doctor.safety.secretformats --write   (refresh data/secret_patterns.json)")
    target = Path(__file__).resolve().parent.parent / "data" / DATA_FILE
    target.write_text(json.dumps(detect_secrets_data(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")
