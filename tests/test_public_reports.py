"""`explain` against real messages from public reports (tests/corpus/public_reports.toml).

The corpus is the measuring stick: messages users pasted, each with the thread's URL and the root
cause the thread concluded. The tuning part's accuracy may never drop below what it reached; the
held-out third is only recorded (docs/benchmarks.md), never tuned on.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import re2

from goci_doctor.diagnosis.explain import logpeel
from goci_doctor.knowledge import families

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("score_explain", ROOT / "scripts" / "score_explain.py")
assert _spec and _spec.loader
score_explain = importlib.util.module_from_spec(_spec)
sys.modules["score_explain"] = score_explain
_spec.loader.exec_module(score_explain)

# What the tuning part reached when the rules were last changed (113 of 119): it may only go up.
TUNING_FLOOR = 0.949


@pytest.fixture(scope="module")
def reports() -> list:
    return score_explain.load_reports()


def test_corpus_is_real_and_well_formed(reports) -> None:
    fams = families()
    assert len(reports) >= 150
    seen = set()
    for r in reports:
        assert r.url.startswith("https://"), r.url
        assert r.family in fams, (r.url, r.family)
        assert r.message.strip(), r.url
        assert r.note, r.url
        key = (r.url, r.message.strip())
        assert key not in seen, r.url
        seen.add(key)
    held = sum(r.held_out for r in reports)
    assert 0.25 < held / len(reports) < 0.42
    # The corpus covers the symptoms users really hit, not one family.
    assert len({r.family for r in reports}) >= 20


def test_tuning_part_accuracy_never_drops(reports) -> None:
    tuning = [r for r in reports if not r.held_out]
    result = score_explain.score(tuning)
    missed = [(r.url, r.family, ranked) for r, ranked in result.misses]
    assert result.accuracy >= TUNING_FLOOR, missed


def test_held_out_accuracy_is_recorded(reports, record_property) -> None:
    """Recorded for docs/benchmarks.md; the floor only guards against a collapse, it is not a target."""
    held = [r for r in reports if r.held_out]
    result = score_explain.score(held)
    record_property("held_out_accuracy", round(result.accuracy, 4))
    record_property("held_out_top3", round(result.top3_accuracy, 4))
    print(f"held-out: {result.correct}/{result.total} = {result.accuracy:.1%}, top 3 {result.top3_accuracy:.1%}")
    assert result.accuracy >= 0.85


_USER_PATH = re.compile(r"[\w.~-]*/[\w./~-]{6,}")
_SYSTEM = ("/lib", "/usr/lib", "/bin/", "/usr/bin/", "/sbin", "/etc/", "/usr/local/bin/", "/tmp/", "/dev/", "/proc/")


def test_no_message_is_special_cased_by_its_text(reports) -> None:
    """No pattern names what only one report contains: a user's own program, path or host name.

    The fixed wordings of loaders, shells and runtimes are the same for everyone and belong in
    patterns; the paths around them are the user's and must not.
    """
    patterns = [p.pattern for fam in families().values() for p in (*fam.patterns, *fam.context)]
    patterns += [rx.pattern for rx, _name in logpeel._LAUNCHERS]
    texts = " ".join(p.replace("\\", "") for p in patterns).lower()
    for r in reports:
        for token in _USER_PATH.findall(r.message):
            token = token.strip("./").lower()
            if len(token) < 8 or token.startswith(tuple(s.strip("/") for s in _SYSTEM)) or "ld-" in token:
                continue
            assert token not in texts, (r.url, token)


def test_family_patterns_are_linear_time() -> None:
    """Every families.toml pattern compiles under google-re2, which `explain` uses on untrusted text."""
    for fam in families().values():
        for p in (*fam.patterns, *fam.context):
            re2.compile("(?i)" + p.pattern)
