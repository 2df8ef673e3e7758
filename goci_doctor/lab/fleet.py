"""One run matrix spread over several container engines.

Each cell goes to an engine whose native platform is the artifact's (an arm64 binary to an arm64
engine); emulation is used only when no native engine answers, and every such result is labelled
emulated. Cells run concurrently across engines, each engine with its own ``DockerRunner`` whose
concurrency comes from that engine's CPU count. An engine that cannot be reached, or stops
answering mid-run, turns only its own cells into "could not run" with the reason; the cleanup
promises of the lab hold per engine (each runner removes its containers and volumes).

Imports: model, engines, lab (the Docker SDK stays lazy through them).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor import platforms
from goci_doctor.config import Config
from goci_doctor.hostenv import engines
from goci_doctor.lab import engine
from goci_doctor.lab.runner import EventCallback, RunEvent
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import RunResult

MAX_PER_ENGINE = 8
"""Upper bound on concurrent cells on one engine, whatever its CPU count says."""


@dataclass
class Member:
    """One engine of the fleet: its spec, what it said about itself, and its client (None if down)."""

    info: engines.EngineInfo
    client: Any = None

    @property
    def capacity(self) -> int:
        return max(1, min(MAX_PER_ENGINE, self.info.cpus or 1))


def assemble(specs: Sequence[engines.EngineSpec], timeout: float = 10.0) -> list[Member]:
    """Connect to every engine (in parallel) and describe it; unreachable ones are kept with the reason."""
    members: list[Member | None] = [None] * len(specs)

    def one(i: int, spec: engines.EngineSpec) -> None:
        try:
            client = engine.connect_spec(spec, timeout)
        except Exception as exc:
            members[i] = Member(engines.EngineInfo(spec, False, error=str(getattr(exc, "message", exc))))
            return
        try:
            members[i] = Member(engine.describe(spec, client), client)
        except Exception as exc:
            members[i] = Member(engines.EngineInfo(spec, False, error=f"{type(exc).__name__}: {exc}"[:300]))

    threads = [threading.Thread(target=one, args=(i, s), daemon=True) for i, s in enumerate(specs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return [
        m if m is not None else Member(engines.EngineInfo(s, False, error="timed out connecting"))
        for m, s in zip(members, specs, strict=True)
    ]


def wanted_arch(facts: ArtifactFacts | None, platform: str | None) -> str:
    """The CPU the cells need: ``--platform`` when given, else the artifact's own."""
    if platform:
        return platforms.goarch(platform.split("/")[1] if "/" in platform else platform)
    return (facts.arch if facts is not None else "") or ""


def route(targets: Sequence[str], members: Sequence[Member], arch: str) -> tuple[dict[int, list[str]], bool]:
    """{member index: targets} and whether the cells run under emulation.

    Native engines (same architecture) share the cells in proportion to their capacity; with none,
    every answering engine does, and the cells are emulated.
    """
    up = [i for i, m in enumerate(members) if m.client is not None]
    native = [i for i in up if not arch or members[i].info.arch == arch]
    pool = native or up
    load = {i: 0 for i in pool}
    plan: dict[int, list[str]] = {i: [] for i in pool}
    for target in targets:
        best = min(pool, key=lambda i: ((load[i] + 1) / members[i].capacity, i))
        load[best] += 1
        plan[best].append(target)
    return {i: ts for i, ts in plan.items() if ts}, bool(up) and not native


