"""ELF: headers read directly with ``struct`` (bounds-checked against the file), the facts of an
ELF file, the GLIBC floor and the symbols that set it. The dynamic section and symbol versions
are read by ``elfdynamic``.

Imports: model, artifact.gobuildinfo, safety.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from goci_doctor.artifact.elfdynamic import PT_DYNAMIC, PT_INTERP, PT_LOAD, DynamicFacts, read_dynamic
from goci_doctor.artifact.gobuildinfo import Layout, buildinfo_from_layout, unpack_from
from goci_doctor.model import ArtifactFacts, GoBuildInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from goci_doctor.artifact.gobuildinfo import Buffer

_ELF_MACHINES: dict[int, tuple[str, str]] = {
    # e_machine: (file(1)-style name, GOARCH); 64-bit and endian variants resolved in _elf_arch.
    3: ("Intel 80386", "386"),
    8: ("MIPS", "mips"),
    20: ("PowerPC", "ppc"),
    21: ("64-bit PowerPC", "ppc64"),
    22: ("IBM S/390", "s390x"),
    40: ("ARM", "arm"),
    62: ("x86-64", "amd64"),
    183: ("ARM aarch64", "arm64"),
    243: ("RISC-V", "riscv64"),
    258: ("LoongArch", "loong64"),
}
_ELF_TYPES = {1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}
_ELF_OSABI = {
    0: "",
    1: "hpux",
    2: "netbsd",
    3: "linux",
    6: "solaris",
    7: "aix",
    9: "freebsd",
    12: "openbsd",
}
_PF_X, _PF_W = 1, 2


class ElfHeaders:
    """The ELF header, program headers and section headers, read with struct and bounds-checked.

    A plain class, as are the other parser records here: a dataclass compiles its methods when
    the module is imported, about a millisecond each, and ``inspect`` start-up time matters."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.bits = 0
        self.endian = "<"
        self.osabi = 0
        self.e_type = 0
        self.machine = 0
        self.flags = 0
        self.entry = 0
        self.phdrs: list[tuple[int, int, int, int, int, int]] = []
        """(type, flags, offset, vaddr, filesz, memsz)."""
        self.sections: dict[str, tuple[int, int, int, int]] = {}
        """name -> (type, addr, offset, size)."""
        self.section_index_by_type: dict[int, int] = {}
        """sh_type -> index of the first section of that type."""
        self.section_rows: list[tuple[int, int, int, int, int, int]] = []
        """By section index: (type, offset, size, link, info, entsize)."""
        self.problems: list[str] = []
        self.interpreter = ""

    @classmethod
    def parse(cls, buf: Buffer) -> ElfHeaders:
        h = cls(size=len(buf))
        ident = bytes(buf[:16])
        if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            h.problems.append(f"corrupt: ELF identification bytes are invalid or cut short ({len(buf)} bytes)")
            return h
        h.bits = 32 if ident[4] == 1 else 64
        h.endian = "<" if ident[5] == 1 else ">"
        h.osabi = ident[7]
        ehdr_fmt = h.endian + ("HHIIIIIHHHHHH" if h.bits == 32 else "HHIQQQIHHHHHH")
        need = 16 + struct.calcsize(ehdr_fmt)
        if len(buf) < need:
            h.problems.append(f"truncated: the ELF header needs {need} bytes, the file has {len(buf)}")
            return h
        (
            h.e_type,
            h.machine,
            _version,
            h.entry,
            phoff,
            shoff,
            h.flags,
            _ehsize,
            phentsize,
            phnum,
            shentsize,
            shnum,
            shstrndx,
        ) = unpack_from(ehdr_fmt, buf, 16)
        h._parse_phdrs(buf, phoff, phentsize, phnum)
        h._parse_shdrs(buf, shoff, shentsize, shnum, shstrndx)
        return h

    def _parse_phdrs(self, buf: Buffer, phoff: int, phentsize: int, phnum: int) -> None:
        fmt = self.endian + ("IIIIIIII" if self.bits == 32 else "IIQQQQQQ")
        entsize = struct.calcsize(fmt)
        if phnum == 0:
            return
        end = phoff + phnum * phentsize
        if phentsize < entsize:
            self.problems.append(f"corrupt: program header entries are {phentsize} bytes, expected {entsize}")
            return
        if end > self.size:
            self.problems.append(f"truncated: program headers end at offset {end} past end of file ({self.size} bytes)")
            return
        table = bytes(buf[phoff:end])  # one read, however the file is held
        for i in range(phnum):
            raw = struct.unpack_from(fmt, table, i * phentsize)
            if self.bits == 32:
                p_type, off, vaddr, _paddr, filesz, memsz, flags, _align = raw
            else:
                p_type, flags, off, vaddr, _paddr, filesz, memsz, _align = raw
            self.phdrs.append((p_type, flags, off, vaddr, filesz, memsz))
        for p_type, _flags, off, _vaddr, filesz, _memsz in self.phdrs:
            if p_type == PT_LOAD and off + filesz > self.size:
                self.problems.append(
                    f"truncated: a loadable segment ends at offset {off + filesz} past end of file ({self.size} bytes)"
                )
                break
        for p_type, _flags, off, _vaddr, filesz, _memsz in self.phdrs:
            if p_type == PT_INTERP:
                raw_interp = bytes(buf[off : off + min(filesz, 4096)])
                self.interpreter = raw_interp.split(b"\0", 1)[0].decode("utf-8", "replace")
                if not raw_interp:
                    self.interpreter = "?"  # PT_INTERP exists, but its bytes are missing
                break

    def _parse_shdrs(self, buf: Buffer, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> None:
        if shoff == 0:
            return
        fmt = self.endian + ("IIIIIIIIII" if self.bits == 32 else "IIQQQQIIQQ")
        entsize = struct.calcsize(fmt)
        if shentsize < entsize:
            self.problems.append(f"corrupt: section header entries are {shentsize} bytes, expected {entsize}")
            return
        if shnum == 0 and shoff + entsize <= self.size:
            # Extended numbering: the real count is in section 0's sh_size.
            shnum = unpack_from(fmt, buf, shoff)[5]
        end = shoff + shnum * shentsize
        if end > self.size:
            self.problems.append(f"truncated: section headers end at offset {end} past end of file ({self.size} bytes)")
            return
        table = bytes(buf[shoff : shoff + min(shnum, 65535) * shentsize])  # one read
        raw = [struct.unpack_from(fmt, table, i * shentsize) for i in range(min(shnum, 65535))]
        if shstrndx == 0xFFFF and raw:
            shstrndx = raw[0][6]
        strtab = b""
        if 0 < shstrndx < len(raw):
            _n, _t, _f, _a, s_off, s_size, *_ = raw[shstrndx]
            strtab = bytes(buf[s_off : s_off + min(s_size, 1 << 20)])
        self.section_rows = [(r[1], r[4], r[5], r[6], r[7], r[9]) for r in raw]
        for index, (name_off, sh_type, _flags, addr, offset, size, *_rest) in enumerate(raw):
            self.section_index_by_type.setdefault(sh_type, index)
            end_name = strtab.find(b"\0", name_off)
            name = strtab[name_off:end_name].decode("utf-8", "replace") if end_name >= 0 else ""
            if name and name not in self.sections:
                self.sections[name] = (sh_type, addr, offset, size)

    def has_phdr(self, p_type: int) -> bool:
        return any(p[0] == p_type for p in self.phdrs)

    def layout(self) -> Layout:
        lay = Layout(segments=[(vaddr, filesz, off) for _t, _f, off, vaddr, filesz, _m in self.phdrs if _t == PT_LOAD])
        if ".go.buildinfo" in self.sections:
            lay.data_start = self.sections[".go.buildinfo"][1]
        else:
            for p_type, flags, _off, vaddr, _filesz, _memsz in self.phdrs:
                if p_type == PT_LOAD and flags & (_PF_X | _PF_W) == _PF_W:
                    lay.data_start = vaddr
                    break
        return lay


def _elf_arch(h: ElfHeaders) -> tuple[str, str]:
    """(file(1)-style machine name, GOARCH)."""
    name, goarch = _ELF_MACHINES.get(h.machine, (f"machine {h.machine:#x}", ""))
    big = h.endian == ">"
    if goarch == "mips":
        goarch = ("mips64" if h.bits == 64 else "mips") + ("" if big else "le")
    elif goarch == "ppc64":
        goarch = "ppc64" if big else "ppc64le"
    elif goarch == "riscv64" and h.bits == 32:
        goarch = "riscv32"
    elif goarch == "s390x" and h.bits == 32:
        goarch = "s390"
    return name, goarch


def _glibc_family_version(version: str, prefix: str) -> tuple[int, ...] | None:
    """(2, 34) for "GLIBC_2.34" with prefix "GLIBC_"; None for GLIBC_PRIVATE or other names."""
    if not version.startswith(prefix):
        return None
    tail = version[len(prefix) :]
    if not re.fullmatch(r"\d+(\.\d+)*", tail):
        return None
    return tuple(int(x) for x in tail.split("."))


def inspect_elf(buf: Buffer, name: str) -> ArtifactFacts:
    h = ElfHeaders.parse(buf)
    problems = list(h.problems)
    size = len(buf)
    if h.bits == 0 or (h.e_type == 0 and h.machine == 0):
        return ArtifactFacts(
            path=name,
            size=size,
            kind="elf",
            description="ELF (corrupt header)",
            problems=tuple(problems) or ("corrupt: unreadable ELF header",),
        )
    machine_name, goarch = _elf_arch(h)
    elf_type = _ELF_TYPES.get(h.e_type, f"{h.e_type:#x}")
    has_interp = h.has_phdr(PT_INTERP)
    has_dynamic = h.has_phdr(PT_DYNAMIC)

    dyn = DynamicFacts()
    if has_dynamic and not any(p.startswith("truncated: section headers") for p in problems):
        try:
            dyn = read_dynamic(buf, h)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError, struct.error) as exc:
            problems.append(f"corrupt: dynamic section unreadable ({type(exc).__name__}: {exc})")

    go = safe_buildinfo(buf, h.layout)

    if has_interp:
        linkage = "dynamic"
    elif has_dynamic and h.e_type == 3:
        linkage = "static-pie"
    else:
        linkage = "static"
    # ET_DYN without an interpreter is either a static-pie executable or a shared library.
    is_shared_lib = (
        h.e_type == 3
        and not has_interp
        and not dyn.pie_flag
        and (bool(dyn.soname) or h.entry == 0 or (go is not None and go.setting("-buildmode") == "c-shared"))
    )
    if is_shared_lib:
        linkage = "dynamic"

    interp = h.interpreter
    libc = ""
    if (interp and ("ld-musl" in interp)) or any(n.startswith("libc.musl") for n in dyn.needed):
        libc = "musl"
    elif (interp and "ld-linux" in interp) or "libc.so.6" in dyn.needed:
        libc = "glibc"
    elif linkage in ("static", "static-pie") and not dyn.needed:
        libc = "none"

    glibc_req, glibc_syms = _highest(dyn, "GLIBC_")
    glibcxx_req, _ = _highest(dyn, "GLIBCXX_")
    cxxabi_req, _ = _highest(dyn, "CXXABI_")

    os_name = (go.setting("GOOS") if go else "") or _ELF_OSABI.get(h.osabi, "")
    if not os_name:
        if "/libexec/ld-elf.so" in interp:
            os_name = "freebsd"
        elif interp.startswith("/system/bin/linker"):
            os_name = "android"
        else:
            os_name = "linux"  # ELFOSABI_NONE: what Linux toolchains (and Go for linux) write

    if h.e_type == 1:
        problems.append("not an executable: an ELF relocatable object (.o), not a linked program")
    elif h.e_type == 4:
        problems.append("not an executable: an ELF core dump")
    elif is_shared_lib:
        problems.append("not an executable: an ELF shared library (.so)")

    desc = _elf_description(h, machine_name, goarch, linkage, interp, libc, glibc_req, is_shared_lib, go)
    return ArtifactFacts(
        path=name,
        size=size,
        kind="elf",
        description=desc,
        os=os_name,
        arch=goarch,
        bits=h.bits,
        elf_type=elf_type,
        linkage=linkage,  # type: ignore[arg-type]
        interpreter=interp,
        libc=libc,  # type: ignore[arg-type]
        needed=tuple(dyn.needed),
        rpath=tuple(dyn.rpath),
        runpath=tuple(dyn.runpath),
        version_needs=tuple(dyn.version_needs),
        glibc_required=glibc_req,
        glibc_floor_symbols=glibc_syms,
        glibcxx_required=glibcxx_req,
        cxxabi_required=cxxabi_req,
        go=go,
        problems=tuple(problems),
    )


