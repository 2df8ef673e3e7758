"""Beyond glibc: Go runtime OS minimums, CPU levels, foreign formats and loader edge cases.

Every verdict is over a real binary built here (tests/fixtures/build.py), every expected value is
read from the knowledge base (go_releases.toml, cpu_levels.toml, targets.toml) rather than typed
in, and every log message is one users really saw (public issues) or this host really printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import build as fixture_build  # tests/fixtures, on sys.path through conftest
import pytest

from goci_doctor import artifact, diagnosis, knowledge, platforms
from goci_doctor.diagnosis import classify, explain
from goci_doctor.lab import engine
from goci_doctor.model import BadInputError
from goci_doctor.records import ChainNode, Diagnosis

DEBIAN = "debian:12"


def _families(d: Diagnosis) -> list[str]:
    return [c.id.split("/")[0] for c in d.chains]


def _chain(d: Diagnosis, family: str) -> ChainNode:
    return next(c for c in d.chains if c.id == f"{family}/symptom")


def _text(chain: ChainNode) -> str:
    return "\n".join(
        f"{n.title}\n{n.detail}\n" + "\n".join(n.commands) + "\n" + "\n".join(f"{e.fact}={e.value}" for e in n.evidence)
        for n in chain.walk()
    )


# --------------------------------------------------------------------------------------------
# GOAMD64


def test_goamd64_v3_is_a_warning_with_the_runtimes_own_message(facts_of, bin_path) -> None:
    facts = facts_of("amd64v3")
    assert facts.go.setting("GOAMD64") == "v3"
    level = knowledge.cpu_level("GOAMD64", "v3")
    # The message in the data is the one the Go runtime really carries (and prints on older CPUs).
    assert level.message.encode() in bin_path("amd64v3").read_bytes()
    result = diagnosis.check_artifact(facts, [knowledge.resolve_target(DEBIAN)], arch="amd64")
    assert result.verdicts[0].outcome == "runs"
    assert _families(result) == ["cpu-baseline"]
    chain = _chain(result, "cpu-baseline")
    assert knowledge.families()["cpu-baseline"].severity == "warning"
    assert level.message in chain.children[0].detail
    assert all(req in chain.children[0].detail for req in level.requires)
    assert "GOAMD64=v1 go build -o amd64v3 ." in _text(chain)
    # The default level is no warning at all.
    plain = diagnosis.check_artifact(facts_of("static"), [knowledge.resolve_target(DEBIAN)], arch="amd64")
    assert plain.chains == ()


@pytest.mark.parametrize(
    ("cpu", "outcome"), [("v1", "crashes"), ("x86-64-v2", "crashes"), ("v3", "runs"), ("x86-64-v4", "runs")]
)
def test_goamd64_v3_against_a_known_cpu_level(facts_of, cpu: str, outcome: str) -> None:
    verdict, _case = diagnosis.predict(facts_of("amd64v3"), knowledge.resolve_target(DEBIAN), arch="amd64", cpu=cpu)
    assert verdict.outcome == outcome
    if outcome == "crashes":
        assert verdict.family == "cpu-level" and verdict.confidence == "certain"
        assert verdict.message == knowledge.cpu_level("GOAMD64", "v3").message
        result = diagnosis.check_artifact(
            facts_of("amd64v3"), [knowledge.resolve_target(DEBIAN)], arch="amd64", cpu=cpu
        )
        # A known CPU turns the warning into the crash chain (not both).
        assert _families(result) == ["cpu-level"]
        assert "GOAMD64=v1 go build" in _text(result.chains[0])


def test_cpu_level_input_is_validated() -> None:
    assert diagnosis.parse_cpu("armv6l") == ("GOARM", "6")
    assert diagnosis.parse_cpu("X86-64-V3") == ("GOAMD64", "v3")
    with pytest.raises(BadInputError, match="unknown CPU level"):
        diagnosis.parse_cpu("pentium4")


# --------------------------------------------------------------------------------------------
# GOARM


def test_goarm7_crashes_on_an_armv6_board_and_goarm6_runs(facts_of) -> None:
    v7, v6 = facts_of("armv7"), facts_of("armv6")
    assert (v7.go.setting("GOARM"), v6.go.setting("GOARM")) == ("7", "6")
    target = knowledge.resolve_target(DEBIAN)
    # uname -m of a Raspberry Pi Zero/1 is armv6l: the machine arch alone says which level it is.
    verdict, _ = diagnosis.predict(v7, target, arch="armv6l")
    assert (verdict.outcome, verdict.family, verdict.message) == ("crashes", "arm-level", "Illegal instruction")
    assert knowledge.cpu_level("GOARM", "7").title in verdict.reason
    assert diagnosis.predict(v6, target, arch="armv6l")[0].outcome == "runs"
    assert diagnosis.predict(v7, target, arch="armv7l")[0].outcome == "runs"
    result = diagnosis.check_artifact(v7, [target], arch="armv6l")
    chain = _chain(result, "arm-level")
    assert "GOARCH=arm GOARM=6 CGO_ENABLED=0 go build -o armv7 ." in _text(chain)
    # Board unknown: GOARM=7 is the cross-compile default, so a note rather than a problem chain.
    unknown = diagnosis.check_artifact(v7, [target], arch="arm")
    assert unknown.chains == () and any("GOARM=7" in n and "Illegal instruction" in n for n in unknown.notes)


# --------------------------------------------------------------------------------------------
# Windows: OS version and 32-bit systems


def test_go121_plus_on_windows7_crashes_in_asmstdcall(facts_of) -> None:
    facts = facts_of("windows")
    release = knowledge.go_release(facts.go.go_version)
    win7 = knowledge.resolve_target("windows:7")
    assert knowledge.version_tuple(win7.kernel) < knowledge.version_tuple(release.min_windows_version)
    verdict, _case = diagnosis.predict(facts, win7)
    assert (verdict.outcome, verdict.family) == ("crashes", "windows-too-old")
    assert verdict.message.startswith("Exception 0xc0000005 0x8 0x0 0x0") and "runtime.asmstdcall" in verdict.message
    assert release.min_windows in verdict.reason
    result = diagnosis.check_artifact(facts, [win7, knowledge.resolve_target("windows-server:2008r2")])
    chain = _chain(result, "windows-too-old")
    minimum = next(e for e in chain.children[0].evidence if e.fact == "minimum Windows")
    assert minimum.value == f"{release.min_windows} (NT {release.min_windows_version})"
    assert "windows:7" in chain.detail and "windows-server:2008r2" in chain.detail
    # The message the chain's symptom names is recognised by explain too.
    assert classify.classify_message(verdict.message) == "windows-too-old"


@pytest.mark.parametrize(
    "target", ["windows:10", "windows:11", "windows-server:2016", "windows-server:2019", "windows-server:2022"]
)
def test_supported_windows_versions_run(facts_of, target: str) -> None:
    t = knowledge.resolve_target(target)
    release = knowledge.go_release(facts_of("windows").go.go_version)
    assert knowledge.version_tuple(t.kernel) >= knowledge.version_tuple(release.min_windows_version)
    assert diagnosis.predict(facts_of("windows"), t)[0].outcome == "runs"


def test_windows_8_is_unsupported_but_no_crash_is_invented(facts_of) -> None:
    verdict, case = diagnosis.predict(facts_of("windows"), knowledge.resolve_target("windows:8.1"))
    assert (verdict.outcome, verdict.family, verdict.message) == ("unknown", "windows-too-old", "")
    assert case is not None and "unsupported" in case.message


def test_amd64_exe_on_32bit_windows_and_386_everywhere(facts_of) -> None:
    x86 = knowledge.resolve_target("windows:10-x86")
    verdict, _ = diagnosis.predict(facts_of("windows"), x86)
    assert verdict.family == "windows-386-mismatch" and verdict.outcome == "crashes"
    assert verdict.message == (
        "This version of ./windows.exe is not compatible with the version of Windows you're running"
    )
    assert diagnosis.predict(facts_of("windows-386"), x86)[0].outcome == "runs"
    assert diagnosis.predict(facts_of("windows-386"), knowledge.resolve_target("windows:10"))[0].outcome == "runs"


# --------------------------------------------------------------------------------------------
# Linux kernel minimum


def test_go124_plus_on_centos6_needs_kernel_3_2(facts_of) -> None:
    facts = facts_of("static")
    release = knowledge.go_release(facts.go.go_version)
    centos6 = knowledge.resolve_target("centos:6")
    verdict, _ = diagnosis.predict(facts, centos6, arch="amd64")
    assert (verdict.outcome, verdict.family) == ("crashes", "kernel-too-old")
    assert f"needs Linux kernel ≥ {release.min_linux_kernel}" in verdict.message
    assert f"centos:6 has {centos6.kernel}" in verdict.message
    # In a container the host kernel runs the binary: not certain.
    assert verdict.confidence == "possible"
    assert diagnosis.predict(facts, knowledge.resolve_target("centos:7"), arch="amd64")[0].outcome == "runs"


# --------------------------------------------------------------------------------------------
# Foreign formats and files that are not binaries


@pytest.mark.parametrize("fixture", ["darwin", "darwin-amd64"])
def test_macho_on_linux(facts_of, fixture: str) -> None:
    facts = facts_of(fixture)
    assert facts.kind == "macho" and facts.os == "darwin"
    # darwin/amd64 on an amd64 host: the format, not the CPU, is the problem.
    verdict, _ = diagnosis.predict(facts, knowledge.resolve_target(DEBIAN), arch="amd64")
    assert (verdict.outcome, verdict.family, verdict.confidence) == ("crashes", "macho-on-linux", "certain")


@pytest.mark.parametrize(
    ("bad", "message", "mentions"),
    [
        ("html", "line 1: syntax error near unexpected token `newline'", "404 Not Found"),
        ("lfs", "line 1: version: command not found", "Git LFS pointer"),
    ],
)
def test_error_page_and_lfs_pointer_are_not_binaries(bad_files, bad: str, message: str, mentions: str) -> None:
    facts = artifact.inspect_path(bad_files[bad])
    result = diagnosis.check_artifact(facts, [knowledge.resolve_target(DEBIAN)], arch="amd64")
    verdict = result.verdicts[0]
    assert (verdict.outcome, verdict.family) == ("crashes", "not-a-binary")
    assert message in verdict.message
    assert mentions in verdict.reason
    chain = _chain(result, "not-a-binary")
    assert facts.description in chain.children[0].detail
    assert facts.problems[0] in _text(chain)


def test_bash_running_an_error_page_is_explained(bad_files, tmp_path) -> None:
    """bash really runs a saved HTML page as a script (its first line is a syntax error, nothing executes)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    app = tmp_path / "app"
    shutil.copy(bad_files["html"], app)
    app.chmod(0o755)
    proc = subprocess.run([bash, "-c", "./app"], cwd=tmp_path, capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode != 0 and "syntax error near unexpected token" in proc.stderr
    result = explain.explain_text(proc.stderr, source="bash")
    assert _families(result) == ["not-a-binary"]
    # The page's first line (bash prints it on the second line of the error) reaches the chain.
    assert "(<!DOCTYPE html>)" in result.chains[0].children[0].detail


# --------------------------------------------------------------------------------------------
# Loader edge cases


def test_rpath_into_the_build_machine_is_a_warning(facts_of) -> None:
    facts = facts_of("cgo-rpath")
    assert "/home/builder/lib" in facts.runpath + facts.rpath
    result = diagnosis.check_artifact(facts, [knowledge.resolve_target(DEBIAN)], arch="amd64")
    assert result.verdicts[0].outcome == "runs"
    chain = _chain(result, "rpath-build-machine")
    assert "/home/builder/lib" in chain.title
    assert [(e.fact, e.value) for e in chain.children[0].evidence] == [("DT_RUNPATH", "/home/builder/lib")]
    # $ORIGIN-relative and system paths are what a deployable binary should carry.
    fine = facts.replace(runpath=("$ORIGIN/../lib", "/usr/lib/x86_64-linux-gnu"), rpath=())
    assert diagnosis.build_machine_paths(fine) == []
    assert (
        _families(diagnosis.check_artifact(facts_of("cgo-host"), [knowledge.resolve_target(DEBIAN)], arch="amd64"))
        == []
    )


def test_cgo_free_pie_still_needs_the_glibc_loader(facts_of) -> None:
    facts = facts_of("pie-nocgo")
    assert facts.go.cgo_enabled is False and facts.go.setting("-buildmode") == "pie"
    assert facts.interpreter and facts.needed == ()
    for name in ("scratch", "distroless/static", "alpine:3.20"):
        verdict, _ = diagnosis.predict(facts, knowledge.resolve_target(name), arch="amd64")
        assert (verdict.outcome, verdict.family) == ("crashes", "pie-needs-loader"), name
        assert verdict.message == "exec ./pie-nocgo: no such file or directory"
    assert diagnosis.predict(facts, knowledge.resolve_target(DEBIAN), arch="amd64")[0].outcome == "runs"
    chain = _chain(
        diagnosis.check_artifact(facts, [knowledge.resolve_target("scratch")], arch="amd64"), "pie-needs-loader"
    )
    assert "-buildmode=exe" in _text(chain) and "-static-pie" in _text(chain)


def test_static_pie_runs_without_a_loader(tmp_path) -> None:
    # Built here rather than in SPECS: the shared fixture table assumes "no PT_INTERP" means "static".
    go, gcc = fixture_build.find_go(), shutil.which("gcc")
    if go is None or gcc is None:
        pytest.skip("static-pie needs go and gcc (external linking)")
    out = tmp_path / "static-pie"
    proc = subprocess.run(
        [go, "build", "-buildmode=pie", "-ldflags", "-linkmode external -extldflags -static-pie", "-o", str(out), "."],
        cwd=fixture_build.GO_SRC / "cgoapp",
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "CGO_ENABLED": "1",
            "CC": gcc,
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
            "GOPROXY": "off",
        },
    )
    if proc.returncode != 0:
        pytest.skip(f"this gcc cannot link static-pie: {proc.stderr.strip()[:200]}")
    facts = artifact.inspect_path(out)
    assert (facts.linkage, facts.interpreter) == ("static-pie", "")
    for name in ("scratch", "alpine:3.20", "centos:7"):
        assert diagnosis.predict(facts, knowledge.resolve_target(name), arch="amd64")[0].outcome == "runs", name


