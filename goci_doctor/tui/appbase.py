"""What every part of the app shares: the session's screen and panes, moving to a step, drawing
what the controller holds, step 1's environment, and the toasts that report a failure.

``AppBase`` is the bottom of the app's classes: ``tui.appwork`` (the long work),
``tui.appopen`` (opening what failed) and ``tui.appexport`` (export, history, screenshot) build on
it, and ``tui.app.GociApp`` joins them. The attributes it reads (``controller``, ``exported`` ...)
are set by ``GociApp.__init__``.

Imports: Textual, model, records, tui.kit, tui.screens, the panes, tui.session, and lazily
hostenv and safety.redact.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import Input, TabbedContent
from textual.worker import Worker, WorkerState

from goci_doctor.model import GociError
from goci_doctor.tui.chainpane import ChainPane
from goci_doctor.tui.inputpanes import EnvironmentPane, ExportPane, FactsPane
from goci_doctor.tui.kit import lit, main_widget, readable
from goci_doctor.tui.matrixpane import MatrixPane
from goci_doctor.tui.screens import SessionScreen
from goci_doctor.tui.session import Session, SessionController

if TYPE_CHECKING:
    from goci_doctor.records import EnvFacts


class AppBase(App[int]):
    """The session's screen, its panes and the state they draw (``GociApp`` is the whole app)."""

    controller: SessionController
    exported: dict[str, Path]
    lazy_steps: bool | None
    _gather_env: bool
    _work: Worker[Any] | None

    @property
    def session(self) -> Session:
        """The session's state (owned by the controller)."""
        return self.controller.state

    # ---------------------------------------------------------------------------------------
    # Step 1: the environment (gathered in a worker)

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
        self._start_gathering()

    def _start_gathering(self) -> None:
        self.run_worker(self._gather, thread=True, name="env", group="env", exit_on_error=False)

    @staticmethod
    def _gather() -> tuple[EnvFacts, list[str]]:
        from goci_doctor import hostenv

        facts = hostenv.gather(docker=True)
        return facts, hostenv.problems(facts)

    def _env_worker_changed(self, event: Worker.StateChanged) -> None:
        """The environment worker ended: step 1 shows this machine, or why it could not be gathered."""
        worker = event.worker
        if self.session.demo or self.session.replayed_from:
            return  # a demo or a report opened meanwhile: step 1 shows its recorded environment
        if event.state == WorkerState.SUCCESS and worker.result is not None:
            facts, problems = worker.result
            self.session.env, self.session.env_origin = facts, "This machine"
            self._show_env(problems)
        elif event.state == WorkerState.ERROR:
            self._pane(EnvironmentPane).show(None, [], self._redact, f"Could not gather: {worker.error}")

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
        from textual.widgets import TextArea  # loaded by then: steps 2 and 6 hold the text areas

        focused = self.focused
        return isinstance(focused, Input) or (isinstance(focused, TextArea) and not focused.read_only)

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

    def _fail(self, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, GociError) else f"{type(exc).__name__}: {exc}"
        self.notify(message, severity="error", timeout=8, markup=False)

    def _warn(self, exc: GociError) -> None:
        self.notify(exc.message, severity="warning", markup=False)

    def _refresh_export(self) -> None:
        self._pane(ExportPane).show(self.controller.markdown())
