"""Record the onboarding demo's evidence: real fixture builds, real inspections, real container runs.

Usage: ``python scripts/record_demo.py [--out goci_doctor/data/demo]``

Needs Go (the test fixtures are built by tests/fixtures/build.py), a Docker engine and the local
images (``goci-doctor images build``). Writes one JSON file per scenario; commit them. Each file
says when and where it was recorded, which targets were really run (``runs``: the image and libc
really used) and which are only predicted statically (``predicted``: no local image for them).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import build as fixture_build  # noqa: E402

from goci_doctor import artifact, config, hostenv  # noqa: E402
from goci_doctor.lab import docker as lab  # noqa: E402
from goci_doctor.lab import images  # noqa: E402
from goci_doctor.lab.demo import Scenario  # noqa: E402
from goci_doctor.model import SCHEMA_VERSION, ArtifactFacts, to_jsonable  # noqa: E402
from goci_doctor.records import RunResult  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Plan:
    """What to record for one scenario."""

    name: str
    title: str
    summary: str
    fixture: str = ""
    """Fixture binary run as the user's artifact ("" for a log scenario or a made-up file)."""
    run_on: tuple[str, ...] = ()
    predicted: tuple[str, ...] = ()
    proofs: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """(variant, fixture rebuilt that way, targets): real runs that prove a fix."""
    log_fixture: str = ""
    empty_exe: bool = False
    notes: tuple[str, ...] = ()


PLANS: tuple[Plan, ...] = (
    Plan(
        "glibc-centos7",
        "GLIBC mismatch on CentOS 7",
        "A cgo binary built on Debian 12 (glibc 2.36) needs GLIBC_2.34; older systems refuse to load it.",
        fixture="cgo-host",
        run_on=("debian:11",),
        predicted=("centos:7",),
        proofs=(("zig-2.17", "cgo-zig217", ("debian:11",)), ("musl-static", "cgo-musl-static", ("debian:11",))),
        notes=(
            "debian:11 (glibc 2.31) was really run; centos:7 (glibc 2.17) is predicted from the same "
            "GLIBC floor, since no CentOS 7 image is available offline.",
        ),
    ),
    Plan(
        "glibc-on-alpine",
        "glibc binary on Alpine",
        "A glibc-linked binary copied into a musl image: the loader it names does not exist there.",
        fixture="cgo-host",
        run_on=("alpine:3.20", "debian:12"),
        proofs=(("musl-static", "cgo-musl-static", ("alpine:3.20",)),),
        notes=("alpine:3.20 is stood in for by goci/musl: the musl loader and libc with busybox, built locally.",),
    ),
    Plan(
        "windows-on-linux",
        "Windows PE on Linux",
        "A GOOS=windows build shipped into a Linux container: the kernel does not know the format.",
        fixture="windows",
        run_on=("debian:12",),
    ),
    Plan(
        "arm64-on-amd64",
        "arm64 binary on amd64",
        "A GOARCH=arm64 binary run on an amd64 host without qemu/binfmt: exec format error.",
        fixture="arm64",
        run_on=("debian:12",),
    ),
    Plan(
        "cgo-cross-no-cc",
        "cgo cross compile without a cross compiler",
        "CGO_ENABLED=1 GOARCH=arm64 go build with the host's x86-64 gcc: the assembler rejects arm64 code.",
        log_fixture="fail-arm64-hostgcc",
    ),
    Plan(
        "sqlite-cgo-off",
        "go-sqlite3 with CGO off",
        "A binary built with CGO_ENABLED=0 starts, then its sqlite driver is only a stub and fails at run time.",
        fixture="sqlite-nocgo",
        run_on=("debian:12",),
        notes=(
            "The fixture reproduces mattn/go-sqlite3's stub behaviour with the standard library only; "
            "the message is go-sqlite3's own.",
        ),
    ),
    Plan(
        "empty-windows-exe",
        "An empty “successful” Windows build",
        "The CI step went green but the .exe it uploaded is 0 bytes: nothing can run it.",
        empty_exe=True,
        notes=("Statically inspected only: there is no Windows container on a Linux engine.",),
    ),
)


