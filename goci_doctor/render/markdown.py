"""A diagnosis (or a saved report) as Markdown: for pull-request comments and exports.

Imports: model, render.text."""

from __future__ import annotations

from collections.abc import Sequence

from goci_doctor import __version__
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, Report
from goci_doctor.render.text import _KIND_LABEL, _MARK, artifact_lines, hypothesis_lines

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
    from goci_doctor.diagnosis.fixstatus import fix_status

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
        out += [
            "## Verdicts",
            "",
            "| target | outcome | confidence | message / reason | observed in |",
            "|---|---|---|---|---|",
        ]
        for v in diagnosis.verdicts:
            what = (v.message if v.outcome == "crashes" else v.reason).replace("|", "\\|").replace("`", "'")
            seen = f"{v.observed.image} ({v.observed.libc})" if v.observed else "predicted"
            out.append(f"| {v.target} | {_MARK[v.outcome]} {v.outcome} | {v.confidence} | {what} | {seen} |")
        out.append("")
    if diagnosis.runs:
        out += [
            "## Real runs",
            "",
            "| target | variant | image really run | libc | outcome | message |",
            "|---|---|---|---|---|---|",
        ]
        for r in diagnosis.runs:
            msg = r.message.replace("|", "\\|").replace("`", "'")
            out.append(f"| {r.target} | {r.variant or '-'} | {r.image} | {r.libc} | {r.outcome} | {msg} |")
        out.append("")
    hyp = hypothesis_lines(diagnosis)
    if hyp:
        out += ["## Hypotheses", "", "```", *[ln for ln in hyp if ln], "```", ""]
    if diagnosis.chains:
        from goci_doctor.diagnosis.fixstatus import summary_line

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
        out += [
            "## Environment",
            "",
            f"- host: {env.os}/{env.arch}, kernel {env.kernel}, libc {env.libc} {env.libc_version}",
        ]
        if env.go:
            out.append(
                f"- go: {env.go.get('GOVERSION', '?')} GOOS={env.go.get('GOOS', '?')} "
                f"GOARCH={env.go.get('GOARCH', '?')} CGO_ENABLED={env.go.get('CGO_ENABLED', '?')}"
            )
        if env.ci_provider:
            out.append(f"- CI: {env.ci_provider}")
        out.append("")
    for note in diagnosis.notes:
        out.append(f"> {note}")
    return "\n".join(out).rstrip() + "\n"
