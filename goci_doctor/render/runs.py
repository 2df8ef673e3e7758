"""The ``run`` report: a table of real runs, its crash chains, and the ``run`` JSON document.

Also the one plain-text table layout the lab's reports share (``table``, used by ``images list``)
and the progress line printed on stderr while a matrix runs.
Imports: ``model``, ``lab.runner`` (the run summary and events), ``render`` and
``render.documents``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from goci_doctor.lab.runner import EventCallback, RunEvent, file_sha256, summarize
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import Diagnosis, RunResult
from goci_doctor.render.documents import document
from goci_doctor.safety.safetext import clean_line


def cell_message(r: RunResult) -> str:
    """A run's message, with the files the image lacks when it did not run."""
    msg = r.message
    if r.missing and r.outcome != "runs":
        msg = f"{msg} [missing: {', '.join(r.missing)}]" if msg else f"missing: {', '.join(r.missing)}"
    return msg


def table(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, a dashed rule under the first (the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def render_runs_text(facts: ArtifactFacts, results: Sequence[RunResult]) -> str:
    """The ``run`` report as a plain text table."""
    several = len({r.where for r in results}) > 1  # a fleet: say which engine ran each cell
    rows = [["target", "image", "libc", "outcome", "exit", *(["where"] if several else []), "message"]]
    for r in results:
        exit_text = "" if r.exit_code is None else str(r.exit_code)
        if r.signal:
            exit_text += f" ({r.signal})"
        outcome = r.outcome + (" (emulated)" if r.emulated else "")
        where = [r.where.removeprefix("engine ") or "?"] if several else []
        rows.append([r.target, r.image, r.libc or "?", outcome, exit_text, *where, cell_message(r)])
    lines = [f"{facts.path}: {facts.description}", "", *table(rows), "", summarize(results)]
    return "\n".join(lines) + "\n"


def render_run(facts: ArtifactFacts, results: Sequence[RunResult], diag: Diagnosis) -> str:
    """The text report of ``run``: the table, then each crash chain."""
    from goci_doctor.render import text as render

    chains = [ln for chain in diag.chains for ln in ["", *render.chain_lines(chain)]]
    return render_runs_text(facts, results) + "\n".join(chains) + ("\n" if chains else "")


def run_document(
    facts: ArtifactFacts, results: Sequence[RunResult], diag: Diagnosis, artifact: Path | None = None
) -> dict[str, Any]:
    """The ``run`` JSON document: the artifact (and its sha256, which ``merge`` groups by), its runs,
    their diagnosis."""
    return document(
        "run",
        artifact=facts,
        artifact_sha256=file_sha256(artifact if artifact is not None else Path(facts.path)),
        runs=list(results),
        diagnosis=diag,
    )


def progress_printer(stream: Any = None) -> EventCallback:
    """An event callback printing each finished cell on ``stream`` (stderr) when it is a terminal."""
    stream = stream or sys.stderr

    def show(event: RunEvent) -> None:
        if event.phase in ("done", "error", "cancelled") and stream.isatty():
            stream.write(f"  {clean_line(event.target)}: {clean_line(event.message)}\n")

    return show
