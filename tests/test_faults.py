"""Faults, end to end through the CLI and the real engine: a clear message, nothing left behind.

The engine "dying" is a unix-socket relay in front of the real daemon that the test kills mid-run
(stopping the shared daemon is not an option). Ctrl-C is a real SIGINT delivered to a
``goci-doctor run`` process at each step: before the engine is reached, once its container
exists, and while the artifact runs. A full disk is a real 64 KiB tmpfs. Each artifact gets a
unique file name, so leftovers are found by the command their container runs, even while other
test sessions share the engine.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dockerlab import containers_for, engine_or_skip, local_config_file, start_cli, wait_for
from engine_relay import EngineRelay

from goci_doctor import render
from goci_doctor.lab import engine as lab_engine
from goci_doctor.render import history


@pytest.fixture(scope="module")
def engine():
    return engine_or_skip("goci/debian:bookworm", "goci/debian:trixie", "goci/musl")


# --------------------------------------------------------------------------------------------
# Engine faults through the CLI


@pytest.mark.docker
def test_engine_stopping_mid_run_is_one_clear_report(engine, sleeper, tmp_path):
    from goci_doctor.lab import docker as lab

    real = lab_engine.engine_host()
    if not real.startswith("unix://"):
        pytest.skip(f"engine is not on a local socket ({real}); the relay needs one")
    relay_path = tmp_path / "engine.sock"
    relay = EngineRelay(relay_path, real[len("unix://") :])
    out = tmp_path / "report.md"
    proc = start_cli(
        "--config",
        str(local_config_file(tmp_path)),
        "run",
        str(sleeper),
        "-t",
        "debian:bookworm",
        "-t",
        "debian:trixie",
        "-t",
        "alpine:3.20",
        "-t",
        "debian:bullseye",
        "--timeout",
        "60",
        "--format",
        "markdown",
        "-o",
        str(out),
        env={"DOCKER_HOST": f"unix://{relay_path}"},
    )
    try:
        assert wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper))), (
            "no container started"
        )
        relay.kill()
        _stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 2, stderr
        assert "Traceback" not in stderr
        text = out.read_text()
        assert "the Docker engine stopped answering during the run" in text
        assert text.count("| error |") == 4, text
        # The dead engine could not be asked to remove anything; every leftover carries the
        # session label, so a sweep on the live engine reclaims it.
        leftovers = containers_for(engine, sleeper)
        sessions = {c["Labels"].get(lab.SESSION_LABEL) for c in leftovers}
        assert all(sessions), leftovers
        for session in sessions:
            lab_engine.cleanup_containers(engine, session=session)
    finally:
        proc.kill()
        proc.wait()
        relay.kill()
    assert containers_for(engine, sleeper) == []


@pytest.mark.docker
def test_missing_image_is_an_error_cell_and_exit_2(engine, bin_path, tmp_path):
    proc = start_cli(
        "--config",
        str(local_config_file(tmp_path)),
        "run",
        str(bin_path("static")),
        "-t",
        "goci/no-such-image:never",
        "-t",
        "debian:bookworm",
    )
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = {line.split()[0]: line for line in stdout.splitlines() if line.startswith(("goci/", "debian:"))}
    assert (
        "image goci/no-such-image:never not found locally and pulling is disabled" in lines["goci/no-such-image:never"]
    )
    assert " runs " in lines["debian:bookworm"]


@pytest.mark.docker
def test_container_killed_from_outside(engine, sleeper, tmp_path):
    from goci_doctor.config import load_config
    from goci_doctor.lab import docker as lab

    runner = lab.DockerRunner(config=load_config(local_config_file(tmp_path)), client=engine)

    def on_event(e) -> None:
        if e.phase == "running":

            def kill() -> None:
                wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper)), 20)
                for c in containers_for(engine, sleeper):
                    engine.api.kill(c["Id"])

            threading.Thread(target=kill, daemon=True).start()

    (result,) = runner.run_matrix(sleeper, ["debian:bookworm"], timeout=60, on_event=on_event)
    assert result.outcome == "crashes"
    assert result.exit_code == 137 and result.signal == "SIGKILL"
    assert not result.timed_out
    assert containers_for(engine, sleeper) == []


@pytest.mark.docker
def test_timeout_through_the_cli(engine, sleeper, tmp_path):
    start = time.monotonic()
    proc = start_cli(
        "--config",
        str(local_config_file(tmp_path)),
        "run",
        str(sleeper),
        "-t",
        "debian:bookworm",
        "--timeout",
        "2",
        "--json",
    )
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - start < 40
    assert proc.returncode == 0, stderr
    import json

    (run,) = json.loads(stdout)["runs"]
    assert run["timed_out"] is True
    assert run["stdout"].strip() == "goci-fixture sleeper started"
    assert containers_for(engine, sleeper) == []


@pytest.mark.docker
@pytest.mark.parametrize("step", ["starting", "container-created", "running"])
def test_ctrl_c_at_each_step(engine, sleeper, tmp_path, step):
    out = tmp_path / "report.txt"
    out.write_text("the previous report\n")
    proc = start_cli(
        "--config",
        str(local_config_file(tmp_path)),
        "run",
        str(sleeper),
        "-t",
        "debian:bookworm",
        "-t",
        "debian:trixie",
        "--timeout",
        "120",
        "-o",
        str(out),
    )
    if step == "starting":
        time.sleep(0.3)  # still importing / connecting
    elif step == "container-created":
        assert wait_for(lambda: containers_for(engine, sleeper), 30)
    else:
        assert wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper)), 30)
        time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().endswith("goci-doctor: interrupted"), stderr
    assert out.read_text() == "the previous report\n"  # no half-written report
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert wait_for(lambda: containers_for(engine, sleeper) == [], 20), containers_for(engine, sleeper)


# --------------------------------------------------------------------------------------------
# Disk full while writing


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs filled to the brim except ``room`` bytes (the real ENOSPC path)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path, leave: int) -> None:
    """Fill the filesystem, then free ``leave`` bytes (rounded to pages)."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))


