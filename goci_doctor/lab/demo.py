"""The onboarding demo: the classic Go build/deploy failures, with real recorded evidence.

Each scenario is one JSON file in ``goci_doctor/data/demo/``, written by
``scripts/record_demo.py`` on a machine with Go and Docker: the real fixture binary's inspected
facts, the real container runs (image and libc really used, the date), or a real failing build
log. The demo needs neither Docker nor Go: it replays those recordings through the same diagnosis
the live tool uses, and says clearly that it is a demo. What was observed and what is only
predicted statically are kept apart (``runs`` versus ``predicted``). The text walkthrough
(``demo --text``) is ``render.demo``; this module never imports ``render``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from goci_doctor.model import SCHEMA_VERSION, ArtifactFacts, BadInputError, from_jsonable
from goci_doctor.records import Diagnosis, EnvFacts, Report, RunResult

__all__ = [
    "DEMO_BANNER",
    "Scenario",
    "demo_dir",
    "diagnose",
    "load_scenario",
    "replay_runner",
    "scenario",
    "scenario_report",
    "scenarios",
]

DEMO_BANNER = "DEMO — recorded evidence from the goci-doctor lab, not your machine"

# Walkthrough order: from the most common failure to the most surprising.
ORDER = (
    "glibc-centos7",
    "glibc-on-alpine",
    "windows-on-linux",
    "arm64-on-amd64",
    "cgo-cross-no-cc",
    "sqlite-cgo-off",
    "empty-windows-exe",
)


@dataclass(frozen=True)
class Scenario:
    """One recorded failure: the evidence the demo replays."""

    name: str
    title: str
    summary: str
    kind: Literal["artifact", "log"]
    recorded: str = ""
    """Date the evidence was recorded (YYYY-MM-DD)."""
    recorded_on: str = ""
    """The machine it was recorded on: host OS, Docker and Go versions."""
    artifact: ArtifactFacts | None = None
    log: str = ""
    """The real build or crash log (log scenarios)."""
    log_source: str = ""
    targets: tuple[str, ...] = ()
    runs: tuple[RunResult, ...] = ()
    """Real container runs: observed."""
    predicted: tuple[str, ...] = ()
    """Targets only predicted statically (no local image for them): not observed."""
    env: EnvFacts | None = None
    """The recording machine's environment (secrets were redacted when gathered)."""
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION


def demo_dir() -> Path:
    """The folder holding the bundled recordings."""
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def load_scenario(path: Path) -> Scenario:
    """Read one recording. Raises BadInputError on a file that is not one."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        result: Scenario = from_jsonable(Scenario, data)
    except (OSError, ValueError, TypeError) as exc:
        raise BadInputError(f"{path}: not a goci-doctor demo recording ({exc})") from exc
    return result


def scenarios() -> list[Scenario]:
    """Every bundled scenario, in walkthrough order (unknown extra files last, by name)."""
    found = {s.name: s for s in (load_scenario(p) for p in sorted(demo_dir().glob("*.json")))}
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def scenario(name: str) -> Scenario:
    """The scenario called ``name``. Raises BadInputError naming the known ones."""
    all_ = scenarios()
    for s in all_:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in all_) or "none bundled"
    raise BadInputError(f"no demo scenario {name!r} (known: {known})")


def diagnose(s: Scenario) -> Diagnosis:
    """Run the live diagnosis over the recorded evidence (the same code path as real sessions)."""
    from goci_doctor import diagnosis, knowledge
    from goci_doctor.diagnosis import explain

    if s.kind == "log" or s.artifact is None:
        return explain.explain_text(s.log, source=s.log_source or s.name)
    targets = [knowledge.resolve_target(t) for t in s.targets]
    return diagnosis.check_artifact(s.artifact, targets, runs=s.runs)


def scenario_report(s: Scenario, diag: Diagnosis | None = None) -> Report:
    """The scenario as a session report (what the TUI exports or saves for it)."""
    from goci_doctor import __version__

    return Report(
        diagnosis=diag if diag is not None else diagnose(s),
        env=s.env,
        created=s.recorded,
        tool_version=__version__,
        targets=s.targets,
        title=f"demo: {s.title}",
    )


def replay_runner(s: Scenario) -> Any:
    """A runner that plays back the scenario's recorded container runs (no Docker needed)."""
    from goci_doctor.lab.runner import ReplayRunner

    return ReplayRunner(list(s.runs))
