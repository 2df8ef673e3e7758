"""Proof from several places: `run --on-this-machine` on a (disposable) runner and `merge` of the reports.

The on-this-machine runs execute real fixture binaries on this host as a CI runner would (CI=true
in the child's environment); the merge tests join those reports with reports of real container runs
on the local images, including a conflicting observation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from goci_doctor.lab import engine, onmachine
from goci_doctor.model import BadInputError
from goci_doctor.render import fanin

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schema.json").read_text(encoding="utf-8"))


def _cli(*args: str, ci: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS", "GITLAB_CI")}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _report(tmp_path: Path, name: str, *args: str, ci: bool = True) -> Path:
    out = tmp_path / name
    proc = _cli(*args, "--json", "--output", str(out), ci=ci)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    return out


# --------------------------------------------------------------------------------------------
# run --on-this-machine


def test_refused_outside_ci_with_one_line(bin_path):
    proc = _cli("run", str(bin_path("static")), "--on-this-machine", ci=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "disposable CI runner" in lines[0] and "--force" in lines[0]
    assert proc.stdout == ""


def test_forced_outside_ci_runs(bin_path):
    proc = _cli("run", str(bin_path("static")), "--on-this-machine", "--force", ci=False)
    assert proc.returncode == 0, proc.stderr
    assert "goci-fixture hello" in proc.stdout


def test_static_binary_runs_here_and_names_the_machine(bin_path, tmp_path):
    doc = json.loads(
        _report(tmp_path, "r.json", "run", str(bin_path("static")), "--on-this-machine").read_text(encoding="utf-8")
    )
    (run,) = doc["runs"]
    assert run["outcome"] == "runs" and run["exit_code"] == 0
    assert run["image"].startswith("runner: ")
    family, version = os.confstr("CS_GNU_LIBC_VERSION").split()
    assert run["libc"] == f"{family.lower()} {version}"
    assert run["where"]
    assert len(doc["artifact_sha256"]) == 64


def test_foreign_architecture_is_refused_by_this_kernel(bin_path):
    machine = onmachine.describe_this_machine({"CI": "true"})
    if machine.arch == "arm64":
        pytest.skip("this host is arm64: the arm64 fixture would run")
    result = onmachine.run_here(bin_path("arm64"), machine=machine)
    assert result.outcome == "crashes" and result.exit_code == 126
    assert result.message.endswith("exec format error")


def test_missing_loader_here_is_enoent_exit_127(bin_path, tmp_path):
    # The cgo binary with its PT_INTERP renamed to a loader no system has: the kernel says ENOENT.
    data = bin_path("cgo-host").read_bytes()
    loader = b"/lib64/ld-linux-x86-64.so.2"
    assert loader in data
    broken = tmp_path / "app"
    broken.write_bytes(data.replace(loader, b"/lib64/ld-goci-missing.so.2", 1))
    broken.chmod(0o755)
    result = onmachine.run_here(broken)
    assert result.outcome == "crashes" and result.exit_code == 127
    assert result.message.endswith("no such file or directory")


def test_deadline_kills_the_whole_process_group_and_output_stays_bounded(tmp_path):
    marker = tmp_path / "child.pid"
    script = tmp_path / "flood.sh"
    # A grandchild that would outlive a plain kill, and a flood far larger than what is kept.
    script.write_text(f"#!/bin/sh\nsleep 300 & echo $! > {marker}\nexec yes goci-flood-line\n")
    script.chmod(0o755)
    start = time.monotonic()
    result = onmachine.run_here(script, timeout=2)
    assert time.monotonic() - start < 30
    assert result.outcome == "runs" and result.timed_out
    assert len(result.stdout) <= onmachine.OUTPUT_LIMIT + 100
    assert "earlier bytes dropped" in result.stdout
    pid = int(marker.read_text())
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the grandchild {pid} outlived the deadline")


def test_nonzero_exit_and_signal_are_crashes(tmp_path):
    script = tmp_path / "die.sh"
    script.write_text("#!/bin/sh\necho boom >&2\nkill -SEGV $$\n")
    script.chmod(0o755)
    result = onmachine.run_here(script, timeout=10)
    assert result.outcome == "crashes" and result.signal == "SIGSEGV" and result.exit_code == 139


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "1e308"])
def test_bad_timeouts_are_one_line(bin_path, timeout):
    proc = _cli("run", str(bin_path("static")), "--on-this-machine", "--timeout", timeout)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--timeout" in proc.stderr


# --------------------------------------------------------------------------------------------
# merge


def test_merge_joins_reports_and_flags_conflicts(bin_path, tmp_path):
    cgo = str(bin_path("cgo-host"))
    here = _report(tmp_path, "here.json", "run", cgo, "--on-this-machine")
    # The same target observed in two places with different outcomes: one job mislabelled its runner.
    mislabelled = _report(tmp_path, "liar.json", "run", cgo, "--on-this-machine", "--target", "debian:11")
    crash = json.loads(mislabelled.read_text(encoding="utf-8"))
    crash["runs"][0].update(
        outcome="crashes",
        exit_code=1,
        where="engine unix:///elsewhere.sock",
        stderr=f"{cgo}: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found\n",
    )
    other = tmp_path / "other.json"
    other.write_text(json.dumps(crash), encoding="utf-8")

    merged = fanin.merge_reports([str(here), str(mislabelled), str(other)])
    assert [s[1] for s in merged.sources] == ["run", "run", "run"]
    assert len(merged.diagnosis.runs) == 3, "every observation is kept"
    (conflict,) = merged.conflicts
    assert conflict.target == "debian:11"
    assert {w for w, _ in conflict.observations} >= {"engine unix:///elsewhere.sock"}
    bullseye = [v for v in merged.diagnosis.verdicts if v.target == "debian:11"]
    assert bullseye and bullseye[0].outcome == "crashes", "a conflict is judged by the crash"

    proc = _cli("merge", str(here), str(mislabelled), str(other), "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["kind"] == "merge" and len(doc["conflicts"]) == 1

    md = _cli("merge", str(here), str(mislabelled), str(other), "--format", "markdown").stdout
    assert "## Conflicting observations" in md and "| where it ran |" in md


def test_merge_agreeing_runs_is_clean(bin_path, tmp_path):
    static = str(bin_path("static"))
    a = _report(tmp_path, "a.json", "run", static, "--on-this-machine")
    b = _report(tmp_path, "b.json", "run", static, "--on-this-machine")
    proc = _cli("merge", str(a), str(b))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    merged = fanin.merge_reports([str(a), str(b)])
    assert not merged.conflicts and len(merged.diagnosis.artifacts) == 1, "same sha256: one artifact"


BAD_REPORTS = {
    "truncated": ("{", "invalid JSON"),
    "newer": ('{"schema_version": 99, "kind": "run"}', "newer"),
    "wrong-kind": ('{"schema_version": 1, "kind": "env"}', "cannot be merged"),
    "damaged": ('{"schema_version": 1, "kind": "run", "artifact": 5, "runs": []}', "damaged"),
    "deep": ("[" * 100000 + "]" * 100000, "not a goci-doctor report"),
}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_bad_reports_are_one_line(tmp_path, case):
    content, needle = BAD_REPORTS[case]
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    proc = _cli("merge", str(bad))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr


def test_merge_refuses_a_device(tmp_path):
    with pytest.raises(BadInputError, match="not a regular file"):
        fanin.merge_reports(["/dev/zero"])


@pytest.mark.docker
def test_merge_container_runs_with_a_runner_report(bin_path, tmp_path):
    from goci_doctor.model import EngineUnavailableError

    try:
        engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    cgo = str(bin_path("cgo-host"))
    docker = _report(tmp_path, "docker.json", "run", cgo, "-t", "goci/debian:bullseye", "-t", "goci/musl")
    here = _report(tmp_path, "here.json", "run", cgo, "--on-this-machine")
    merged = fanin.merge_reports([str(docker), str(here)])
    wheres = {r.target: r.where for r in merged.diagnosis.runs}
    assert wheres["goci/debian:bullseye"].startswith("engine ")
    assert any(w and not w.startswith("engine ") for w in wheres.values()), "the runner names itself"
    outcomes = {r.target: r.outcome for r in merged.diagnosis.runs}
    assert outcomes["goci/debian:bullseye"] == "crashes" and outcomes["goci/musl"] == "crashes"
    assert "runs" in outcomes.values()
    families = {c.id.split("/")[0] for c in merged.diagnosis.chains}
    assert "glibc-too-new" in families


def test_merge_output_is_redacted_and_escaped(bin_path, tmp_path):
    here = _report(tmp_path, "here.json", "run", str(bin_path("static")), "--on-this-machine")
    doc = json.loads(here.read_text(encoding="utf-8"))
    planted = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    doc["runs"][0].update(
        outcome="crashes", exit_code=1, stderr=f"token={planted} \x1b]0;owned\x07\n::warning title=x::boom\n"
    )
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(doc), encoding="utf-8")
    for fmt in ("text", "json", "markdown"):
        proc = _cli("merge", str(hostile), "--format", fmt)
        assert proc.returncode == 1, proc.stderr
        assert planted not in proc.stdout
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
        assert not any(line.startswith("::") for line in proc.stdout.splitlines())
