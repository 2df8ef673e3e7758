"""The session's state and its settings, and asking the core for the diagnosis of what it holds.

``Session`` is what one troubleshooting session has gathered; ``LogView`` and ``Finished`` are what
the controller hands the app; ``SessionBase`` keeps the state, reads the settings (the user config,
the targets), forgets an input (``reset``) and asks the core for the diagnosis and the predictions
of rebuilt binaries. ``tui.sessionwork`` (the long work) and ``tui.session`` (opening inputs, the
report) build on it into ``SessionController``.

Imports: model, records, and lazily config, knowledge, diagnosis, diagnosis.explain and
lab.buildmatrix; never Textual (an import-linter contract checks it).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from goci_doctor.model import ArtifactFacts, GociError

if TYPE_CHECKING:
    from goci_doctor.records import BuildResult, ChainNode, Diagnosis, EnvFacts, RunResult, Verdict

WorkName = Literal["matrix", "project", "prove"]
"""The long jobs of a session: run the artifact on the targets, rebuild a project, prove one fix."""


@dataclass
class Session:
    """What one troubleshooting session has gathered so far (mutable, owned by the controller)."""

    env: EnvFacts | None = None
    env_origin: str = ""
    artifact_path: str = ""
    facts: ArtifactFacts | None = None
    log_text: str = ""
    """The log shown in step 2: a pasted log, or the excerpt of a loaded log file."""
    log_source: str = ""
    log_lines: tuple[str, ...] = ()
    """Every line of a loaded log file (the excerpt is what is shown; this is the whole, on demand)."""
    project: str = ""
    targets: list[str] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    builds: list[BuildResult] = field(default_factory=list)
    static: Diagnosis | None = None
    """The static prediction (no runs), for the matrix's Predicted column."""
    diagnosis: Diagnosis | None = None
    demo: str = ""
    """Name of the demo scenario, when the session is one."""
    replayed_from: str = ""
    """Path of the report this session replays."""
    demo_runs: list[RunResult] = field(default_factory=list)
    """A demo's recorded runs (its own and its rebuilt variants'), for "prove this fix"."""
    build_matrix: Any = None
    """A project's ``buildmatrix.BuildMatrix``: its variants' builds and runs, the source of its chain."""
    predicted_only: list[str] = field(default_factory=list)
    """Targets a demo only predicts (no recording): shown, never run."""
    runs_recorded: bool = False
    """The runs shown come from a report, not from this machine."""
    created: str = ""
    title: str = ""


@dataclass(frozen=True)
class LogView:
    """What step 2 shows of a loaded log: the excerpt, a note saying what it is, the row to bring into view."""

    text: str
    note: str
    row: int = 0


@dataclass(frozen=True)
class Finished:
    """How a long job ended, once merged into the session: what the matrix's status line says."""

    state: Literal["done", "cancelled", "nothing", "stale"]
    """"stale": the session was reset while the job ran (another input opened): its result was dropped."""
    summary: str = ""
    """``runner.summarize`` of the runs shown (the cancelled ones left out)."""
    error: GociError | None = None
    """The diagnosis of the merged session failed (the runs are kept; the chain is not updated)."""


def canonical_targets(names: Iterable[str]) -> list[str]:
    """Knowledge-base names for targets ("debian:bullseye" -> "debian:11"), unknown ones as given.

    Verdicts and runs then share one name per target, so the matrix lines them up.
    """
    from goci_doctor import knowledge

    out: list[str] = []
    for name in names:
        known = knowledge.find_target(name)
        canonical = known.name if known is not None else name
        if canonical not in out:
            out.append(canonical)
    return out


