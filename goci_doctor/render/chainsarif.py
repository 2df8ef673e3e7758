"""A diagnosis as SARIF: one result per crash chain, at the artifact or log line it was found in.

Imports: model, knowledge, render.sarif."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from goci_doctor import __version__
from goci_doctor.records import Diagnosis

# --------------------------------------------------------------------------------------------
# SARIF


def render_sarif(diagnosis: Diagnosis, parts: Sequence[Diagnosis] = ()) -> dict[str, Any]:
    """One SARIF result per crash chain, at the artifact (or the log line) it was found in.

    ``parts``: the per-artifact diagnoses a merged one was made of, so that each result is
    located at its own artifact rather than at all of them."""
    from goci_doctor import knowledge
    from goci_doctor.render.sarif import SarifResult, SarifRule, fingerprint, sarif_log

    fams = knowledge.families()
    used = []
    results = []
    located = [(part.subject, chain) for part in parts or (diagnosis,) for chain in part.chains]
    for subject, chain in located:
        fam_id = chain.family
        fam = fams.get(fam_id)
        if fam is None:
            continue
        level = {"error": "error", "warning": "warning"}.get(fam.severity, "note")
        if fam_id not in used:
            used.append(fam_id)
        line = 0
        uri = subject
        for ev in chain.evidence:
            if ev.line:
                uri, line = ev.file or uri, ev.line
        fixes = [n for n in chain.walk() if n.kind == "fix"]
        cause = next((n for n in chain.walk() if n.kind == "cause"), None)
        text = chain.title + (f" — {cause.title}" if cause else "")
        if fixes:
            text += f" Fix: {fixes[0].title}" + (f" (`{fixes[0].commands[0]}`)" if fixes[0].commands else "")
        results.append(
            SarifResult(
                rule_id=fam_id,
                message=text,
                level=level,  # type: ignore[arg-type]
                uri=uri,
                line=line,
                fingerprint=fingerprint(fam_id, uri, chain.title),
            )
        )
    rules = []
    for fam_id in used:
        fam = fams[fam_id]
        level = {"error": "error", "warning": "warning"}.get(fam.severity, "note")
        rules.append(
            SarifRule(
                id=fam_id,
                name=fam_id,
                short=fam.title,
                full=fam.mechanism.split(". ")[0] + ".",
                help=f"Source: {fam.source}",
                level=level,  # type: ignore[arg-type]
            )
        )
    return sarif_log("goci-doctor", __version__, rules, results)
