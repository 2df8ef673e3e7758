"""ReplayRunner: recordings of real container runs played back with the events of a live run."""

from __future__ import annotations

import json
import threading

import pytest

from goci_doctor.config import Config, RunSettings
from goci_doctor.lab import docker as lab
from goci_doctor.lab import engine
from goci_doctor.lab.images import build_images, local_image_map
from goci_doctor.lab.runner import ReplayRunner, RunEvent, file_sha256, load_recording, record_runs, save_recording
from goci_doctor.model import BadInputError, EngineUnavailableError

TARGETS = ["debian:bullseye", "debian:bookworm", "alpine:3.20"]


@pytest.fixture(scope="module")
def recorded(bin_path):
    """A real run of cgo-host on three local images: (artifact, live results, live events)."""
    try:
        client = engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine to record a real run: {exc}")
    build_images(["debian-bullseye", "debian-bookworm", "musl"], on_progress=lambda _l: None, client=client)
    runner = lab.DockerRunner(config=Config(images=local_image_map(), run=RunSettings(allow_pull=False)), client=client)
    events: list[RunEvent] = []
    artifact = bin_path("cgo-host")
    results = runner.run_matrix(artifact, TARGETS, on_event=events.append)
    return artifact, results, events


def _phases(events: list[RunEvent], target: str) -> list[str]:
    return [e.phase for e in events if e.target == target]


@pytest.mark.docker
def test_round_trip_through_a_file_replays_the_real_run(recorded, tmp_path):
    artifact, live, _ = recorded
    assert {r.outcome for r in live} == {"runs", "crashes"}  # the recording holds both kinds
    path = tmp_path / "rec.json"
    save_recording(record_runs(live, artifact_sha256=file_sha256(artifact)), path)
    assert json.loads(path.read_text())["schema_version"] >= 1
    replayed = ReplayRunner(path).run_matrix(artifact, TARGETS)
    assert replayed == live


@pytest.mark.docker
def test_replay_emits_the_same_events_as_the_live_run(recorded):
    artifact, live, live_events = recorded
    events: list[RunEvent] = []
    ReplayRunner(record_runs(live)).run_matrix(artifact, TARGETS, on_event=events.append)
    # All cells are queued first, then each goes preparing → running → done, as live.
    assert [e.phase for e in events[: len(TARGETS)]] == ["queued"] * len(TARGETS)
    for t in TARGETS:
        assert _phases(events, t) == _phases(live_events, t) == ["queued", "preparing", "running", "done"]
    done = {e.target: e.result for e in events if e.phase == "done"}
    assert done == {r.target: r for r in live}


@pytest.mark.docker
def test_a_recording_for_one_artifact_does_not_replay_for_another(recorded, bin_path):
    artifact, live, _ = recorded
    runner = ReplayRunner(record_runs(live, artifact_sha256=file_sha256(artifact)))
    other = runner.run_matrix(bin_path("static"), TARGETS[:1])
    assert other[0].outcome == "error"
    assert other[0].error == "no recorded run for debian:bullseye"


@pytest.mark.docker
def test_unrecorded_cell_and_variant_are_errors_not_guesses(recorded):
    artifact, live, _ = recorded
    events: list[RunEvent] = []
    runner = ReplayRunner(live)
    results = runner.run_matrix(artifact, ["centos:7"], on_event=events.append)
    assert results[0].outcome == "error" and results[0].error == "no recorded run for centos:7"
    assert [e.phase for e in events] == ["queued", "preparing", "error"]
    (r,) = runner.run_matrix(artifact, ["debian:bullseye"], variant="cgo-off")
    assert r.error == "no recorded run for debian:bullseye (variant cgo-off)"


@pytest.mark.docker
def test_cancel_stops_a_slow_replay(recorded):
    artifact, live, _ = recorded
    runner = ReplayRunner(live, delay=0.2)
    events: list[RunEvent] = []

    def on_event(e: RunEvent) -> None:
        events.append(e)
        if e.phase == "done":
            threading.Thread(target=runner.cancel).start()

    results = runner.run_matrix(artifact, TARGETS, on_event=on_event)
    assert results[0] == live[0]
    assert [r.error for r in results[1:]] == ["cancelled"] * (len(TARGETS) - 1)
    assert events[-1].phase == "cancelled"


def test_load_recording_rejects_what_is_not_one(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        load_recording(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadInputError, match="not readable JSON"):
        load_recording(bad)
    other = tmp_path / "other.json"
    other.write_text('{"findings": []}')
    with pytest.raises(BadInputError, match="not a goci-doctor run recording"):
        ReplayRunner(other)
