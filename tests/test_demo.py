"""The onboarding demo: bundled real recordings, replayed through the live diagnosis."""

from __future__ import annotations

import subprocess
import sys

import pytest

from goci_doctor.lab import demo
from goci_doctor.model import BadInputError

CLASSIC = {
    # scenario -> the failure family the live diagnosis must find in its recorded evidence
    "glibc-centos7": "glibc-too-new",
    "glibc-on-alpine": "glibc-on-musl",
    "windows-on-linux": "pe-on-linux",
    "arm64-on-amd64": "wrong-arch",
    "cgo-cross-no-cc": "cgo-cross-no-cc",
    "sqlite-cgo-off": "cgo-required-disabled",
    "empty-windows-exe": "empty-output",
}


def test_every_classic_failure_is_bundled():
    names = [s.name for s in demo.scenarios()]
    assert names[: len(CLASSIC)] == list(CLASSIC)


@pytest.mark.parametrize("name", list(CLASSIC))
def test_scenario_is_real_and_explained(name):
    sc = demo.scenario(name)
    assert sc.recorded and sc.recorded_on, "a recording says when and where it was made"
    if sc.kind == "log":
        assert sc.log.strip() and sc.artifact is None
    else:
        assert sc.artifact is not None
    for run in sc.runs:
        # Observed runs carry the image and libc really used; predicted targets are never "runs".
        assert run.image and run.libc and run.outcome in ("runs", "crashes")
        assert run.target not in sc.predicted
    diag = demo.diagnose(sc)
    assert diag.chains, f"{name}: the live diagnosis explains the recorded evidence"
    assert diag.chains[0].id == f"{CLASSIC[name]}/symptom"


def test_glibc_scenario_separates_observed_and_predicted():
    sc = demo.scenario("glibc-centos7")
    assert "centos:7" in sc.predicted
    own = [r for r in sc.runs if not r.variant]
    assert own and all(r.outcome == "crashes" and "GLIBC_" in r.message for r in own)
    # The rebuilt variants were really run too, and they prove fixes in the live chain.
    assert {r.variant for r in sc.runs if r.variant and r.outcome == "runs"}
    fixes = [n for c in demo.diagnose(sc).chains for n in c.walk() if n.kind == "fix" and n.proven_in]
    assert fixes


def test_sqlite_stub_message_was_really_printed():
    sc = demo.scenario("sqlite-cgo-off")
    assert any("go-sqlite3 requires cgo" in r.stderr + r.stdout for r in sc.runs)


def test_walkthrough_says_it_is_a_demo():
    from goci_doctor.render.demo import render_walkthrough

    text = render_walkthrough()
    assert text.startswith(demo.DEMO_BANNER)
    for sc in demo.scenarios():
        assert sc.title in text
    one = render_walkthrough("arm64-on-amd64")
    assert "exec format error" in one and "Windows PE" not in one


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(BadInputError, match="glibc-centos7"):
        demo.scenario("nope")


def test_bad_recording_is_bad_input(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"name": 3}')
    with pytest.raises(BadInputError):
        demo.load_scenario(bad)


def test_demo_and_history_do_not_import_textual_or_docker():
    code = (
        "import sys, goci_doctor.render.demo, goci_doctor.render.history; "
        "goci_doctor.render.demo.render_walkthrough('glibc-centos7'); "
        "print(sorted(m for m in ('textual', 'docker', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