def _highest(dyn: DynamicFacts, prefix: str) -> tuple[str, tuple[str, ...]]:
    """Highest numeric version with ``prefix`` among the needed versions, and the symbols needing it."""
    best: tuple[int, ...] | None = None
    best_name = ""
    for need in dyn.version_needs:
        for v in need.versions:
            parsed = _glibc_family_version(v, prefix)
            if parsed is not None and (best is None or parsed > best):
                best, best_name = parsed, v
    if best is None:
        return "", ()
    symbols = tuple(dict.fromkeys(f"{s}@{best_name}" for s in dyn.symbols_by_version.get(best_name, [])))
    return best_name[len(prefix) :], symbols


def _elf_description(
    h: ElfHeaders,
    machine_name: str,
    goarch: str,
    linkage: str,
    interp: str,
    libc: str,
    glibc_req: str,
    is_shared_lib: bool,
    go: GoBuildInfo | None,
) -> str:
    what = {1: "relocatable", 2: "executable", 3: "pie executable", 4: "core file"}.get(h.e_type, "file")
    if is_shared_lib:
        what = "shared object"
    parts = [f"ELF {h.bits}-bit{' MSB' if h.endian == '>' else ''} {machine_name}"]
    if h.machine == 40:  # 32-bit ARM: the float ABI decides armel vs armhf
        eabi = h.flags >> 24
        fabi = " hard-float" if h.flags & 0x400 else " soft-float" if h.flags & 0x200 else ""
        parts[0] += f" EABI{eabi}{fabi}" if eabi else ""
    parts[0] += f" {what}"
    if h.e_type in (2, 3) and not is_shared_lib:
        if linkage == "dynamic":
            link = "dynamically linked"
            if interp:
                link += f", interpreter {interp}"
            if libc == "glibc":
                link += f" (glibc ≥ {glibc_req})" if glibc_req else " (glibc)"
            elif libc == "musl":
                link += " (musl)"
            parts.append(link)
        else:
            parts.append("static-pie linked" if linkage == "static-pie" else "statically linked")
    if go is not None:
        parts.append(f"Go {go.go_version}")
    elif not goarch:
        parts.append("unknown CPU architecture")
    return ", ".join(parts)


def safe_buildinfo(buf: Buffer, layout: Callable[[], Layout]) -> GoBuildInfo | None:
    try:
        return buildinfo_from_layout(buf, layout())
    except (struct.error, ValueError, IndexError, KeyError, TypeError, OverflowError):
        return None
