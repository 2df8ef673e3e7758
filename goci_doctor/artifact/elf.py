"""ELF: headers read directly, the dynamic section and symbol versions through pyelftools (imported
lazily), the GLIBC floor and the symbols that set it.

Imports: model, artifact.gobuildinfo, safety.
"""

from __future__ import annotations

import io
import mmap
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from goci_doctor.artifact.gobuildinfo import Buffer, Layout, buildinfo_from_layout
from goci_doctor.model import ArtifactFacts, GoBuildInfo, VersionNeed

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile


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
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_PF_X, _PF_W = 1, 2
_SHT_DYNAMIC, _SHT_GNU_VERNEED, _SHT_GNU_VERSYM = 6, 0x6FFFFFFE, 0x6FFFFFFF


@dataclass
class ElfHeaders:
    """The ELF header, program headers and section headers, read with struct and bounds-checked."""

    size: int
    bits: int = 0
    endian: str = "<"
    osabi: int = 0
    e_type: int = 0
    machine: int = 0
    flags: int = 0
    entry: int = 0
    phdrs: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    """(type, flags, offset, vaddr, filesz, memsz)."""
    sections: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    """name -> (type, addr, offset, size)."""
    section_index_by_type: dict[int, int] = field(default_factory=dict)
    """sh_type -> index of the first section of that type."""
    problems: list[str] = field(default_factory=list)
    interpreter: str = ""

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
        ) = struct.unpack_from(ehdr_fmt, buf, 16)
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
        for i in range(phnum):
            raw = struct.unpack_from(fmt, buf, phoff + i * phentsize)
            if self.bits == 32:
                p_type, off, vaddr, _paddr, filesz, memsz, flags, _align = raw
            else:
                p_type, flags, off, vaddr, _paddr, filesz, memsz, _align = raw
            self.phdrs.append((p_type, flags, off, vaddr, filesz, memsz))
        for p_type, _flags, off, _vaddr, filesz, _memsz in self.phdrs:
            if p_type == _PT_LOAD and off + filesz > self.size:
                self.problems.append(
                    f"truncated: a loadable segment ends at offset {off + filesz} past end of file ({self.size} bytes)"
                )
                break
        for p_type, _flags, off, _vaddr, filesz, _memsz in self.phdrs:
            if p_type == _PT_INTERP:
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
            shnum = struct.unpack_from(fmt, buf, shoff)[5]
        end = shoff + shnum * shentsize
        if end > self.size:
            self.problems.append(f"truncated: section headers end at offset {end} past end of file ({self.size} bytes)")
            return
        raw = [struct.unpack_from(fmt, buf, shoff + i * shentsize) for i in range(min(shnum, 65535))]
        if shstrndx == 0xFFFF and raw:
            shstrndx = raw[0][6]
        strtab = b""
        if 0 < shstrndx < len(raw):
            _n, _t, _f, _a, s_off, s_size, *_ = raw[shstrndx]
            strtab = bytes(buf[s_off : s_off + min(s_size, 1 << 20)])
        for index, (name_off, sh_type, _flags, addr, offset, size, *_rest) in enumerate(raw):
            self.section_index_by_type.setdefault(sh_type, index)
            end_name = strtab.find(b"\0", name_off)
            name = strtab[name_off:end_name].decode("utf-8", "replace") if end_name >= 0 else ""
            if name and name not in self.sections:
                self.sections[name] = (sh_type, addr, offset, size)

    def has_phdr(self, p_type: int) -> bool:
        return any(p[0] == p_type for p in self.phdrs)

    def layout(self) -> Layout:
        lay = Layout(segments=[(vaddr, filesz, off) for _t, _f, off, vaddr, filesz, _m in self.phdrs if _t == _PT_LOAD])
        if ".go.buildinfo" in self.sections:
            lay.data_start = self.sections[".go.buildinfo"][1]
        else:
            for p_type, flags, _off, vaddr, _filesz, _memsz in self.phdrs:
                if p_type == _PT_LOAD and flags & (_PF_X | _PF_W) == _PF_W:
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


@dataclass
class _DynamicFacts:
    needed: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    soname: str = ""
    pie_flag: bool = False
    version_needs: list[VersionNeed] = field(default_factory=list)
    version_by_index: dict[int, str] = field(default_factory=dict)
    symbols_by_version: dict[str, list[str]] = field(default_factory=dict)