def test_libpthread_and_libresolv_needed_by_an_old_glibc_build(facts_of) -> None:
    """zig cc against glibc 2.17 links libpthread.so.0 and libresolv.so.2 separately; glibc 2.34+ keeps
    them (libpthread as an empty stub), so old and new glibc targets both run it."""
    facts = facts_of("netuser-zig217")
    assert {"libpthread.so.0", "libresolv.so.2"} <= set(facts.needed)
    for name in ("centos:7", "debian:11", DEBIAN, "ubuntu:24.04"):
        assert diagnosis.predict(facts, knowledge.resolve_target(name), arch="amd64")[0].outcome == "runs", name
    mech = knowledge.families()["glibc-too-new"].mechanism
    assert "libpthread.so.0" in mech and "2.34" in mech


@pytest.mark.docker
def test_libpthread_stub_and_pie_loader_on_real_images(facts_of, bin_path) -> None:
    """The two loader claims above, on this project's local images (no registry needed)."""
    from goci_doctor.model import EngineUnavailableError

    try:
        client = engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    for ref in ("goci/debian:bookworm", "goci/scratch:latest"):
        if not client.images.list(name=ref):
            pytest.skip(f"local image {ref} is missing (run goci-doctor images build)")

    def run(image: str, fixture: str) -> tuple[int, str]:
        path = bin_path(fixture)
        container = client.containers.create(
            image, ["/goci/app"], network_disabled=True, volumes={str(path): {"bind": "/goci/app", "mode": "ro"}}
        )
        try:
            try:
                container.start()
            except Exception as exc:  # the engine reports a failed exec as an API error at start
                return -1, str(exc)
            code = container.wait(timeout=30)["StatusCode"]
            return code, container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)

    code, out = run("goci/debian:bookworm", "netuser-zig217")
    assert code == 0 and out.startswith("goci-fixture netuser"), out
    code, out = run("goci/debian:bookworm", "pie-nocgo")
    assert code == 0 and out.startswith("goci-fixture hello"), out
    code, out = run("goci/scratch:latest", "pie-nocgo")
    assert code != 0 and "no such file or directory" in out, out


