"""Static verdicts and crash chains for real binaries built here, against knowledge-base targets."""

from __future__ import annotations

import json

import pytest

from goci_doctor import artifact, diagnosis, knowledge, render
from goci_doctor.model import from_jsonable, to_jsonable
from goci_doctor.records import Diagnosis, Report, RunResult

# (fixture, target, expected outcome, family, text the message must contain)
CASES = [
    ("cgo-host", "centos:7", "crashes", "glibc-too-new", "/lib64/libc.so.6: version `GLIBC_2.34' not found"),
    (
        "cgo-host",
        "debian:bullseye",
        "crashes",
        "glibc-too-new",
        "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found",
    ),
    ("cgo-host", "debian:bookworm", "runs", "", ""),
    ("cgo-host", "ubuntu:22.04", "runs", "", ""),
    ("cgo-host", "alpine:3.20", "crashes", "glibc-on-musl", "no such file or directory"),
    ("cgo-host", "distroless/static", "crashes", "dynamic-on-no-libc", "no such file or directory"),
    ("cgo-host", "scratch", "crashes", "dynamic-on-no-libc", "no such file or directory"),
    ("cgo-zig217", "centos:7", "runs", "", ""),
    ("cgo-zig217", "debian:bullseye", "runs", "", ""),
    ("cgo-musl", "debian:bookworm", "crashes", "musl-on-glibc", "no such file or directory"),
    ("cgo-musl", "alpine:3.20", "runs", "", ""),
    ("cgo-musl-static", "scratch", "runs", "", ""),
    ("static", "scratch", "runs", "", ""),
    ("static", "centos:7", "runs", "", ""),
    ("arm64", "ubuntu:22.04", "crashes", "wrong-arch", "exec format error"),
    ("windows", "debian:bookworm", "crashes", "pe-on-linux", "exec format error"),
    ("darwin", "debian:bookworm", "crashes", "macho-on-linux", "exec format error"),
]


@pytest.mark.parametrize(("fixture", "target", "outcome", "family", "text"), CASES)
def test_static_verdicts(facts_of, fixture, target, outcome, family, text) -> None:
    facts = facts_of(fixture)
    verdict, _case = diagnosis.predict(facts, knowledge.resolve_target(target), arch="amd64")
    assert verdict.outcome == outcome, verdict
    assert verdict.family == family
    assert text in verdict.message
    if outcome == "crashes":
        assert verdict.confidence == "certain"


def test_glibc_message_is_what_the_loader_prints(facts_of) -> None:
    facts = facts_of("cgo-host")
    verdict, _ = diagnosis.predict(facts, knowledge.resolve_target("debian:bullseye"), arch="amd64", run_path="/app")
    # glibc's loader prints this exact line (seen on this project's bullseye image).
    assert verdict.message == (
        "/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)"
    )


def test_chain_for_several_targets_is_one_per_family(facts_of) -> None:
    targets = [knowledge.resolve_target(t) for t in ("centos:7", "debian:bullseye", "alpine:3.20", "ubuntu:24.04")]
    result = diagnosis.check_artifact(facts_of("cgo-host"), targets, arch="amd64")
    families = [c.id.split("/")[0] for c in result.chains]
    assert families == ["glibc-too-new", "glibc-on-musl"]
    glibc = result.chains[0]
    assert "centos:7" in glibc.detail and "debian:11" in glibc.detail
    mech = glibc.children[0]
    floor = [e for e in mech.evidence if e.fact == "highest GLIBC version required"]
    assert floor
    assert "pthread_create@GLIBC_2.34" in floor[0].value or "__libc_start_main@GLIBC_2.34" in floor[0].value
    assert result.has_problem


def test_observed_runs_confirm_and_prove_fixes(facts_of) -> None:
    """Recorded runs: the crash confirmed in a container, and the cgo-off variant proving its fix."""
    target = knowledge.resolve_target("debian:bullseye")
    own = RunResult(
        target=target.name,
        image="goci/debian:bullseye",
        libc="glibc 2.31",
        outcome="crashes",
        exit_code=1,
        stderr="/goci/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /goci/app)",
    )
    fixed = RunResult(
        target=target.name,
        image="goci/debian:bullseye",
        libc="glibc 2.31",
        outcome="runs",
        exit_code=0,
        stdout="ok",
        variant="cgo-off",
    )
    still = RunResult(
        target=target.name,
        image="goci/debian:bullseye",
        libc="glibc 2.31",
        outcome="crashes",
        exit_code=1,
        stderr="version `GLIBC_2.34' not found",
        variant="musl-static",
    )
    result = diagnosis.check_artifact(facts_of("cgo-host"), [target], runs=[own, fixed, still], arch="amd64")
    v = result.verdicts[0]
    assert v.outcome == "crashes" and v.confidence == "certain" and v.observed == own
    assert "GLIBC_2.34" in v.message
    fixes = {n.variant: n for n in result.chains[0].walk() if n.kind == "fix" and n.variant}
    assert fixes["cgo-off"].proven_in == ("debian:11 [goci/debian:bullseye, glibc 2.31]",)
    assert fixes["musl-static"].failed_in
    # Proven fixes come first.
    first_fix = next(n for n in result.chains[0].walk() if n.kind == "fix")
    assert first_fix.variant == "cgo-off"


