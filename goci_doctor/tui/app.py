"""The interactive session: a Textual layer that renders a ``SessionController`` and routes keys to it.

The controller (``tui/session.py``, no Textual) holds the session's state and makes every decision:
what is open, the diagnosis, the matrix's and the project's work, merging results, the report. The
app draws what it holds, moves between the six steps, and runs the controller's long work
(gathering the environment, container runs, diagnostic builds) in thread workers, so the UI never
freezes; escape or quitting sets the controller's cancel event and the runner removes its containers.

The runner is passed in (``GociApp(runner=...)``): the demo and the tests hand it a
``ReplayRunner``; otherwise a ``DockerRunner`` is created only when the matrix step first runs,
so the Docker SDK is never imported for static analysis and a missing engine only costs step 4.

Imports: diagnosis.fixstatus, hostenv, lab.demo, model, records, render, render.history,
safety.redact, tui.screens, tui.session, tui.trace_screen, tui.kit and the panes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, TextArea
from textual.worker import Worker, WorkerState

from goci_doctor.model import BadInputError, GociError, no_such_file
from goci_doctor.records import ChainNode, EnvFacts, Report
from goci_doctor.tui.chainpane import ChainPane
from goci_doctor.tui.inputpanes import EnvironmentPane, ExportPane, FactsPane, SourcePane
from goci_doctor.tui.kit import STEPS, lit, main_widget, readable
from goci_doctor.tui.matrixpane import MatrixPane
from goci_doctor.tui.screens import FilePickerScreen, HelpScreen, HistoryScreen, SessionScreen
from goci_doctor.tui.session import Finished, Session, SessionController, WorkName, canonical_targets


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
        lazy_steps: bool | None = None,
    ) -> None:
        """``lazy_steps``: mount the hidden steps after the first paint (None: in a real terminal,
        not under a headless test driver, whose tests read every step right after start-up)."""
        super().__init__()
        self.lazy_steps = lazy_steps
        self._start_path = str(path) if path else ""
        self._start_log = log
        self._start_log_source = log_source
        self._start_log_path = log_path
        self._start_project = str(project) if project else ""
        self._start_report = report
        self._start_report_path = report_path
        self._start_demo = demo_scenario
        self._gather_env = gather_env
        self._work: Worker[Any] | None = None
        self.controller = SessionController(
            config=config, runner=runner, env=env, targets=targets, history_dir=history_dir
        )
        self.controller.on_event = self._emit
        cfg = self.controller.config()
        if cfg is not None and getattr(cfg, "theme", "") in self.available_themes:
            self.theme = cfg.theme
        self.exported: dict[str, Path] = {}
        """Format -> the last file written by export (tests and the status line read it)."""

    @property
    def session(self) -> Session:
        """The session's state (owned by the controller)."""
        return self.controller.state

    canonical_targets = staticmethod(canonical_targets)

    # ---------------------------------------------------------------------------------------
    # Set-up

    def _on_theme_changed(self, theme: Any) -> None:
        self._refresh_chain()
        self.save_theme(getattr(theme, "name", str(theme)))

    def save_theme(self, name: str) -> None:
        """Keep the chosen theme in the user config (only the user's own config, never an injected one)."""
        try:
            self.controller.save_theme(name)
        except GociError as exc:
            self.notify(f"theme not saved: {exc}", severity="warning", markup=False)

    def get_default_screen(self) -> Screen[Any]:
        def scenarios() -> list[Any]:
            from goci_doctor.lab import demo

            try:
                return list(demo.scenarios())
            except GociError:
                return []

        # Read when step 2 is mounted (after the first paint, in a terminal).
        lazy = not self.is_headless if self.lazy_steps is None else self.lazy_steps
        return SessionScreen(scenarios, lazy=lazy)

    def start_session(self) -> None:
        """Called by the session screen once its panes exist: open what the command line named."""
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.controller.ready()
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

    def _regather_env(self) -> None:
        """Step 1 shows this machine again when the session left a demo (its recorded machine is not this one)."""
        if self.session.env is not None:
            return
        if not self._gather_env:
            self._show_env()
            return
        if any(w.group == "env" and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers):
            return
        self._pane(EnvironmentPane).show(None, [], self._redact, "Gathering this machine's environment…")
        self.run_worker(self._gather, thread=True, name="env", group="env", exit_on_error=False)

    @staticmethod
    def _gather() -> tuple[EnvFacts, list[str]]:
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
        try:
            target = screen.query_one(main_widget(step, self.session.demo != ""))
        except NoMatches:
            # The hidden steps are mounted just after the first paint: focus once this one is.
            self.call_after_refresh(self.goto, step)
            return
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
        """Colours of chain-node kinds in the current theme: five distinct hues, readable in light and dark.

        "why" (mechanism) and "root cause" must never share a colour: the cause takes the theme's
        primary, which no other kind uses (its accent can equal its warning colour). Each is made
        readable as text on the theme's background (``readable``).
        """
        t = self.current_theme
        background = t.background or ("#121212" if t.dark else "#efefef")
        raw = {
            "symptom": t.error or "#ba3c5b",
            "mechanism": t.warning or "#ffa62b",
            "cause": t.primary,
            "fix": t.success or "#4ebf71",
            "note": t.secondary or t.primary,
        }
        return {kind: readable(colour, background, t.dark) for kind, colour in raw.items()}

    @staticmethod
    def _redact(text: str) -> str:
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
        return self.controller.why_not_provable(node)

    def _matrix_idle_status(self) -> str:
        """The matrix's status line when nothing runs: what the session allows."""
        s = self.session
        if s.build_matrix is not None and s.project:
            return (
                f"Project {lit(Path(s.project).name)}: each diagnostic variant built and run "
                "on the targets. Press [b]m[/b] to rebuild; step 5 shows the crash chain."
            )
        if s.build_matrix is not None:
            return "Recorded builds and runs from the report: each diagnostic variant and the targets it ran on."
        if s.facts is None:
            return (
                "No artifact to run: pick a binary in step 2."
                if not s.log_text and not s.log_source
                else "This session explains a log: there is nothing to run."
            )
        if s.demo:
            return "[b]DEMO[/b]: press [b]m[/b] to replay the recorded real runs."
        if s.replayed_from and s.runs:
            return "Recorded runs from the report. Press [b]m[/b] to re-run them on this machine."
        return "Press [b]m[/b] (or Run matrix) to run the artifact in the target containers."

    def _refresh_all(self) -> None:
        s = self.session
        verdicts = s.static.verdicts if s.static else ()
        note = ""
        if s.facts is None and (s.log_text or s.log_source):
            note = "This session started from a log: there is no artifact to inspect."
        self._pane(FactsPane).show(s.facts, verdicts, note)
        matrix = self._pane(MatrixPane)
        if s.build_matrix is not None:
            matrix.show_project(s.builds, s.runs, self.controller.variant_predictions(), recorded=s.runs_recorded)
        else:
            matrix.reset(
                s.targets if s.facts else [],
                verdicts,
                s.runs,
                recorded=s.runs_recorded,
                predicted_only=s.predicted_only,
                variants=self.controller.variants(),
            )
        matrix.set_status(self._matrix_idle_status())
        self._refresh_chain()
        self._refresh_export()

    def _diagnose(self) -> None:
        """Ask the controller for the diagnosis again; a failure is a toast (the session is kept)."""
        try:
            self.controller.diagnose()
        except GociError as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, GociError) else f"{type(exc).__name__}: {exc}"
        self.notify(message, severity="error", timeout=8, markup=False)

    def _warn(self, exc: GociError) -> None:
        self.notify(exc.message, severity="warning", markup=False)

    # ---------------------------------------------------------------------------------------
    # Opening what failed (step 2)

    def open_artifact(self, path: str, *, keep_runs: bool = False) -> None:
        """Inspect a binary statically and predict the targets; then show its facts."""
        if not path:
            self.notify("Type or browse to the binary first.", severity="warning")
            return
        self.action_cancel()
        try:
            problem = self.controller.open_artifact(path, keep_replay=keep_runs)
        except GociError as exc:
            self._fail(exc)
            return
        if problem is not None:
            self._fail(problem)
        self._after_open("facts")

    def explain_log(self, text: str, source: str = "log") -> None:
        """Explain a pasted or loaded crash/CI log; then show its chain."""
        if not text.strip():
            self.notify("Paste a log (or load one) first.", severity="warning")
            return
        self.action_cancel()
        try:
            problem = self.controller.explain_log(text, source)
        except GociError as exc:
            problem = exc
        if problem is not None:
            self._fail(problem)
        self._after_open("chain")

    def load_log(self, path: str) -> None:
        """Read and explain a log file in a worker (it may be huge); step 5 shows progress, then the chain."""
        self.action_cancel()
        self.controller.begin_log(path)
        self.sub_title = ""
        self._regather_env()
        self._pane(FactsPane).show(None, (), "This session started from a log: there is no artifact to inspect.")
        self._pane(MatrixPane).reset([], [])
        self._pane(MatrixPane).set_status(self._matrix_idle_status())
        self._pane(ChainPane).show(None)
        self._pane(ChainPane).set_progress(f"Reading and explaining {path}…")
        self._pane(ExportPane).show("")
        self.goto("chain")

        def progress(lines: int) -> None:
            self.post_message(LogProgress(lines))

        def work() -> Any:
            return self.controller.read_log(path, progress)

        self.run_worker(work, thread=True, name="log", group="log", exit_on_error=False)

    def on_log_progress(self, message: LogProgress) -> None:
        self._pane(ChainPane).set_progress(
            f"Reading and explaining {self.session.log_source}… {message.lines:,} lines so far"
        )

    def _log_loaded(self, loaded: Any) -> None:
        view = self.controller.log_loaded(loaded)
        self._pane(SourcePane).show_log(view.text, view.note, view.row)
        self._refresh_all()
        self.goto("chain")

    def show_whole_log(self) -> None:
        """Put every line of the loaded log in the step-2 box (on demand: it can be large)."""
        view = self.controller.whole_log()
        if view is not None:
            self._pane(SourcePane).show_log(view.text, view.note)

    def open_demo(self, name: str) -> None:
        """Open a demo scenario: the recorded environment, artifact or log, and a replay runner."""
        self.action_cancel()
        try:
            sc, problem = self.controller.open_demo(name)
        except GociError as exc:
            self._fail(exc)
            return
        if problem is not None:
            self._fail(problem)
        self.sub_title = f"DEMO: {sc.title}"
        self._show_env()
        self._after_open("facts" if sc.artifact is not None else "chain")

    def open_report(self, report: Report, origin: str = "") -> None:
        """Replay a saved session: its environment, artifact facts, runs, builds and chains."""
        self.action_cancel()
        problem = self.controller.open_report(report, origin)
        if problem is not None:
            self._fail(problem)
        self.sub_title = f"replaying {Path(origin).name}" if origin else "replaying a report"
        self._show_env()
        self._refresh_all()
        self.goto("chain")

    def open_project(self, directory: str) -> None:
        """Rebuild a Go project as diagnostic variants and run them on the targets (a worker)."""
        if not directory:
            self.notify("Type the Go project directory first.", severity="warning")
            return
        try:
            self.controller.open_project(directory)
        except GociError as exc:
            self._fail(exc)
            return
        self.sub_title = ""
        self._regather_env()
        self._pane(SourcePane).set_values(project=directory)
        self._refresh_chain()
        self._refresh_export()
        self._build_project()

    def _build_project(self) -> None:
        """Rebuild the session's project as every diagnostic variant and run each on the targets."""
        if self._busy():
            return
        matrix = self._pane(MatrixPane)
        matrix.reset([], [], variants=self.controller.variants(), size_for=self.session.targets)
        matrix.set_status(
            f"Building diagnostic variants of {lit(self.session.project)}…  (escape cancels; containers are removed)"
        )
        self.goto("matrix")
        self._start_work("project")

    def _after_open(self, step: str) -> None:
        s = self.session
        if not s.demo and not s.replayed_from:
            self.sub_title = ""  # a demo's or a report's title no longer describes the session
        self._regather_env()
        self._pane(SourcePane).demo_first(bool(s.demo))
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

    def _busy(self) -> bool:
        if self._work is not None and self._work.state in (WorkerState.PENDING, WorkerState.RUNNING):
            self.notify("Still working: press escape to cancel first.", severity="warning")
            return True
        return False

    def _start_work(self, name: WorkName, node: ChainNode | None = None) -> None:
        if self._busy():
            return
        try:
            func = self.controller.start_work(name, node)
        except GociError as exc:
            self._warn(exc)
            return
        self._pane(MatrixPane).start_clock()
        self._work = self.run_worker(func, thread=True, name=name, group="work", exit_on_error=False)

    @property
    def runner(self) -> Any:
        """The runner in use (None until the first run needs one)."""
        return self.controller.runner

    @property
    def work(self) -> Worker[Any] | None:
        """The running (or last) long job: the matrix, a project build or a proof."""
        return self._work

    def run_targets(self) -> list[str]:
        """The targets the matrix really runs (a demo's predicted-only targets are left out)."""
        return self.controller.run_targets()

    def _emit(self, event: Any) -> None:
        # Called on worker threads: post_message is thread-safe and never blocks the run.
        self.post_message(RunProgress(event))

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
            if result is not None:
                matrix.predict(ev.variant, self.controller.predict_build(result))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "env":
            if self.session.demo or self.session.replayed_from:
                return  # a demo or a report opened meanwhile: step 1 shows its recorded environment
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
        if worker.group != "work" or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        matrix = self._pane(MatrixPane)
        matrix.stop_clock()
        if event.state == WorkerState.ERROR:
            err = worker.error
            text = err.message if isinstance(err, GociError) else f"{type(err).__name__}: {err}"
            matrix.set_status(f"[$error]✖ {lit(text)}[/]  Static analysis (steps 3 and 5) still holds.")
            self._fail(err) if err is not None else None
            return
        if event.state == WorkerState.CANCELLED:
            matrix.mark_cancelled()
            matrix.set_status("Cancelled.")
            return
        if event.state == WorkerState.SUCCESS:
            self._finish(worker.name, worker.result)  # type: ignore[arg-type]

    def _finish(self, name: WorkName, result: Any) -> None:
        s = self.session
        proving = self.controller.proving
        done = self.controller.finish(name, result)
        if done.state == "stale":
            return  # another input was opened while this ran: its answer belongs to no one now
        if done.error is not None:
            self._fail(done.error)
        self._refresh_all()
        if name == "prove" and proving:
            # The proof's answer is the fix's mark: back to the chain, on the same fix.
            chain = self._pane(ChainPane)
            chain.show(s.diagnosis, s.builds, keep=proving)
            self.goto("chain")
            node = chain.selected()
            if node is not None and node.kind == "fix":
                from goci_doctor.diagnosis.fixstatus import fix_status

                self.notify(f"{node.title}: {fix_status(node, s.builds).label}", markup=False)
        if done.state == "cancelled":
            self._pane(MatrixPane).mark_cancelled()
        self._pane(MatrixPane).set_status(self._finished_status(done))

    @staticmethod
    def _finished_status(done: Finished) -> str:
        """The matrix's status line once a job ended: "Cancelled" said once, never "Done: 0 ran"."""
        if done.state == "cancelled":
            ran = f"  Before that: {lit(done.summary)}." if done.summary else ""
            return f"Cancelled: nothing further started, and no container is left.{ran}"
        if done.state == "nothing":
            return "Nothing ran: no target could be run (see the rows above for why)."
        return "Done: " + lit(done.summary) + ".  Step 5 shows the crash chain."

    def action_run_matrix(self) -> None:
        """Run the artifact on every target (step 4)."""
        s = self.session
        if s.project:
            self._build_project()
            return
        blocker = self.controller.matrix_blocker()
        if blocker == "no-artifact":
            self.notify("Pick a binary (step 2) before running the matrix.", severity="warning")
            return
        if blocker == "artifact-missing":
            self._pane(MatrixPane).set_status(
                f"[$error]The artifact {lit(s.artifact_path)} is not on this machine.[/] "
                "Pick it in step 2 to re-run the checks here."
            )
            self.goto("matrix")
            return
        if self._busy():
            return
        matrix = self._pane(MatrixPane)
        matrix.reset(
            s.targets,
            s.static.verdicts if s.static else (),
            predicted_only=s.predicted_only,
            variants=self.controller.variants(),
        )
        matrix.set_status("Running… (escape cancels; containers are removed)")
        self.goto("matrix")
        self._start_work("matrix")

    def prove_fix(self, node: ChainNode) -> None:
        """Rebuild with the fix's variant and run it on the targets ("prove this fix")."""
        why_not = self.why_not_provable(node)
        if why_not:
            self.notify(why_not, severity="warning", markup=False)
            return
        if self._busy():
            return
        self._pane(MatrixPane).set_status(f"Proving {lit(node.variant)}… (escape cancels)")
        self.goto("matrix")
        self._start_work("prove", node)

    def action_cancel(self) -> None:
        """Cancel running work: no further build or run starts, the runner removes its containers."""
        if self._work is None or self._work.state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self.controller.request_cancel()
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

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen (the palette's "Screenshot"); the toast says where, or why not.

        Into ``path`` when given, else the Downloads folder, else (when there is none) the current
        folder, saying so.
        """
        import os
        from datetime import datetime

        from goci_doctor import render

        name = filename or f"goci-doctor-{datetime.now():%Y%m%d-%H%M%S}.svg"
        downloads = Path(os.environ.get("XDG_DOWNLOAD_DIR") or "~/Downloads").expanduser()
        folder, why = Path(path).expanduser() if path else downloads, ""
        if not path and not downloads.is_dir():
            folder, why = Path.cwd(), f"{downloads} does not exist, so "
        target = folder / name
        try:
            render.write_atomic(target, self.export_screenshot())
        except (OSError, GociError) as exc:
            reason = exc.message if isinstance(exc, GociError) else exc.strerror or str(exc)
            self.notify(f"Screenshot not saved: cannot write {target}: {reason}", severity="error", markup=False)
            return None
        message = f"{why}the screenshot is saved as {target}"
        self.notify(message[0].upper() + message[1:], title="Screenshot", markup=False)
        return str(target)

    # ---------------------------------------------------------------------------------------
    # Export and history (step 6)

    def build_report(self) -> Report:
        """The session as a report: what Markdown/JSON export and the history hold."""
        return self.controller.build_report()

    def _refresh_export(self) -> None:
        self._pane(ExportPane).show(self.controller.markdown())

    def export(self, fmt: str, directory: str = "") -> Path | None:
        """Write the session as ``goci-report.md`` or ``goci-report.json`` into ``directory``."""
        if self.session.diagnosis is None:
            self.notify("Nothing to export yet.", severity="warning")
            return None
        try:
            target = self.controller.export("json" if fmt == "json" else "markdown", directory)
        except GociError as exc:
            self._fail(exc)
            return None
        self.exported[fmt] = target
        self._pane(ExportPane).show(self.controller.markdown(), f"Wrote {lit(str(target))}")
        self.notify(f"Wrote {target}", markup=False)
        return target

    def action_save_history(self) -> None:
        """Keep the session in the history (user data directory)."""
        if self.session.diagnosis is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        try:
            path = self.controller.save_history()
        except GociError as exc:
            self._fail(exc)
            return
        self.exported["history"] = path
        self.notify(f"Saved to the history as {path.stem}", markup=False)

    def action_history(self) -> None:
        """List saved sessions and re-open one."""
        from goci_doctor.render import history

        directory = self.controller.history_dir

        def chosen(session_id: str | None) -> None:
            if not session_id:
                return
            try:
                report = history.load_session(session_id, directory)
            except GociError as exc:
                self._fail(exc)
                return
            self.open_report(report, session_id)

        self.push_screen(HistoryScreen(history.list_sessions(directory)), chosen)

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
