"""Log explanation: recognise the failure families in a pasted crash message or a CI log.

Every line is matched against the patterns of ``data/families.toml``; a cheap substring screen
derived from the parsed patterns skips the lines no pattern can match, so a 100 MB CI log is read
in one pass and bounded memory. Where several families share a symptom ("exec format error"), the
rest of the log (GOARCH=, FROM lines, windows.h...) decides. Each recognised family becomes a crash
chain built by ``diagnosis.build_chain``.

Imports: diagnosis.chains, diagnosis.checks, diagnosis.classify, diagnosis.common,
diagnosis.explain.hypotheses, diagnosis.explain.logpeel, diagnosis.explain.pastefacts,
knowledge.failures, model, safety.linear.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from goci_doctor.diagnosis.chains import build_chain
from goci_doctor.diagnosis.checks import level_facts
from goci_doctor.diagnosis.classify import FROM_LINE, MAX_LINE, Screen, context_hits, linear_pattern, scan_lines, screen
from goci_doctor.diagnosis.common import at_least, older_go_facts
from goci_doctor.diagnosis.explain.pastefacts import PasteFacts
from goci_doctor.knowledge.failures import families
from goci_doctor.model import Evidence
from goci_doctor.records import ChainNode, Diagnosis, Finding, Hypothesis
from goci_doctor.safety import linear


def explain_text(text: str, source: str = "log") -> Diagnosis:
    """Recognise the failure families in a pasted crash or CI log and build their crash chains."""
    return explain_lines(text.splitlines(), source)


@functools.cache
def _context_any() -> Any:
    parts = [p.pattern for fam in families().values() for p in fam.context]
    return linear.compile("|".join(f"(?:{p})" for p in parts) or "$^", re.IGNORECASE)


@functools.cache
def _context_screen() -> Screen:
    return screen(p for fam in families().values() for p in fam.context)


def _is_context_line(line: str) -> bool:
    low = line.lower()
    if "goarch=" in low or "goos=" in low or "goarm=" in low:
        return True
    screen = _context_screen()
    if any(h in low for h in screen.hints):
        return bool(_context_any().search(line))
    return any(linear_pattern(p.pattern).search(line) for p in screen.always)


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
                m = FROM_LINE.match(line)
                if m:
                    images.append(m.group("image"))
                    del images[:-20]
            yield peeled.core

    found = [f for f in scan_lines(tap(lines)) if f.family != "empty-output"]
    paste_facts.feed_many(batch)
    text = "\n".join(context_lines + [f.line for f in found])
    ranked = hypotheses.rank(found, paste_facts, context_hits(text))
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
        ev = [Evidence("log line", line, f"{source}:{first.line_no}", file=source, line=first.line_no)]
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
