"""The interactive session: a Textual layer that renders a ``SessionController`` and routes keys to it.

The controller (``tui/session.py``, no Textual) holds the session's state and makes every decision:
what is open, the diagnosis, the matrix's and the project's work, merging results, the report. The
app draws what it holds, moves between the six steps, and runs the controller's long work
(gathering the environment, container runs, diagnostic builds) in thread workers, so the UI never
freezes; escape or quitting sets the controller's cancel event and the runner removes its containers.

``GociApp`` (here: the key bindings, start-up, step navigation and the command palette) joins what
the app does, one module each: ``tui.appbase`` (the panes, drawing, step 1), ``tui.appwork`` (the
long work), ``tui.appopen`` (opening what failed, step 2) and ``tui.appexport`` (step 6).

The runner is passed in (``GociApp(runner=...)``): the demo and the tests hand it a
``ReplayRunner``; otherwise a ``DockerRunner`` is created only when the matrix step first runs,
so the Docker SDK is never imported for static analysis and a missing engine only costs step 4.

Imports: Textual, model, records, tui.appopen, tui.appexport, tui.kit, tui.screens, tui.session,
and lazily lab.demo, render and tui.trace_screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker

from goci_doctor import started
from goci_doctor.model import BadInputError, GociError, no_such_file
from goci_doctor.tui.appexport import ExportActions
from goci_doctor.tui.appopen import OpenActions
from goci_doctor.tui.kit import STEPS
from goci_doctor.tui.screens import HelpScreen, SessionScreen
from goci_doctor.tui.session import SessionController, canonical_targets

if TYPE_CHECKING:
    from goci_doctor.records import EnvFacts, Report


class GociApp(OpenActions, ExportActions):
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
        started()  # in a terminal the first screen is drawn by now (goci_doctor.started)
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.controller.ready()
        if self.session.env is not None:
            self._show_env()
        elif self._gather_env and not (self._start_demo or self._start_report):
            # In a terminal, after the first paint: the gathering thread (go env, compilers, the
            # engine) would otherwise take the interpreter from the first screen being drawn.
            # Headless (tests, snapshots) it starts at once, so waiting for workers sees it.
            if self.is_headless:
                self._start_gathering()
            else:
                self.call_after_refresh(self._start_gathering)
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
        if self.focused is None:
            # Nothing opened moved on to its step: step 1's table takes the focus (nothing had it).
            self.goto(self.current_step)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker ended or moved on: the part of the app that started it takes it."""
        group = event.worker.group
        if group == "env":
            self._env_worker_changed(event)
        elif group == "log":
            self._log_worker_changed(event)
        elif group == "work":
            self._work_worker_changed(event)

    def action_escape(self) -> None:
        """Escape leaves a text field (to the step's main widget); otherwise it cancels running work."""
        if self.in_text_field() and isinstance(self.screen, SessionScreen):
            self.goto(self.current_step)
            return
        self.action_cancel()

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
