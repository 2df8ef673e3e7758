"""Fix states (proven, build failed, still crashes, not tried) and the best-fix summary.

Inputs are real: the demo's recorded container runs, and a real ``go build`` of a cgo-only
package with cgo turned off (the failure the cgo-off variant hits on such projects).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from goci_doctor import render
from goci_doctor.diagnosis import fixstatus
from goci_doctor.lab import demo
from goci_doctor.lab.proof import run_diagnosis
from goci_doctor.records import BuildResult, Report

GO = shutil.which("go") or "/work/main/.venv/bin/go"


def _glibc_demo_diagnosis():
    sc = demo.scenario("glibc-centos7")
    own = [r for r in sc.runs if not r.variant]
    proof = [r for r in sc.runs if r.variant]
    return run_diagnosis(sc.artifact, own, proof)


def test_recorded_proof_is_the_best_fix():
    diag = _glibc_demo_diagnosis()
    fixes = fixstatus.merged_fixes(diag)
    assert len({f.node.variant or f.node.title for f in fixes}) == len(fixes)  # each fix once
    best = fixes[0]
    assert best.status.state == "proven" and best.node.variant in {"zig-2.17", "musl-static"}
    assert any("debian:11" in w for w in best.status.where)
    head, _, cmd = fixstatus.summary_line(diag).partition("\n")
    assert head.startswith(f"Best fix: {best.node.title} — ✔ proven (")
    assert cmd.startswith("$ ") and cmd[2:] in best.node.commands
    untried = [f for f in fixes if not f.node.proven_in]
    assert untried and all(f.status.label == "not tried" for f in untried)


@pytest.mark.skipif(not Path(GO).exists(), reason="needs the Go toolchain")
def test_fix_whose_variant_does_not_build_is_marked_everywhere(tmp_path):
    # A cgo-only package built with CGO_ENABLED=0: go's real refusal is the build's reason.
    (tmp_path / "go.mod").write_text("module example.com/cgoonly\n\ngo 1.21\n")
    (tmp_path / "main.go").write_text(
        'package main\n\n// int two(void) { return 2; }\nimport "C"\n\nfunc main() { println(C.two()) }\n'
    )
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOCACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [GO, "build", "."], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode != 0 and "build constraints exclude all Go files" in done.stderr
    failed = BuildResult(
        variant="cgo-off",
        title="cgo off",
        env=(("CGO_ENABLED", "0"),),
        command=("go", "build", "."),
        ok=False,
        output=done.stderr,
        reason=done.stderr.strip().splitlines()[-1],
    )
    diag = _glibc_demo_diagnosis()
    node = next(n for c in diag.chains for n in c.walk() if n.variant == "cgo-off")
    status = fixstatus.fix_status(node, [failed])
    assert status.state == "build-failed" and "build constraints exclude" in status.reason
    # Never recommended, and marked in the text and Markdown exports.
    assert fixstatus.merged_fixes(diag, [failed])[-1].node.variant == "cgo-off"
    import dataclasses

    report = Report(diagnosis=dataclasses.replace(diag, builds=(failed,)), env=None, created="", tool_version="")
    md = render.render(report, "markdown")
    line = next(ln for ln in md.splitlines() if node.title in ln and "**fix**" in ln)
    assert "✖ build failed" in line and "build constraints exclude" in line
    assert "not tried" in md and "✔ proven" in md
    text = render.render(report, "text")
    assert f"{node.title}   [✖ build failed]" in text
