"""Log explanation: recognise the failure families in a pasted crash message or a CI log.

Every line is matched against the patterns of ``data/families.toml``; a cheap substring screen
derived from the parsed patterns skips the lines no pattern can match, so a 100 MB CI log is read
in one pass and bounded memory. Where several families share a symptom ("exec format error"), the
rest of the log (GOARCH=, FROM lines, windows.h...) decides. Each recognised family becomes a crash
chain built by ``diagnosis.build_chain``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import re2

from goci_doctor import platforms
from goci_doctor.diagnosis import (
    at_least,
    build_chain,
    families,
    level_facts,
    older_go_facts,
)
from goci_doctor.diagnosis.explain.pastefacts import PasteFacts
from goci_doctor.model import ArtifactFacts, ChainNode, Diagnosis, Evidence, Finding, Hypothesis
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
class _Screen:
    """Substring screens for a set of patterns: hints to look for, and patterns that must always run."""

    hints: tuple[str, ...]
    always: tuple[re.Pattern[str], ...]

    def may_match(self, low: str) -> bool:
        return any(h in low for h in self.hints) or bool(self.always)


def _screen(patterns: Iterable[re.Pattern[str]]) -> _Screen:
    hints: list[str] = []
    always: list[re.Pattern[str]] = []
    for p in patterns:
        found = literal_hints(p)
        if found is None:
            always.append(p)
        else:
            hints.extend(found)
    return _Screen(tuple(dict.fromkeys(hints)), tuple(always))


@functools.cache
def _linear(pattern: str) -> Any:
    """The google-re2 (linear-time) form of a families.toml pattern: log lines are untrusted text."""
    return re2.compile("(?i)" + pattern)


@functools.cache
def _family_screens() -> dict[str, _Screen]:
    return {fam.id: _screen(fam.patterns) for fam in families().values()}


@functools.cache
def _line_screen() -> _Screen:
    return _screen(p for fam in families().values() for p in fam.patterns)


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
                m = _linear(pat.pattern).search(line)
                if m:
                    matched = True
                    for k, v in _line_facts(m, line).items():
                        facts.setdefault(k, v)
            if matched:
                found.setdefault(fam.id, []).append(Finding(fam.id, tuple(sorted(facts.items())), (), line.strip(), no))
    return [f for items in found.values() for f in items]


def _context_hits(text: str) -> set[str]:
    hits = set()
    for fam in families().values():
        if fam.group and any(_linear(p.pattern).search(text) for p in fam.context):
            hits.add(fam.id)
    return hits


def _resolve_groups(findings: list[Finding], text: str) -> list[Finding]:
    """Where several families share a symptom, keep the one the rest of the log points at."""
    fams = families()
    context = _context_hits(text)
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


_FROM = linear.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)", re.IGNORECASE | re.MULTILINE)


def explain_text(text: str, source: str = "log") -> Diagnosis:
    """Recognise the failure families in a pasted crash or CI log and build their crash chains."""
    return explain_lines(text.splitlines(), source)


@functools.cache
def _context_any() -> Any:
    parts = [p.pattern for fam in families().values() for p in fam.context]
    return linear.compile("|".join(f"(?:{p})" for p in parts) or "$^", re.IGNORECASE)


@functools.cache
def _context_screen() -> _Screen:
    return _screen(p for fam in families().values() for p in fam.context)


def _is_context_line(line: str) -> bool:
    low = line.lower()
    if "goarch=" in low or "goos=" in low or "goarm=" in low:
        return True
    screen = _context_screen()
    if any(h in low for h in screen.hints):
        return bool(_context_any().search(line))
    return any(_linear(p.pattern).search(line) for p in screen.always)


MAX_CONTEXT_LINES = 2000


def explain_lines(lines: Iterable[str], source: str = "log") -> Diagnosis:
    """Like explain_text, over an iterable of lines, in one pass and bounded memory (for huge CI logs).

    Each line is peeled to its core message first (logpeel), the rest of the paste is read for
    facts (pastefacts), and where several families share a symptom they are ranked (hypotheses):
    one chain per symptom, for its leading hypothesis; the full ranking is in ``hypotheses``.
    """
    from goci_doctor.diagnosis.explain import hypotheses
    from goci_doctor.diagnosis.explain.logpeel import peel_line
    from goci_doctor.diagnosis.explain.pastefacts import PasteFacts

    context_lines: list[str] = []
    images: list[str] = []
    pasted: dict[int, str] = {}
    paste_facts = PasteFacts()

    batch: list[str] = []

    def tap(it: Iterable[str]) -> Iterator[str]:
        for no, raw in enumerate(it, start=1):
            peeled = peel_line(raw[:MAX_LINE])
            line = peeled.text
            batch.append(line)
            if len(batch) >= _FACT_BATCH:
                paste_facts.feed_many(batch)
                batch.clear()
            if peeled.core != line and len(pasted) < MAX_CONTEXT_LINES:
                pasted[no] = line  # quote what the user pasted, not our rewording
            if len(context_lines) < MAX_CONTEXT_LINES and _is_context_line(line):
                context_lines.append(line)
            if "FROM" in line or "from" in line:
                m = _FROM.match(line)
                if m:
                    images.append(m.group("image"))
                    del images[:-20]
            yield peeled.core

    found = [f for f in scan_lines(tap(lines)) if f.family != "empty-output"]
    paste_facts.feed_many(batch)
    text = "\n".join(context_lines + [f.line for f in found])
    ranked = hypotheses.rank(found, paste_facts, _context_hits(text))
    chains: list[ChainNode] = []
    merged: list[Finding] = []
    ranking: list[Hypothesis] = []
    for r in ranked:
        lead = r.leading
        first = min(r.findings, key=lambda f: f.line_no)
        facts: dict[str, str] = {}
        # Later lines of the same failure add what the first lacks (bash names the HTML line second).
        for g in sorted(r.findings, key=lambda f: f.line_no):
            for k, v in g.facts:
                facts.setdefault(k, v)
        if images and "target" not in facts:
            facts["target"] = images[-1]
        _paste_facts_into(facts, paste_facts)
        if lead.family == "cgo-cross-no-cc":
            _cross_facts(facts, text)
        _log_level_facts(lead.family, facts, text)
        line = pasted.get(first.line_no, first.line)
        facts["line"] = line
        ev = [Evidence("log line", line, f"{source}:{first.line_no}")]
        lines_seen = {f.line_no for f in r.findings}
        if len(lines_seen) > 1:
            ev.append(Evidence("occurrences", str(len(lines_seen)), source))
        for key, value in paste_facts.summary().items():
            if key in _DECIDING_FACTS:
                ev.append(Evidence(key.replace("_", " "), value, f"{source} (pasted evidence)"))
        chains.append(build_chain(lead.family, facts, ev, symptom_text=line))
        merged.append(Finding(lead.family, tuple(sorted(facts.items())), (), line, first.line_no))
        ranking.extend(r.hypotheses)
    notes = () if chains else ("no known failure recognised in the log",)
    return Diagnosis(
        subject=source, kind="log", chains=tuple(chains), findings=tuple(merged), notes=notes, hypotheses=tuple(ranking)
    )


_FACT_BATCH = 256
_DECIDING_FACTS = (
    "host_arch",
    "binary_arch",
    "binary_format",
    "interpreter",
    "libc",
    "goos",
    "goarch",
    "gohostos",
    "kernel",
    "glibc",
)


def _paste_facts_into(facts: dict[str, str], pf: PasteFacts) -> None:
    """Template facts from the pasted evidence (never over what the failing line itself said)."""
    if pf.binary_arch:
        facts.setdefault("arch", pf.binary_arch)
    for key, value in (
        ("host_arch", pf.host_arch),
        ("goarch", pf.goarch or pf.binary_arch),
        ("goos", pf.goos),
        ("interpreter", pf.interpreter),
        ("have", f"glibc {pf.glibc}" if pf.glibc else ""),
    ):
        if value:
            facts.setdefault(key, value)


def _log_level_facts(family: str, facts: dict[str, str], text: str) -> None:
    """CPU-level facts for chains explained from a log: the runtime's level, or GOARM from the log."""
    if family == "cpu-level" and facts.get("level"):
        for k, v in level_facts("GOAMD64", facts["level"]).items():
            facts.setdefault(k, v)
    elif family == "macos-too-old" and facts.get("wanted"):
        wanted = facts["wanted"]
        older = older_go_facts(
            lambda r: bool(r.min_macos_version) and not at_least(r.min_macos_version, wanted),
            f"macOS releases older than {wanted}",
        )
        for k, v in {**older, "have_macos": "an older macOS"}.items():
            facts.setdefault(k, v)
    elif family == "arm-level":
        m = re.search(r"GOARM=(\d)", text)
        level = m.group(1) if m else "7"
        lf = level_facts("GOARM", level)
        if not m:
            lf["level_title"] += " (GOARM=7 is the default when cross-compiling to GOARCH=arm)"
        for k, v in lf.items():
            facts.setdefault(k, v)


def _cross_facts(facts: dict[str, str], text: str) -> None:
    if "windows.h" in facts.get("line", "") or "windows.h" in text:
        facts.setdefault("goos", "windows")
        facts.setdefault("goarch", "amd64")
    m = re.search(r"GOARCH=(\w+)", text)
    if m and "goarch" not in facts:
        facts["goarch"] = m.group(1)
    if facts.get("bits") == "64" and "goarch" not in facts:
        facts["goarch"] = "amd64"


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
