"""The session controller: what a troubleshooting session holds, and every decision about it.

``SessionController`` owns the session's state (``Session``) and answers the app's questions:
opening a binary, a log, a demo scenario, a saved report or a Go project; asking the core for the
diagnosis; running the matrix, a project's diagnostic builds or the proof of one fix (the
``work_*`` methods, called on worker threads, stop when ``cancel`` is set); merging what that work
returns into the session; building the report that export and the history write.

The Textual app renders what the controller holds and routes keys to it; nothing here draws.
Imports: the core (model, knowledge, diagnosis, explain, render, history, runner, builds, lab,
demo, config, fixstatus) and ``goci_doctor.tui.logview``, never Textual (an import-linter
contract checks it), so the whole flow is testable without Pilot.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from goci_doctor.model import ArtifactFacts, BadInputError, GociError
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, EnvFacts, Report, RunResult, Verdict

if TYPE_CHECKING:
    from goci_doctor.lab.demo import Scenario
    from goci_doctor.tui.logview import LoadedLog

"""Targets when the user config cannot be read: each has a local image."""

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


class SessionController:
    """One session's state and flow, without any UI.

    ``runner``: the runner to use (a ``ReplayRunner`` in the demo and tests); None creates a
    ``DockerRunner`` when the first run needs one. ``config``: injected settings (None reads the
    user's config, and tolerates its absence). ``cancel`` is the event that stops the work under way.
    """

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

    @property
    def config_injected(self) -> bool:
        return self._given_config is not None

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
    # Opening what failed

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

    def open_artifact(self, path: str, *, keep_replay: bool = False) -> GociError | None:
        """Inspect a binary statically and predict the targets.

        Raises GociError when it cannot be inspected (the session is kept); returns the error of a
        diagnosis that failed once it is open.
        """
        from goci_doctor import artifact

        if not path:
            raise BadInputError("Type or browse to the binary first.")
        self.ready()
        facts = artifact.inspect_path(Path(path).expanduser())
        kept = self.state.replayed_from, self.state.env, self.state.env_origin
        self.reset()
        s = self.state
        if keep_replay:
            s.replayed_from, s.env, s.env_origin = kept
        s.artifact_path, s.facts = str(Path(path).expanduser()), facts
        return self._diagnosed()

    def explain_log(self, text: str, source: str = "log") -> GociError | None:
        """Explain a pasted log (the error of a failed explanation). Raises BadInputError when it is empty."""
        if not text.strip():
            raise BadInputError("Paste a log (or load one) first.")
        self.ready()
        self.reset()
        self.state.log_text, self.state.log_source = text, source
        return self._diagnosed()

    def begin_log(self, path: str) -> None:
        """A log file is about to be read and explained by ``read_log`` (in a worker)."""
        self.ready()
        self.reset()
        self.state.log_source = path

    @staticmethod
    def read_log(path: str, on_progress: Callable[[int], None] | None = None) -> LoadedLog:
        """Read and explain a log file through the bounded decoder (slow on big logs: a worker calls it)."""
        from goci_doctor.tui import logview

        return logview.read_and_explain(path, on_progress)

    def log_loaded(self, loaded: LoadedLog) -> LogView:
        """Take a read log into the session; what step 2 shows of it."""
        from goci_doctor.tui.logview import displayable

        s = self.state
        s.diagnosis, s.log_lines, s.log_text, s.static = loaded.diagnosis, loaded.lines, loaded.excerpt, None
        total = len(loaded.lines)
        shown = f"{len(loaded.matched)} matched line{'s' if len(loaded.matched) != 1 else ''}"
        row = 0
        if loaded.matched:
            first = displayable(loaded.lines[loaded.matched[0] - 1])
            row = next((i for i, ln in enumerate(loaded.excerpt.splitlines()) if ln == first), 0)
        note = f"Excerpt of {s.log_source} ({total:,} lines, {shown}): Whole log shows every line."
        return LogView(loaded.excerpt, note, row)

    def whole_log(self) -> LogView | None:
        """Every line of the loaded log (on demand: it can be large); None without a loaded log."""
        from goci_doctor.tui.logview import displayable

        s = self.state
        if not s.log_lines:
            return None
        return LogView(
            displayable("\n".join(s.log_lines)), f"The whole of {s.log_source} ({len(s.log_lines):,} lines)."
        )

    def open_demo(self, name: str) -> tuple[Scenario, GociError | None]:
        """Open a demo scenario: the recorded environment, artifact or log, and a replay runner.

        Raises GociError for an unknown scenario; returns it with the error of a failed diagnosis.
        """
        from goci_doctor.lab import demo

        sc = demo.scenario(name)
        self._targets_known = True  # the scenario's own
        self.reset()
        s = self.state
        s.demo, s.created, s.title = sc.name, sc.recorded, f"demo: {sc.title}"
        s.env, s.env_origin = sc.env, f"DEMO — recorded on {sc.recorded_on} ({sc.recorded}), not this machine"
        s.targets = canonical_targets(sc.targets)
        s.predicted_only = canonical_targets(sc.predicted)
        s.demo_runs = list(sc.runs)
        if sc.artifact is not None:
            s.facts, s.artifact_path = sc.artifact, sc.artifact.path
        else:
            s.log_text, s.log_source = sc.log, sc.log_source or sc.name
        if not self.runner_given:
            from goci_doctor.lab.runner import ReplayRunner

            # Short pauses between phases so the replay reads like the live run it was.
            self.runner = ReplayRunner(list(sc.runs), delay=0.15)
        return sc, self._diagnosed()

    def open_report(self, report: Report, origin: str = "") -> GociError | None:
        """Replay a saved session: its environment, artifact facts, runs, builds and chains.

        A project's report keeps its build rows: its builds and their runs come back as a build matrix.
        Returns the error when the static prediction cannot be made (the rest is open by then).
        """
        self.ready()
        self.reset()
        s = self.state
        d = report.diagnosis
        s.replayed_from, s.created, s.title = origin or "report", report.created, report.title
        s.env, s.env_origin = report.env, f"Recorded in the report ({report.created or 'undated'}), not this machine"
        s.runs, s.builds, s.runs_recorded = list(d.runs), list(d.builds), True
        s.targets = canonical_targets(list(report.targets) or sorted({r.target for r in d.runs})) or s.targets
        if d.artifacts:
            s.facts, s.artifact_path = d.artifacts[0], d.artifacts[0].path
        elif d.kind == "log":
            s.log_source = d.subject
        s.diagnosis = d
        if s.builds:
            from goci_doctor.lab.buildmatrix import BuildMatrix

            s.build_matrix = BuildMatrix(
                builds=list(s.builds), runs=list(s.runs), targets=list(s.targets), project=d.subject
            )
        if s.facts is not None:
            from goci_doctor import diagnosis, knowledge

            try:
                s.static = diagnosis.check_artifact(s.facts, [knowledge.resolve_target(t) for t in s.targets])
            except GociError as exc:
                return exc
        return None

    def open_project(self, directory: str) -> None:
        """Choose a Go project; ``work_project`` then rebuilds it. Raises BadInputError for a bad directory."""
        if not directory:
            raise BadInputError("Type the Go project directory first.")
        if not Path(directory).expanduser().is_dir():
            raise BadInputError(f"{directory} is not a directory")
        self.ready()
        self.reset()
        self.state.project = str(Path(directory).expanduser())
        self.state.title = f"project {Path(directory).name}"

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

    # ---------------------------------------------------------------------------------------
    # Long work (each ``work_*`` runs on a worker thread; ``finish`` merges its result on the UI's)

    def run_targets(self) -> list[str]:
        """The targets the matrix really runs (a demo's predicted-only targets are left out)."""
        return [t for t in self.state.targets if t not in self.state.predicted_only]

    def variants(self) -> list[str]:
        """Rebuilt variants whose rows the matrix may show: a demo's recorded ones, a project's defaults."""
        s = self.state
        found = {r.variant for r in [*s.demo_runs, *s.runs] if r.variant} | {b.variant for b in s.builds}
        if s.project:
            from goci_doctor.lab.buildmatrix import DEFAULT_VARIANTS

            found.update(DEFAULT_VARIANTS)
        return sorted(found)

    def matrix_blocker(self) -> Literal["", "no-artifact", "artifact-missing"]:
        """Why the matrix cannot run the artifact now ("" when it can; a project always can)."""
        s = self.state
        if s.project:
            return ""
        if s.facts is None:
            return "no-artifact"
        if not (s.demo or self.runner_given) and not Path(s.artifact_path).is_file():
            return "artifact-missing"
        return ""

    def get_runner(self) -> Any:
        """The runner in use, a ``lab.DockerRunner`` created on first need."""
        if self.runner is None:
            from goci_doctor.lab import docker as lab

            self.runner = lab.DockerRunner(config=self.config())
        return self.runner

    def request_cancel(self) -> None:
        """Stop the work under way: no new build or run starts, the runner removes its containers."""
        self.cancel.set()
        if self.runner is not None:
            self.runner.cancel()

    def work_matrix(self, on_event: Callable[[Any], None] | None = None) -> list[RunResult]:
        """Run the artifact on every run target."""
        s = self.state
        runner = self.get_runner()
        return list(runner.run_matrix(Path(s.artifact_path), self.run_targets(), on_event=on_event))

    def work_project(self, on_event: Callable[[Any], None] | None = None) -> Any:
        """Rebuild the project as every diagnostic variant and run each on the targets (a BuildMatrix)."""
        from goci_doctor.lab import builds

        s = self.state
        return builds.prove(
            Path(s.project),
            list(s.targets),
            runner=self.get_runner(),
            on_event=on_event,
            config=self.config(),
            cancel=self.cancel,
        )

    def work_prove(self, node: ChainNode, on_event: Callable[[Any], None] | None = None) -> Any:
        """Rebuild with the fix's variant and run it (a project), or replay its recorded runs (a demo)."""
        s = self.state
        if s.project:
            from goci_doctor.lab import builds

            return builds.prove(
                Path(s.project),
                list(s.targets),
                [node.variant],
                runner=self.get_runner(),
                on_event=on_event,
                config=self.config(),
                cancel=self.cancel,
            )
        runner = self.get_runner()
        targets = sorted({r.target for r in s.demo_runs if r.variant == node.variant}) or self.run_targets()
        return list(runner.run_matrix(Path(s.artifact_path), targets, variant=node.variant, on_event=on_event))

    def start_work(self, name: WorkName, node: ChainNode | None = None) -> Callable[[], Any]:
        """The function a worker runs for ``name`` (the cancel event is cleared: a new job starts)."""
        self.cancel.clear()
        self._work_generation = self.generation
        if name == "prove":
            if node is None:
                raise BadInputError("no fix to prove")
            why_not = self.why_not_provable(node)
            if why_not:
                raise BadInputError(why_not)
            self.proving = node.id
            return lambda: self.work_prove(node, self._on_event)
        self.proving = ""
        return {
            "matrix": lambda: self.work_matrix(self._on_event),
            "project": lambda: self.work_project(self._on_event),
        }[name]

    def _on_event(self, event: Any) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def finish(self, name: WorkName, result: Any) -> Finished:
        """Merge what a job returned into the session and diagnose again."""
        from goci_doctor.lab.runner import summarize

        if self._work_generation != self.generation:
            return Finished("stale")
        s = self.state
        s.runs_recorded = False
        if name == "project":
            s.build_matrix = result
            s.builds, s.runs = list(result.builds), list(result.runs)
            own = result.build("as-configured") or next((b for b in result.builds if b.ok), None)
            if own is not None and own.facts is not None:
                s.facts, s.artifact_path = own.facts, own.artifact
            shown = list(s.runs)
        elif name == "matrix":
            shown = list(result)
            s.runs = [r for r in s.runs if r.variant] + shown
        else:
            shown = list(result.runs) if hasattr(result, "runs") else list(result)
            variants = {r.variant for r in shown}
            s.runs = [r for r in s.runs if r.variant not in variants] + shown
            if hasattr(result, "builds"):
                built = {b.variant for b in result.builds}
                s.builds = [b for b in s.builds if b.variant not in built] + list(result.builds)
                s.runs = [r for r in s.runs if r.variant not in built] + shown
                if s.build_matrix is not None:
                    s.build_matrix = dataclasses.replace(
                        s.build_matrix,
                        builds=list(s.builds),
                        runs=list(s.runs),
                        not_run={**s.build_matrix.not_run, **result.not_run},
                    )
            shown = list(s.runs)
        error = self._diagnosed()
        cancelled = self.cancel.is_set() or any(r.error == "cancelled" for r in shown)
        ran = [r for r in shown if r.error != "cancelled"]
        if cancelled:
            return Finished("cancelled", summarize(ran) if ran else "", error)
        if not shown:
            return Finished("nothing", "", error)
        return Finished("done", summarize(shown), error)

    # ---------------------------------------------------------------------------------------
    # Export and history

    def build_report(self) -> Report:
        """The session as a report: what Markdown/JSON export and the history hold."""
        from goci_doctor import __version__

        s = self.state
        d = s.diagnosis or Diagnosis(subject=s.artifact_path or s.log_source or "session", kind="session")
        if s.runs or s.builds:
            d = replace(d, runs=tuple(s.runs), builds=tuple(s.builds))
        if s.facts is not None and not d.artifacts:
            d = replace(d, artifacts=(s.facts,))
        created = s.created or datetime.now(UTC).isoformat(timespec="seconds")
        return Report(
            diagnosis=d,
            env=s.env,
            created=created,
            tool_version=__version__,
            targets=tuple(s.targets),
            title=s.title or Path(d.subject).name,
        )

    def markdown(self) -> str:
        """The session's Markdown report ("" before there is a diagnosis)."""
        from goci_doctor import render

        if self.state.diagnosis is None:
            return ""
        try:
            return render.render(self.build_report(), "markdown")
        except GociError as exc:
            return f"(cannot render: {exc.message})"

    def export(self, fmt: Literal["markdown", "json"], directory: str = "") -> Path:
        """Write ``goci-report.md`` or ``goci-report.json`` into ``directory`` (the current one if empty).

        The file gets the usual mode of a new file (0644 under the common umask 022). Raises GociError.
        """
        from goci_doctor import render

        if self.state.diagnosis is None:
            raise BadInputError("Nothing to export yet.")
        # Absolute, so every message names the folder even when the field was left empty.
        folder = Path(directory or ".").expanduser().absolute()
        if not folder.is_dir():
            raise BadInputError(f"{folder} is not a directory")
        report = self.build_report()
        if fmt == "json":
            target, text = folder / "goci-report.json", render.report_to_json(report)
        else:
            target, text = folder / "goci-report.md", render.render(report, "markdown")
        try:
            render.write_atomic(target, text)
        except OSError as exc:
            raise BadInputError(f"cannot write {target}: {exc.strerror or exc}") from None
        return target

    def save_history(self) -> Path:
        """Keep the session in the history; the saved file. Raises GociError."""
        from goci_doctor.render import history

        if self.state.diagnosis is None:
            raise BadInputError("Nothing to save yet.")
        try:
            return history.save_session(self.build_report(), self.history_dir)
        except OSError as exc:
            raise BadInputError(f"cannot save the session: {exc.strerror or exc}") from None
