"""The session's long work: running the artifact on the targets, rebuilding a project as its
diagnostic variants, proving one fix, and merging what each returns into the session.

``SessionWork`` picks the runner (a ``DockerRunner`` created on first need), hands the app the
function a worker thread runs (``start_work``; every ``work_*`` stops when ``cancel`` is set) and
merges its result on the UI's thread (``finish``).

Imports: model, records, tui.sessionbase, and lazily lab.buildmatrix, lab.builds, lab.docker and
lab.runner; never Textual (an import-linter contract checks it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from goci_doctor.model import BadInputError
from goci_doctor.tui.sessionbase import Finished, SessionBase, WorkName

if TYPE_CHECKING:
    from goci_doctor.records import ChainNode, RunResult


class SessionWork(SessionBase):
    """The matrix's, a project's and a proof's work (each ``work_*`` runs on a worker thread)."""

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