def test_cli_output_on_a_full_disk_keeps_the_old_file(tiny_disk, bin_path):
    out = tiny_disk / "inspect.json"
    out.write_text("the previous report\n")
    fill(tiny_disk, 4096)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "goci_doctor",
            "inspect",
            "--json",
            "-o",
            str(out),
            str(bin_path("cgo-host")),
            str(bin_path("static")),
            str(bin_path("windows-cgo")),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"goci-doctor: cannot write {out}: No space left on device"
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "inspect.json"]


def test_lint_output_on_a_full_disk_keeps_the_old_file(tiny_disk):
    """Every command's -o goes through the same atomic write, not only the core ones."""
    repo = Path(__file__).parent / "repos" / "bad-alpine"
    out = tiny_disk / "lint.sarif"
    out.write_text("the previous report\n")
    fill(tiny_disk, 1024)
    proc = subprocess.run(
        [sys.executable, "-m", "goci_doctor", "lint", str(repo), "--format", "sarif", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"goci-doctor: cannot write {out}: No space left on device"
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "lint.sarif"]


def test_history_on_a_full_disk_leaves_no_entry(tiny_disk):
    from goci_doctor.lab import demo

    report = demo.scenario_report(demo.scenario("glibc-centos7"))
    folder = tiny_disk / "sessions"
    first = history.save_session(report, folder)
    fill(tiny_disk, 2048)
    with pytest.raises(OSError) as info:
        history.save_session(report, folder)
    assert info.value.errno == errno.ENOSPC
    assert sorted(folder.iterdir()) == [first]  # no temporary file, no partial entry
    (entry,) = history.list_sessions(folder)
    assert entry.path == first
    assert render.load_report(first).diagnosis.chains


def test_write_atomic_interrupted_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    # Ctrl-C (or a kill) between the write and the rename: the temporary file goes, the old stays.
    target = tmp_path / "report.md"
    target.write_text("old\n")

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render.write_atomic(target, "new " * 10_000)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_tui_export_on_a_full_disk_leaves_nothing(tiny_disk):
    from goci_doctor.lab import demo
    from goci_doctor.tui.app import GociApp

    async def flow() -> tuple[object, list[str]]:
        app = GociApp(demo_scenario="glibc-centos7", history_dir=tiny_disk / "history")
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            fill(tiny_disk, 2048)
            result = app.export("markdown", str(tiny_disk))
            await pilot.pause()
            return result, [str(n.message) for n in app._notifications]

    assert demo.scenario("glibc-centos7")
    result, notes = asyncio.run(flow())
    assert result is None
    assert any("No space left on device" in n for n in notes), notes
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]
