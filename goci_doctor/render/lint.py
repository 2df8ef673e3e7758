"""Renderers of lint and policy findings: text, Markdown, JSON, SARIF and GitHub annotations.

``emit`` writes them in the chosen format (under GitHub Actions the text format also prints
annotations, so findings show on the pull request's diff).
Imports: ``gate.lint`` (findings and the rule table), ``model``, ``render``, ``render.sarif``,
``render.documents``, ``safety.safetext``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from goci_doctor.gate.rules import RULES, LintFinding
from goci_doctor.model import to_jsonable
from goci_doctor.render.documents import document, dumps
from goci_doctor.render.sarif import SarifResult, SarifRule, sarif_log


def _gh_escape(text: str, prop: bool = False) -> str:
    from goci_doctor.safety.safetext import gh_data, gh_property

    return gh_property(text) if prop else gh_data(text)


def github_annotations(findings: Iterable[LintFinding]) -> str:
    """GitHub Actions workflow commands (::error file=...,line=...::message), one per finding."""
    lines = []
    for f in findings:
        cmd = {"error": "error", "warning": "warning", "note": "notice"}[f.level]
        props = []
        if f.file:
            props.append(f"file={_gh_escape(f.file, True)}")
            if f.line:
                props.append(f"line={f.line}")
                props.append(f"col={f.column}")
        props.append(f"title={_gh_escape(f'{f.rule_id} {f.rule_name}', True)}")
        lines.append(f"::{cmd} {','.join(props)}::{_gh_escape(f.message + chr(10) + 'fix: ' + f.fix)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_text(findings: Sequence[LintFinding], files: Sequence[str], header: str = "") -> str:
    """Human-readable report: one block per finding, then a summary line."""
    out: list[str] = []
    if header:
        out.append(header)
    for f in findings:
        col = f":{f.column}" if f.file and f.line else ""
        out.append(f"{f.location}{col}: {f.level} {f.rule_id} {f.rule_name}: {f.message}")
        for fix_line in f.fix.splitlines():
            out.append(f"    fix: {fix_line}")
        for ev in f.evidence:
            out.append(f"    evidence: {ev}")
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    checked = f"{len(files)} file(s) checked: " if files else ""
    out.append(f"{checked}{errors} error(s), {warnings} warning(s), {len(findings) - errors - warnings} note(s)")
    return "\n".join(out) + "\n"


def render_markdown(findings: Sequence[LintFinding], title: str) -> str:
    """A Markdown table of findings (for job summaries and PR comments)."""
    out = [f"## {title}", ""]
    if not findings:
        return "\n".join([*out, "No findings.", ""])
    out += ["| level | rule | where | why | fix |", "|---|---|---|---|---|"]
    for f in findings:
        cells = [f.level, f"{f.rule_id} {f.rule_name}", f.location, f.message, f.fix.replace("\n", "<br>")]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def findings_document(kind: str, findings: Sequence[LintFinding], **extra: Any) -> dict[str, Any]:
    """The ``lint`` (or ``policy``) JSON document: ``extra`` (repo, files, policy...), the findings
    with their rule names, and a summary by level."""
    items = []
    for f in findings:
        d = to_jsonable(f)
        d["rule_name"] = f.rule_name
        d["evidence"] = list(f.evidence)
        items.append(d)
    return document(
        kind,
        **extra,
        findings=items,
        summary={
            "errors": sum(f.level == "error" for f in findings),
            "warnings": sum(f.level == "warning" for f in findings),
            "notes": sum(f.level == "note" for f in findings),
        },
    )


def sarif_rules() -> list[SarifRule]:
    """The GOCI rule table as SARIF rule descriptors."""
    return [SarifRule(r.id, r.name, r.short, r.full, r.help, level=r.level) for r in RULES.values()]


def findings_sarif(findings: Sequence[LintFinding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log of the findings (GOCI rule table as tool.driver.rules)."""
    from goci_doctor import __version__

    results = [
        SarifResult(
            f.rule_id,
            f"{f.message}\nFix: {f.fix}",
            f.level,
            f.file,
            f.line,
            f.column,
            fingerprint=f.message,
            properties={"fix": f.fix, "evidence": list(f.evidence)},
        )
        for f in findings
    ]
    return sarif_log("goci-doctor", __version__, sarif_rules(), results)


def emit(
    findings: Sequence[LintFinding],
    files: Sequence[str],
    fmt: str,
    output: str | None,
    kind: str = "lint",
    **json_extra: Any,
) -> None:
    """Write findings in ``fmt`` (text, json, sarif, github, markdown) to ``output`` or stdout;
    the JSON document is of ``kind`` (lint, or policy for ``check --policy``).

    Under GitHub Actions (GITHUB_ACTIONS=true) the text format also prints annotations, so
    findings show up on the pull request's diff.
    """
    if fmt == "json":
        text = dumps(findings_document(kind, findings, files=list(files), **json_extra))
    elif fmt == "sarif":
        text = json.dumps(findings_sarif(findings), indent=2) + "\n"
    elif fmt == "github":
        text = github_annotations(findings)
    elif fmt == "markdown":
        text = render_markdown(findings, "goci-doctor")
    else:
        text = render_text(findings, files)
    from goci_doctor.render import write_output
    from goci_doctor.safety.safetext import clean_output

    write_output(clean_output(text, fmt), output)
    if fmt == "text" and os.environ.get("GITHUB_ACTIONS") == "true":
        sys.stdout.write(clean_output(github_annotations(findings), "github"))
    sys.stdout.flush()
