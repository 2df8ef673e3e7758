"""The recorded corpus: messages real launchers printed for real failing files (scripts/record_corpus.py).

`explain` must name the right family for every message the text can decide, given what a user pastes
(the command and its output). Where the text alone cannot tell the root cause from the family that
shares its symptom (an empty file and a foreign CPU both print "exec format error"), the entry lists
the families that are a correct reading of the text; a bare crash signal decides nothing, and explain
must not invent a cause for it. Re-running the recorder must reproduce the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import re2

from goci_doctor.diagnosis import explain
from goci_doctor.knowledge import families

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "recorded" / "messages.json"
KINDS = {
    "foreign-arch",
    "pe-on-linux",
    "macho-on-linux",
    "glibc-loader-missing",
    "musl-loader-missing",
    "glibc-too-new",
    "missing-shared-lib",
    "script-interpreter-missing",
    "script-interpreter-missing-env",
    "empty-file",
    "truncated",
}
LAUNCHERS = {"bash", "dash", "zsh", "busybox-sh", "env", "docker-run", "docker-exec", "go-os-exec", "python-subprocess"}


def _entries() -> list[dict]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))["entries"]


def _paste(entry: dict) -> str:
    return "$ " + entry["command"] + "\n" + "\n".join(entry["output"]) + "\n"


def _first_family(entry: dict) -> str:
    diag = explain.explain_text(_paste(entry))
    return diag.chains[0].id.split("/")[0] if diag.chains else ""


def test_the_corpus_covers_every_kind_launcher_and_libc():
    entries = _entries()
    assert {e["kind"] for e in entries} == KINDS
    assert {e["launcher"] for e in entries} == LAUNCHERS
    images = {e["image"] for e in entries}
    assert {"goci/musl", "goci/debian:bookworm", "goci/debian:bullseye"} <= images
    for e in entries:
        assert e["exit_code"] != 0 and e["output"], e
        assert e["family"] in families(), e["family"]
        assert set(e["accepted"]) <= set(families()), e["accepted"]
    # Sorted, so a re-recording diff shows real changes only.
    keys = [(e["kind"], e["image"], e["launcher"]) for e in entries]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_explain_classifies_every_recorded_message():
    wrong = []
    strict = Counter()
    for e in _entries():
        got = _first_family(e)
        if e["decidable"]:
            ok = got in (e["family"], *e["accepted"])
        else:
            ok = got in ("", e["family"])  # a crash signal alone: no invented cause
        strict[got == e["family"]] += 1
        if not ok:
            wrong.append(f"{e['kind']} via {e['launcher']} on {e['image']}: {got or 'nothing'} | {e['output'][0]}")
    assert wrong == []
    # The exact root cause is named wherever the text decides it (see docs/benchmarks.md for the count).
    assert strict[True] >= 59


def test_messages_that_name_their_cause_get_exactly_that_family():
    """Where the text itself carries the cause, no fallback is acceptable."""
    exact = {
        "glibc-too-new",
        "missing-shared-lib",
        "pe-on-linux",
        "macho-on-linux",
        "foreign-arch",
        "script-interpreter-missing-env",
    }
    for e in _entries():
        if e["kind"] in exact:
            assert _first_family(e) == e["family"], (e["kind"], e["launcher"], e["output"][0])


def test_family_patterns_are_linear_time_re2():
    for fam in families().values():
        for pat in (*fam.patterns, *fam.context):
            re2.compile(pat.pattern)


@pytest.mark.docker
def test_rerunning_the_recorder_reproduces_the_corpus(tmp_path):
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no Docker engine or docker CLI: {exc}")
    from goci_doctor.lab.engine import connect
    from goci_doctor.lab.images import build_images

    build_images(on_progress=lambda _line: None, client=connect())
    out = tmp_path / "messages.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "record_corpus.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_text(encoding="utf-8") == CORPUS.read_text(encoding="utf-8")
