"""Renderers: a ``Diagnosis`` (or a saved ``Report``) as text, JSON, Markdown or SARIF.

All of them walk the same recursive ``ChainNode`` structure. JSON documents carry
``schema_version`` (see docs/schema.json) and can be loaded back with ``load_report``.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from goci_doctor import __version__
from goci_doctor.model import (
    SCHEMA_VERSION,
    ArtifactFacts,
    BadInputError,
    BuildResult,
    ChainNode,
    Diagnosis,
    Report,
    RunResult,
    Verdict,
    from_jsonable,
    to_jsonable,
)
from goci_doctor.outfile import write_report
from goci_doctor.safetext import one_line

FORMATS = ("text", "json", "markdown", "sarif")
WIDTH = 100
_KIND_LABEL = {"symptom": "symptom", "mechanism": "mechanism", "cause": "root cause", "fix": "fix", "note": "note"}
_MARK = {"runs": "✓", "crashes": "✗", "unknown": "?", "error": "!"}


def render(subject: Diagnosis | Report, fmt: str) -> str:
    """Render a diagnosis or report in one of FORMATS, secrets masked and control characters
    neutralised (``safetext.clean_output``): the TUI export and the CLI both come through here."""
    from goci_doctor.safetext import clean_output

    return clean_output(_render(subject, fmt), fmt)


def _render(subject: Diagnosis | Report, fmt: str) -> str:
    report = subject if isinstance(subject, Report) else None
    diagnosis = subject.diagnosis if isinstance(subject, Report) else subject
    if fmt == "text":
        return render_text(diagnosis)
    if fmt == "json":
        return json.dumps(report_document(report) if report else diagnosis_document(diagnosis), indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(diagnosis, report)
    if fmt == "sarif":
        return json.dumps(render_sarif(diagnosis), indent=2, ensure_ascii=False) + "\n"
    raise BadInputError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


# --------------------------------------------------------------------------------------------
# JSON


def diagnosis_document(diagnosis: Diagnosis) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "kind": "diagnosis", "tool_version": __version__,
            "has_problem": diagnosis.has_problem, "diagnosis": to_jsonable(diagnosis)}


def report_document(report: Report) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "kind": "report", **to_jsonable(report)}


def report_to_json(report: Report) -> str:
    """The report as a JSON document, cleaned like every output (history and the TUI export write it)."""
    from goci_doctor.safetext import clean_json

    return clean_json(json.dumps(report_document(report), indent=2, ensure_ascii=False) + "\n")


def load_report(path: str | os.PathLike[str]) -> Report:
    """Load a JSON report (or a diagnosis document) written by goci-doctor; one clear error otherwise."""
    from goci_doctor import safeio

    p = Path(path)
    try:
        raw = safeio.read_bytes(p, limit=safeio.MAX_REPORT_BYTES)
    except safeio.UnsafeInput as exc:
        raise BadInputError(f"{p}: {exc.reason} (report file)") from None
    try:
        doc = safeio.loads_json(raw, p)
    except UnicodeDecodeError:
        raise BadInputError(f"{p}: not a goci-doctor report (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}: not a goci-doctor report (invalid JSON at line {exc.lineno})") from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise BadInputError(f"{p}: not a goci-doctor report (no schema_version)")
    if not isinstance(doc["schema_version"], int) or doc["schema_version"] > SCHEMA_VERSION:
        raise BadInputError(f"{p}: report schema {doc['schema_version']} is newer than this goci-doctor "
                            f"understands ({SCHEMA_VERSION}); upgrade goci-doctor")
    try:
        if doc.get("kind") == "diagnosis":
            diag = from_jsonable(Diagnosis, doc["diagnosis"])
            return Report(diagnosis=diag, tool_version=doc.get("tool_version", ""))
        body = {k: v for k, v in doc.items() if k not in ("schema_version", "kind")}
        report: Report = from_jsonable(Report, body)
        return report
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInputError(f"{p}: damaged goci-doctor report ({exc})") from None


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a report file completely or not at all; devices, FIFOs and symlinks are never replaced
    (see ``outfile.write_report``)."""
    return write_report(path, text)


