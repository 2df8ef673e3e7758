"""Several container engines in one matrix: resolution, routing, concurrency, a dying engine, env.

Real engines: the machine's dockerd and a second private dockerd started here (own data root, exec
root and socket). Resolution is tested on real Docker CLI context stores written the way the CLI
writes them (meta.json under the sha256 of the name, TLS files beside it).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from second_engine import SecondEngine

from goci_doctor import config, hostenv
from goci_doctor.config import Config, RunSettings
from goci_doctor.hostenv import engines
from goci_doctor.lab import docker as lab
from goci_doctor.lab import engine, fleet
from goci_doctor.lab.images import local_image_map
from goci_doctor.model import BadInputError, EngineUnavailableError

IMAGES = ("goci/musl", "goci/scratch", "goci/debian:bookworm", "goci/distroless-static")


def _write_context(config_dir: Path, name: str, host: str, tls: bool = False, skip_verify: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / digest
    meta.mkdir(parents=True, exist_ok=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if tls:
        tls_dir = config_dir / "contexts" / "tls" / digest / "docker"
        tls_dir.mkdir(parents=True, exist_ok=True)
        for f in ("ca.pem", "cert.pem", "key.pem"):
            (tls_dir / f).write_text("-----BEGIN TEST-----\n")


# --------------------------------------------------------------------------------------------
# Resolution (no engine needed)


def test_context_url_and_config_names_resolve(tmp_path):
    cfg = tmp_path / "docker"
    _write_context(cfg, "arm-box", "ssh://ci@arm-box")
    _write_context(cfg, "farm", "tcp://farm.example:2376", tls=True, skip_verify=True)
    env = {"DOCKER_CONFIG": str(cfg), "HOME": str(tmp_path)}
    assert engines.context_names(env) == ["arm-box", "farm"]
    arm = engines.resolve("arm-box", {}, env)
    assert (arm.url, arm.source, arm.tls) == ("ssh://ci@arm-box", "context arm-box", None)
    farm = engines.resolve("farm", {}, env)
    assert farm.tls is not None and farm.tls.verify is False and farm.tls.ca.endswith("ca.pem")
    url = engines.resolve("unix:///run/podman/podman.sock", {}, env)
    assert url.source == "URL" and url.label == "engine unix:///run/podman/podman.sock"
    named = engines.resolve("big", {"big": "farm"}, env)
    assert named.url == "tcp://farm.example:2376" and named.label == "engine big (tcp://farm.example:2376)"
    assert [s.name for s in engines.resolve_all([], {"big": "farm", "arm": "arm-box"}, env)] == ["big", "arm"]


def test_unknown_engine_is_one_line(tmp_path):
    env = {"DOCKER_CONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    with pytest.raises(BadInputError, match="unknown engine 'nope': not a URL") as info:
        engines.resolve("nope", {}, env)
    assert "\n" not in info.value.message
    with pytest.raises(BadInputError, match="unknown scheme ftp://"):
        engines.resolve("ftp://x", {}, env)


def test_one_resolution_for_lab_and_env(tmp_path):
    cfg = tmp_path / "docker"
    _write_context(cfg, "lab", "unix:///run/lab.sock")
    (cfg / "config.json").write_text(json.dumps({"currentContext": "lab"}))
    env = {"DOCKER_CONFIG": str(cfg), "HOME": str(tmp_path)}
    spec = engines.default_spec(env)
    assert (spec.url, spec.source) == ("unix:///run/lab.sock", "current context lab")
    assert hostenv.docker_endpoint(env) == ("unix:///run/lab.sock", "current context lab")
    assert engines.default_spec(dict(env, DOCKER_HOST="tcp://h:2375")).source == "DOCKER_HOST"
    with pytest.raises(EngineUnavailableError, match="'gone' is selected"):
        engines.default_spec(dict(env, DOCKER_CONTEXT="gone"))


def test_engines_table_in_the_config_round_trips(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[engines]\narm = "ssh://ci@arm-box"\nfarm = "tcp://farm:2376"\n')
    cfg = config.load_config(path)
    assert cfg.engines == {"arm": "ssh://ci@arm-box", "farm": "tcp://farm:2376"}
    path.write_text(config.dumps(cfg))
    assert config.load_config(path).engines == cfg.engines
    path.write_text("engines = 5\n")
    with pytest.raises(BadInputError, match="engines must be a table"):
        config.load_config(path)


def _member(name: str, arch: str, cpus: int, up: bool = True) -> fleet.Member:
    spec = engines.EngineSpec(name, f"unix:///{name}.sock", "URL")
    return fleet.Member(engines.EngineInfo(spec, up, arch=arch, cpus=cpus, os="linux"), object() if up else None)


def test_routing_prefers_native_engines_and_weighs_capacity():
    members = [_member("amd-small", "amd64", 1), _member("amd-big", "amd64", 3), _member("arm", "arm64", 4)]
    plan, emulated = fleet.route([f"t{i}" for i in range(8)], members, "amd64")
    assert not emulated and set(plan) == {0, 1}
    assert len(plan[1]) == 6 and len(plan[0]) == 2, "cells in proportion to CPUs"
    plan, emulated = fleet.route(["a", "b"], members, "arm64")
    assert plan == {2: ["a", "b"]} and not emulated
    plan, emulated = fleet.route(["a"], members, "riscv64")
    assert emulated, "no native engine: emulated, and labelled so"
    plan, _ = fleet.route(["a", "b"], [_member("down", "amd64", 8, up=False), _member("up", "amd64", 1)], "amd64")
    assert plan == {1: ["a", "b"]}


# --------------------------------------------------------------------------------------------
# Two real engines


@pytest.fixture(scope="module")
def first():
    try:
        return engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="module")
def second(first):
    engine = SecondEngine.start()
    try:
        engine.load_from(first, *IMAGES)
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def lab_config():
    return Config(images=local_image_map(), run=RunSettings(allow_pull=False))


def _left_behind(runner: fleet.FleetRunner, client) -> list[str]:
    """Containers and volumes of this fleet run still on ``client``'s engine."""
    left = []
    for session, _c in runner.sessions:
        filters = {"label": [f"{lab.SESSION_LABEL}={session}"]}
        left += [c["Id"] for c in client.api.containers(all=True, filters=filters)]
        left += [v["Name"] for v in (client.api.volumes(filters=filters).get("Volumes") or [])]
    return left


