"""The container lab against Podman's Docker-compatible API, started here on a private socket.

A rootful ``podman system service`` runs with its own storage (``--root``/``--runroot`` under a
temporary folder, so neither the Docker engine nor /var/lib/containers is touched), receives the
local goci images through ``docker save | podman load``, and ``lab.DockerRunner`` reaches it only
through DOCKER_HOST. Every cell is compared with the same cell run on the Docker engine: same
outcome, exit code, output, libc and missing loader.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goci_doctor.artifact import inspect_path
from goci_doctor.config import Config, RunSettings
from goci_doctor.lab import containerfs, engine
from goci_doctor.lab import docker as lab
from goci_doctor.lab.images import local_image_map
from goci_doctor.model import EngineUnavailableError
from goci_doctor.records import RunResult

pytestmark = pytest.mark.docker

TARGETS = ("debian:bookworm", "alpine:3.20", "scratch")


def _podman(storage: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    cmd = ["podman", "--root", str(storage / "root"), "--runroot", str(storage / "runroot"), *args]
    return subprocess.run(cmd, capture_output=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def docker_engine() -> Any:
    try:
        return engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine to take the local images from: {exc}")


@pytest.fixture(scope="module")
def lab_config() -> Config:
    return Config(images=local_image_map(), run=RunSettings(allow_pull=False))


@pytest.fixture(scope="module")
def podman_host(tmp_path_factory: pytest.TempPathFactory, docker_engine: Any, lab_config: Config) -> Iterator[str]:
    """DOCKER_HOST of a Podman service holding the images TARGETS map to; stopped at the end."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman; scripts/setup.sh --test does it)")
    refs = sorted({lab_config.images[t] for t in TARGETS})
    for ref in refs:
        try:
            docker_engine.images.get(ref)
        except Exception:
            pytest.skip(f"local image {ref} is missing (goci-doctor images build)")
    storage = tmp_path_factory.mktemp("podman")
    sock = storage / "podman.sock"
    log = (storage / "service.log").open("wb")
    service = subprocess.Popen(
        [
            "podman",
            "--root",
            str(storage / "root"),
            "--runroot",
            str(storage / "runroot"),
            "system",
            "service",
            "--time=0",
            f"unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    host = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 30
        while not sock.exists() and service.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not sock.exists():
            tail = (storage / "service.log").read_text(errors="replace").strip().splitlines()[-1:]
            pytest.skip(f"podman system service did not start here: {tail or service.returncode}")
        save = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
        loaded = _podman(storage, "load", stdin=save.stdout)
        save.wait()
        assert save.returncode == 0 and loaded.returncode == 0, loaded.stderr.decode(errors="replace")
        yield host
    finally:
        service.terminate()
        try:
            service.wait(20)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()
        # Containers are removed by the lab itself; what is left is image layers in our own root.
        _podman(storage, "rmi", "-af")
        shutil.rmtree(storage, ignore_errors=True)


@pytest.fixture(scope="module")
def podman(podman_host: str) -> Any:
    """A client reached through DOCKER_HOST, as a user pointing goci-doctor at Podman would."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKER_HOST", podman_host)
        mp.delenv("DOCKER_CONTEXT", raising=False)
        assert engine.engine_host() == podman_host
        client = engine.connect()
    components = [c.get("Name", "") for c in client.version().get("Components", [])]
    assert "Podman Engine" in components, components
    return client


def _lab_leftovers(client: Any) -> tuple[list[Any], list[Any]]:
    containers = list(engine.iter_lab_containers(client))
    volumes = client.api.volumes(filters={"label": f"{lab.LABEL}=1"}).get("Volumes") or []
    return containers, volumes


def _by_target(results: list[RunResult]) -> dict[str, RunResult]:
    return {r.target: r for r in results}


@pytest.mark.parametrize("name", ["static", "cgo-host"])
def test_fixture_runs_on_podman_as_on_docker(name, podman, docker_engine, lab_config, bin_path, monkeypatch):
    artifact = bin_path(name)
    # The libc probe is cached per image id, and both engines hold the same ids: probe afresh.
    monkeypatch.setattr(containerfs, "_LIBC_CACHE", {})
    on_podman = _by_target(lab.DockerRunner(config=lab_config, client=podman).run_matrix(artifact, TARGETS, timeout=30))
    monkeypatch.setattr(containerfs, "_LIBC_CACHE", {})
    on_docker = _by_target(
        lab.DockerRunner(config=lab_config, client=docker_engine).run_matrix(artifact, TARGETS, timeout=30)
    )
    for target in TARGETS:
        p, d = on_podman[target], on_docker[target]
        assert p.outcome in ("runs", "crashes"), (target, p.error)
        assert (p.outcome, p.exit_code, p.stdout, p.stderr, p.libc, p.missing) == (
            d.outcome,
            d.exit_code,
            d.stdout,
            d.stderr,
            d.libc,
            d.missing,
        ), target
    if name == "cgo-host":
        # The glibc-linked binary runs on Debian and misses its loader on musl and scratch.
        assert on_podman["debian:bookworm"].outcome == "runs"
        loader = inspect_path(artifact).interpreter
        for target in ("alpine:3.20", "scratch"):
            r = on_podman[target]
            assert r.outcome == "crashes"
            assert r.missing == (loader,)
            assert f"exec /goci/{artifact.name}: no such file or directory" in r.stderr
    assert _lab_leftovers(podman) == ([], [])


def test_libc_probe_on_podman_matches_docker(podman, docker_engine, lab_config, monkeypatch):
    for target in TARGETS:
        ref = lab_config.images[target]
        monkeypatch.setattr(containerfs, "_LIBC_CACHE", {})
        on_podman = containerfs.probe_image_libc(podman, ref)
        monkeypatch.setattr(containerfs, "_LIBC_CACHE", {})
        assert on_podman == containerfs.probe_image_libc(docker_engine, ref), ref
        assert on_podman.split()[0] in ("glibc", "musl", "none")
    assert _lab_leftovers(podman) == ([], [])


def test_timeout_on_podman_kills_and_removes(podman, lab_config, bin_path):
    start = time.monotonic()
    (result,) = lab.DockerRunner(config=lab_config, client=podman).run_matrix(
        bin_path("sleeper"), ["debian:bookworm"], timeout=2
    )
    assert time.monotonic() - start < 20
    assert result.timed_out and result.outcome == "runs"
    assert result.stdout.strip() == "goci-fixture sleeper started"
    assert _lab_leftovers(podman) == ([], [])


def test_one_matrix_over_docker_and_podman(podman_host, docker_engine, lab_config, bin_path):
    from goci_doctor.hostenv import engines
    from goci_doctor.lab import fleet

    members = fleet.assemble([engines.default_spec(), engines.resolve(podman_host)])
    assert [m.info.kind for m in members] == ["Docker Engine", "Podman"], [m.info.error for m in members]
    runner = fleet.FleetRunner(members, lab_config)
    results = runner.run_matrix(bin_path("cgo-host"), list(TARGETS), timeout=30)
    by_target = {r.target: r for r in results}
    assert by_target["debian:bookworm"].outcome == "runs"
    assert by_target["alpine:3.20"].outcome == "crashes" and by_target["scratch"].outcome == "crashes"
    assert {r.where for r in results} == {m.info.spec.label for m in members}, "both engines ran cells"
    for session, client in runner.sessions:
        assert client.api.containers(all=True, filters={"label": [f"{lab.SESSION_LABEL}={session}"]}) == []