# --------------------------------------------------------------------------------------------
# macOS: Mach-O only, the Mac's CPU, the macOS release


def _macs() -> list:
    return sorted(
        (t for t in knowledge.targets().values() if t.os == "darwin"), key=lambda t: knowledge.version_tuple(t.kernel)
    )


def _freebsds() -> list:
    return sorted(
        (t for t in knowledge.targets().values() if t.os == "freebsd"), key=lambda t: knowledge.version_tuple(t.kernel)
    )


@pytest.mark.parametrize("fixture", ["static", "cgo-host", "windows"])
def test_linux_or_windows_binary_on_a_mac(facts_of, fixture: str) -> None:
    facts = facts_of(fixture)
    name = os.path.basename(facts.path)
    for mac in _macs():
        verdict, _ = diagnosis.predict(facts, mac)
        assert (verdict.outcome, verdict.family, verdict.confidence) == ("crashes", "elf-on-macos", "certain"), mac.name
        assert verdict.message == f"zsh: exec format error: ./{name}"
    chain = _chain(diagnosis.check_artifact(facts, [knowledge.resolve_target("macos:14")]), "elf-on-macos")
    assert f"GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build -o {name}-arm64 ." in _text(chain)
    assert classify.classify_message(verdict.message + "\n(macOS 14)") == "elf-on-macos"