class SessionBase:
    """The session's state, settings and diagnosis (``SessionController`` adds the flow)."""

    def __init__(
        self,
        *,
        config: Any = None,
        runner: Any = None,
        env: EnvFacts | None = None,
        targets: Iterable[str] | None = None,
        history_dir: Path | None = None,
    ) -> None:
        self._given_config = config
        self.runner = runner
        self.runner_given = runner is not None
        self.history_dir = history_dir
        self.cancel = threading.Event()
        self.proving = ""
        """Id of the fix being proven: the chain returns to it when the proof ends."""
        self.on_event: Callable[[Any], None] | None = None
        """Where the work's progress events go (set by the app; called on worker threads)."""
        self.generation = 0
        """Counts resets: a job started before the last one belongs to a session no longer shown."""
        self._work_generation = -1
        self.state = Session(env=env, env_origin="This machine" if env else "")
        # The configured targets are read on first need (``ready``): the knowledge base costs start-up time.
        self.state.targets = canonical_targets(targets) if targets else []
        self._given_targets = list(self.state.targets)
        self._targets_known = bool(targets)

    def ready(self) -> None:
        """Read the configured targets if none were given (called after the UI's first paint)."""
        if not self._targets_known:
            self.state.targets = self.configured_targets()
            self._targets_known = True

    # ---------------------------------------------------------------------------------------
    # Settings

    def config(self) -> Any:
        """The injected config, else the user's (None when it cannot be read)."""
        if self._given_config is not None:
            return self._given_config
        from goci_doctor.config import load_config

        try:
            return load_config()
        except GociError:
            return None

    def configured_targets(self) -> list[str]:
        cfg = self.config()
        configured = getattr(cfg, "default_targets", None) if cfg is not None else None
        from goci_doctor.config import DEFAULT_TARGETS

        return canonical_targets(configured or DEFAULT_TARGETS)

    def save_theme(self, name: str) -> None:
        """Keep the chosen theme in the user's own config (never in an injected one). Raises GociError."""
        if self._given_config is not None:
            return
        from goci_doctor.config import load_config, save_config

        cfg = load_config()
        if cfg.theme != name:
            save_config(dataclasses.replace(cfg, theme=name))

    # ---------------------------------------------------------------------------------------
    # Forgetting an input

    def reset(self) -> None:
        """Forget the previous input (the targets and the environment stay, except a demo's).

        Leaving a demo drops what belongs to its recording: the replay runner it created (the next
        run is a real one), its targets (the given or configured ones come back) and its recorded
        environment, like leaving a replayed report: the app gathers this machine's again.
        """
        s = self.state
        if s.demo:
            if not self.runner_given:
                self.runner = None
            s.targets = list(self._given_targets) or self.configured_targets()
        if s.demo or s.replayed_from:
            s.env, s.env_origin = None, ""
        s.facts, s.artifact_path, s.log_text, s.log_source, s.project = None, "", "", "", ""
        s.runs, s.builds, s.static, s.diagnosis = [], [], None, None
        s.demo, s.replayed_from, s.created, s.title = "", "", "", ""
        s.runs_recorded = False
        s.log_lines = ()
        s.predicted_only, s.demo_runs = [], []
        s.build_matrix = None
        self.proving = ""
        self.generation += 1

    def _diagnosed(self) -> GociError | None:
        """Diagnose; the error, if the core could not (what was opened stays open)."""
        try:
            self.diagnose()
        except GociError as exc:
            return exc
        return None

    # ---------------------------------------------------------------------------------------
    # Diagnosis

    def diagnose(self) -> None:
        """Ask the core for the diagnosis of what the session holds now. Raises GociError."""
        from goci_doctor import diagnosis, knowledge
        from goci_doctor.diagnosis import explain

        s = self.state
        if s.build_matrix is not None:
            self._diagnose_project()
        elif s.facts is not None:
            targets = [knowledge.resolve_target(t) for t in s.targets]
            s.static = diagnosis.check_artifact(s.facts, targets)
            s.diagnosis = diagnosis.check_artifact(s.facts, targets, runs=s.runs, builds=s.builds)
        elif s.log_lines:
            s.static = None  # a loaded log was explained whole by its worker; log_text is its excerpt
        elif s.log_text:
            s.static = None
            s.diagnosis = explain.explain_text(s.log_text, source=s.log_source or "log")

    def _diagnose_project(self) -> None:
        """A project's chain: its own build's crash, each fix marked where its variant really ran."""
        from goci_doctor import diagnosis, knowledge
        from goci_doctor.diagnosis import explain
        from goci_doctor.lab import buildmatrix

        s = self.state
        matrix = s.build_matrix
        own = matrix.build("as-configured")
        s.static = None
        if s.facts is not None:
            s.static = diagnosis.check_artifact(s.facts, [knowledge.resolve_target(t) for t in s.targets])
        found = buildmatrix.matrix_diagnosis(matrix)
        if found is not None:
            s.diagnosis = found
        elif own is not None and not own.ok and own.output.strip():
            # The project's own build failed: its go output is the log to explain.
            s.diagnosis = explain.explain_text(own.output, source=f"go build ({Path(s.project).name})")
        elif s.facts is not None:
            targets = [knowledge.resolve_target(t) for t in s.targets]
            s.diagnosis = diagnosis.check_artifact(s.facts, targets, builds=s.builds)
        elif not s.replayed_from:
            s.diagnosis = None  # a replayed report keeps the chain it was saved with

    def variant_predictions(self) -> dict[str, list[Verdict]]:
        """variant -> static verdicts of its rebuilt binary on the targets (the matrix's Predicted)."""
        return {b.variant: self.predict_build(b) for b in self.state.builds if b.ok and b.facts is not None}

    def predict_build(self, build: BuildResult) -> list[Verdict]:
        """The static verdicts of one rebuilt binary on the session's targets ([] when it was not built)."""
        from goci_doctor import diagnosis, knowledge

        if not build.ok or build.facts is None:
            return []
        targets = [knowledge.resolve_target(t) for t in self.state.targets]
        return list(diagnosis.check_artifact(build.facts, targets).verdicts)

    def why_not_provable(self, node: ChainNode) -> str:
        """ "" when "prove this fix" can really prove ``node`` in this session, else why not (one line)."""
        s = self.state
        if node.kind != "fix" or not node.variant:
            return "This fix names no build variant: there is nothing to rebuild."
        if s.project:
            return ""
        if s.demo:
            if any(r.variant == node.variant for r in s.demo_runs):
                return ""
            return f"Not recorded for this demo: the {node.variant} variant was never run here, so it cannot be proven."
        return "Proving a fix rebuilds the project: choose the Go project in step 2 to prove it."
