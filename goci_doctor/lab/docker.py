"""The container lab: run an artifact in real target containers and report what really happens.

``DockerRunner`` implements ``runner.Runner`` on the Docker Engine API (Docker, or Podman's
docker-compatible socket). Each cell of a matrix gets one container, created but not started,
which serves first as a read-only view of the image's filesystem — to find the libc it really
holds and the loader or libraries the artifact will miss, lddtree-style, without executing
anything (``imagefs``) — and then as the sandbox the artifact runs in: no network, no capabilities, a numeric
non-root user, memory/pid/cpu limits. Every container is labelled and removed in every case.

The runner is one class composed of one concern per module: ``dockerstate`` (config, client,
session, live containers, limits), ``dockerimages`` (which image a target runs in),
``dockercopy`` (the artifact into the containers), ``dockercontainers`` (one cell's container);
here, the matrix: cells in parallel, cancellation, and each cell's result.

The Docker SDK is imported lazily: importing this module stays cheap. Never imports ``render`` or
``cli``: the ``run`` and ``images`` commands live in ``cli.run`` and ``cli.images``.

Imports: artifact, lab.containerfs, lab.dockercontainers, lab.dockercopy, lab.dockerimages,
lab.engine, lab.runner, lab.sandbox, model, records.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from goci_doctor.artifact.imagefs import find_missing
from goci_doctor.lab.containerfs import LABEL as LABEL
from goci_doctor.lab.containerfs import SESSION_LABEL as SESSION_LABEL
from goci_doctor.lab.containerfs import ContainerFS, libc_cached, remove_container
from goci_doctor.lab.dockercontainers import RUN_USER as RUN_USER
from goci_doctor.lab.dockercontainers import CellContainers, _signal_name
from goci_doctor.lab.dockercontainers import demux_logs as demux_logs
from goci_doctor.lab.dockercopy import ArtifactCopying, _Cell
from goci_doctor.lab.dockerimages import ImageResolution, _CellError
from goci_doctor.lab.engine import _is_connection_error, _remove_volume, engine_host
from goci_doctor.lab.runner import EventCallback, Phase, RunEvent
from goci_doctor.lab.sandbox import GRACE_S, deadline_labels
from goci_doctor.model import ArtifactFacts, BadInputError
from goci_doctor.records import RunResult


class DockerRunner(ImageResolution, ArtifactCopying, CellContainers):
    """Runs artifacts in real containers through the Docker Engine API (thread-safe ``cancel``)."""

    def cancel(self) -> None:
        """Stop the matrix: unstarted cells are skipped, running containers are removed."""
        self._cancelled.set()
        with self._lock:
            live = list(self._live)
        for cid in live:
            remove_container(self.client, cid)

    def run_matrix(
        self,
        artifact: Path,
        targets: Sequence[str],
        *,
        args: Sequence[str] = (),
        timeout: float | None = None,
        platform: str | None = None,
        variant: str = "",
        on_event: EventCallback | None = None,
        facts: ArtifactFacts | None = None,
    ) -> list[RunResult]:
        """Run ``artifact`` on every target in parallel; results in the order of ``targets``.

        ``timeout`` (seconds per run) defaults to the config's ``[run] timeout``."""
        if timeout is None:
            timeout = self.run_settings().timeout
        artifact = Path(artifact)
        if not artifact.is_file():
            raise BadInputError(f"{artifact} is not a file")
        if facts is None:
            from goci_doctor.artifact import inspect_path

            facts = inspect_path(artifact)
        self._cancelled.clear()
        self._engine_dead = ""
        emit = _safe_emit(on_event)
        _ = self.client  # connect (or raise EngineUnavailableError) before any cell starts
        for t in targets:
            emit(RunEvent(t, "queued", "queued", variant=variant))
        cell = _Cell(
            artifact=artifact, facts=facts, args=tuple(args), timeout=timeout, platform=platform, variant=variant
        )
        # One copy of the artifact for the whole matrix, in a volume every cell mounts read-only:
        # each put_archive costs the engine a mount and an untar process (Docker re-executes itself
        # for it), the largest cost of a cell after runc's start, and the engine refuses put_archive
        # into a read-only root filesystem. The volume lives until the last cell's deadline.
        cell.volume = f"goci-doctor-{self.session}-{uuid.uuid4().hex[:8]}"
        waves = -(-len(targets) // self.max_workers)
        cell.volume_labels = deadline_labels(waves * (timeout + GRACE_S))
        pool = ThreadPoolExecutor(
            max_workers=min(self.max_workers, max(1, len(targets))), thread_name_prefix="goci-lab"
        )
        try:
            futures = [pool.submit(self._run_cell, cell, t, emit) for t in targets]
            return [f.result() for f in futures]
        except BaseException:
            # Ctrl-C (or any failure in the caller's thread): stop and remove everything we started.
            self.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                leftover = list(self._live)
            for cid in leftover:
                remove_container(self.client, cid)
            if cell.volume:
                _remove_volume(self.client, cell.volume)
            cell.discard()

    def _run_cell(self, cell: _Cell, target: str, emit: EventCallback) -> RunResult:
        start = time.monotonic()
        image_ref = target
        libc = ""
        missing: tuple[str, ...] = ()

        def finish(phase: Phase, result: RunResult) -> RunResult:
            emit(RunEvent(target, phase, result.message or result.outcome, result, cell.variant))
            return result

        def failed(error: str) -> RunResult:
            res = RunResult(
                target,
                image_ref,
                libc,
                "error",
                error=error,
                variant=cell.variant,
                platform=cell.platform or "",
                duration_s=_since(start),
                missing=missing,
            )
            return finish("cancelled" if error == "cancelled" else "error", res)

        if self._cancelled.is_set():
            return failed("cancelled")
        if self._engine_dead:
            return failed(self._engine_dead)
        cid = ""
        try:
            image_ref = self.image_for(target)
            emit(RunEvent(target, "preparing", f"preparing {image_ref}", variant=cell.variant))
            image, run_ref, shown = self._image_or_stand_in(target, image_ref, cell.platform)
            shared = self._share_artifact(cell, image.id)
            if self._cancelled.is_set():
                return failed("cancelled")
            cid = self._create(run_ref, cell, shared)
            image_ref = shown  # every result names a stand-in as one
            if self._cancelled.is_set():
                return failed("cancelled")
            fs = ContainerFS(self.client, cid)
            libc = libc_cached(self.client, image, fs)
            if not shared:
                self._put_archive(cid, cell.tar())
            missing = find_missing(fs, cell.facts)
            emulated = self._emulated(cell, image)
            emit(RunEvent(target, "running", f"running in {image_ref} ({libc})", variant=cell.variant))
            exit_code, timed_out, start_error = self._start_and_wait(cid, cell.timeout)
            if self._cancelled.is_set():
                return failed("cancelled")
            if start_error:
                # Older runc reports a failed execve as an API error at start instead of in the logs.
                stdout, stderr, exit_code = "", start_error + "\n", 127 if "no such file" in start_error else 126
            else:
                stdout, stderr = self._logs(cid)
            # Still running at the deadline (a server, a long job) means it started: not a crash.
            outcome: Literal["runs", "crashes"] = "runs" if exit_code == 0 or timed_out else "crashes"
            result = RunResult(
                target,
                image_ref,
                libc,
                outcome,
                exit_code=exit_code,
                stdout=stdout,
                stderr=stderr,
                signal="" if timed_out else _signal_name(exit_code),
                timed_out=timed_out,
                emulated=emulated,
                platform=cell.platform or "",
                duration_s=_since(start),
                variant=cell.variant,
                missing=missing,
            )
            return finish("done", result)
        except _CellError as exc:
            return failed(str(exc))
        except Exception as exc:
            if self._cancelled.is_set():
                return failed("cancelled")
            if _is_connection_error(exc):
                base = getattr(self.client.api, "base_url", "") or engine_host()
                self._engine_dead = (
                    f"the Docker engine stopped answering during the run ({base}: "
                    f"{type(exc).__name__}); the remaining targets were not run"
                )
                return failed(self._engine_dead)
            why = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
            return failed(f"engine error: {str(why).splitlines()[0][:300]}")
        finally:
            if cid:
                remove_container(self.client, cid)
                with self._lock:
                    self._live.discard(cid)


def _since(start: float) -> float:
    return round(time.monotonic() - start, 3)


def _safe_emit(on_event: EventCallback | None) -> EventCallback:
    """Events come from worker threads; a failing callback must not kill a cell."""
    lock = threading.Lock()

    def emit(event: RunEvent) -> None:
        if on_event is None:
            return
        with lock:
            try:
                on_event(event)
            except Exception:  # a UI bug must not leave containers behind
                pass

    return emit
