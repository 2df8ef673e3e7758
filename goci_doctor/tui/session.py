"""The session controller: what a troubleshooting session holds, and every decision about it.

``SessionController`` owns the session's state (``Session``) and answers the app's questions:
opening a binary, a log, a demo scenario, a saved report or a Go project; asking the core for the
diagnosis; running the matrix, a project's diagnostic builds or the proof of one fix (the
``work_*`` methods, called on worker threads, stop when ``cancel`` is set); merging what that work
returns into the session; building the report that export and the history write.

It is built in three layers: ``tui.sessionbase`` (the state, the settings, the diagnosis),
``tui.sessionwork`` (the long work) and this module (opening inputs, the report and its export).
The Textual app renders what the controller holds and routes keys to it; nothing here draws.

Imports: model, records, tui.sessionbase, tui.sessionwork, and lazily artifact, knowledge,
diagnosis, render, render.history, lab.demo, lab.runner, lab.buildmatrix and
``goci_doctor.tui.logview``; never Textual (an import-linter contract checks it), so the whole
flow is testable without Pilot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from goci_doctor.model import BadInputError, GociError
from goci_doctor.tui.sessionbase import (
    Finished,
    LogView,
    Session,
    WorkName,
    canonical_targets,
)
from goci_doctor.tui.sessionwork import SessionWork

if TYPE_CHECKING:
    from goci_doctor.lab.demo import Scenario
    from goci_doctor.records import Report
    from goci_doctor.tui.logview import LoadedLog

__all__ = ["Finished", "LogView", "Session", "SessionController", "WorkName", "canonical_targets"]


class SessionController(SessionWork):
    """One session's state and flow, without any UI.

    ``runner``: the runner to use (a ``ReplayRunner`` in the demo and tests); None creates a
    ``DockerRunner`` when the first run needs one. ``config``: injected settings (None reads the
    user's config, and tolerates its absence). ``cancel`` is the event that stops the work under way.
    """

    # ---------------------------------------------------------------------------------------
    # Opening what failed

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
    # Export and history

    def build_report(self) -> Report:
        """The session as a report: what Markdown/JSON export and the history hold."""
        from goci_doctor import __version__
        from goci_doctor.records import Diagnosis, Report

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
