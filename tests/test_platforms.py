"""The one architecture table against real binaries, real toolchains and this machine.

Header fields are read here with ``struct`` straight from fixture binaries that Go and the cross
compilers really produced, so a wrong number in the table cannot agree with itself.
"""

from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from goci_doctor import platforms

ELF_FIXTURES = {"static": "amd64", "arm64": "arm64", "i386": "386", "armv6": "arm", "armv7": "arm"}
PE_FIXTURES = {"windows.exe": "amd64", "windows-386.exe": "386"}
MACHO_FIXTURES = {"darwin": "arm64", "darwin-amd64": "amd64"}


def _elf_machine(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF"
    return struct.unpack_from("<H" if head[5] == 1 else ">H", head, 18)[0]


def _pe_machine(path: Path) -> int:
    data = path.read_bytes()[:4096]
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    assert data[pe_offset : pe_offset + 4] == b"PE\0\0"
    return struct.unpack_from("<H", data, pe_offset + 4)[0]


def _macho_cputype(path: Path) -> int:
    data = path.read_bytes()[:8]
    return struct.unpack_from("<i", data, 4)[0]


@pytest.mark.parametrize(("name", "goarch"), sorted(ELF_FIXTURES.items()))
def test_elf_machine_numbers_match_real_binaries(bin_path, name, goarch):
    assert _elf_machine(bin_path(name)) == platforms.BY_GOARCH[goarch].elf_machine


@pytest.mark.parametrize(("name", "goarch"), sorted(PE_FIXTURES.items()))
def test_pe_machine_numbers_match_real_binaries(bin_path, name, goarch):
    assert _pe_machine(bin_path(name.removesuffix(".exe"))) == platforms.BY_GOARCH[goarch].pe_machine


@pytest.mark.parametrize(("name", "goarch"), sorted(MACHO_FIXTURES.items()))
def test_macho_cputypes_match_real_binaries(bin_path, name, goarch):
    assert _macho_cputype(bin_path(name)) == platforms.BY_GOARCH[goarch].macho_cputype


def test_this_machine_and_its_multiarch_dir():
    assert platforms.host_goarch() == platforms.goarch(os.uname().machine)
    row = platforms.arch(platform.machine())
    assert row is not None, f"{platform.machine()} is not in the table"
    assert Path(f"/usr/lib/{row.multiarch}").is_dir() or Path(f"/lib/{row.multiarch}").is_dir()


def test_cross_compiler_name_is_debians():
    # scripts/setup.sh --test installs Debian's arm64 cross compiler (gcc-aarch64-linux-gnu).
    row = platforms.BY_GOARCH["arm64"]
    if shutil.which(row.cross_cc) is None:
        pytest.skip(f"{row.cross_cc} is not installed here (scripts/setup.sh --test installs it)")
    machine = subprocess.run([row.cross_cc, "-dumpmachine"], capture_output=True, text=True, check=True).stdout
    assert machine.strip() == row.multiarch


def test_qemu_names_match_the_installed_emulators():
    installed = {p.name.removeprefix("qemu-").removesuffix("-static") for p in Path("/usr/bin").glob("qemu-*-static")}
    if not installed:
        pytest.skip("qemu-user-static is not installed (scripts/setup.sh --test installs it)")
    for goarch in ("amd64", "arm64", "386", "arm", "riscv64", "ppc64le", "s390x"):
        assert platforms.BY_GOARCH[goarch].qemu in installed, goarch


@pytest.mark.parametrize(
    ("spelling", "goarch"),
    [
        ("x86_64", "amd64"),
        ("AMD64", "amd64"),
        ("aarch64", "arm64"),
        ("arm64", "arm64"),
        ("i686", "386"),
        ("i386", "386"),
        ("x86", "386"),
        ("armv6l", "arm"),
        ("armv7l", "arm"),
        ("armhf", "arm"),
        ("mipsel", "mipsle"),
        ("mips64el", "mips64le"),
        ("loongarch64", "loong64"),
        ("powerpc64le", "ppc64le"),
        ("s390x", "s390x"),
    ],
)
def test_every_spelling_names_one_goarch(spelling, goarch):
    assert platforms.goarch(spelling) == goarch
    assert platforms.is_known(spelling)


def test_unknown_names_are_not_known():
    assert not platforms.is_known("\x1b[31mred")
    assert not platforms.is_known("sparc-ish")