class FleetRunner:
    """``runner.Runner`` over several engines; ``cancel`` stops every engine's cells."""

    def __init__(self, members: Sequence[Member], config: Config | None = None) -> None:
        self.members = list(members)
        self.config = config
        self._runners: list[Any] = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def _share_image(self, ref: str, member: Member) -> None:
        """Give ``member`` an image it lacks from another engine of the fleet (same architecture) that has it.

        Local images (debootstrap-built, no registry) exist on one engine only; an engine without the
        image would otherwise try to pull and fail. A failed copy leaves the cell to report the missing image.
        """
        if _has_image(member.client, ref):
            return
        for other in self.members:
            if other is member or other.client is None or other.info.arch != member.info.arch:
                continue
            if _has_image(other.client, ref):
                try:
                    copy_image(ref, other.client, member.client)
                except Exception:
                    continue
                return

    @property
    def sessions(self) -> list[tuple[str, Any]]:
        """(session label, engine client) of every runner started: what cleanup checks look for."""
        with self._lock:
            return [(r.session, r.client) for r in self._runners]

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            for r in self._runners:
                r.cancel()

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
        facts: ArtifactFacts | None = None,
    ) -> list[RunResult]:
        from goci_doctor.lab import docker as lab

        if facts is None and not platform:
            from goci_doctor.artifact import inspect_path

            try:
                facts = inspect_path(artifact)  # route by the binary's own architecture
            except Exception:
                facts = None
        arch = wanted_arch(facts, platform)
        plan, emulated = route(targets, self.members, arch)
        results: dict[str, RunResult] = {}
        down = [m for m in self.members if m.client is None]
        if not plan:
            why = "; ".join(f"{m.info.spec.name}: {m.info.error}" for m in down) or "no engine given"
            for t in targets:
                results[t] = RunResult(
                    t, "", "", "error", error=f"could not run: no engine answers ({why})", variant=variant
                )
            return [results[t] for t in targets]

        def work(index: int, cells: list[str]) -> None:
            member = self.members[index]
            runner = lab.DockerRunner(config=self.config, client=member.client, max_workers=member.capacity)
            with self._lock:
                self._runners.append(runner)
                if self._cancelled.is_set():
                    runner.cancel()
            for ref in dict.fromkeys(runner.image_for(t) for t in cells):
                self._share_image(ref, member)
            cell_platform = platform or (f"linux/{arch}" if emulated and arch else None)
            try:
                out = runner.run_matrix(
                    artifact,
                    cells,
                    args=args,
                    timeout=timeout,
                    platform=cell_platform,
                    variant=variant,
                    on_event=on_event,
                    facts=facts,
                )
            except Exception as exc:  # an engine failing here must not stop the others
                why = str(getattr(exc, "message", "") or exc).splitlines()[0][:300]
                out = [
                    RunResult(
                        t, "", "", "error", error=f"could not run on {member.info.spec.label}: {why}", variant=variant
                    )
                    for t in cells
                ]
                for r in out:
                    if on_event is not None:
                        on_event(RunEvent(r.target, "error", r.error, r, variant))
            label = member.info.spec.label + (f" ({member.info.platform}, emulated)" if emulated else "")
            for r in out:
                if r.outcome == "error" and r.error and not r.error.startswith("could not run"):
                    r = dataclasses.replace(r, error=f"could not run on {member.info.spec.label}: {r.error}")
                results[r.target] = dataclasses.replace(r, where=label, emulated=r.emulated or emulated)

        workers = [threading.Thread(target=work, args=(i, cells), daemon=True) for i, cells in plan.items()]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return [results[name] for name in targets]


def _has_image(client: Any, ref: str) -> bool:
    try:
        client.images.get(ref)
    except Exception:
        return False
    return True


def copy_image(ref: str, source: Any, dest: Any) -> None:
    """``docker save REF | docker -H DEST load``, streamed: a local image another engine lacks."""
    dest.api.load_image(source.api.get_image(ref), quiet=True)


def describe_plan(members: Sequence[Member], arch: str) -> list[str]:
    """Lines for stderr: which engines answer, which run natively, and why not the others."""
    lines = []
    for m in members:
        if m.client is None:
            lines.append(f"{m.info.spec.label}: could not be reached: {m.info.error}")
        elif arch and m.info.arch != arch:
            lines.append(f"{m.info.spec.label}: {m.info.platform}, not native for {arch}")
        else:
            lines.append(f"{m.info.spec.label}: {m.info.platform}, {m.capacity} at once")
    return lines
