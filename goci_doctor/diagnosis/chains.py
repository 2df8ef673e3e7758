"""Crash chains: symptom <- mechanism <- cause, with fixes and their proof, built from failure
cases; the whole check of artifacts against targets; merging diagnoses.

Imports: model, knowledge, diagnosis.common, prediction, checks, classify.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, cast

from goci_doctor.diagnosis.checks import (
    _ARM_MACHINE_LEVEL,
    _level_number,
    build_machine_paths,
    cpu_requirement,
    level_facts,
)
from goci_doctor.diagnosis.classify import classify_message
from goci_doctor.diagnosis.common import _Case, _target_desc, fill
from goci_doctor.diagnosis.prediction import predict
from goci_doctor.knowledge.failures import families, native_wording
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, Outcome, RunResult, Target, Verdict

if TYPE_CHECKING:
    from goci_doctor.diagnosis.targetfiles import TargetFiles


# --------------------------------------------------------------------------------------------
# Crash chains


def build_chain(
    family_id: str,
    facts: Mapping[str, str],
    evidence: Sequence[Evidence] = (),
    *,
    symptom_text: str = "",
    targets: Sequence[str] = (),
    proof: Sequence[RunResult] = (),
    proof_targets: Sequence[str] = (),
) -> ChainNode:
    """symptom ← mechanism ← cause, with fixes under the cause; fixes marked with the proof runs.

    ``targets`` are display labels of where the symptom was seen; ``proof_targets`` the target names
    whose variant runs count as proof (all of ``proof`` when empty).
    """
    fam = families()[family_id]
    if facts.get("program") == "native":
        fam = native_wording().get(family_id, fam)
    fixes = []
    for fx in fam.fixes:
        proven, failed = _proof_for(fx.variant, proof, proof_targets)
        commands = tuple(fill(c, facts) for c in fx.commands) + tuple(fx.diff)
        fixes.append(
            ChainNode(
                id=f"{fam.id}/fix/{fx.id}",
                kind="fix",
                family=fam.id,
                title=fill(fx.title, facts),
                detail=fill(fx.detail, facts),
                commands=commands,
                proven_in=proven,
                failed_in=failed,
                variant=fx.variant,
            )
        )
    # Proven fixes first: they are the ones a user should reach for.
    fixes.sort(key=lambda n: (not n.proven_in, bool(n.failed_in)))
    cause = ChainNode(
        id=f"{fam.id}/cause",
        kind="cause",
        family=fam.id,
        title=fill(fam.cause, facts),
        detail=f"Source: {fam.source}",
        children=tuple(fixes),
    )
    mech_ev = tuple(e for e in evidence if e.fact != "log line")
    mechanism = ChainNode(
        id=f"{fam.id}/mechanism",
        kind="mechanism",
        family=fam.id,
        title=fam.title,
        detail=fill(fam.mechanism, facts),
        evidence=mech_ev,
        children=(cause,),
    )
    title = symptom_text or fill(fam.symptom, facts)
    detail = ""
    if targets:
        detail = "Seen on: " + ", ".join(targets)
    severity = cast(
        Literal["error", "warning", "note"], fam.severity if fam.severity in ("error", "warning", "note") else "error"
    )
    return ChainNode(
        id=f"{fam.id}/symptom",
        kind="symptom",
        family=fam.id,
        title=title,
        detail=detail,
        evidence=tuple(e for e in evidence if e.fact == "log line"),
        children=(mechanism,),
        severity=severity,
    )


def _proof_for(
    variant: str, proof: Sequence[RunResult], targets: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not variant:
        return (), ()
    proven: list[str] = []
    failed: list[str] = []
    for r in proof:
        if not r.variant or not (r.variant == variant or r.variant.startswith(variant + ":")):
            continue
        if targets and r.target not in targets:
            continue
        where = f"{r.target} [{r.image}, {r.libc}]" if r.image and r.image != r.target else f"{r.target} ({r.libc})"
        if r.outcome == "runs":
            proven.append(where)
        elif r.outcome == "crashes":
            failed.append(f"{where}: {r.message}")
    return tuple(dict.fromkeys(proven)), tuple(dict.fromkeys(failed))


def _artifact_notes(facts: ArtifactFacts, cpu_known: bool = False) -> list[ChainNode]:
    """Chains that follow from the artifact alone, whatever the target.

    ``cpu_known``: the deploy CPU level was given, so CPU levels are verdicts, not warnings.
    """
    out = []
    src = f"inspection of {facts.path}"
    base = {"binary": facts.path, "goarch": facts.arch, "goos": facts.os}
    need = cpu_requirement(facts)
    if need and need[0] == "GOAMD64" and _level_number(need[1]) >= 2 and not cpu_known:
        lf = level_facts(*need, PurePosixPath(facts.path).name or "app")
        out.append(
            build_chain(
                "cpu-baseline",
                {**base, **lf},
                [
                    Evidence("build setting GOAMD64", need[1], f"Go build info of {facts.path}"),
                    Evidence("CPU features required", lf.get("requires", "?"), "knowledge base: cpu_levels.toml"),
                    Evidence(
                        "runtime message on older CPUs",
                        lf.get("message", ""),
                        lf.get("level_source", "cpu_levels.toml"),
                    ),
                ],
            )
        )
    bad_paths = build_machine_paths(facts)
    if bad_paths:
        out.append(
            build_chain(
                "rpath-build-machine",
                {**base, "rpath": ", ".join(p for _, p in bad_paths)},
                [Evidence(tag, p, f"ELF dynamic section of {facts.path}") for tag, p in bad_paths],
            )
        )
    if facts.kind == "pe" and facts.pe_subsystem == "gui":
        out.append(
            build_chain(
                "gui-subsystem", base, [Evidence("PE subsystem", "GUI (2)", f"PE optional header of {facts.path}")]
            )
        )
    if facts.kind == "empty" or (facts.is_corrupt and facts.kind in ("elf", "pe", "macho")):
        problem = facts.problems[0] if facts.problems else "empty"
        out.append(build_chain("empty-output", {**base, "problem": problem}, [Evidence("artifact", problem, src)]))
    return out


def check_artifact(
    facts: ArtifactFacts,
    targets: Sequence[Target],
    runs: Sequence[RunResult] = (),
    builds: Sequence[BuildResult] = (),
    *,
    arch: str | None = None,
    binfmt: Sequence[str] = (),
    cpu: str | None = None,
    images: Mapping[str, TargetFiles] | None = None,
) -> Diagnosis:
    """Verdicts for one artifact on each target, confirmed or corrected by real runs, and the chains.

    ``runs`` may hold runs of the artifact itself (variant "") and of rebuilt variants; the latter
    prove (or disprove) the fixes of each chain. ``cpu`` is the deploy machines' CPU level when
    known (see ``predict``); without it, a GOAMD64 level above v1 is a warning chain.
    ``images``: target name -> the real filesystem of its local image (``lab.imagefiles.open_images``);
    those targets are predicted from the image's files and libc (nothing is run or pulled).
    """
    return _check_artifact(facts, targets, runs, builds, arch=arch, binfmt=binfmt, cpu=cpu, images=images or {})


def _check_artifact(
    facts: ArtifactFacts,
    targets: Sequence[Target],
    runs: Sequence[RunResult],
    builds: Sequence[BuildResult],
    *,
    arch: str | None,
    binfmt: Sequence[str],
    cpu: str | None,
    images: Mapping[str, TargetFiles],
) -> Diagnosis:
    from goci_doctor.diagnosis import targetfiles

    own_runs = {r.target: r for r in runs if not r.variant}
    proof = [r for r in runs if r.variant]
    verdicts: list[Verdict] = []
    cases: dict[str, _Case] = {}
    for target in targets:
        files = images.get(target.name)
        if files is not None and files.libc:
            target = targetfiles.as_probed(target, files)
        else:
            files = targetfiles.listed_files(target)
        verdict, case = predict(facts, target, arch=arch, binfmt=binfmt, cpu=cpu, files=files)
        observed = own_runs.get(target.name)
        if observed is not None and observed.outcome in ("runs", "crashes"):
            if observed.outcome == "crashes" and (verdict.outcome != "crashes" or not case):
                fam = classify_message(observed.message, facts) or "loader-missing"
                case = _Case(
                    fam,
                    {
                        "binary": facts.path,
                        "target": target.name,
                        "goarch": facts.arch,
                        "goos": facts.os,
                        "arch": facts.arch,
                    },
                    [],
                    [target.name],
                    observed.message,
                )
                verdict = Verdict(
                    facts.path,
                    target.name,
                    "crashes",
                    observed.message,
                    "certain",
                    fam,
                    "observed in a container (not predicted)",
                    observed,
                )
            elif observed.outcome == "runs" and verdict.outcome == "crashes":
                verdict = Verdict(
                    facts.path,
                    target.name,
                    "runs",
                    "",
                    "certain",
                    "",
                    f"observed running (predicted: {verdict.message})",
                    observed,
                )
                case = None
            else:
                verdict = Verdict(
                    verdict.artifact,
                    verdict.target,
                    verdict.outcome,
                    observed.message if observed.outcome == "crashes" else verdict.message,
                    "certain",
                    verdict.family,
                    verdict.reason + " — confirmed by a real run",
                    observed,
                )
        verdicts.append(verdict)
        if case is not None:
            key = case.family
            if key in cases:
                cases[key].targets.append(target.name)
                cases[key].evidence.extend(e for e in case.evidence if e not in cases[key].evidence)
            else:
                cases[key] = case
    cpu_known = bool(cpu) or (arch or "").lower() in _ARM_MACHINE_LEVEL
    chains = _artifact_notes(facts, cpu_known)
    chain_ids = {c.id for c in chains}
    for case in cases.values():
        if f"{case.family}/symptom" in chain_ids:
            continue
        tdesc = []
        by_name = {t.name: t for t in targets}
        for name in case.targets:
            t = by_name.get(name)
            obs = own_runs.get(name)
            label = _target_desc(t) if t else name
            if obs is not None and obs.outcome != "error":
                label += f" — observed in {obs.image} ({obs.libc})"
            tdesc.append(label)
        ev = list(case.evidence)
        for name in case.targets:
            obs = own_runs.get(name)
            if obs is not None and obs.outcome == "crashes":
                ev.append(Evidence(f"real run on {name}", obs.message, f"container {obs.image} ({obs.libc})"))
        chains.append(
            build_chain(
                case.family,
                case.facts,
                ev,
                symptom_text=case.message,
                targets=tdesc,
                proof=proof,
                proof_targets=case.targets,
            )
        )
    notes = []
    if facts.go is None and facts.kind == "elf":
        notes.append("no Go build info found: not a Go binary, or built with an unusual linker")
    need = cpu_requirement(facts)
    if need and need[0] == "GOARM" and _level_number(need[1]) >= 7 and not cpu_known:
        # GOARM=7 is the cross-compile default: a note, not a problem, unless the board is known.
        notes.append(
            f"built with GOARM={need[1]}: needs an ARMv7 CPU; on ARMv6 boards (Raspberry Pi Zero, Zero W, 1) "
            "it dies with 'Illegal instruction' (build with GOARM=6 for those)"
        )
    for b in builds:
        if not b.ok:
            notes.append(f"variant {b.variant} did not build: {b.output.strip().splitlines()[-1] if b.output else '?'}")
    return Diagnosis(
        subject=facts.path,
        kind="artifact",
        chains=tuple(chains),
        verdicts=tuple(verdicts),
        artifacts=(facts,),
        runs=tuple(runs),
        builds=tuple(builds),
        notes=tuple(notes),
    )


def merge(diagnoses: Sequence[Diagnosis], subject: str = "", kind: str = "session") -> Diagnosis:
    """Combine several diagnoses (several artifacts, or an artifact plus a log) into one."""
    seen: set[str] = set()
    chains = []
    for d in diagnoses:
        for c in d.chains:
            key = c.id + c.title
            if key not in seen:
                seen.add(key)
                chains.append(c)
    return Diagnosis(
        subject=subject or ", ".join(d.subject for d in diagnoses),
        kind=kind,  # type: ignore[arg-type]
        chains=tuple(chains),
        verdicts=tuple(v for d in diagnoses for v in d.verdicts),
        findings=tuple(f for d in diagnoses for f in d.findings),
        artifacts=tuple(a for d in diagnoses for a in d.artifacts),
        runs=tuple(r for d in diagnoses for r in d.runs),
        builds=tuple(b for d in diagnoses for b in d.builds),
        notes=tuple(n for d in diagnoses for n in d.notes),
    )


def outcome_counts(verdicts: Sequence[Verdict]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {"runs": 0, "crashes": 0, "unknown": 0}
    for v in verdicts:
        counts[v.outcome] += 1
    return counts