def test_mach_o_records_the_go_releases_macos_minimum(facts_of) -> None:
    for fixture in ("darwin", "darwin-amd64"):
        facts = facts_of(fixture)
        release = knowledge.go_release(facts.go.go_version)
        # The Go linker writes its own minimum into LC_BUILD_VERSION: the header and the data agree.
        assert facts.min_os_version
        assert knowledge.version_tuple(facts.min_os_version)[0] == knowledge.version_tuple(release.min_macos_version)[0]
        assert f"macOS ≥ {facts.min_os_version}" in facts.description
        need, evidence = diagnosis.macos_minimum(facts)
        assert need == facts.min_os_version
        assert {e.fact for e in evidence} == {"minimum macOS (LC_BUILD_VERSION)", "minimum macOS of the Go release"}


@pytest.mark.parametrize("fixture", ["darwin", "darwin-amd64"])
def test_go_release_needs_a_newer_macos(facts_of, fixture: str) -> None:
    facts = facts_of(fixture)
    need, _ = diagnosis.macos_minimum(facts)
    name = os.path.basename(facts.path)
    too_old = [m for m in _macs() if not diagnosis.at_least(m.kernel, need)]
    new_enough = [m for m in _macs() if diagnosis.at_least(m.kernel, need)]
    assert too_old and new_enough  # the shipped data spans the fixture's minimum
    for mac in new_enough:
        # The Mac's CPU given: the Mach-O's own architecture (arm64 Macs exist from macOS 11 on).
        verdict, _ = diagnosis.predict(facts, mac, arch=facts.arch)
        assert verdict.outcome == "runs", mac.name
        assert f"needs macOS ≥ {need}; {mac.name} has {mac.kernel}" in verdict.reason
    for mac in too_old:
        if facts.arch not in mac.archs:
            continue  # macOS 10.15 has no arm64 Macs: bad CPU type first (tested below)
        verdict, _case = diagnosis.predict(facts, mac, arch=facts.arch)
        assert (verdict.outcome, verdict.family, verdict.confidence) == ("crashes", "macos-too-old", "possible")
        assert verdict.reason == f"this binary needs macOS ≥ {need}; {mac.name} has {mac.kernel}"
        # dyld 4 (macOS 12+) and the older dyld word the line differently.
        if diagnosis.at_least(mac.kernel, "12"):
            assert f"./{name} (built for macOS {need} which is newer than running OS)" in verdict.message
        else:
            assert f"./{name} (which was built for Mac OS X {need})" in verdict.message
        assert classify.classify_message(verdict.message) == "macos-too-old"
        # The fix names the newest Go release whose minimum the Mac still meets (from go_releases.toml).
        older = [
            r
            for r in knowledge.go_releases()
            if r.min_macos_version and diagnosis.at_least(mac.kernel, r.min_macos_version)
        ][-1]
        chain = _chain(diagnosis.check_artifact(facts, [mac], arch=facts.arch), "macos-too-old")
        assert f"GOTOOLCHAIN=go{older.version}.0 GOOS=darwin GOARCH={facts.arch}" in _text(chain)
        assert f"Go {older.version} is the newest release that supports macOS {mac.kernel}" in _text(chain)


