"""model.Record behaves as the frozen dataclass it replaces on the `inspect` path."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from goci_doctor.model import (
    ArtifactFacts,
    Evidence,
    FrozenRecordError,
    GoBuildInfo,
    Record,
    VersionNeed,
    from_jsonable,
    record_fields,
    to_jsonable,
)


@dataclasses.dataclass(frozen=True)
class _DataclassEvidence:
    fact: str
    value: str
    source: str
    file: str = ""
    line: int = 0


def _facts() -> ArtifactFacts:
    return ArtifactFacts(
        path="/app",
        size=10,
        kind="elf",
        description="ELF",
        needed=("libc.so.6",),
        version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34")),),
        go=GoBuildInfo("go1.22.3", settings=(("CGO_ENABLED", "1"),)),
    )


def test_construction_checks_match_a_dataclass() -> None:
    for args, kwargs in [((), {}), (("f",), {}), (("f", "v", "s", "x", 1, "extra"), {}), (("f",), {"fact": "g"})]:
        with pytest.raises(TypeError):
            _DataclassEvidence(*args, **kwargs)
        with pytest.raises(TypeError):
            Evidence(*args, **kwargs)
    with pytest.raises(TypeError, match="unexpected field 'bogus'"):
        Evidence("f", "v", "s", bogus=1)
    with pytest.raises(TypeError, match="missing field"):
        Evidence("f", value="v")
    assert Evidence("f", "v", "s") == Evidence(fact="f", value="v", source="s", file="", line=0)


def test_records_are_frozen_compared_hashed_and_printed_like_dataclasses() -> None:
    ev = Evidence("f", "v", "s", "ci.yml", 3)
    twin = _DataclassEvidence("f", "v", "s", "ci.yml", 3)
    assert repr(ev).replace("Evidence", "") == repr(twin).replace("_DataclassEvidence", "")
    assert hash(ev) == hash(Evidence("f", "v", "s", "ci.yml", 3))
    assert ev != Evidence("f", "v", "s", "ci.yml", 4)
    assert ev != twin  # another type, as two dataclasses
    with pytest.raises(FrozenRecordError):
        ev.fact = "g"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del ev.value  # type: ignore[misc]
    assert len({ev, Evidence("f", "v", "s", "ci.yml", 3)}) == 1


def test_replace_copy_pickle_and_json_round_trip() -> None:
    facts = _facts()
    changed = facts.replace(libc="musl")
    assert changed.libc == "musl" and facts.libc == "" and changed.needed == facts.needed
    with pytest.raises(TypeError):
        facts.replace(nonsense=1)
    assert copy.deepcopy(facts) == facts
    assert pickle.loads(pickle.dumps(facts)) == facts
    doc = to_jsonable(facts)
    assert doc["version_needs"] == [{"library": "libc.so.6", "versions": ["GLIBC_2.2.5", "GLIBC_2.34"]}]
    assert doc["go"]["settings"] == [["CGO_ENABLED", "1"]]
    assert from_jsonable(ArtifactFacts, doc) == facts
    assert facts.go is not None and facts.go.cgo_enabled is True


def test_record_fields_reports_required_fields_for_records_and_dataclasses() -> None:
    assert record_fields(Evidence) == record_fields(_DataclassEvidence)
    assert [name for name, required in record_fields(ArtifactFacts) if required] == [
        "path",
        "size",
        "kind",
        "description",
    ]


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class _Bad(Record):
            a: str = ""
            b: str
