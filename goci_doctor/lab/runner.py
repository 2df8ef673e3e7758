"""The runner interface: run one artifact on a matrix of targets and report what really happened.

Two implementations: ``goci_doctor.lab.DockerRunner`` runs containers on a real engine, and
``ReplayRunner`` (here) plays back recorded real runs for the demo, snapshot tests and offline
mode. Consumers (the CLI, diagnostic builds, the TUI) only see ``Runner`` and ``RunEvent``.
This module never imports the Docker SDK.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from goci_doctor.model import SCHEMA_VERSION, BadInputError, from_jsonable, no_such_file, to_jsonable
from goci_doctor.records import RunResult

Phase = Literal["queued", "preparing", "running", "done", "error", "cancelled"]


@dataclass(frozen=True)
class RunEvent:
    """Progress of one cell of a run matrix, delivered to ``on_event`` (from worker threads)."""

    target: str
    phase: Phase
    message: str
    result: RunResult | None = None
    variant: str = ""


EventCallback = Callable[[RunEvent], None]


class Runner(Protocol):
    """Runs an artifact on targets. ``cancel`` may be called from any thread."""

    def run_matrix(
        self,
        artifact: Path,
        targets: Sequence[str],
        *,
        args: Sequence[str] = (),
        timeout: float = 20.0,
        platform: str | None = None,
        variant: str = "",
        on_event: EventCallback | None = None,
    ) -> list[RunResult]:
        """Run ``artifact`` once per target; results in the order of ``targets``."""
        ...

    def cancel(self) -> None:
        """Stop the matrix: cells not finished end as outcome "error" ("cancelled")."""
        ...


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def result_from_jsonable(data: dict[str, Any]) -> RunResult:
    """Rebuild a RunResult from ``to_jsonable`` output (unknown keys are ignored, lists become tuples)."""
    try:
        result: RunResult = from_jsonable(RunResult, data)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"recorded run is not readable: {exc}") from None
    return result


def record_runs(results: Sequence[RunResult], artifact_sha256: str = "") -> dict[str, Any]:
    """A recording (JSON-ready dict) of real runs, playable by ``ReplayRunner``.

    With ``artifact_sha256`` the runs only replay for that exact artifact; without it they
    replay for any artifact run under the same (variant, target).
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "goci-doctor-run-recording",
        "runs": [
            {"variant": r.variant, "target": r.target, "sha256": artifact_sha256, "result": to_jsonable(r)}
            for r in results
        ],
    }


def merge_recordings(*recordings: dict[str, Any]) -> dict[str, Any]:
    """One recording holding the runs of several (later ones win for the same key)."""
    merged = record_runs([])
    for rec in recordings:
        merged["runs"].extend(rec.get("runs", []))
    return merged


def load_recording(path: str | Path) -> dict[str, Any]:
    """Read a recording written from ``record_runs``; BadInputError when it is not one."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise no_such_file(p, "recording") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"recording {p} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise BadInputError(f'{p} is not a goci-doctor run recording (no "runs" list)')
    return data


def save_recording(recording: dict[str, Any], path: str | Path) -> None:
    """Write a recording as stable, diff-friendly JSON."""
    Path(path).write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n", encoding="utf-8")


class ReplayRunner:
    """Plays back recorded real runs with the same events a live run emits.

    ``recording`` is a dict from ``record_runs``, the path of one saved with ``save_recording``,
    or plain RunResults. Looks a cell up by (variant, target, artifact sha256) first, then by
    (variant, target) among recordings made without a sha256. A cell with no recording ends as outcome "error".
    ``delay`` seconds pass between phases, so a demo or a TUI test looks like a live run.
    """

    def __init__(self, recording: dict[str, Any] | str | Path | Sequence[RunResult], delay: float = 0.0) -> None:
        if isinstance(recording, dict):
            data = recording
        elif isinstance(recording, str | Path):
            data = load_recording(recording)
        else:
            data = record_runs(list(recording))
        self._exact: dict[tuple[str, str, str], RunResult] = {}
        self._any: dict[tuple[str, str], RunResult] = {}
        for entry in data.get("runs", []):
            result = result_from_jsonable(entry["result"])
            variant = entry.get("variant", result.variant)
            target = entry.get("target", result.target)
            sha = entry.get("sha256", "")
            if sha:
                self._exact[(variant, target, sha)] = result
            else:
                self._any[(variant, target)] = result
        self.delay = delay
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop playback; remaining cells end as cancelled."""
        self._cancelled.set()

    def lookup(self, target: str, variant: str = "", sha256: str = "") -> RunResult | None:
        """The recorded result for a cell, or None."""
        if sha256 and (variant, target, sha256) in self._exact:
            return self._exact[(variant, target, sha256)]
        return self._any.get((variant, target))

    def _pause(self) -> None:
        if self.delay > 0:
            self._cancelled.wait(self.delay)

    def run_matrix(
        self,
        artifact: Path,
        targets: Sequence[str],
        *,
        args: Sequence[str] = (),
        timeout: float = 20.0,
        platform: str | None = None,
        variant: str = "",
        on_event: EventCallback | None = None,
    ) -> list[RunResult]:
        """Replay each target's recorded run, in order, emitting queued→preparing→running→done."""
        self._cancelled.clear()
        emit = on_event or (lambda _e: None)
        sha = ""
        if self._exact and Path(artifact).is_file():
            sha = file_sha256(Path(artifact))
        for t in targets:
            emit(RunEvent(t, "queued", "queued", variant=variant))
        results: list[RunResult] = []
        for t in targets:
            if self._cancelled.is_set():
                res = RunResult(t, "", "", "error", error="cancelled", variant=variant)
                emit(RunEvent(t, "cancelled", "cancelled", res, variant))
                results.append(res)
                continue
            recorded = self.lookup(t, variant, sha)
            emit(RunEvent(t, "preparing", "replaying a recorded run", variant=variant))
            self._pause()
            if recorded is None:
                label = f"{t} (variant {variant})" if variant else t
                res = RunResult(t, "", "", "error", error=f"no recorded run for {label}", variant=variant)
                emit(RunEvent(t, "error", res.error, res, variant))
                results.append(res)
                continue
            emit(RunEvent(t, "running", f"running in {recorded.image}", variant=variant))
            self._pause()
            phase: Phase = "error" if recorded.outcome == "error" else "done"
            emit(RunEvent(t, phase, recorded.message or recorded.outcome, recorded, variant))
            results.append(recorded)
        return results


def summarize(results: Sequence[RunResult]) -> str:
    """One line: how many cells ran, crashed or could not run."""
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("runs", "crashes", "error")}
    return f"{counts['runs']} ran, {counts['crashes']} crashed, {counts['error']} could not run"


def elapsed(start: float) -> float:
    """Seconds since ``start`` (a ``time.monotonic()`` value), rounded for reports."""
    return round(time.monotonic() - start, 3)