def test_apple_silicon_binary_on_an_intel_mac(facts_of) -> None:
    facts = facts_of("darwin")
    assert facts.arch == "arm64"
    intel_only = [m for m in _macs() if "arm64" not in m.archs]
    assert intel_only
    for mac in intel_only:
        verdict, _ = diagnosis.predict(facts, mac)
        assert (verdict.outcome, verdict.family, verdict.confidence) == ("crashes", "macos-bad-cpu", "certain")
        assert verdict.message == "zsh: bad CPU type in executable: ./darwin"
    # A Mac that has both kinds: the machine's CPU decides when given.
    mac = _macs()[-1]
    assert {"amd64", "arm64"} <= set(mac.archs)
    verdict, _ = diagnosis.predict(facts, mac, arch="amd64")
    assert (verdict.outcome, verdict.family) == ("crashes", "macos-bad-cpu")
    assert diagnosis.predict(facts, mac, arch="arm64")[0].outcome == "runs"
    # The Mac is not this host: without --arch, a release with Apple silicon Macs runs it.
    assert diagnosis.predict(facts, mac)[0].outcome == "runs"
    chain = _chain(diagnosis.check_artifact(facts, [mac], arch="amd64"), "macos-bad-cpu")
    assert "GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 go build -o darwin-amd64 ." in _text(chain)


def test_intel_binary_runs_under_rosetta_on_apple_silicon(facts_of) -> None:
    facts = facts_of("darwin-amd64")
    mac = _macs()[-1]
    verdict, case = diagnosis.predict(facts, mac, arch="arm64")
    assert (verdict.outcome, verdict.confidence, case) == ("runs", "likely", None)
    assert "Rosetta 2" in verdict.reason
    assert "Rosetta 2" not in diagnosis.predict(facts, mac, arch="amd64")[0].reason