@pytest.mark.docker
def test_matrix_spreads_over_two_engines_within_each_ones_limit(first, second, lab_config, bin_path):
    specs = [engines.default_spec(), engines.resolve(second.url)]
    members = fleet.assemble(specs)
    assert all(m.client is not None for m in members), [m.info.error for m in members]
    for m in members:
        m.info = engines.EngineInfo(m.info.spec, True, m.info.kind, m.info.version, m.info.os, m.info.arch, cpus=1)
    peaks = {0: 0, 1: 0}
    stop = threading.Event()

    runner = fleet.FleetRunner(members, lab_config)

    def watch() -> None:
        while not stop.is_set():
            for session, client in runner.sessions:
                i = next(n for n, m in enumerate(members) if m.client is client)
                running = client.api.containers(
                    filters={"label": [f"{lab.SESSION_LABEL}={session}"], "status": "running"}
                )
                peaks[i] = max(peaks[i], len(running))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sleeper = bin_path("sleeper")
    try:
        results = runner.run_matrix(sleeper, list(IMAGES), args=["2"], timeout=20)
    finally:
        stop.set()
        watcher.join()
    wheres = {r.where for r in results}
    assert wheres == {members[0].info.spec.label, members[1].info.spec.label}
    assert all(r.outcome == "runs" for r in results), [(r.target, r.outcome, r.error) for r in results]
    assert max(peaks.values()) <= 1, f"per-engine limit of 1 exceeded: {peaks}"
    assert _left_behind(runner, members[0].client) == [] and _left_behind(runner, members[1].client) == []


@pytest.mark.docker
def test_missing_image_is_copied_from_the_other_engine(first, second, lab_config, bin_path):
    client = second.client()
    try:
        client.images.remove("goci/scratch", force=True)
    except Exception:
        pass
    members = fleet.assemble([engines.resolve(second.url), engines.default_spec()])
    results = fleet.FleetRunner([members[0]], lab_config).run_matrix(bin_path("static"), ["goci/scratch"], timeout=20)
    (r,) = results
    assert r.outcome == "error", "with only the second engine in the fleet nobody can give it the image"
    results = fleet.FleetRunner(members, lab_config).run_matrix(
        bin_path("static"), ["goci/scratch", "goci/musl"], timeout=20
    )
    assert [x.outcome for x in results] == ["runs", "runs"], [x.error for x in results]
    client.images.get("goci/scratch")
    client.close()


