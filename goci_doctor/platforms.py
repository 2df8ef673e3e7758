"""THE table of CPU architectures: every name one architecture goes by, in one place.

Go's GOARCH is the key. For each: the ``uname -m`` spellings (and distribution/compiler aliases),
the ELF ``e_machine`` number, the PE ``Machine`` value, the Mach-O ``cputype``, the qemu-user name
(binfmt handler ``qemu-NAME``), the GNU triple prefix (Debian multiarch ``<prefix>-linux-gnu``, zig
``<prefix>-linux-gnu.2.17``), the musl loader's architecture name (``ld-musl-NAME.so.1``), the Debian
cross compiler and the Docker platform string. Adding an architecture is one row here.

Imports: nothing of goci_doctor (the ground layer, beside model).
"""

from __future__ import annotations

import platform as _host
from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    goarch: str
    machines: tuple[str, ...]
    """``uname -m`` values and aliases (lower case), the canonical one first."""
    elf_machine: int = 0
    pe_machine: int = 0
    macho_cputype: int = 0
    qemu: str = ""
    triple: str = ""
    """GNU triple prefix: x86_64, aarch64, i386 (Debian multiarch), arm (…-linux-gnueabihf)."""
    musl: str = ""
    """musl loader name: /lib/ld-musl-<musl>.so.1."""
    cross_cc: str = ""
    """Debian's cross compiler for Linux (gcc-<triple> packages)."""
    docker: str = ""
    """``linux/…`` platform string (with the variant where Docker uses one)."""

    @property
    def multiarch(self) -> str:
        """Debian's multiarch directory: x86_64-linux-gnu, arm-linux-gnueabihf, ..."""
        return f"{self.triple}-linux-gnueabihf" if self.goarch == "arm" else f"{self.triple}-linux-gnu"

    @property
    def zig_triple(self) -> str:
        return {"386": "x86", "arm": "arm"}.get(self.goarch, self.triple)

    @property
    def debian(self) -> str:
        """Debian's architecture name (dpkg --print-architecture)."""
        return _DEBIAN.get(self.goarch, self.goarch)


_DEBIAN = {"386": "i386", "arm": "armhf", "ppc64le": "ppc64el", "mipsle": "mipsel", "mips64le": "mips64el"}


ARCHES: tuple[Arch, ...] = (
    Arch(
        "amd64",
        ("x86_64", "amd64", "x64", "x86-64"),
        62,
        0x8664,
        0x01000007,
        "x86_64",
        "x86_64",
        "x86_64",
        "x86_64-linux-gnu-gcc",
        "linux/amd64",
    ),
    Arch(
        "arm64",
        ("aarch64", "arm64", "armv8", "arm64v8"),
        183,
        0xAA64,
        0x0100000C,
        "aarch64",
        "aarch64",
        "aarch64",
        "aarch64-linux-gnu-gcc",
        "linux/arm64",
    ),
    Arch(
        "386",
        ("i386", "i486", "i586", "i686", "x86", "386"),
        3,
        0x14C,
        7,
        "i386",
        "i386",
        "i386",
        "i686-linux-gnu-gcc",
        "linux/386",
    ),
    Arch(
        "arm",
        ("armv7l", "armv6l", "armv5l", "armv8l", "armhf", "armel", "arm", "armv7", "armv6"),
        40,
        0x1C4,
        12,
        "arm",
        "arm",
        "armhf",
        "arm-linux-gnueabihf-gcc",
        "linux/arm/v7",
    ),
    Arch(
        "riscv64",
        ("riscv64",),
        243,
        0x5064,
        0,
        "riscv64",
        "riscv64",
        "riscv64",
        "riscv64-linux-gnu-gcc",
        "linux/riscv64",
    ),
    Arch(
        "ppc64le",
        ("ppc64le", "powerpc64le"),
        21,
        0,
        0,
        "ppc64le",
        "powerpc64le",
        "powerpc64le",
        "powerpc64le-linux-gnu-gcc",
        "linux/ppc64le",
    ),
    Arch("ppc64", ("ppc64", "powerpc64"), 21, 0, 0x01000012, "ppc64", "powerpc64", "powerpc64", "", "linux/ppc64"),
    Arch("s390x", ("s390x",), 22, 0, 0, "s390x", "s390x", "s390x", "s390x-linux-gnu-gcc", "linux/s390x"),
    Arch("mips", ("mips",), 8, 0, 0, "mips", "mips", "mips", "mips-linux-gnu-gcc", "linux/mips"),
    Arch("mipsle", ("mipsel", "mipsle"), 8, 0, 0, "mipsel", "mipsel", "mipsel", "mipsel-linux-gnu-gcc", "linux/mipsle"),
    Arch("mips64", ("mips64",), 8, 0, 0, "mips64", "mips64", "mips64", "mips64-linux-gnuabi64-gcc", "linux/mips64"),
    Arch(
        "mips64le",
        ("mips64el", "mips64le"),
        8,
        0,
        0,
        "mips64el",
        "mips64el",
        "mips64el",
        "mips64el-linux-gnuabi64-gcc",
        "linux/mips64le",
    ),
    Arch(
        "loong64",
        ("loongarch64", "loong64"),
        258,
        0x6264,
        0,
        "loongarch64",
        "loongarch64",
        "loongarch64",
        "",
        "linux/loong64",
    ),
)

BY_GOARCH: dict[str, Arch] = {a.goarch: a for a in ARCHES}
_BY_MACHINE: dict[str, Arch] = {m: a for a in ARCHES for m in a.machines}


def goarch(machine: str) -> str:
    """Go's name for any spelling of an architecture ("x86_64", "aarch64", "i686", "armv6l" …);
    an unknown one comes back lower-cased, unchanged."""
    m = machine.strip().lower()
    if m in BY_GOARCH:
        return m
    found = _BY_MACHINE.get(m)
    if found is not None:
        return found.goarch
    if m.startswith("armv") or m.startswith("arm-"):
        return "arm"
    return m


def arch(goarch_or_machine: str) -> Arch | None:
    """The row for a GOARCH or any machine spelling; None when unknown."""
    return BY_GOARCH.get(goarch(goarch_or_machine))


def host_goarch() -> str:
    """This machine's CPU in Go naming (the one host-architecture probe)."""
    return goarch(_host.machine())


def is_known(name: str) -> bool:
    """True for a GOARCH or machine name in the table (used to validate ``--arch``)."""
    return arch(name) is not None