def test_mac_targets_carry_their_release() -> None:
    macs = _macs()
    assert [m.name for m in macs] == ["macos:10.15", "macos:11", "macos:12", "macos:13", "macos:14", "macos:15"]
    for mac in macs:
        assert mac.libc == "none" and mac.image == "" and mac.shell == "/bin/zsh"
        # Apple silicon Macs start with macOS 11 Big Sur.
        assert ("arm64" in mac.archs) == diagnosis.at_least(mac.kernel, "11"), mac.name
        assert mac.title.split()[-1] == mac.name.split(":")[1], mac.name
    assert knowledge.resolve_target("sonoma").name == "macos:14"


# --------------------------------------------------------------------------------------------
# FreeBSD


def test_freebsd_binary_against_the_go_releases_freebsd_minimum(facts_of) -> None:
    facts = facts_of("freebsd")
    assert (facts.kind, facts.os, facts.arch, facts.linkage) == ("elf", "freebsd", "amd64", "static")
    release = knowledge.go_release(facts.go.go_version)
    minimum = release.min_freebsd
    seen = set()
    for t in _freebsds():
        verdict, case = diagnosis.predict(facts, t)
        supported = diagnosis.at_least(t.kernel, minimum)
        seen.add(supported)
        if supported:
            assert verdict.outcome == "runs", t.name
            assert f"needs {minimum}; {t.name} has FreeBSD {t.kernel}" in verdict.reason
        else:
            # Unsupported, but no start-up message is documented: none is invented.
            assert (verdict.outcome, verdict.family, verdict.message) == ("unknown", "freebsd-too-old", ""), t.name
            assert verdict.reason.startswith(f"this binary needs {minimum}; {t.name} has FreeBSD {t.kernel}")
            chain = diagnosis.build_chain(case.family, case.facts, case.evidence, symptom_text=case.message)
            assert f"{minimum} or later" in _text(chain)
    assert seen == {True, False}


@pytest.mark.parametrize("fixture", ["static", "cgo-host"])
def test_linux_binary_on_freebsd(facts_of, fixture: str) -> None:
    facts = facts_of(fixture)
    for t in _freebsds():
        verdict, _ = diagnosis.predict(facts, t)
        assert (verdict.outcome, verdict.family, verdict.confidence) == ("crashes", "linux-on-freebsd", "likely")
        assert verdict.message == 'ELF binary type "0" not known.'
        assert 'linux_enable="YES"' in verdict.reason
        # A cgo binary also needs a Linux userland that provides its loader.
        assert ("Linux userland" in verdict.reason) == bool(facts.interpreter)
        if facts.interpreter:
            assert facts.interpreter in verdict.reason
    chain = _chain(diagnosis.check_artifact(facts, [_freebsds()[-1]]), "linux-on-freebsd")
    name = os.path.basename(facts.path)
    assert f"GOOS=freebsd GOARCH=amd64 CGO_ENABLED=0 go build -o {name} ." in _text(chain)
    assert f"brandelf -t Linux {name}" in _text(chain)


def test_windows_and_mac_binaries_on_freebsd(facts_of) -> None:
    for fixture in ("windows", "darwin-amd64"):
        facts = facts_of(fixture)
        verdict, _ = diagnosis.predict(facts, _freebsds()[-1])
        assert (verdict.outcome, verdict.family) == ("crashes", "foreign-on-freebsd")
        assert verdict.message == f"./{os.path.basename(facts.path)}: Exec format error. Binary file not executable."


def test_freebsd_binary_on_linux(facts_of) -> None:
    facts = facts_of("freebsd")
    verdict, _ = diagnosis.predict(facts, knowledge.resolve_target(DEBIAN), arch="amd64")
    assert (verdict.outcome, verdict.family, verdict.message) == ("crashes", "freebsd-on-linux", "Segmentation fault")
    # Another CPU as well: the kernel refuses the machine type before the OS matters.
    assert diagnosis.predict(facts, knowledge.resolve_target(DEBIAN), arch="arm64")[0].family == "wrong-arch"
    chain = _chain(
        diagnosis.check_artifact(facts, [knowledge.resolve_target(DEBIAN)], arch="amd64"), "freebsd-on-linux"
    )
    assert "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o freebsd ." in _text(chain)