def _read_dynamic(buf: Buffer, headers: ElfHeaders) -> _DynamicFacts:
    """Dynamic section, .gnu.version_r and the versioned dynamic symbols, via pyelftools."""
    from elftools.elf.dynamic import DynamicSection, DynamicSegment
    from elftools.elf.elffile import ELFFile

    facts = _DynamicFacts()
    # pyelftools wants a seekable stream: an mmap is one; plain bytes get a BytesIO around them.
    stream: Any = buf if isinstance(buf, mmap.mmap) else io.BytesIO(buf)
    elf = ELFFile(stream)
    # Sections are picked by type from our own header table: iterating pyelftools' sections
    # would build every one of them, and it parses a whole .gnu.hash eagerly (0.3 s on 48 MB).
    dyn: Any = None
    index = headers.section_index_by_type.get(_SHT_DYNAMIC)
    if index is not None:
        dyn = elf.get_section(index)
    if not isinstance(dyn, DynamicSection):
        # Section headers stripped (sstrip): the PT_DYNAMIC segment still has the tags.
        dyn = next((seg for seg in elf.iter_segments() if isinstance(seg, DynamicSegment)), None)
    if dyn is not None:
        for count, tag in enumerate(dyn.iter_tags()):
            if count > 65536:  # real programs have a few dozen; a corrupt size must not loop for minutes
                raise ValueError("implausibly many dynamic section entries")
            if tag.entry.d_tag == "DT_NEEDED":
                facts.needed.append(tag.needed)
            elif tag.entry.d_tag == "DT_RPATH":
                facts.rpath.extend(x for x in tag.rpath.split(":") if x)
            elif tag.entry.d_tag == "DT_RUNPATH":
                facts.runpath.extend(x for x in tag.runpath.split(":") if x)
            elif tag.entry.d_tag == "DT_SONAME":
                facts.soname = tag.soname
            elif tag.entry.d_tag == "DT_FLAGS_1":
                facts.pie_flag = bool(tag.entry.d_val & 0x08000000)  # DF_1_PIE
    _read_versions(elf, headers, facts)
    return facts


def _read_versions(elf: ELFFile, headers: ElfHeaders, facts: _DynamicFacts) -> None:
    from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

    def section(sh_type: int) -> Any:
        index = headers.section_index_by_type.get(sh_type)
        return None if index is None else elf.get_section(index)

    verneed, versym = section(_SHT_GNU_VERNEED), section(_SHT_GNU_VERSYM)
    if not isinstance(verneed, GNUVerNeedSection):
        return
    budget = 10000  # version entries; a corrupt count must not make us loop for minutes
    for need, auxes in verneed.iter_versions():
        names = []
        for aux in auxes:
            budget -= 1
            if budget < 0:
                raise ValueError("implausibly many symbol version entries")
            names.append(aux.name)
            facts.version_by_index[aux["vna_other"] & 0x7FFF] = aux.name
        facts.version_needs.append(VersionNeed(library=need.name or "", versions=tuple(names)))
    if not isinstance(versym, GNUVerSymSection):
        return
    symtab = elf.get_section(versym["sh_link"])
    strsec = elf.get_section(symtab["sh_link"])
    _check_table(versym, symtab, strsec, headers.size)
    strtab = strsec.data()
    # .gnu.version is a flat array of 16-bit indices parallel to .dynsym. Both are read raw:
    # pyelftools' per-symbol parsing costs ~0.05 ms a symbol, and large programs export thousands.
    endian = "<" if elf.little_endian else ">"
    raw = versym.data()
    count = len(raw) // 2
    indices = struct.unpack(f"{endian}{count}H", raw[: count * 2])
    symdata = symtab.data()
    entsize = symtab["sh_entsize"] or (24 if elf.elfclass == 64 else 16)
    for i, index in enumerate(indices):
        version = facts.version_by_index.get(index & 0x7FFF)
        if version is None or (i + 1) * entsize > len(symdata):
            continue
        (name_off,) = struct.unpack_from(endian + "I", symdata, i * entsize)  # st_name comes first
        end = strtab.find(b"\0", name_off)
        name = strtab[name_off : end if end >= 0 else None].decode("utf-8", "replace")
        facts.symbols_by_version.setdefault(version, []).append(name)


_MAX_DYNSYMS = 1 << 20  # a large real program exports tens of thousands
_MAX_DYNSTR = 64 << 20


def _check_table(versym: Any, symtab: Any, strsec: Any, file_size: int) -> None:
    """Section sizes checked against the file and each other before anything is read: a
    .gnu.version that claims 1 GiB would otherwise be read and walked entry by entry."""
    entsize = symtab["sh_entsize"] or 24
    count = symtab["sh_size"] // entsize
    for sec, label in ((versym, ".gnu.version"), (symtab, ".dynsym"), (strsec, ".dynstr")):
        if sec["sh_type"] != "SHT_NOBITS" and file_size and sec["sh_offset"] + sec["sh_size"] > file_size:
            raise ValueError(f"{label} ends at offset {sec['sh_offset'] + sec['sh_size']} past end of file")
    if count > _MAX_DYNSYMS:
        raise ValueError(f".dynsym claims {count} symbols (implausibly many)")
    if versym["sh_size"] > 2 * count + 2:
        raise ValueError(f".gnu.version is {versym['sh_size']} bytes but .dynsym has {count} symbols")
    if strsec["sh_size"] > _MAX_DYNSTR:
        raise ValueError(f".dynstr claims {strsec['sh_size']} bytes (implausibly large)")


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
    has_interp = h.has_phdr(_PT_INTERP)
    has_dynamic = h.has_phdr(_PT_DYNAMIC)

    dyn = _DynamicFacts()
    if has_dynamic and not any(p.startswith("truncated: section headers") for p in problems):
        try:
            dyn = _read_dynamic(buf, h)
        except Exception as exc:  # pyelftools raises many types on corrupt input
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


def _highest(dyn: _DynamicFacts, prefix: str) -> tuple[str, tuple[str, ...]]:
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
