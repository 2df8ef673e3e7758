"""``demo --text``: the demo walkthrough as plain text, one block per recorded scenario.

Imports: ``lab.demo`` (the scenarios and their diagnosis), ``model`` and ``render``.
"""

from __future__ import annotations

from pathlib import Path

from goci_doctor.lab.demo import DEMO_BANNER, Scenario, demo_dir, diagnose, scenario, scenarios
from goci_doctor.model import BadInputError
from goci_doctor.render import render


def walk_one(s: Scenario) -> str:
    """One scenario: what was recorded, what was observed, and its diagnosis."""
    lines = [f"== {s.title} ({s.name}) ==", s.summary, ""]
    if s.recorded or s.recorded_on:
        lines.append(f"Recorded {s.recorded} on {s.recorded_on}".rstrip())
    if s.artifact is not None:
        lines.append(f"Artifact: {Path(s.artifact.path).name} — {s.artifact.description}")
    if s.runs:
        lines.append("Observed (real container runs, replayed):")
        for r in s.runs:
            what = r.message or r.outcome
            where = f"{r.target} ({r.variant} rebuild)" if r.variant else r.target
            lines.append(f"  {where:28} {r.image} [{r.libc}] {r.outcome}: {what}")
    if s.predicted:
        lines.append("Predicted statically (not run): " + ", ".join(s.predicted))
    if s.kind == "log":
        lines.append(f"Real log ({s.log_source or 'build'}):")
        lines.extend("  " + ln for ln in s.log.strip().splitlines()[:12])
    for note in s.notes:
        lines.append(f"Note: {note}")
    lines.append("")
    lines.append(render(diagnose(s), "text").rstrip())
    return "\n".join(lines)


def render_walkthrough(scenario_name: str | None = None) -> str:
    """The demo as plain text (``goci-doctor demo --text``): one scenario, or all of them."""
    chosen = [scenario(scenario_name)] if scenario_name else scenarios()
    if not chosen:
        raise BadInputError(f"no demo recordings found in {demo_dir()}")
    parts = [DEMO_BANNER, ""]
    parts.extend(walk_one(s) + "\n" for s in chosen)
    return "\n".join(parts).rstrip() + "\n"