@pytest.mark.docker
def test_freebsd_binary_really_segfaults_on_linux(facts_of, bin_path) -> None:
    """The freebsd-on-linux message, on this project's local Debian image (no registry needed)."""
    from goci_doctor.model import EngineUnavailableError

    if platforms.host_goarch() != facts_of("freebsd").arch:
        pytest.skip(f"the fixture is freebsd/{facts_of('freebsd').arch}; this host is {platforms.host_goarch()}")
    try:
        client = engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    image = "goci/debian:bookworm"
    if not client.images.list(name=image):
        pytest.skip(f"local image {image} is missing (run goci-doctor images build)")
    container = client.containers.create(
        image,
        ["sh", "-c", "/goci/app; echo status=$?"],
        network_disabled=True,
        volumes={str(bin_path("freebsd")): {"bind": "/goci/app", "mode": "ro"}},
    )
    try:
        container.start()
        assert container.wait(timeout=30)["StatusCode"] == 0
        out = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    verdict, _ = diagnosis.predict(facts_of("freebsd"), knowledge.resolve_target(DEBIAN))
    assert verdict.message in out and "status=139" in out, out


# --------------------------------------------------------------------------------------------
# explain: the real messages


WIN7_CRASH = """\
Exception 0xc0000005 0x8 0x0 0x0
PC=0x0

runtime.asmstdcall()
        /usr/local/go/src/runtime/sys_windows_amd64.s:65 +0x75 fp=0x22fca0 sp=0x22fc80 pc=0x468c95
rax     0x0
"""  # golang/go#64622 (Go 1.21.5 hello world on Windows 7)

GO_ON_MACOS_11 = """\
./gophertrunk
dyld: Symbol not found: _SecTrustCopyCertificateChain
  Referenced from: .../gophertrunk-v0.9.7-darwin-amd64/./gophertrunk (which was built for Mac OS X 12.0)
  Expected in: /System/Library/Frameworks/Security.framework/Versions/A/Security
 in ...gophertrunk-v0.9.7-darwin-amd64/./gophertrunk
zsh: abort      ./gophertrunk
"""  # MattCheramie/GopherTrunk#1096 (a Go binary needing macOS 12, run on macOS 11)

DYLD4_TOO_OLD = """\
dyld[51423]: Symbol not found: _OBJC_CLASS_$_MTLResidencySetDescriptor
  Referenced from: <UUID> /Users/me/sd-cli (built for macOS 26.0 which is newer than running OS)
  Expected in: <UUID> /System/Library/Frameworks/Metal.framework/Versions/A/Metal
"""  # dyld 4 (macOS 12+) wording, as public reports quote it (they elide the image UUIDs the same way)

MESSAGES = [
    (
        "This program can only be run on AMD64 processors with v3 microarchitecture support.",
        "cpu-level",
        {"level": "v3"},
    ),
    ("Illegal instruction (core dumped)", "arm-level", {}),
    ("bash: line 1:  2211 Illegal instruction     ./app", "arm-level", {}),
    (WIN7_CRASH, "windows-too-old", {}),
    (
        "user@DESKTOP MINGW64 ~/Downloads\n$ ./app\nbash: ./app: cannot execute binary file: Exec format error",
        "elf-on-windows",
        {"binary": "./app"},
    ),
    # bash 5.2 and dash on this host, running a saved 404 page and a Git LFS pointer.
    (
        "./app: line 1: syntax error near unexpected token `newline'\n./app: line 1: `<!DOCTYPE html>'",
        "not-a-binary",
        {"binary": "./app"},
    ),
    ("./app: 2: Syntax error: newline unexpected", "not-a-binary", {"binary": "./app"}),
    (
        "./app2: line 1: version: command not found\n./app2: line 2: oid: command not found",
        "not-a-binary",
        {"binary": "./app2"},
    ),
    ("./app2: 1: version: not found", "not-a-binary", {}),
    (
        "$ cat app\nversion https://git-lfs.github.com/spec/v1",
        "not-a-binary",
        {"first_line": "version https://git-lfs.github.com/spec/v1"},
    ),
    ("FATAL: kernel too old\nAborted (core dumped)", "kernel-too-old", {}),  # rqlite/rqlite#1062
    (
        "This version of C:\\tools\\app.exe is not compatible with the version of Windows you're running. Check "
        "your computer's system information and then contact the software publisher.",
        "windows-386-mismatch",
        {"binary": "C:\\tools\\app.exe"},
    ),
    # macOS: digitalocean/doctl#71 (title "OSX zsh error", the linux build), doctl#73 (Mac OS X 10.11.4, bash 3.2).
    (
        "OSX zsh error after tar ball install\n$ ./doctl auth login\nzsh: exec format error: ./doctl",
        "elf-on-macos",
        {"binary": "./doctl"},
    ),
    (
        "Mac OS X 10.11.4\n-bash: /usr/local/bin/doctl: cannot execute binary file",
        "elf-on-macos",
        {"binary": "/usr/local/bin/doctl"},
    ),
    ("zsh: bad CPU type in executable: ./ethdo", "macos-bad-cpu", {"binary": "./ethdo"}),  # wealdtech/ethdo#142
    (
        "-bash: ./resource_dasm: Bad CPU type in executable",
        "macos-bad-cpu",  # fuzziqersoftware/resource_dasm#71
        {"binary": "./resource_dasm"},
    ),
    (GO_ON_MACOS_11, "macos-too-old", {"symbol": "_SecTrustCopyCertificateChain"}),
    (DYLD4_TOO_OLD, "macos-too-old", {"symbol": "_OBJC_CLASS_$_MTLResidencySetDescriptor"}),
    # FreeBSD without Linux compatibility: kulikov0/whitelist-bypass#128 (bash), hovancik/stretchly#549 (csh).
    (
        '# ./headless-vk-creator-linux-x64 -cookies /root/vk-cookies.json\nELF binary type "0" not known.\n'
        "bash: ./headless-vk-creator-linux-x64: cannot execute binary file: Exec format error",
        "linux-on-freebsd",
        {"brand": "0"},
    ),
    (
        '% /opt/stretchly/stretchly\nELF binary type "0" not known.\n/opt/stretchly/stretchly: Exec format error. '
        "Binary file not executable.",
        "linux-on-freebsd",
        {"brand": "0"},
    ),
]


