"""Proof: run an artifact on targets with the right runner (one engine, several engines, or a
replay), and judge the real runs against the libc each image really held.

Imports: model, config, artifact, knowledge, diagnosis, hostenv, lab.docker, lab.fleet.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

from goci_doctor.config import Config
from goci_doctor.lab.docker import DockerRunner
from goci_doctor.lab.engine import engine_host
from goci_doctor.lab.runner import EventCallback
from goci_doctor.model import ArtifactFacts, BadInputError, no_such_file
from goci_doctor.records import BuildResult, Diagnosis, RunResult, Target


def _load_config(path: str | None = None) -> Any:
    from goci_doctor import config as config_module

    return config_module.load_config(path)


def run_artifact(
    path: str | Path,
    targets: Sequence[str],
    *,
    args: Sequence[str] = (),
    timeout: float = 20.0,
    platform: str | None = None,
    config: Config | None = None,
    runner: Any = None,
    on_event: EventCallback | None = None,
    engines_: Sequence[str] = (),
) -> tuple[ArtifactFacts, list[RunResult]]:
    """Inspect an artifact and run it on ``targets`` (real containers unless ``runner`` is given).

    With ``engines_`` (or the config's ``[engines]``) the matrix is spread over those engines.
    """
    from goci_doctor.artifact import inspect_path

    p = Path(path)
    if not p.exists():
        raise no_such_file(p)
    if not p.is_file():
        raise BadInputError(f"{p} is not a file (give the binary, not a folder)")
    facts = inspect_path(p)
    if not targets:
        raise BadInputError("no targets given (use --target, or set default_targets in the config)")
    engine_names = list(engines_ or []) or list(getattr(config, "engines", None) or {})
    if runner is None and engine_names:
        from goci_doctor.hostenv import engines
        from goci_doctor.lab import fleet

        specs = engines.resolve_all(engine_names, getattr(config, "engines", None))
        members = fleet.assemble(specs)
        for line in fleet.describe_plan(members, fleet.wanted_arch(facts, platform)):
            print(f"goci-doctor: {line}", file=sys.stderr)
        fleet_runner = fleet.FleetRunner(members, config)
        results = fleet_runner.run_matrix(
            p, targets, args=args, timeout=timeout, platform=platform, on_event=on_event, facts=facts
        )
        return facts, results
    if runner is None:
        runner = DockerRunner(config=config)
    if isinstance(runner, DockerRunner):
        results = runner.run_matrix(
            p, targets, args=args, timeout=timeout, platform=platform, on_event=on_event, facts=facts
        )
        # Every observation names the engine that produced it (merged matrices keep it per run).
        results = [r if r.where else dataclasses.replace(r, where=f"engine {engine_host()}") for r in results]
    else:
        results = runner.run_matrix(p, targets, args=args, timeout=timeout, platform=platform, on_event=on_event)
    return facts, results


def run_diagnosis(
    facts: ArtifactFacts,
    results: Sequence[RunResult],
    proof: Sequence[RunResult] = (),
    builds: Sequence[BuildResult] = (),
) -> Diagnosis:
    """Verdicts and crash chains for real runs, judged against the libc each image really held.

    A target the knowledge base knows keeps its facts but takes the image and libc that really ran
    (a local stand-in may differ); a raw image reference becomes a target described by its probe.
    ``proof`` holds runs of rebuilt variants (RunResult.variant set): they mark fixes proven.
    """
    from goci_doctor import diagnosis, knowledge

    targets: list[Target] = []
    for r in results:
        known = knowledge.find_target(r.target)
        family, _, version = r.libc.partition(" ")
        libc = cast(Literal["glibc", "musl", "none"], family) if family in ("glibc", "musl", "none") else ""
        if known is None:
            base = Target(name=r.target, title=r.target, image=r.image, source=f"probed from image {r.image}")
        else:
            base = known
        if libc:
            source = base.source if known is None else f"probed from image {r.image}; {base.source}"
            base = dataclasses.replace(
                base, libc=libc, libc_version=version if libc != "none" else "", image=r.image, source=source
            )
        targets.append(base)
    names = {r.target: t.name for r, t in zip(results, targets, strict=True)}
    runs = [dataclasses.replace(r, target=names[r.target]) for r in results]
    runs += [dataclasses.replace(r, target=names.get(r.target, r.target)) for r in proof]
    return diagnosis.check_artifact(facts, targets, runs, builds)