@pytest.mark.docker
def test_an_engine_dying_mid_matrix_fails_only_its_cells(first, lab_config, bin_path):
    dying = SecondEngine.start()
    try:
        dying.load_from(first, "goci/musl", "goci/scratch")
        members = fleet.assemble([engines.default_spec(), engines.resolve(dying.url)])
        for m in members:
            m.info = engines.EngineInfo(m.info.spec, True, m.info.kind, m.info.version, m.info.os, m.info.arch, cpus=2)

        targets = ["goci/musl", "goci/debian:bookworm", "goci/scratch", "goci/distroless-static"]
        plan, _ = fleet.route(targets, members, "amd64")
        on_dying = set(plan[1])
        killed = threading.Event()

        def on_event(event) -> None:
            if event.phase == "running" and event.target in on_dying and not killed.is_set():
                killed.set()
                threading.Thread(target=dying.kill).start()

        runner = fleet.FleetRunner(members, lab_config)
        results = runner.run_matrix(bin_path("sleeper"), targets, args=["3"], timeout=20, on_event=on_event)
        by_target = {r.target: r for r in results}
        for t in targets:
            if t in on_dying:
                assert by_target[t].outcome == "error" and by_target[t].error.startswith("could not run on engine")
            else:
                assert by_target[t].outcome == "runs", by_target[t].error
        assert killed.is_set()
        assert _left_behind(runner, members[0].client) == [], "the live engine keeps nothing of this run"
    finally:
        dying.stop()


@pytest.mark.docker
def test_run_cli_names_each_engine_and_env_lists_them(first, second, tmp_path, bin_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[engines]\nsecond = "{second.url}"\ndead = "unix:///nonexistent-goci.sock"\n'
        '[images]\n"alpine:3.20" = "goci/musl"\n'
    )
    env_proc = subprocess.run(
        [sys.executable, "-m", "goci_doctor", "--config", str(cfg), "env"], capture_output=True, text=True, timeout=120
    )
    assert env_proc.returncode == 0, env_proc.stderr
    lines = env_proc.stdout.splitlines()
    assert any(ln.strip().startswith("engine second") and "linux/amd64" in ln and "CPUs" in ln for ln in lines)
    assert any(ln.strip().startswith("engine dead") and "not reachable" in ln for ln in lines)

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "goci_doctor",
            "--config",
            str(cfg),
            "run",
            str(bin_path("cgo-host")),
            "-t",
            "goci/musl",
            "-t",
            "goci/debian:bookworm",
            "--engine",
            "default",
            "--engine",
            "second",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    wheres = {r["target"]: r["where"] for r in doc["runs"]}
    assert (
        set(wheres.values()) == {"engine unix:///var/run/docker.sock", f"engine second ({second.url})"}
        or len(set(wheres.values())) == 2
    ), wheres
    outcomes = {r["target"]: r["outcome"] for r in doc["runs"]}
    assert outcomes == {"goci/musl": "crashes", "goci/debian:bookworm": "runs"}


@pytest.mark.docker
def test_images_build_on_a_named_engine(second):
    client = second.client()
    try:
        client.images.remove("goci/musl", force=True)
    except Exception:
        pass
    proc = subprocess.run(
        [sys.executable, "-m", "goci_doctor", "images", "build", "goci/musl", "--engine", second.url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"building on engine {second.url}" in proc.stderr
    assert client.images.get("goci/musl")
    client.close()


@pytest.mark.docker
@pytest.mark.slow
def test_build_runs_its_variants_over_two_engines(first, second, tmp_path):
    project = Path(__file__).parent / "fixtures" / "projects" / "cgoapp"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "goci_doctor",
            "build",
            str(project),
            "--variant",
            "cgo-off",
            "-t",
            "goci/musl",
            "-t",
            "goci/scratch",
            "--engine",
            "default",
            "--engine",
            second.url,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    runs = {r["target"]: r for r in doc["runs"]}
    assert {r["outcome"] for r in runs.values()} == {"runs"}, [(r["target"], r["error"]) for r in runs.values()]
    assert len({r["where"] for r in runs.values()}) == 2, "each engine ran one variant cell"
