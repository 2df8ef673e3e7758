"""The app's long work: the container matrix, a project's diagnostic builds and the proof of one
fix, each run by the controller on a worker thread; their progress drawn as it comes; cancelling
and quitting without leaving a container behind.

Imports: Textual, model, records, tui.appbase, tui.kit, tui.matrixpane and tui.session.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, WorkerState

from goci_doctor.model import GociError
from goci_doctor.tui.appbase import AppBase
from goci_doctor.tui.chainpane import ChainPane
from goci_doctor.tui.kit import lit
from goci_doctor.tui.matrixpane import MatrixPane
from goci_doctor.tui.session import Finished, WorkName

if TYPE_CHECKING:
    from goci_doctor.records import ChainNode


class RunProgress(Message):
    """A container run or a diagnostic build moved on (posted from a worker thread)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class WorkActions(AppBase):
    """Running, following and cancelling the session's long work (steps 4 and 5)."""

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

    def _work_worker_changed(self, event: Worker.StateChanged) -> None:
        """A long job ended: merge its result, or say it failed or was cancelled."""
        worker = event.worker
        if event.state in (WorkerState.PENDING, WorkerState.RUNNING):
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

    def why_not_provable(self, node: ChainNode) -> str:
        """ "" when "prove this fix" can really prove ``node`` in this session, else why not (one line)."""
        return self.controller.why_not_provable(node)

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
