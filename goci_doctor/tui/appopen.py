"""Opening what failed (step 2): a binary, a pasted or loaded log, a demo scenario, a saved report
or a Go project, and the file picker and history that lead to them.

A log file is read and explained in a worker (it may be huge); step 5 shows its progress.

Imports: Textual, model, records, tui.appwork, the panes, tui.kit, tui.screens, and lazily
render.history.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, WorkerState

from goci_doctor.model import GociError
from goci_doctor.tui.appwork import WorkActions
from goci_doctor.tui.chainpane import ChainPane
from goci_doctor.tui.inputpanes import ExportPane, FactsPane, SourcePane
from goci_doctor.tui.matrixpane import MatrixPane
from goci_doctor.tui.screens import FilePickerScreen, HistoryScreen

if TYPE_CHECKING:
    from goci_doctor.records import Report


class LogProgress(Message):
    """A log file is being read (posted from the worker): how many lines so far."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines


class OpenActions(WorkActions):
    """Opening an input into the session (step 2), and re-opening a saved one (the history)."""

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

    def _log_worker_changed(self, event: Worker.StateChanged) -> None:
        """The log worker ended: show the explained log, or why it could not be read."""
        worker = event.worker
        if event.state == WorkerState.SUCCESS:
            self._log_loaded(worker.result)
        elif event.state == WorkerState.ERROR and worker.error is not None:
            self._pane(ChainPane).set_progress("")
            self._fail(worker.error)

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