def write_output(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output`` (-o; ``-`` is stdout): a failed write keeps the old file."""
    if not output:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_report(output, text)
    except OSError as exc:
        raise BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Text


def _wrap(text: str, indent: str, width: int = WIDTH) -> list[str]:
    out: list[str] = []
    for para in text.splitlines() or [""]:
        out.extend(textwrap.wrap(para, width=max(40, width - len(indent)), initial_indent=indent,
                                 subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
                   or [indent.rstrip()])
    return out


def chain_lines(
    node: ChainNode, prefix: str = "", last: bool = True, root: bool = True, builds: Sequence[BuildResult] = ()
) -> list[str]:
    """The crash chain as an indented tree of text lines (``builds``: to mark fixes whose build failed)."""
    from goci_doctor.fixstatus import fix_status

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
    head = textwrap.wrap(f"{label}: {title}", width=first_width, break_long_words=False,
                         break_on_hyphens=False) or [f"{label}:"]
    lines.append(f"{prefix}{branch}{head[0]}")
    rest = " ".join(head[1:])
    if rest:
        lines.extend(_wrap(rest, body))
    if node.detail:
        lines.extend(_wrap(node.detail, body))
    for ev in node.evidence:
        lines.extend(_wrap(one_line(f"evidence: {ev.fact} = {ev.value}  ({ev.source})"), body))
    for cmd in node.commands:
        lines.append(f"{body}$ {cmd}" if not cmd.startswith(("+", "-", "#", "FROM", "RUN", "COPY", "ENV"))
                     else f"{body}  {cmd}")
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
        rows.append((r.target, r.variant or "-", r.image, r.libc, r.outcome + (" (emulated)" if r.emulated else ""),
                     exit_txt, one_line(r.message[:90])))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    out = []
    for row in rows:
        out.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:6])) + "  " + row[6])
    return out


def hypothesis_lines(diagnosis: Diagnosis) -> list[str]:
    """For each symptom with several candidate causes: the leading one, the others, the deciding command."""
    from goci_doctor.diagnosis import families

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


# --------------------------------------------------------------------------------------------
# Markdown


_DOCKERFILE_WORDS = frozenset(
    "FROM RUN COPY ADD ENV ARG WORKDIR CMD ENTRYPOINT USER LABEL EXPOSE SHELL VOLUME HEALTHCHECK ONBUILD".split()
)


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def md_code(text: str) -> str:
    """``text`` as a Markdown code span that its own backticks cannot close (a longer fence)."""
    ticks = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_code_blocks(lines: Sequence[str], indent: str = "") -> list[str]:
    """Fenced blocks for command lines: Dockerfile instructions fenced as ``dockerfile``, the rest as
    ``sh`` (a run of each kind per block), each fence longer than any backtick run inside."""
    out: list[str] = []
    groups: list[tuple[str, list[str]]] = []
    for line in lines:
        words = line.split(maxsplit=1)
        kind = "dockerfile" if words and words[0] in _DOCKERFILE_WORDS else "sh"
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(line)
        else:
            groups.append((kind, [line]))
    for kind, group in groups:
        fence = "`" * max(3, 1 + max(_longest_backtick_run(line) for line in group))
        out += [f"{indent}{fence}{kind}", *(f"{indent}{line}" for line in group), f"{indent}{fence}"]
    return out


def markdown_chain_lines(node: ChainNode, depth: int = 0, builds: Sequence[BuildResult] = ()) -> list[str]:
    from goci_doctor.fixstatus import fix_status

    pad = "  " * depth
    label = _KIND_LABEL.get(node.kind, node.kind)
    title = node.title.replace("`", "'") if node.kind == "symptom" else node.title
    mark = ""
    if node.kind == "fix":
        status = fix_status(node, builds)
        mark = f" — **{status.mark}**" + (f": {status.reason}" if status.reason else "")
    lines = [f"{pad}- **{label}**: {title}{mark}"]
    if node.detail:
        lines.append(f"{pad}  {node.detail}")
    for ev in node.evidence:
        lines.append(f"{pad}  - evidence: {ev.fact} = {md_code(ev.value)} ({ev.source})")
    if node.commands:
        lines.extend(md_code_blocks(node.commands, f"{pad}  "))
    for where in node.proven_in:
        lines.append(f"{pad}  - runs on {where}")
    for where in node.failed_in:
        lines.append(f"{pad}  - still fails on {where}")
    for child in node.children:
        lines.extend(markdown_chain_lines(child, depth + 1, builds))
    return lines


def render_markdown(diagnosis: Diagnosis, report: Report | None = None) -> str:
    title = (report.title if report and report.title else "") or f"goci-doctor: {diagnosis.subject}"
    out = [f"# {title}", ""]
    if report and report.created:
        out += [f"_Generated {report.created} by goci-doctor {report.tool_version or __version__}._", ""]
    for facts in diagnosis.artifacts:
        out += ["## Artifact", "", "```", *artifact_lines(facts), "```", ""]
    if diagnosis.verdicts:
        out += ["## Verdicts", "", "| target | outcome | confidence | message / reason | observed in |",
                "|---|---|---|---|---|"]
        for v in diagnosis.verdicts:
            what = (v.message if v.outcome == "crashes" else v.reason).replace("|", "\\|").replace("`", "'")
            seen = f"{v.observed.image} ({v.observed.libc})" if v.observed else "predicted"
            out.append(f"| {v.target} | {_MARK[v.outcome]} {v.outcome} | {v.confidence} | {what} | {seen} |")
        out.append("")
    if diagnosis.runs:
        out += ["## Real runs", "", "| target | variant | image really run | libc | outcome | message |",
                "|---|---|---|---|---|---|"]
        for r in diagnosis.runs:
            msg = r.message.replace("|", "\\|").replace("`", "'")
            out.append(f"| {r.target} | {r.variant or '-'} | {r.image} | {r.libc} | {r.outcome} | {msg} |")
        out.append("")
    hyp = hypothesis_lines(diagnosis)
    if hyp:
        out += ["## Hypotheses", "", "```", *[ln for ln in hyp if ln], "```", ""]
    if diagnosis.chains:
        from goci_doctor.fixstatus import summary_line

        out += ["## Crash chains", ""]
        best = summary_line(diagnosis, diagnosis.builds)
        if best:
            head, _, cmd = best.partition("\n")
            out += [f"**{head}**", ""] + ([*md_code_blocks([cmd.removeprefix("$ ")]), ""] if cmd else [])
        for chain in diagnosis.chains:
            head = chain.children[0].title if chain.children else chain.title
            out += [f"### {head}", "", *markdown_chain_lines(chain, builds=diagnosis.builds), ""]
    if report and report.env is not None:
        env = report.env
        out += ["## Environment", "", f"- host: {env.os}/{env.arch}, kernel {env.kernel}, "
                f"libc {env.libc} {env.libc_version}"]
        if env.go:
            out.append(f"- go: {env.go.get('GOVERSION', '?')} GOOS={env.go.get('GOOS', '?')} "
                       f"GOARCH={env.go.get('GOARCH', '?')} CGO_ENABLED={env.go.get('CGO_ENABLED', '?')}")
        if env.ci_provider:
            out.append(f"- CI: {env.ci_provider}")
        out.append("")
    for note in diagnosis.notes:
        out.append(f"> {note}")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# SARIF


def render_sarif(diagnosis: Diagnosis, parts: Sequence[Diagnosis] = ()) -> dict[str, Any]:
    """One SARIF result per crash chain, at the artifact (or the log line) it was found in.

    ``parts``: the per-artifact diagnoses a merged one was made of, so that each result is
    located at its own artifact rather than at all of them."""
    from goci_doctor import diagnosis as engine
    from goci_doctor.sarif import SarifResult, SarifRule, fingerprint, sarif_log

    fams = engine.families()
    used = []
    results = []
    located = [(part.subject, chain) for part in parts or (diagnosis,) for chain in part.chains]
    for subject, chain in located:
        fam_id = chain.id.split("/")[0]
        fam = fams.get(fam_id)
        if fam is None:
            continue
        level = {"error": "error", "warning": "warning"}.get(fam.severity, "note")
        if fam_id not in used:
            used.append(fam_id)
        line = 0
        uri = subject
        for ev in chain.evidence:
            if ev.fact == "log line" and ":" in ev.source:
                src, _, no = ev.source.rpartition(":")
                if no.isdigit():
                    uri, line = src, int(no)
        fixes = [n for n in chain.walk() if n.kind == "fix"]
        cause = next((n for n in chain.walk() if n.kind == "cause"), None)
        text = chain.title + (f" — {cause.title}" if cause else "")
        if fixes:
            text += f" Fix: {fixes[0].title}" + (f" (`{fixes[0].commands[0]}`)" if fixes[0].commands else "")
        results.append(SarifResult(rule_id=fam_id, message=text, level=level, uri=uri, line=line,  # type: ignore[arg-type]
                                   fingerprint=fingerprint(fam_id, uri, chain.title)))
    rules = []
    for fam_id in used:
        fam = fams[fam_id]
        level = {"error": "error", "warning": "warning"}.get(fam.severity, "note")
        rules.append(SarifRule(id=fam_id, name=fam_id, short=fam.title, full=fam.mechanism.split(". ")[0] + ".",
                               help=f"Source: {fam.source}", level=level))  # type: ignore[arg-type]
    return sarif_log("goci-doctor", __version__, rules, results)
