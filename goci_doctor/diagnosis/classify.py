"""Which failure family a message belongs to: every family's patterns (families.toml) run over
log lines in linear time (RE2), with a cheap literal prefilter first, and shared symptoms resolved
by context. Used by the lab (a real run's message) and by explain (pasted logs).

Imports: model, platforms, knowledge, safety.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import re2

from goci_doctor import platforms
from goci_doctor.knowledge.failures import families
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import Finding
from goci_doctor.safety import linear

MIN_HINT = 2


def literal_hints(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lowercase literals of which every match of ``pattern`` contains at least one; None if unknown.

    Read from the parsed pattern: for each top-level alternative, its longest run of plain literal
    characters. A line without any of them cannot match, so a substring test (fast, in C) can skip
    the regular expression (slow on a 100 MB log). Alternatives with no run of MIN_HINT characters
    make the whole pattern "unknown": it is then always run.
    """
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except (re.error, RecursionError):
        return None
    items = list(parsed)
    branches = [list(b) for b in items[0][1][1]] if len(items) == 1 and items[0][0] is sre_c.BRANCH else [items]

    def flat(ops: list[tuple[object, object]]) -> Iterator[tuple[object, object]]:
        # A group of plain literals ("(?P<x>literal)") is as required as the literals around it.
        for op, av in ops:
            if op is sre_c.SUBPATTERN and not any(o is sre_c.BRANCH for o, _ in av[-1]):  # type: ignore[index]
                yield from flat(list(av[-1]))  # type: ignore[index]
            else:
                yield op, av

    hints: list[str] = []
    for branch in branches:
        best, run = "", ""
        for op, av in flat(branch):
            if op is sre_c.LITERAL:
                run += chr(av)  # type: ignore[arg-type]
                continue
            best, run = max(best, run, key=len), ""
        best = max(best, run, key=len)
        if len(best) < MIN_HINT:
            return None
        hints.append(best.lower())
    return tuple(dict.fromkeys(hints))


@dataclass(frozen=True)
class Screen:
    """Substring screens for a set of patterns: hints to look for, and patterns that must always run."""

    hints: tuple[str, ...]
    always: tuple[re.Pattern[str], ...]

    def may_match(self, low: str) -> bool:
        return any(h in low for h in self.hints) or bool(self.always)


def screen(patterns: Iterable[re.Pattern[str]]) -> Screen:
    hints: list[str] = []
    always: list[re.Pattern[str]] = []
    for p in patterns:
        found = literal_hints(p)
        if found is None:
            always.append(p)
        else:
            hints.extend(found)
    return Screen(tuple(dict.fromkeys(hints)), tuple(always))


@functools.cache
def linear_pattern(pattern: str) -> Any:
    """The google-re2 (linear-time) form of a families.toml pattern: log lines are untrusted text."""
    return re2.compile("(?i)" + pattern)


@functools.cache
def _family_screens() -> dict[str, Screen]:
    return {fam.id: screen(fam.patterns) for fam in families().values()}


@functools.cache
def _line_screen() -> Screen:
    return screen(p for fam in families().values() for p in fam.patterns)


MAX_LINE = 4000
MAX_FINDINGS_PER_FAMILY = 50


def _line_facts(match: Any, line: str) -> dict[str, str]:
    facts = {k: v for k, v in match.groupdict().items() if v}
    libpath = facts.pop("libpath", "")
    libdir = facts.pop("libdir", "")
    if libdir or libpath:
        triple = libdir or ("aarch64" if "aarch64" in libpath else "")
        if triple:
            facts["arch"] = platforms.goarch(triple)
    facts["line"] = line.strip()
    return facts


def scan_lines(lines: Iterable[str]) -> list[Finding]:
    """Match log lines against every family's patterns (cheap prefilter first: logs can be huge)."""
    from goci_doctor.safety.redact import redact

    fams = families()
    found: dict[str, list[Finding]] = {}
    screen = _line_screen()
    screens = _family_screens()
    for no, raw in enumerate(lines, start=1):
        line = raw[:MAX_LINE]
        low = line.lower()
        if not screen.may_match(low):
            continue
        # Lines kept as evidence end up in reports and history: no token or password may ride along.
        line = redact(line)
        low = line.lower()
        for fam in fams.values():
            if len(found.get(fam.id, ())) >= MAX_FINDINGS_PER_FAMILY or not screens[fam.id].may_match(low):
                continue
            facts: dict[str, str] = {}
            matched = False
            for pat in fam.patterns:  # every pattern of the family may add facts (e.g. the libc path's arch)
                m = linear_pattern(pat.pattern).search(line)
                if m:
                    matched = True
                    for k, v in _line_facts(m, line).items():
                        facts.setdefault(k, v)
            if matched:
                found.setdefault(fam.id, []).append(Finding(fam.id, tuple(sorted(facts.items())), (), line.strip(), no))
    return [f for items in found.values() for f in items]


def context_hits(text: str) -> set[str]:
    hits = set()
    for fam in families().values():
        if fam.group and any(linear_pattern(p.pattern).search(text) for p in fam.context):
            hits.add(fam.id)
    return hits


def _resolve_groups(findings: list[Finding], text: str) -> list[Finding]:
    """Where several families share a symptom, keep the one the rest of the log points at."""
    fams = families()
    context = context_hits(text)
    by_line: dict[int, list[Finding]] = {}
    for f in findings:
        by_line.setdefault(f.line_no, []).append(f)
    kept: list[Finding] = []
    for _no, items in sorted(by_line.items()):
        groups: dict[str, list[Finding]] = {}
        for f in items:
            groups.setdefault(fams[f.family].group or f.family, []).append(f)
        for gname, members in groups.items():
            if len(members) == 1 and not fams[members[0].family].group:
                kept.append(members[0])
                continue
            # Families with a specific match for this line win over shared ones (e.g. "Error relocating").
            chosen = [m for m in members if m.family in context and not fams[m.family].generic]
            if not chosen:
                generic = [m for m in members if fams[m.family].generic]
                chosen = generic or members[:1]
            if gname == "exec-format" and "empty-output" in {m.family for m in members}:
                chosen = [c for c in chosen if c.family != "empty-output"] or chosen
            kept.append(chosen[0])
    # empty-output is only a reading of "exec format error" when inspection says so; drop it from logs.
    return [f for f in kept if f.family != "empty-output"]


FROM_LINE = linear.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE)


def classify_message(message: str, facts: ArtifactFacts | None = None) -> str:
    """The family an observed error message belongs to, using artifact facts to break ties."""
    if facts is not None:
        if facts.kind == "pe" and "exec format" in message:
            return "pe-on-linux"
        if facts.kind == "macho" and "exec format" in message:
            return "macho-on-linux"
        if (facts.kind in ("empty", "unknown") or facts.is_corrupt) and "exec format" in message:
            return "empty-output"
    found = _resolve_groups(scan_lines(message.splitlines()), message)
    return found[0].family if found else ""
