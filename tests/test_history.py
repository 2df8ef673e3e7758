"""The session history: atomic saves, listing, re-opening, bad ids."""

from __future__ import annotations

import os

import pytest

from goci_doctor import artifact, diagnosis, knowledge
from goci_doctor.model import BadInputError
from goci_doctor.records import Report
from goci_doctor.render import history


@pytest.fixture
def report(bin_path) -> Report:
    facts = artifact.inspect_path(bin_path("cgo-host"))
    diag = diagnosis.check_artifact(facts, [knowledge.resolve_target("centos:7")])
    return Report(
        diagnosis=diag,
        created="2024-05-01T10:00:00+00:00",
        tool_version="test",
        targets=("centos:7",),
        title="cgo-host on centos:7",
    )


def test_save_list_load_roundtrip(report, tmp_path):
    path = history.save_session(report, tmp_path)
    assert path.parent == tmp_path and path.suffix == ".json"
    (entry,) = history.list_sessions(tmp_path)
    assert entry.id == path.stem and entry.title == report.title
    assert entry.problems == len(report.diagnosis.chains) > 0
    loaded = history.load_session(entry.id, tmp_path)
    assert [c.id for c in loaded.diagnosis.chains] == [c.id for c in report.diagnosis.chains]
    assert loaded.targets == report.targets
    # A unique prefix of the id is enough.
    assert history.load_session(entry.id[:15], tmp_path).title == report.title


def test_same_second_saves_never_overwrite(report, tmp_path):
    paths = {history.save_session(report, tmp_path) for _ in range(3)}
    assert len(paths) == 3 and len(history.list_sessions(tmp_path)) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_default_directory_follows_data_dir(report, tmp_path, monkeypatch):
    monkeypatch.setenv("GOCI_DOCTOR_DATA_DIR", str(tmp_path / "data"))
    path = history.save_session(report)
    assert path.parent == tmp_path / "data" / "sessions"
    assert [e.path for e in history.list_sessions()] == [path]


def test_broken_and_partial_files_are_skipped(report, tmp_path):
    history.save_session(report, tmp_path)
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / ".tmp-half.json").write_text('{"diagnosis": ')
    assert [e.title for e in history.list_sessions(tmp_path)] == [report.title]


def test_failed_write_leaves_no_entry(report, tmp_path, monkeypatch):
    def boom(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        history.save_session(report, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["../etc/passwd", "", "no-such-session"])
def test_bad_ids_are_one_line_errors(bad, tmp_path):
    with pytest.raises(BadInputError):
        history.load_session(bad, tmp_path)


def test_empty_history(tmp_path):
    assert history.list_sessions(tmp_path / "never-created") == []