def test_observation_overrides_a_wrong_prediction(facts_of) -> None:
    target = knowledge.resolve_target("debian:bookworm")
    observed = RunResult(
        target=target.name,
        image="goci/debian:bookworm",
        libc="glibc 2.36",
        outcome="crashes",
        exit_code=127,
        stderr="exec /goci/app: no such file or directory",
    )
    result = diagnosis.check_artifact(facts_of("cgo-host"), [target], runs=[observed], arch="amd64")
    assert result.verdicts[0].outcome == "crashes"
    assert result.verdicts[0].reason.startswith("observed")
    assert result.chains and result.chains[0].id.startswith("loader-missing")


def test_gui_subsystem_and_empty_output(facts_of, bad_files) -> None:
    linux = [knowledge.resolve_target("debian:bookworm")]
    gui = diagnosis.check_artifact(facts_of("windows-gui"), linux, arch="amd64")
    assert "gui-subsystem/symptom" in [c.id for c in gui.chains]
    empty = diagnosis.check_artifact(artifact.inspect_path(bad_files["empty"]), linux, arch="amd64")
    assert empty.chains[0].id == "empty-output/symptom"
    assert empty.verdicts[0].outcome == "crashes"
    truncated = diagnosis.check_artifact(artifact.inspect_path(bad_files["truncated"]), linux, arch="amd64")
    assert truncated.chains[0].id == "empty-output/symptom"


def test_windows_target(facts_of) -> None:
    windows = knowledge.resolve_target("windows-servercore:ltsc2022")
    verdict, _ = diagnosis.predict(facts_of("static"), windows, arch="amd64")
    assert verdict.outcome == "crashes" and verdict.family == "elf-on-windows"
    verdict, _ = diagnosis.predict(facts_of("windows"), windows, arch="amd64")
    assert verdict.outcome == "runs"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_every_renderer_walks_the_chain(facts_of, fmt) -> None:
    targets = [knowledge.resolve_target(t) for t in ("centos:7", "alpine:3.20")]
    result = diagnosis.check_artifact(facts_of("cgo-host"), targets, arch="amd64")
    out = render.render(result, fmt)
    if fmt in ("json", "sarif"):
        doc = json.loads(out)
        if fmt == "json":
            assert doc["schema_version"] == 1 and doc["kind"] == "diagnosis"
            back = from_jsonable(Diagnosis, doc["diagnosis"])
            assert back == result
        else:
            rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
            assert rules == {"glibc-too-new", "glibc-on-musl"}
    else:
        assert "GLIBC_2.34" in out
        assert "CGO_ENABLED=0 go build" in out


def test_report_round_trip(tmp_path, facts_of) -> None:
    result = diagnosis.check_artifact(facts_of("arm64"), [knowledge.resolve_target("debian:bookworm")], arch="amd64")
    report = Report(diagnosis=result, created="2026-11-25T12:00:00Z", tool_version="0.1.0", title="t")
    path = render.write_atomic(tmp_path / "r.json", render.report_to_json(report))
    assert render.load_report(path) == report
    assert to_jsonable(render.load_report(path))["diagnosis"]["chains"][0]["id"] == "wrong-arch/symptom"


def test_cgo_only_module_built_without_cgo_is_predicted_from_build_info(facts_of) -> None:
    """The go-sqlite3 stand-in carries the real module path, so its build info names the dependency."""
    facts = facts_of("sqlite-nocgo")
    assert facts.go is not None and facts.go.has_dep("github.com/mattn/go-sqlite3")
    verdict, _ = diagnosis.predict(facts, knowledge.resolve_target("debian:bookworm"), arch="amd64")
    assert verdict.outcome == "crashes" and verdict.family == "cgo-required-disabled"
    assert "go-sqlite3 requires cgo to work. This is a stub" in verdict.message
    result = diagnosis.check_artifact(facts, [knowledge.resolve_target("debian:bookworm")], arch="amd64")
    fixes = [n for n in result.chains[0].walk() if n.kind == "fix"]
    assert any("modernc.org/sqlite" in " ".join(f.commands) for f in fixes)


@pytest.mark.parametrize(
    ("goarch", "handlers", "expected"),
    [
        ("arm64", ["qemu-aarch64 (enabled, /usr/bin/qemu-aarch64-static, flags F)"], 1),
        ("arm64", ["qemu-aarch64 (disabled, /usr/bin/qemu-aarch64-static)"], 0),
        ("arm64", ["qemu-aarch64_be (enabled, /usr/bin/qemu-aarch64_be-static)"], 0),
        ("ppc64le", ["qemu-ppc64le (enabled, /usr/bin/qemu-ppc64le-static)"], 1),
        ("arm", ["qemu-aarch64 (enabled, x)", "qemu-arm (enabled, /usr/bin/qemu-arm-static)"], 1),
    ],
)
def test_only_enabled_handlers_for_the_binary_arch_count(goarch, handlers, expected) -> None:
    assert len(diagnosis.emulating_handlers(goarch, handlers)) == expected
