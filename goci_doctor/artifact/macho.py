"""Mach-O (macOS): thin and universal files, CPU type, load commands (dylibs, minimum OS).

Imports: model, artifact.gobuildinfo, safety.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from goci_doctor.artifact.elf import safe_buildinfo
from goci_doctor.artifact.gobuildinfo import Layout, unpack_from
from goci_doctor.artifact.sniff import macho_magic
from goci_doctor.model import ArtifactFacts

if TYPE_CHECKING:
    from goci_doctor.artifact.gobuildinfo import Buffer

    pass


_MACHO_CPUS: dict[int, tuple[str, str]] = {
    7: ("i386", "386"),
    0x01000007: ("x86_64", "amd64"),
    12: ("arm", "arm"),
    0x0100000C: ("arm64", "arm64"),
    0x0200000C: ("arm64_32", "arm64"),
    18: ("ppc", "ppc"),
    0x01000012: ("ppc64", "ppc64"),
}
_MACHO_TYPES = {1: "object", 2: "executable", 4: "core", 6: "dynamically linked shared library", 8: "bundle"}
_LC_SEGMENT, _LC_SEGMENT_64, _LC_LOAD_DYLIB, _LC_LOAD_DYLINKER = 0x1, 0x19, 0xC, 0xE
_LC_DYLIB_KINDS = (0xC, 0x80000018, 0x8000001F)  # LOAD, LOAD_WEAK, REEXPORT
_LC_BUILD_VERSION, _LC_VERSION_MIN_MACOSX = 0x32, 0x24


def parse_fat(buf: Buffer) -> list[tuple[int, int, int]]:
    """(cputype, offset, size) of each slice of a universal binary."""
    magic, count = unpack_from(">II", buf, 0)
    wide = magic == 0xCAFEBABF
    entsize = 32 if wide else 20
    slices = []
    for i in range(min(count, 30)):
        at = 8 + i * entsize
        if at + entsize > len(buf):
            break
        if wide:
            cpu, _sub, off, sz, _align, _res = unpack_from(">iiQQII", buf, at)
        else:
            cpu, _sub, off, sz, _align = unpack_from(">iiIII", buf, at)
        slices.append((cpu & 0xFFFFFFFF, off, sz))
    return slices


@dataclass
class MachO:
    base: int
    bits: int = 0
    cputype: int = 0
    filetype: int = 0
    dylibs: list[str] = field(default_factory=list)
    dylinker: str = ""
    min_os: str = ""
    segments: list[tuple[str, int, int, int, int, int]] = field(default_factory=list)
    """(name, vmaddr, filesize, fileoff (absolute), maxprot, initprot)."""
    buildinfo_addr: int | None = None
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, buf: Buffer, base: int) -> MachO:
        m = cls(base=base)
        size = len(buf)
        head = bytes(buf[base : base + 32])
        kind = macho_magic(head)
        if kind not in ("32", "64") or len(head) < 28:
            m.problems.append(f"truncated: Mach-O header at offset {base} is cut short")
            return m
        e = ">" if head[0] == 0xFE else "<"
        m.bits = 64 if kind == "64" else 32
        m.cputype, _sub, m.filetype, ncmds, sizeofcmds, _flags = unpack_from(e + "IiIIII", head, 4)
        at = base + (32 if m.bits == 64 else 28)
        end = at + sizeofcmds
        if end > size:
            m.problems.append(f"truncated: load commands end at offset {end} past end of file ({size} bytes)")
            return m
        for _ in range(min(ncmds, 100000)):
            if at + 8 > end:
                break
            cmd, cmdsize = unpack_from(e + "II", buf, at)
            if cmdsize < 8 or at + cmdsize > end:
                m.problems.append("corrupt: a Mach-O load command overruns the header")
                break
            m._load_command(buf, e, at, cmd, cmdsize)
            at += cmdsize
        for sname, _addr, filesz, off, _maxp, _initp in m.segments:
            if filesz and off + filesz > size:
                m.problems.append(
                    f"truncated: segment {sname} ends at offset {off + filesz} past end of file ({size} bytes)"
                )
                break
        return m

    def _load_command(self, buf: Buffer, e: str, at: int, cmd: int, cmdsize: int) -> None:
        if cmd in (_LC_SEGMENT, _LC_SEGMENT_64):
            wide = cmd == _LC_SEGMENT_64
            seg_fmt = e + ("16sQQQQiiII" if wide else "16sIIIIiiII")
            segname, vmaddr, _vmsize, fileoff, filesize, maxprot, initprot, nsects, _f = unpack_from(
                seg_fmt, buf, at + 8
            )
            name = segname.rstrip(b"\0").decode("latin-1")
            self.segments.append((name, vmaddr, filesize, self.base + fileoff, maxprot, initprot))
            sect_at = at + 8 + struct.calcsize(seg_fmt)
            sect_fmt = e + ("16s16sQQIIIIIIII" if wide else "16s16sIIIIIIIII")
            sect_size = struct.calcsize(sect_fmt)
            for i in range(min(nsects, (cmdsize - (sect_at - at)) // sect_size)):
                sectname, _seg, addr, *_rest = unpack_from(sect_fmt, buf, sect_at + i * sect_size)
                if sectname.rstrip(b"\0") == b"__go_buildinfo":
                    self.buildinfo_addr = addr
        elif cmd in _LC_DYLIB_KINDS or cmd == _LC_LOAD_DYLINKER:
            (name_off,) = unpack_from(e + "I", buf, at + 8)
            raw = bytes(buf[at + name_off : at + cmdsize]).split(b"\0", 1)[0].decode("utf-8", "replace")
            if cmd == _LC_LOAD_DYLINKER:
                self.dylinker = raw
            else:
                self.dylibs.append(raw)
        elif cmd == _LC_BUILD_VERSION:
            _platform, minos = unpack_from(e + "II", buf, at + 8)
            self.min_os = f"{minos >> 16}.{(minos >> 8) & 0xFF}"
        elif cmd == _LC_VERSION_MIN_MACOSX:
            (minos,) = unpack_from(e + "I", buf, at + 8)
            self.min_os = f"{minos >> 16}.{(minos >> 8) & 0xFF}"

    def layout(self) -> Layout:
        lay = Layout(
            segments=[(addr, filesz, off) for name, addr, filesz, off, _m, _i in self.segments if name != "__PAGEZERO"]
        )
        lay.data_start = self.buildinfo_addr
        if lay.data_start is None:
            for _name, addr, filesz, _off, maxprot, initprot in self.segments:
                if addr and filesz and maxprot == 3 and initprot == 3:
                    lay.data_start = addr
                    break
        return lay


def inspect_macho(buf: Buffer, name: str) -> ArtifactFacts:
    size = len(buf)
    kind = macho_magic(bytes(buf[:8]))
    problems: list[str] = []
    if kind == "fat":
        slices = parse_fat(buf)
        if not slices:
            return ArtifactFacts(
                path=name,
                size=size,
                kind="macho",
                description="Mach-O universal binary",
                os="darwin",
                problems=("truncated: universal binary has no readable slices",),
            )
        for _cpu, off, sz in slices:
            if off + sz > size:
                problems.append(
                    f"truncated: a universal slice ends at offset {off + sz} past end of file ({size} bytes)"
                )
                break
        archs = [_MACHO_CPUS.get(cpu, (f"cpu {cpu:#x}", "")) for cpu, _o, _s in slices]
        m = MachO.parse(buf, slices[0][1])
        plural = "s" if len(slices) != 1 else ""
        head = f"Mach-O universal binary with {len(slices)} architecture{plural}: [{', '.join(a[0] for a in archs)}]"
        # Several GOARCH values: comma-joined, in slice order.
        goarch = ",".join(dict.fromkeys(a[1] for a in archs if a[1]))
    else:
        m = MachO.parse(buf, 0)
        cpu_name, goarch = _MACHO_CPUS.get(m.cputype, (f"cpu {m.cputype:#x}", ""))
        head = f"Mach-O {m.bits}-bit {cpu_name} {_MACHO_TYPES.get(m.filetype, 'file')}"
    problems.extend(m.problems)
    go = safe_buildinfo(buf, m.layout)
    parts = [head]
    if m.min_os:
        parts.append(f"macOS ≥ {m.min_os}")
    if go is not None:
        parts.append(f"Go {go.go_version}")
    if m.filetype not in (0, 2):
        problems.append(f"not an executable: a Mach-O {_MACHO_TYPES.get(m.filetype, 'file')}")
    return ArtifactFacts(
        path=name,
        size=size,
        kind="macho",
        description=", ".join(parts),
        os="darwin",
        arch=goarch,
        bits=m.bits,
        linkage="dynamic" if m.dylinker or m.dylibs else "static",
        interpreter=m.dylinker,
        libc="darwin" if any("libSystem" in d for d in m.dylibs) else "",
        needed=tuple(m.dylibs),
        go=go,
        problems=tuple(problems),
        min_os_version=m.min_os,
    )
