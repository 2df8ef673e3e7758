"""A diagnosis as plain text: artifact facts, verdicts, crash chains (wrapped), run tables.

Imports: model, safety."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from goci_doctor.model import ArtifactFacts
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, RunResult, Verdict
from goci_doctor.safety.safetext import one_line

WIDTH = 100
_KIND_LABEL = {"symptom": "symptom", "mechanism": "mechanism", "cause": "root cause", "fix": "fix", "note": "note"}
_MARK = {"runs": "✓", "crashes": "✗", "unknown": "?", "error": "!"}


# --------------------------------------------------------------------------------------------
# Text


def _wrap(text: str, indent: str, width: int = WIDTH) -> list[str]:
    out: list[str] = []
    for para in text.splitlines() or [""]:
        out.extend(
            textwrap.wrap(
                para,
                width=max(40, width - len(indent)),
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [indent.rstrip()]
        )
    return out


def chain_lines(
    node: ChainNode, prefix: str = "", last: bool = True, root: bool = True, builds: Sequence[BuildResult] = ()
) -> list[str]:
    """The crash chain as an indented tree of text lines (``builds``: to mark fixes whose build failed)."""
    from goci_doctor.diagnosis.fixstatus import fix_status

    lines: list[str] = []
    branch = "" if root else ("└─ " if last else "├─ ")
    label = _KIND_LABEL.get(node.kind, node.kind)
    title = node.title
    if node.kind == "fix":
        status = fix_status(node, builds)
        title += f"   [{status.mark}]"
        if status.state == "build-failed" and status.reason:
            title += f": {status.reason}"
    child_prefix = prefix + ("" if root else ("   " if last else "│  "))
    body = child_prefix + ("│  " if node.children else "   ")
    first_width = max(40, WIDTH - len(prefix) - len(branch))
    head = textwrap.wrap(f"{label}: {title}", width=first_width, break_long_words=False, break_on_hyphens=False) or [
        f"{label}:"
    ]
    lines.append(f"{prefix}{branch}{head[0]}")
    rest = " ".join(head[1:])
    if rest:
        lines.extend(_wrap(rest, body))
    if node.detail:
        lines.extend(_wrap(node.detail, body))
    for ev in node.evidence:
        lines.extend(_wrap(one_line(f"evidence: {ev.fact} = {ev.value}  ({ev.source})"), body))
    for cmd in node.commands:
        lines.append(
            f"{body}$ {cmd}" if not cmd.startswith(("+", "-", "#", "FROM", "RUN", "COPY", "ENV")) else f"{body}  {cmd}"
        )
    for where in node.proven_in:
        lines.append(f"{body}✓ proven: runs on {where}")
    for where in node.failed_in:
        lines.append(f"{body}✗ still fails on {where}")
    for i, child in enumerate(node.children):
        lines.extend(chain_lines(child, child_prefix, i == len(node.children) - 1, root=False, builds=builds))
    return lines


def artifact_lines(facts: ArtifactFacts) -> list[str]:
    """Inspection facts as aligned 'key: value' lines."""
    rows: list[tuple[str, str]] = [("file", facts.path), ("format", facts.description)]
    if facts.kind == "elf":
        rows += [("arch", f"{facts.arch} ({facts.bits}-bit)"), ("linkage", facts.linkage or "?")]
        if facts.interpreter:
            rows.append(("loader", facts.interpreter))
        rows.append(("libc", facts.libc or "?"))
        if facts.needed:
            rows.append(("needed", ", ".join(facts.needed)))
        if facts.rpath or facts.runpath:
            rows.append(("rpath", ", ".join(facts.rpath + facts.runpath)))
        if facts.glibc_required:
            floor = ", ".join(facts.glibc_floor_symbols[:6])
            rows.append(("glibc floor", f"GLIBC_{facts.glibc_required}" + (f" (set by {floor})" if floor else "")))
        if facts.glibcxx_required:
            rows.append(("libstdc++", f"GLIBCXX_{facts.glibcxx_required}"))
    elif facts.kind == "pe":
        rows += [("arch", facts.arch), ("machine", facts.pe_machine), ("subsystem", facts.pe_subsystem)]
        if facts.pe_imports:
            rows.append(("imports", ", ".join(facts.pe_imports)))
    elif facts.kind == "macho":
        rows += [("os", facts.os), ("arch", facts.arch)]
    elif facts.shebang:
        rows.append(("interpreter", facts.shebang))
    if facts.go is not None:
        go = facts.go
        rows.append(("go", go.go_version + (f"  {go.path}" if go.path else "")))
        keys = ("CGO_ENABLED", "GOOS", "GOARCH", "GOAMD64", "GOARM", "-tags", "-ldflags", "-trimpath", "-buildmode")
        settings = [f"{k}={go.setting(k)}" for k in keys if go.setting(k)]
        if settings:
            rows.append(("build", " ".join(settings)))
        vcs = [f"{k}={v}" for k, v in go.settings if k.startswith("vcs.") and k != "vcs"]
        if vcs:
            rows.append(("vcs", " ".join(vcs)))
        if go.deps:
            rows.append(("deps", f"{len(go.deps)} modules"))
    for p in facts.problems:
        rows.append(("PROBLEM", p))
    width = max(len(k) for k, _ in rows)
    # Values come from the file (its name, PT_INTERP, -ldflags): one line each, whatever they hold.
    return [f"{k.rjust(width)}  {one_line(v)}" for k, v in rows]


def verdict_line(v: Verdict, target_desc: str = "") -> str:
    label = target_desc or v.target
    what = v.message if v.outcome == "crashes" else v.reason
    seen = ""
    if v.observed is not None:
        seen = f"  [ran in {v.observed.image}, {v.observed.libc}]"
    return one_line(f"  {_MARK[v.outcome]} {label:<28} {v.outcome:<8} {v.confidence:<8} {what}{seen}")


def run_table(runs: Sequence[RunResult]) -> list[str]:
    """Real runs: which image and which libc really ran, and what happened."""
    rows = [("target", "variant", "image really run", "libc found", "outcome", "exit", "message")]
    for r in runs:
        exit_txt = "" if r.exit_code is None else str(r.exit_code)
        if r.timed_out:
            exit_txt = "timeout"
        rows.append(
            (
                r.target,
                r.variant or "-",
                r.image,
                r.libc,
                r.outcome + (" (emulated)" if r.emulated else ""),
                exit_txt,
                one_line(r.message[:90]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    out = []
    for row in rows:
        out.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:6])) + "  " + row[6])
    return out


def hypothesis_lines(diagnosis: Diagnosis) -> list[str]:
    """For each symptom with several candidate causes: the leading one, the others, the deciding command."""
    from goci_doctor.knowledge import families

    fams = families()
    groups: dict[str, list[Any]] = {}
    for h in diagnosis.hypotheses:
        groups.setdefault(h.symptom or h.family, []).append(h)
    out: list[str] = []
    for hyps in groups.values():
        if len(hyps) < 2:
            continue
        lead = hyps[0]
        title = fams[lead.family].title if lead.family in fams else lead.family
        out.append(f"Leading hypothesis ({lead.confidence:.0%}): {title} [{lead.family}]")
        others = ", ".join(f"{h.family} {h.confidence:.0%}" for h in hyps[1:4])
        out.append(f"  also possible: {others}")
        if lead.decide:
            out.append(f"  to decide: {lead.decide}")
        out.append("")
    return out


def render_text(diagnosis: Diagnosis) -> str:
    out: list[str] = []
    for facts in diagnosis.artifacts:
        out.extend(artifact_lines(facts))
        out.append("")
    if diagnosis.verdicts:
        out.append("Verdicts (static analysis" + (", confirmed by real runs)" if diagnosis.runs else ")"))
        for v in diagnosis.verdicts:
            out.append(verdict_line(v))
        out.append("")
    own_runs = [r for r in diagnosis.runs if not r.variant]
    variant_runs = [r for r in diagnosis.runs if r.variant]
    if own_runs:
        out.append("Real runs")
        out.extend(run_table(own_runs))
        out.append("")
    if diagnosis.builds:
        out.append("Diagnostic builds")
        for b in diagnosis.builds:
            status = "built" if b.ok else "FAILED"
            extra = f"  -> {b.facts.description}" if b.facts else ""
            out.append(f"  {b.variant:<14} {status:<7} {b.title}{extra}")
        out.append("")
    if variant_runs:
        out.append("Variant runs")
        out.extend(run_table(variant_runs))
        out.append("")
    out.extend(hypothesis_lines(diagnosis))
    if diagnosis.chains:
        for i, chain in enumerate(diagnosis.chains, start=1):
            head = chain.children[0].title if chain.children else chain.title
            out.append(f"Crash chain {i}: {head}")
            out.extend("  " + ln for ln in chain_lines(chain, builds=diagnosis.builds))
            out.append("")
    elif diagnosis.kind == "log":
        out.append("No known failure recognised in this log.")
        out.append("")
    elif diagnosis.verdicts:
        out.append("No crash predicted on these targets.")
        out.append("")
    for note in diagnosis.notes:
        if diagnosis.kind == "log" and note.startswith("no known failure"):
            continue
        out.append(f"note: {note}")
    return "\n".join(out).rstrip() + "\n"
