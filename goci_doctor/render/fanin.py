"""``goci-doctor merge REPORT.json...``: join the reports of a CI matrix into one diagnosis (the
command is ``cli.merge``).

Each job of a matrix (one runner OS or architecture, one container engine) writes a JSON report
(`run --json`, `run --on-this-machine --json`, `build --json`, a session `report`, or `check
--json`). This module reads them back, groups the runs by artifact (its sha256 when the report
has it, otherwise its name and format), keeps every observation with *where* it ran, flags
targets observed differently in two places (both observations are kept; the verdict takes the
crash, the conservative reading), and re-diagnoses each artifact from all observations together,
so fixes are proven per place. The Markdown output is fit for ``$GITHUB_STEP_SUMMARY``.

Imports: model, render, runner, lab.proof.run_diagnosis (which imports the Docker SDK lazily, never
here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci_doctor.model import ArtifactFacts, BadInputError, from_jsonable, to_jsonable
from goci_doctor.records import BuildResult, Diagnosis, RunResult
from goci_doctor.render import documents, read_report_document

_KINDS = ("run", "report", "diagnosis", "build")


@dataclass
class _Group:
    """Everything the reports say about one artifact."""

    facts: ArtifactFacts
    runs: list[RunResult] = field(default_factory=list)
    builds: list[BuildResult] = field(default_factory=list)


@dataclass(frozen=True)
class Conflict:
    """One target observed with different outcomes in different places (all kept)."""

    artifact: str
    target: str
    variant: str
    observations: tuple[tuple[str, str], ...]
    """(where, outcome + message) for each observation."""

    def line(self) -> str:
        what = f"{self.target}" + (f" (variant {self.variant})" if self.variant else "")
        seen = "; ".join(f"{where}: {outcome}" for where, outcome in self.observations)
        return f"conflicting observations for {self.artifact} on {what} — {seen}"


@dataclass(frozen=True)
class Merged:
    """The merged diagnosis, the reports it came from and the conflicts found."""

    diagnosis: Diagnosis
    sources: tuple[tuple[str, str], ...]
    """(file, kind) of every report read."""
    conflicts: tuple[Conflict, ...]


def _load(path: str) -> dict[str, Any]:
    doc = read_report_document(path)
    if doc.get("kind") not in _KINDS:
        raise BadInputError(
            f"{Path(path)}: a {doc.get('kind')!r} document cannot be merged (merge takes {', '.join(_KINDS)} reports)"
        )
    return doc


def _convert(cls: Any, data: Any, path: str, what: str) -> Any:
    try:
        return from_jsonable(cls, data)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise BadInputError(f"{path}: damaged goci-doctor report ({what}: {exc})") from None


def _extract(
    doc: dict[str, Any], path: str
) -> tuple[list[tuple[ArtifactFacts, str]], list[RunResult], list[BuildResult]]:
    """(artifacts with their sha256 or "", runs, builds) of one report; runs without ``where`` get the file."""
    kind = doc["kind"]
    artifacts: list[tuple[ArtifactFacts, str]] = []
    runs_data: Any
    builds_data: Any
    if kind == "run":
        artifacts.append(
            (_convert(ArtifactFacts, doc.get("artifact"), path, "artifact"), str(doc.get("artifact_sha256") or ""))
        )
        runs_data, builds_data = doc.get("runs") or [], []
    elif kind == "build":
        runs_data, builds_data = doc.get("runs") or [], doc.get("builds") or []
    else:
        body = doc.get("diagnosis") or {}
        if not isinstance(body, dict):
            raise BadInputError(f"{path}: damaged goci-doctor report (diagnosis is not an object)")
        diag: Diagnosis = _convert(Diagnosis, body, path, "diagnosis")
        artifacts.extend((a, "") for a in diag.artifacts)
        runs_data, builds_data = [to_jsonable(r) for r in diag.runs], [to_jsonable(b) for b in diag.builds]
    if not isinstance(runs_data, list) or not isinstance(builds_data, list):
        raise BadInputError(f"{path}: damaged goci-doctor report (runs/builds are not lists)")
    runs = [_convert(RunResult, r, path, "run") for r in runs_data]
    runs = [r if r.where else dataclasses.replace(r, where=f"report {Path(path).name}") for r in runs]
    builds = [_convert(BuildResult, b, path, "build") for b in builds_data]
    return artifacts, runs, builds


def _key(facts: ArtifactFacts, sha: str) -> str:
    if sha:
        return sha
    return "|".join((Path(facts.path).name, facts.kind, facts.os, facts.arch, str(facts.size)))


def _outcome_text(r: RunResult) -> str:
    msg = r.message
    return r.outcome + (" (timed out)" if r.timed_out else "") + (f": {msg}" if msg and r.outcome != "runs" else "")


def _primary_runs(artifact: str, runs: Sequence[RunResult]) -> tuple[list[RunResult], list[Conflict]]:
    """One run per (target, variant) for the verdicts — a crash wins over a clean run — and the conflicts."""
    from goci_doctor import knowledge

    by_cell: dict[tuple[str, str], list[RunResult]] = {}
    for r in runs:
        known = knowledge.find_target(r.target)
        # "debian:bookworm" from one job and "debian:12" from another are the same target.
        by_cell.setdefault((known.name if known else r.target, r.variant), []).append(r)
    primary: list[RunResult] = []
    conflicts: list[Conflict] = []
    for (target, variant), cell in by_cell.items():
        judged = [r for r in cell if r.outcome in ("runs", "crashes")]
        if not judged:
            primary.append(cell[0])
            continue
        crashes = [r for r in judged if r.outcome == "crashes"]
        primary.append(crashes[0] if crashes else judged[0])
        if crashes and len(crashes) != len(judged):
            conflicts.append(
                Conflict(artifact, target, variant, tuple((r.where or "?", _outcome_text(r)) for r in judged))
            )
    return primary, conflicts


def merge_reports(paths: Sequence[str]) -> Merged:
    """Read every report and re-diagnose each artifact from all the observations together."""
    from goci_doctor import diagnosis
    from goci_doctor.lab import proof as lab_proof

    if not paths:
        raise BadInputError("merge needs at least one report (the JSON files the matrix jobs wrote)")
    groups: dict[str, _Group] = {}
    project_runs: list[RunResult] = []
    project_builds: list[BuildResult] = []
    sources: list[tuple[str, str]] = []
    for path in paths:
        doc = _load(path)
        sources.append((path, str(doc["kind"])))
        artifacts, runs, builds = _extract(doc, path)
        if not artifacts:
            # A build report proves variants of the project: its runs belong to every artifact.
            project_runs.extend(runs)
            project_builds.extend(builds)
            continue
        for facts, sha in artifacts:
            group = groups.setdefault(_key(facts, sha), _Group(facts))
            mine = [r for r in runs if r.variant or len(artifacts) == 1]
            group.runs.extend(mine)
            group.builds.extend(builds)
    diagnoses: list[Diagnosis] = []
    conflicts: list[Conflict] = []
    for group in groups.values():
        runs = group.runs + project_runs
        primary, found = _primary_runs(group.facts.path, runs)
        conflicts.extend(found)
        own = [r for r in primary if not r.variant]
        proof = [r for r in primary if r.variant]
        diag = lab_proof.run_diagnosis(group.facts, own, proof, [*group.builds, *project_builds])
        diagnoses.append(dataclasses.replace(diag, runs=tuple(runs)))
    if not diagnoses and (project_runs or project_builds):
        diagnoses.append(
            Diagnosis(subject="build reports", kind="build", runs=tuple(project_runs), builds=tuple(project_builds))
        )
    merged = diagnosis.merge(
        diagnoses, subject=", ".join(sorted({Path(d.subject).name for d in diagnoses})), kind="session"
    )
    merged = dataclasses.replace(merged, notes=(*merged.notes, *(c.line() for c in conflicts)))
    return Merged(merged, tuple(sources), tuple(conflicts))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(merged: Merged) -> str:
    """A step summary: where each target really ran, the conflicts, then the usual diagnosis."""
    from goci_doctor.render import markdown as render

    d = merged.diagnosis
    lines = [
        "# goci-doctor: merged matrix",
        "",
        f"{len(merged.sources)} report(s), {len(d.artifacts)} artifact(s), {len(d.runs)} observation(s).",
        "",
    ]
    if d.runs:
        lines += [
            "| artifact | target | variant | where it ran | image / machine | libc | outcome |",
            "|---|---|---|---|---|---|---|",
        ]
        names = {a.path for a in d.artifacts}
        only = next(iter(names)) if len(names) == 1 else ""
        for r in d.runs:
            lines.append(
                "| "
                + " | ".join(
                    _md_cell(c)
                    for c in (
                        Path(only).name if only else "",
                        r.target,
                        r.variant or "—",
                        r.where or "?",
                        r.image,
                        r.libc or "?",
                        _outcome_text(r),
                    )
                )
                + " |"
            )
        lines.append("")
    if merged.conflicts:
        lines += ["## Conflicting observations", ""]
        lines += [f"- {_md_cell(c.line())}" for c in merged.conflicts]
        lines.append("")
    body = render.render_markdown(d)
    return "\n".join(lines) + "\n" + body


def render_text(merged: Merged) -> str:
    from goci_doctor.render import text as render

    head = [f"merged {len(merged.sources)} report(s): " + ", ".join(f"{Path(p).name} ({k})" for p, k in merged.sources)]
    for r in merged.diagnosis.runs:
        head.append(f"  {r.target:24} {_outcome_text(r)[:70]:70}  at {r.where or '?'}")
    head += [f"! {c.line()}" for c in merged.conflicts]
    return "\n".join(head) + "\n\n" + render.render_text(merged.diagnosis)


def merge_document(merged: Merged) -> dict[str, Any]:
    """The ``merge`` JSON document: the reports read, the conflicts, the joined diagnosis."""
    return documents.document(
        "merge",
        sources=[{"file": p, "kind": k} for p, k in merged.sources],
        conflicts=merged.conflicts,
        has_problem=merged.diagnosis.has_problem,
        diagnosis=merged.diagnosis,
    )
