"""The interactive session: a thin Textual layer over the goci-doctor core.

The app holds the session's state and hands every question to the core (``hostenv``,
``artifact``, ``diagnosis``, ``render``, the runner); it draws the answers. Long work (gathering
the environment, container runs, diagnostic builds) runs in thread workers, so the UI never
freezes; cancelling or quitting calls the runner's ``cancel``, which removes its containers.

The runner is passed in (``GociApp(runner=...)``): the demo and the tests hand it a
``ReplayRunner``; otherwise a ``DockerRunner`` is created only when the matrix step first runs,
so the Docker SDK is never imported for static analysis and a missing engine only costs step 4.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, TextArea
from textual.worker import Worker, WorkerState

from goci_doctor.model import ArtifactFacts, BadInputError, GociError, no_such_file
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, EnvFacts, Report, RunResult
from goci_doctor.tui.screens import FilePickerScreen, HelpScreen, HistoryScreen, SessionScreen
from goci_doctor.tui.widgets import (
    STEPS,
    ChainPane,
    EnvironmentPane,
    ExportPane,
    FactsPane,
    MatrixPane,
    SourcePane,
    lit,
    main_widget,
)

DEFAULT_TARGETS = ("debian:bullseye", "debian:bookworm", "alpine:3.20", "distroless/static")
"""Targets when the user config cannot be read: each has a local image."""


@dataclass
class Session:
    """What one troubleshooting session has gathered so far (mutable, owned by the app)."""

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
    """A project's ``builds.BuildMatrix``: its variants' builds and runs, the source of its chain."""
    predicted_only: list[str] = field(default_factory=list)
    """Targets a demo only predicts (no recording): shown, never run."""
    runs_recorded: bool = False
    """The runs shown come from a report, not from this machine."""
    created: str = ""
    title: str = ""


class WorkCancelled(Exception):
    """Raised from a build's progress callback to stop a project's builds after escape."""


class LogProgress(Message):
    """A log file is being read (posted from the worker): how many lines so far."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines


class RunProgress(Message):
    """A container run or a diagnostic build moved on (posted from a worker thread)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class GociApp(App[int]):
    """goci-doctor's guided troubleshooting session."""

    CSS_PATH = "app.tcss"
    TITLE = "goci-doctor"
    ENABLE_COMMAND_PALETTE = True
    # Letters and digits type into a focused text field (the rule F1 states); everywhere else
    # they drive the steps. The priority keys below are not printable, so they work from any
    # widget, text fields included; escape leaves a field before it cancels work.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_step", "Next"),
        Binding("b", "prev_step", "Back"),
        Binding("m", "run_matrix", "Run matrix"),
        Binding("escape", "escape", "Leave field / cancel", show=False),
        Binding("h", "history", "History"),
        Binding("f1,question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+pagedown,f6", "next_step", "Next step", show=False, priority=True),
        Binding("ctrl+pageup,f5", "prev_step", "Previous step", show=False, priority=True),
        *[Binding(str(i), f"step({i})", f"Step {i}", show=False) for i in range(1, 7)],
    ]

    def __init__(
        self,
        *,
        path: str | Path | None = None,
        log: str | None = None,
        log_source: str = "log",
        log_path: str | None = None,
        project: str | Path | None = None,
        report: Report | None = None,
        report_path: str = "",
        demo_scenario: str | None = None,
        runner: Any = None,
        env: EnvFacts | None = None,
        gather_env: bool = True,
        targets: Iterable[str] | None = None,
        history_dir: Path | None = None,
        config: Any = None,
    ) -> None:
        super().__init__()
        self._given_config = config
        self._start_path = str(path) if path else ""
        self._start_log = log
        self._start_log_source = log_source
        self._start_log_path = log_path
        self._start_project = str(project) if project else ""
        self._start_report = report
        self._start_report_path = report_path
        self._start_demo = demo_scenario
        self._runner = runner
        self._runner_given = runner is not None
        self._gather_env = gather_env
        self._history_dir = history_dir
        self._work: Worker[Any] | None = None
        self._proving = ""
        """Id of the fix being proven: the chain returns to it when the proof ends."""
        # Set by escape: a project's builds stop at the next variant (builds has no cancel of its own).
        self._cancel_requested = threading.Event()
        self.session = Session(env=env, env_origin="This machine" if env else "")
        self.session.targets = self.canonical_targets(targets) if targets else self._configured_targets()
        cfg = self._config()
        if cfg is not None and getattr(cfg, "theme", "") in self.available_themes:
            self.theme = cfg.theme
        self.exported: dict[str, Path] = {}
        """Format -> the last file written by export (tests and the status line read it)."""

    # ---------------------------------------------------------------------------------------
    # Set-up

    def _config(self) -> Any:
        """The injected config, else the user's (None when it cannot be read)."""
        if self._given_config is not None:
            return self._given_config
        from goci_doctor.config import load_config

        try:
            return load_config()
        except GociError:
            return None

    @staticmethod
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

    def _configured_targets(self) -> list[str]:
        cfg = self._config()
        configured = getattr(cfg, "default_targets", None) if cfg is not None else None
        return self.canonical_targets(configured or DEFAULT_TARGETS)

    def _on_theme_changed(self, theme: Any) -> None:
        self._refresh_chain()
        self.save_theme(getattr(theme, "name", str(theme)))

    def save_theme(self, name: str) -> None:
        """Keep the chosen theme in the user config (only the user's own config, never an injected one)."""
        if self._given_config is not None:
            return
        import dataclasses

        from goci_doctor.config import load_config, save_config

        try:
            cfg = load_config()
            if cfg.theme != name:
                save_config(dataclasses.replace(cfg, theme=name))
        except GociError as exc:
            self.notify(f"theme not saved: {exc}", severity="warning", markup=False)

    def get_default_screen(self) -> Screen[Any]:
        from goci_doctor.lab import demo

        try:
            scenarios = demo.scenarios()
        except GociError:
            scenarios = []
        return SessionScreen(scenarios)

    def start_session(self) -> None:
        """Called by the session screen once its panes exist: open what the command line named."""
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self.session.env is not None:
            self._show_env()
        elif self._gather_env and not (self._start_demo or self._start_report):
            self.run_worker(self._gather, thread=True, name="env", group="env", exit_on_error=False)
        else:
            self._show_env()
        if self._start_demo:
            self.open_demo(self._start_demo)
        elif self._start_report is not None:
            self.open_report(self._start_report, self._start_report_path)
        elif self._start_path:
            self.open_artifact(self._start_path)
        elif self._start_log_path is not None:
            self.load_log(self._start_log_path)
        elif self._start_log is not None:
            self.explain_log(self._start_log, self._start_log_source)
        elif self._start_project:
            self.open_project(self._start_project)

    def _gather(self) -> tuple[EnvFacts, list[str]]:
        from goci_doctor import hostenv

        facts = hostenv.gather(docker=True)
        return facts, hostenv.problems(facts)

    # ---------------------------------------------------------------------------------------
    # Helpers

    def _session_screen(self) -> SessionScreen:
        """The session's screen, even while a dialog or the palette is on top of it."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, SessionScreen):
                return screen
        raise LookupError("no session screen")

    def _pane(self, kind: type[Any]) -> Any:
        return self._session_screen().query_one(kind)

    def goto(self, step: str) -> None:
        """Show one step (a pane id from STEPS) and focus its main widget.

        Focus must follow: a widget left focused in the hidden pane would pull the tabs back
        to its own step (TabbedContent activates the pane that holds the focus).
        """
        screen = self._session_screen()
        screen.query_one("#steps", TabbedContent).active = step
        target = screen.query_one(main_widget(step, self.session.demo != ""))
        screen.set_focus(target)

    @property
    def current_step(self) -> str:
        return self._session_screen().query_one("#steps", TabbedContent).active

    def in_text_field(self) -> bool:
        """True when the focus is in a field that takes typed letters (an Input or editable TextArea)."""
        focused = self.focused
        return isinstance(focused, Input) or (isinstance(focused, TextArea) and not focused.read_only)

    def action_escape(self) -> None:
        """Escape leaves a text field (to the step's main widget); otherwise it cancels running work."""
        if self.in_text_field() and isinstance(self.screen, SessionScreen):
            self.goto(self.current_step)
            return
        self.action_cancel()

    def kind_colours(self) -> dict[str, str]:
        """Colours of chain-node kinds in the current theme (readable in light and dark)."""
        t = self.current_theme
        return {
            "symptom": t.error or "red",
            "mechanism": t.warning or "yellow",
            "cause": t.accent or t.primary,
            "fix": t.success or "green",
            "note": t.secondary or t.primary,
        }

    def _redact(self, text: str) -> str:
        from goci_doctor.safety.redact import redact

        return redact(text)

    def _show_env(self, problems: list[str] | None = None) -> None:
        env = self.session.env
        if problems is None and env is not None:
            from goci_doctor import hostenv

            problems = hostenv.problems(env)
        self._pane(EnvironmentPane).show(env, problems or [], self._redact, self.session.env_origin)

    def _refresh_chain(self) -> None:
        try:
            pane = self._pane(ChainPane)
        except (LookupError, NoMatches):
            return
        # Keep the cursor where the person left it (a proof must not jump the tree back).
        current = pane.selected()
        pane.show(self.session.diagnosis, self.session.builds, keep=current.id if current is not None else "")

    def why_not_provable(self, node: ChainNode) -> str:
        """ "" when "prove this fix" can really prove ``node`` in this session, else why not (one line)."""
        s = self.session
        if node.kind != "fix" or not node.variant:
            return "This fix names no build variant: there is nothing to rebuild."
        if s.project:
            return ""
        if s.demo:
            if any(r.variant == node.variant for r in s.demo_runs):
                return ""
            return f"Not recorded for this demo: the {node.variant} variant was never run here, so it cannot be proven."
        return "Proving a fix rebuilds the project: choose the Go project in step 2 to prove it."

    def _refresh_all(self) -> None:
        s = self.session
        verdicts = s.static.verdicts if s.static else ()
        note = ""
        if s.facts is None and s.log_text:
            note = "This session started from a log: there is no artifact to inspect."
        self._pane(FactsPane).show(s.facts, verdicts, note)
        matrix = self._pane(MatrixPane)
        if s.build_matrix is not None:
            matrix.show_project(s.builds, s.runs, self.variant_predictions())
        else:
            matrix.reset(
                s.targets if s.facts else [],
                verdicts,
                s.runs,
                recorded=s.runs_recorded,
                predicted_only=s.predicted_only,
            )
        if s.build_matrix is not None:
            matrix.set_status(
                f"Project {lit(Path(s.project).name)}: each diagnostic variant built and run "
                "on the targets. Press [b]m[/b] to rebuild; step 5 shows the crash chain."
            )
        elif s.facts is None:
            matrix.set_status(
                "No artifact to run: pick a binary in step 2."
                if not s.log_text
                else "This session explains a log: there is nothing to run."
            )
        elif s.demo:
            matrix.set_status("[b]DEMO[/b]: press [b]m[/b] to replay the recorded real runs.")
        elif s.replayed_from and s.runs:
            matrix.set_status("Recorded runs from the report. Press [b]m[/b] to re-run them on this machine.")
        else:
            matrix.set_status("Press [b]m[/b] (or Run matrix) to run the artifact in the target containers.")
        self._refresh_chain()
        self._refresh_export()

    def _diagnose(self) -> None:
        """Ask the core for the diagnosis of what the session holds now."""
        from goci_doctor import diagnosis, knowledge
        from goci_doctor.diagnosis import explain

        s = self.session
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
        from goci_doctor.lab import builds

        s = self.session
        matrix = s.build_matrix
        own = matrix.build("as-configured")
        s.static = None
        if s.facts is not None:
            s.static = diagnosis.check_artifact(s.facts, [knowledge.resolve_target(t) for t in s.targets])
        found = builds.matrix_diagnosis(matrix)
        if found is not None:
            s.diagnosis = found
        elif own is not None and not own.ok and own.output.strip():
            # The project's own build failed: its go output is the log to explain.
            s.diagnosis = explain.explain_text(own.output, source=f"go build ({Path(s.project).name})")
        elif s.facts is not None:
            targets = [knowledge.resolve_target(t) for t in s.targets]
            s.diagnosis = diagnosis.check_artifact(s.facts, targets, builds=s.builds)
        else:
            s.diagnosis = None

    def variant_predictions(self) -> dict[str, list[Any]]:
        """variant -> static verdicts of its rebuilt binary on the targets (the matrix's Predicted)."""
        from goci_doctor import diagnosis, knowledge

        targets = [knowledge.resolve_target(t) for t in self.session.targets]
        return {
            b.variant: list(diagnosis.check_artifact(b.facts, targets).verdicts)
            for b in self.session.builds
            if b.ok and b.facts is not None
        }

    def _reset(self) -> None:
        self.action_cancel()
        s = self.session
        s.facts, s.artifact_path, s.log_text, s.log_source, s.project = None, "", "", "", ""
        s.runs, s.builds, s.static, s.diagnosis = [], [], None, None
        s.demo, s.replayed_from, s.created, s.title = "", "", "", ""
        s.runs_recorded = False
        s.log_lines = ()
        s.predicted_only, s.demo_runs = [], []
        s.build_matrix = None

    def _fail(self, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, GociError) else f"{type(exc).__name__}: {exc}"
        self.notify(message, severity="error", timeout=8, markup=False)

    # ---------------------------------------------------------------------------------------
    # Opening what failed (step 2)

    def open_artifact(self, path: str, *, keep_runs: bool = False) -> None:
        """Inspect a binary statically and predict the targets; then show its facts."""
        from goci_doctor import artifact

        if not path:
            self.notify("Type or browse to the binary first.", severity="warning")
            return
        try:
            facts = artifact.inspect_path(Path(path).expanduser())
        except GociError as exc:
            self._fail(exc)
            return
        targets = list(self.session.targets)
        replayed = self.session.replayed_from
        self._reset()
        self.session.targets = targets
        self.session.replayed_from = replayed if keep_runs else ""
        self.session.artifact_path, self.session.facts = str(Path(path).expanduser()), facts
        self._after_open("facts")

    def explain_log(self, text: str, source: str = "log") -> None:
        """Explain a pasted or loaded crash/CI log; then show its chain."""
        if not text.strip():
            self.notify("Paste a log (or load one) first.", severity="warning")
            return
        targets = list(self.session.targets)
        self._reset()
        self.session.targets = targets
        self.session.log_text, self.session.log_source = text, source
        self._after_open("chain")

    def load_log(self, path: str) -> None:
        """Read and explain a log file in a worker (it may be huge); step 5 shows progress, then the chain."""
        targets = list(self.session.targets)
        self._reset()
        s = self.session
        s.targets, s.log_source, s.log_text = targets, path, ""
        self._pane(FactsPane).show(None, (), "This session started from a log: there is no artifact to inspect.")
        self._pane(ChainPane).show(None)
        self._pane(ChainPane).set_progress(f"Reading and explaining {path}…")
        self.goto("chain")
        self.run_worker(lambda: self._work_log(path), thread=True, name="log", group="log", exit_on_error=False)

    def _work_log(self, path: str) -> Any:
        from goci_doctor.tui import logview

        def progress(lines: int) -> None:
            self.post_message(LogProgress(lines))

        return logview.read_and_explain(path, progress)

    def on_log_progress(self, message: LogProgress) -> None:
        self._pane(ChainPane).set_progress(
            f"Reading and explaining {self.session.log_source}… {message.lines:,} lines so far"
        )

    def _log_loaded(self, loaded: Any) -> None:
        s = self.session
        s.diagnosis, s.log_lines, s.log_text = loaded.diagnosis, loaded.lines, loaded.excerpt
        total = len(loaded.lines)
        shown = f"{len(loaded.matched)} matched line{'s' if len(loaded.matched) != 1 else ''}"
        row = 0
        if loaded.matched:
            from goci_doctor.tui.logview import displayable

            first = displayable(loaded.lines[loaded.matched[0] - 1])
            row = next((i for i, ln in enumerate(loaded.excerpt.splitlines()) if ln == first), 0)
        note = f"Excerpt of {s.log_source} ({total:,} lines, {shown}): Whole log shows every line."
        self._pane(SourcePane).show_log(loaded.excerpt, note, row)
        self._refresh_all()
        self.goto("chain")

    def show_whole_log(self) -> None:
        """Put every line of the loaded log in the step-2 box (on demand: it can be large)."""
        from goci_doctor.tui.logview import displayable

        s = self.session
        if not s.log_lines:
            return
        self._pane(SourcePane).show_log(
            displayable("\n".join(s.log_lines)), f"The whole of {s.log_source} ({len(s.log_lines):,} lines)."
        )

    def open_demo(self, name: str) -> None:
        """Open a demo scenario: the recorded environment, artifact or log, and a replay runner."""
        from goci_doctor.lab import demo

        try:
            sc = demo.scenario(name)
        except GociError as exc:
            self._fail(exc)
            return
        self._reset()
        s = self.session
        s.demo, s.created, s.title = sc.name, sc.recorded, f"demo: {sc.title}"
        s.env, s.env_origin = sc.env, f"DEMO — recorded on {sc.recorded_on} ({sc.recorded}), not this machine"
        s.targets = self.canonical_targets(sc.targets)
        s.predicted_only = self.canonical_targets(sc.predicted)
        s.demo_runs = list(sc.runs)
        if sc.artifact is not None:
            s.facts, s.artifact_path = sc.artifact, sc.artifact.path
        else:
            s.log_text, s.log_source = sc.log, sc.log_source or sc.name
        if not self._runner_given:
            from goci_doctor.lab.runner import ReplayRunner

            # Short pauses between phases so the replay reads like the live run it was.
            self._runner = ReplayRunner(list(sc.runs), delay=0.15)
        self.sub_title = f"DEMO: {sc.title}"
        self._show_env()
        self._after_open("facts" if sc.artifact is not None else "chain")

    def open_report(self, report: Report, origin: str = "") -> None:
        """Replay a saved session: its environment, artifact facts, runs and chains."""
        self._reset()
        s = self.session
        d = report.diagnosis
        s.replayed_from, s.created, s.title = origin or "report", report.created, report.title
        s.env, s.env_origin = report.env, f"Recorded in the report ({report.created or 'undated'}), not this machine"
        s.runs, s.builds, s.runs_recorded = list(d.runs), list(d.builds), True
        s.targets = self.canonical_targets(list(report.targets) or sorted({r.target for r in d.runs})) or s.targets
        if d.artifacts:
            s.facts, s.artifact_path = d.artifacts[0], d.artifacts[0].path
        elif d.kind == "log":
            s.log_source = d.subject
        s.diagnosis = d
        if s.facts is not None:
            try:
                from goci_doctor import diagnosis, knowledge

                s.static = diagnosis.check_artifact(s.facts, [knowledge.resolve_target(t) for t in s.targets])
            except GociError as exc:
                self._fail(exc)
        self.sub_title = f"replaying {Path(origin).name}" if origin else "replaying a report"
        self._show_env()
        self._refresh_all()
        self.goto("chain")

    def open_project(self, directory: str) -> None:
        """Rebuild a Go project as diagnostic variants and run them on the targets (a worker)."""
        if not directory:
            self.notify("Type the Go project directory first.", severity="warning")
            return
        if not Path(directory).expanduser().is_dir():
            self.notify(f"{directory} is not a directory", severity="error", markup=False)
            return
        targets = list(self.session.targets)
        self._reset()
        self.session.targets, self.session.project = targets, str(Path(directory).expanduser())
        self.session.title = f"project {Path(directory).name}"
        self._pane(SourcePane).set_values(project=directory)
        self._refresh_chain()
        self._refresh_export()
        self._build_project()

    def _build_project(self) -> None:
        """Rebuild the session's project as every diagnostic variant and run each on the targets."""
        matrix = self._pane(MatrixPane)
        matrix.reset([], [])
        matrix.set_status(
            f"Building diagnostic variants of {lit(self.session.project)}…  (escape cancels; containers are removed)"
        )
        self.goto("matrix")
        self._start_work("project", self._work_project)

    def _after_open(self, step: str) -> None:
        try:
            self._diagnose()
        except GociError as exc:
            self._fail(exc)
        s = self.session
        self._pane(SourcePane).set_values(artifact=s.artifact_path if not s.demo else "", log=s.log_text)
        self._refresh_all()
        self.goto(step)

    def pick_file(self, purpose: str) -> None:
        """Open the file picker for a binary ("artifact") or a log ("log")."""

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            if purpose == "artifact":
                self.open_artifact(str(path), keep_runs=False)
                return
            self.load_log(str(path))

        title = "Pick the binary that failed" if purpose == "artifact" else "Load a crash or CI log"
        self.push_screen(FilePickerScreen(title), chosen)

    # ---------------------------------------------------------------------------------------
    # Long work: workers

    def _get_runner(self) -> Any:
        if self._runner is None:
            from goci_doctor.lab import docker as lab

            self._runner = lab.DockerRunner(config=self._config())
        return self._runner

    def _start_work(self, name: str, func: Any) -> None:
        if self._work is not None and self._work.state in (WorkerState.PENDING, WorkerState.RUNNING):
            self.notify("Still working: press escape to cancel first.", severity="warning")
            return
        self._cancel_requested.clear()
        self._work = self.run_worker(func, thread=True, name=name, group="work", exit_on_error=False)

    @property
    def runner(self) -> Any:
        """The runner in use (None until the first run needs one)."""
        return self._runner

    @property
    def work(self) -> Worker[Any] | None:
        """The running (or last) long job: the matrix, a project build or a proof."""
        return self._work

    def run_targets(self) -> list[str]:
        """The targets the matrix really runs (a demo's predicted-only targets are left out)."""
        return [t for t in self.session.targets if t not in self.session.predicted_only]

    def _emit(self, event: Any) -> None:
        # Called on worker threads: post_message is thread-safe and never blocks the run.
        self.post_message(RunProgress(event))

    def _emit_build(self, event: Any) -> None:
        """Progress of a project's builds and runs; after escape, stops before the next build starts."""
        self._emit(event)
        if self._cancel_requested.is_set() and not hasattr(event, "target"):
            # A build event: the build container just finished (or is not created yet) and removed.
            raise WorkCancelled("cancelled")

    def _work_matrix(self) -> list[RunResult]:
        s = self.session
        runner = self._get_runner()
        return list(runner.run_matrix(Path(s.artifact_path), self.run_targets(), on_event=self._emit))

    def _work_project(self) -> Any:
        from goci_doctor.lab import builds

        s = self.session
        return builds.prove(
            Path(s.project),
            list(s.targets),
            runner=self._get_runner(),
            on_event=self._emit_build,
            config=self._config(),
        )

    def _work_prove(self, node: ChainNode) -> Any:
        s = self.session
        if s.project:
            from goci_doctor.lab import builds

            return builds.prove(
                Path(s.project),
                list(s.targets),
                [node.variant],
                runner=self._get_runner(),
                on_event=self._emit_build,
                config=self._config(),
            )
        # A demo: the variant's runs were recorded from real rebuilt binaries; replay them.
        runner = self._get_runner()
        targets = sorted({r.target for r in s.demo_runs if r.variant == node.variant}) or self.run_targets()
        return list(runner.run_matrix(Path(s.artifact_path), targets, variant=node.variant, on_event=self._emit))

    def on_run_progress(self, message: RunProgress) -> None:
        ev = message.event
        matrix = self._pane(MatrixPane)
        if hasattr(ev, "target"):
            if ev.result is not None:
                matrix.show_result(ev.result)
            else:
                matrix.show_phase(ev.target, ev.phase, ev.message, ev.variant)
        else:
            # A diagnostic build started or finished: its row, then its targets' predictions.
            result = getattr(ev, "result", None)
            matrix.show_build(ev.variant, result, ev.message)
            if result is not None and result.ok and result.facts is not None:
                from goci_doctor import diagnosis, knowledge

                targets = [knowledge.resolve_target(t) for t in self.session.targets]
                matrix.predict(ev.variant, diagnosis.check_artifact(result.facts, targets).verdicts)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "env":
            if event.state == WorkerState.SUCCESS and worker.result is not None:
                facts, problems = worker.result
                self.session.env, self.session.env_origin = facts, "This machine"
                self._show_env(problems)
            elif event.state == WorkerState.ERROR:
                self._pane(EnvironmentPane).show(None, [], self._redact, f"Could not gather: {worker.error}")
            return
        if worker.group == "log":
            if event.state == WorkerState.SUCCESS:
                self._log_loaded(worker.result)
            elif event.state == WorkerState.ERROR and worker.error is not None:
                self._pane(ChainPane).set_progress("")
                self._fail(worker.error)
            return
        if worker.group != "work":
            return
        matrix = self._pane(MatrixPane)
        if event.state == WorkerState.ERROR and isinstance(worker.error, WorkCancelled):
            matrix.set_status("Cancelled: the builds stopped and their containers were removed.")
            return
        if event.state == WorkerState.ERROR:
            err = worker.error
            text = err.message if isinstance(err, GociError) else f"{type(err).__name__}: {err}"
            matrix.set_status(f"[$error]✖ {lit(text)}[/]  Static analysis (steps 3 and 5) still holds.")
            self._fail(err) if err is not None else None
            return
        if event.state == WorkerState.CANCELLED:
            matrix.set_status("Cancelled.")
            return
        if event.state != WorkerState.SUCCESS:
            return
        self._finish(worker.name, worker.result)

    def _finish(self, name: str, result: Any) -> None:
        from goci_doctor.lab.runner import summarize

        s = self.session
        s.runs_recorded = False
        matrix = self._pane(MatrixPane)
        if name == "project":
            s.build_matrix = result
            s.builds, s.runs = list(result.builds), list(result.runs)
            own = result.build("as-configured") or next((b for b in result.builds if b.ok), None)
            if own is not None and own.facts is not None:
                s.facts, s.artifact_path = own.facts, own.artifact
        elif name == "matrix":
            s.runs = [r for r in s.runs if r.variant] + list(result)
        else:
            new = list(result.runs) if hasattr(result, "runs") else list(result)
            variants = {r.variant for r in new}
            s.runs = [r for r in s.runs if r.variant not in variants] + new
            if hasattr(result, "builds"):
                built = {b.variant for b in result.builds}
                s.builds = [b for b in s.builds if b.variant not in built] + list(result.builds)
                s.runs = [r for r in s.runs if r.variant not in built] + new
                if s.build_matrix is not None:
                    s.build_matrix = dataclasses.replace(
                        s.build_matrix,
                        builds=list(s.builds),
                        runs=list(s.runs),
                        not_run={**s.build_matrix.not_run, **result.not_run},
                    )
        cancelled = any(r.error == "cancelled" for r in s.runs)
        try:
            self._diagnose()
        except GociError as exc:
            self._fail(exc)
        self._refresh_all()
        if name == "prove" and self._proving:
            # The proof's answer is the fix's mark: back to the chain, on the same fix.
            chain = self._pane(ChainPane)
            chain.show(s.diagnosis, s.builds, keep=self._proving)
            self.goto("chain")
            node = chain.selected()
            if node is not None and node.kind == "fix":
                from goci_doctor.diagnosis.fixstatus import fix_status

                self.notify(f"{node.title}: {fix_status(node, s.builds).label}", markup=False)
        shown = s.runs if name != "matrix" else list(result)
        if not shown:
            matrix.set_status("Nothing ran: no target could be run (see the rows above for why).")
        elif cancelled:
            matrix.set_status("Cancelled: " + lit(summarize([r for r in shown if r.error != "cancelled"])) + ".")
        else:
            matrix.set_status("Done: " + lit(summarize(shown)) + ".  Step 5 shows the crash chain.")

    def action_run_matrix(self) -> None:
        """Run the artifact on every target (step 4)."""
        s = self.session
        if s.project:
            self._build_project()
            return
        if s.facts is None:
            self.notify("Pick a binary (step 2) before running the matrix.", severity="warning")
            return
        if not (s.demo or self._runner_given) and not Path(s.artifact_path).is_file():
            self._pane(MatrixPane).set_status(
                f"[$error]The artifact {lit(s.artifact_path)} is not on this machine.[/] "
                "Pick it in step 2 to re-run the checks here."
            )
            self.goto("matrix")
            return
        matrix = self._pane(MatrixPane)
        matrix.reset(s.targets, s.static.verdicts if s.static else (), predicted_only=s.predicted_only)
        matrix.set_status("Running… (escape cancels; containers are removed)")
        self.goto("matrix")
        self._start_work("matrix", self._work_matrix)

    def prove_fix(self, node: ChainNode) -> None:
        """Rebuild with the fix's variant and run it on the targets ("prove this fix")."""
        why_not = self.why_not_provable(node)
        if why_not:
            self.notify(why_not, severity="warning", markup=False)
            return
        self._proving = node.id
        self._pane(MatrixPane).set_status(f"Proving {lit(node.variant)}… (escape cancels)")
        self.goto("matrix")
        self._start_work("prove", lambda: self._work_prove(node))

    def action_cancel(self) -> None:
        """Cancel running work: the runner stops and removes its containers."""
        if self._work is None or self._work.state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self._cancel_requested.set()
        if self._runner is not None:
            self._runner.cancel()
        self._pane(MatrixPane).set_status("Cancelling… (removing containers)")

    async def action_quit(self) -> None:
        """Quit, after cancelling running work so no container is left behind."""
        work = self._work
        if work is not None and work.state in (WorkerState.PENDING, WorkerState.RUNNING):
            self.action_cancel()
            try:
                await asyncio.wait_for(work.wait(), timeout=30)
            except Exception:
                pass
        self.exit(0)

    # ---------------------------------------------------------------------------------------
    # Export and history (step 6)

    def build_report(self) -> Report:
        """The session as a report: what Markdown/JSON export and the history hold."""
        from goci_doctor import __version__

        s = self.session
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

    def _refresh_export(self) -> None:
        from goci_doctor import render

        s = self.session
        text = ""
        if s.diagnosis is not None:
            try:
                text = render.render(self.build_report(), "markdown")
            except GociError as exc:
                text = f"(cannot render: {exc.message})"
        self._pane(ExportPane).show(text)

    def export(self, fmt: str, directory: str = "") -> Path | None:
        """Write the session as ``goci-report.md`` or ``goci-report.json`` into ``directory``."""
        from goci_doctor import render

        if self.session.diagnosis is None:
            self.notify("Nothing to export yet.", severity="warning")
            return None
        # Absolute, so the toast names the folder even when the field was left empty (the current one).
        folder = Path(directory or ".").expanduser().absolute()
        if not folder.is_dir():
            self._fail(BadInputError(f"{folder} is not a directory"))
            return None
        report = self.build_report()
        if fmt == "json":
            target, text = folder / "goci-report.json", render.report_to_json(report)
        else:
            target, text = folder / "goci-report.md", render.render(report, "markdown")
        try:
            render.write_atomic(target, text)
        except OSError as exc:
            self._fail(BadInputError(f"cannot write {target}: {exc.strerror}"))
            return None
        self.exported[fmt] = target
        self._pane(ExportPane).show(render.render(report, "markdown"), f"Wrote {lit(str(target))}")
        self.notify(f"Wrote {target}", markup=False)
        return target

    def action_save_history(self) -> None:
        """Keep the session in the history (user data directory)."""
        from goci_doctor.render import history

        if self.session.diagnosis is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        try:
            path = history.save_session(self.build_report(), self._history_dir)
        except (GociError, OSError) as exc:
            self._fail(exc)
            return
        self.exported["history"] = path
        self.notify(f"Saved to the history as {path.stem}", markup=False)

    def action_history(self) -> None:
        """List saved sessions and re-open one."""
        from goci_doctor.render import history

        def chosen(session_id: str | None) -> None:
            if not session_id:
                return
            try:
                report = history.load_session(session_id, self._history_dir)
            except GociError as exc:
                self._fail(exc)
                return
            self.open_report(report, session_id)

        self.push_screen(HistoryScreen(history.list_sessions(self._history_dir)), chosen)

    # ---------------------------------------------------------------------------------------
    # Navigation, help, palette

    def action_step(self, number: int) -> None:
        self.goto(STEPS[max(1, min(number, len(STEPS))) - 1][0])

    def _step_index(self) -> int:
        return [p for p, _ in STEPS].index(self.current_step)

    def action_next_step(self) -> None:
        self.goto(STEPS[min(self._step_index() + 1, len(STEPS) - 1)][0])

    def action_prev_step(self) -> None:
        self.goto(STEPS[max(self._step_index() - 1, 0)][0])

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, (_pane, title) in enumerate(STEPS, start=1):
            yield SystemCommand(f"Step {title}", f"Go to step {i}", lambda i=i: self.action_step(i))
        yield SystemCommand(
            "Run container matrix", "Run the artifact in every target container", self.action_run_matrix
        )
        yield SystemCommand("Cancel running work", "Stop runs and remove their containers", self.action_cancel)
        yield SystemCommand("Export Markdown", "Write goci-report.md here", lambda: self.export("markdown"))
        yield SystemCommand(
            "Export JSON", "Write goci-report.json here (replay with --report)", lambda: self.export("json")
        )
        yield SystemCommand("Save to history", "Keep this session in the history", self.action_save_history)
        yield SystemCommand("Open history", "Re-open a saved session", self.action_history)
        from goci_doctor.tui.trace_screen import trace_commands

        yield from trace_commands(self)
        try:
            from goci_doctor.lab import demo

            for sc in demo.scenarios():
                yield SystemCommand(f"Demo: {sc.title}", sc.summary, lambda n=sc.name: self.open_demo(n))
        except GociError:
            return


def run_app(
    *,
    path: str | None = None,
    log: str | None = None,
    project: str | None = None,
    report: str | None = None,
    demo_scenario: str | None = None,
    runner: Any = None,
) -> int:
    """Open the session (``goci-doctor``, ``tui``, ``demo``). Bad inputs fail before the UI starts.

    ``demo_scenario=""`` opens the demo at its first scenario; None is not a demo.
    """
    if log is not None:
        # Only opened here (one clear line before the UI if it cannot be); the worker reads it.
        try:
            with Path(log).open("rb"):
                pass
        except OSError as exc:
            raise BadInputError(f"cannot read log {log}: {exc.strerror}") from None
    if path is not None and not Path(path).exists():
        raise no_such_file(path)
    if path is not None and Path(path).is_dir():
        raise BadInputError(f"{path} is a directory: give a binary, or --project {path} for a Go project")
    if project is not None and not Path(project).is_dir():
        raise BadInputError(f"{project} is not a directory")
    loaded: Report | None = None
    if report is not None:
        from goci_doctor import render

        loaded = render.load_report(report)
    if demo_scenario is not None:
        from goci_doctor.lab import demo

        if demo_scenario == "":
            # `goci-doctor demo` without --scenario starts at the first classic failure.
            first = demo.scenarios()
            if not first:
                raise BadInputError(f"no demo recordings found in {demo.demo_dir()}")
            demo_scenario = first[0].name
        demo.scenario(demo_scenario)  # unknown name: one clear line before the UI opens
    app = GociApp(
        path=path,
        log_path=log,
        project=project,
        report=loaded,
        report_path=report or "",
        demo_scenario=demo_scenario,
        runner=runner,
    )
    result = app.run()
    return int(result or 0)