@pytest.mark.parametrize(("text", "family", "facts"), MESSAGES, ids=[m[1] + str(i) for i, m in enumerate(MESSAGES)])
def test_explain_recognises_the_real_messages(text: str, family: str, facts: dict[str, str]) -> None:
    result = explain.explain_text(text, source="log")
    assert _families(result)[:1] == [family], _families(result)
    finding = next(f for f in result.findings if f.family == family)
    for key, value in facts.items():
        assert finding.fact(key) == value, (key, dict(finding.facts))
    kinds = [n.kind for n in result.chains[0].walk()]
    assert kinds[:3] == ["symptom", "mechanism", "cause"]
    assert "<" + "level_title>" not in _text(result.chains[0])


@pytest.mark.parametrize(("text", "wanted"), [(GO_ON_MACOS_11, "12.0"), (DYLD4_TOO_OLD, "26.0")])
def test_explained_macos_too_old_names_the_version_and_an_older_go(text: str, wanted: str) -> None:
    chain = explain.explain_text(text).chains[0]
    # The version comes from the "Referenced from" line that follows the first matched one.
    assert f"needs macOS {wanted}" in chain.children[0].children[0].title
    older = [
        r
        for r in knowledge.go_releases()
        if r.min_macos_version and not diagnosis.at_least(r.min_macos_version, wanted)
    ][-1]
    assert f"GOTOOLCHAIN=go{older.version}.0" in _text(chain)


def test_zsh_exec_format_error_needs_a_mac_in_the_log_to_mean_macos() -> None:
    """zsh prints the same line on Linux for a binary of another CPU: without a sign of a Mac, stay generic."""
    assert _families(explain.explain_text("zsh: exec format error: ./app")) == ["wrong-arch"]
    assert _families(explain.explain_text("-bash: ./app: cannot execute binary file")) == ["wrong-arch"]
    assert _families(explain.explain_text("user@MacBook-Pro ~ % ./app\nzsh: exec format error: ./app")) == [
        "elf-on-macos"
    ]


def test_explained_cpu_level_names_the_features_from_the_data() -> None:
    result = explain.explain_text("This program can only be run on AMD64 processors with v2 microarchitecture support.")
    level = knowledge.cpu_level("GOAMD64", "v2")
    assert all(r in result.chains[0].children[0].detail for r in level.requires)


@pytest.mark.parametrize(
    "text",
    [
        "runtime: failed to create new OS thread (have 2 already; errno=11)",
        "bash: /usr/local/go/bin/go: cannot execute binary file: Exec format error",  # Linux: not Windows
    ],
)
def test_explain_does_not_overfit(text: str) -> None:
    families = _families(explain.explain_text(text))
    assert not {"elf-on-windows", "kernel-too-old", "windows-too-old", "cpu-level", "arm-level"} & set(families)


def test_engine_uses_the_knowledge_base_version_parser() -> None:
    assert diagnosis.common.version_tuple is knowledge.version_tuple