def _clean_facts(facts: ArtifactFacts, name: str) -> ArtifactFacts:
    # The recording machine's cache path means nothing elsewhere: keep the file name only.
    return dataclasses.replace(facts, path=name)


def _clean_run(run: RunResult, variant: str = "") -> RunResult:
    return dataclasses.replace(run, variant=variant or run.variant, duration_s=round(run.duration_s, 2))


def _runner() -> lab.DockerRunner:
    cfg = config.load_config()
    local = images.local_image_map()
    merged = {**local, **dict(cfg.images)}
    return lab.DockerRunner(config=dataclasses.replace(cfg, images=merged))


def record(
    plan: Plan, built: dict[str, fixture_build.Built], runner: lab.DockerRunner, env: Any, recorded_on: str, today: str
) -> Scenario:
    """Build the scenario's evidence for real and return it."""
    runs: list[RunResult] = []
    facts: ArtifactFacts | None = None
    log = ""
    log_source = ""
    if plan.fixture:
        path = built[plan.fixture].path
        if path is None:
            raise SystemExit(f"fixture {plan.fixture} is missing: {built[plan.fixture].reason}")
        facts = _clean_facts(artifact.inspect_path(path), path.name)
        runs += [_clean_run(r) for r in runner.run_matrix(path, list(plan.run_on))]
        for variant, fixture, targets in plan.proofs:
            vpath = built[fixture].path
            if vpath is None:
                raise SystemExit(f"fixture {fixture} is missing: {built[fixture].reason}")
            runs += [_clean_run(r, variant) for r in runner.run_matrix(vpath, list(targets), variant=variant)]
    elif plan.empty_exe:
        with tempfile.TemporaryDirectory() as tmp:
            exe = Path(tmp) / "app.exe"
            exe.write_bytes(b"")
            facts = _clean_facts(artifact.inspect_path(exe), "app.exe")
    else:
        log_path = built[plan.log_fixture].path
        if log_path is None:
            raise SystemExit(f"log fixture {plan.log_fixture} is missing: {built[plan.log_fixture].reason}")
        # The build ran in a temporary directory; its absolute paths are noise in a demo.
        log = log_path.read_text(encoding="utf-8")
        log_source = f"go build ({plan.log_fixture})"
    errors = [r for r in runs if r.outcome == "error"]
    if errors:
        raise SystemExit(f"{plan.name}: {errors[0].target}: {errors[0].error} — are the local images built?")
    return Scenario(
        name=plan.name,
        title=plan.title,
        summary=plan.summary,
        kind="artifact" if facts is not None else "log",
        recorded=today,
        recorded_on=recorded_on,
        artifact=facts,
        log=log,
        log_source=log_source,
        targets=plan.run_on + plan.predicted,
        runs=tuple(runs),
        predicted=plan.predicted,
        env=env,
        notes=plan.notes,
        schema_version=SCHEMA_VERSION,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "goci_doctor" / "data" / "demo")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="record only these")
    args = parser.parse_args(argv)
    built = fixture_build.build_all(verbose=True)
    env = hostenv.gather(docker=True)
    # PATH describes the recording machine's home layout, nothing a demo viewer needs.
    env = dataclasses.replace(env, env={k: v for k, v in env.env.items() if k != "PATH"})
    docker_version = env.docker.get("version", "?")
    go_version = env.go.get("GOVERSION", "?")
    recorded_on = (
        f"{env.os_release.get('PRETTY_NAME', platform.system())}, {env.arch}, Docker {docker_version}, {go_version}"
    )
    today = dt.date.today().isoformat()
    runner = _runner()
    args.out.mkdir(parents=True, exist_ok=True)
    for plan in PLANS:
        if args.only and plan.name not in args.only:
            continue
        sc = record(plan, built, runner, env, recorded_on, today)
        target = args.out / f"{plan.name}.json"
        target.write_text(json.dumps(to_jsonable(sc), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        summary = ", ".join(f"{r.target}{'/' + r.variant if r.variant else ''}={r.outcome}" for r in sc.runs)
        print(f"{plan.name:20} {summary or sc.kind}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
