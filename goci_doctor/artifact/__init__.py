"""Static inspection of build artifacts: what a file is, for which OS and CPU, which libc it needs.

Nothing here runs the file. ELF, PE and Mach-O headers are read directly (a few hundred bytes,
so a 40 MB Go binary is inspected in milliseconds); pyelftools parses the dynamic section and
symbol versions of dynamically linked ELF files, pefile the imports of PE files. Both are imported
lazily because ``goci-doctor inspect`` startup time matters.

A file that is not what a build should produce (empty, truncated, an HTML error page, a Git LFS
pointer, random bytes) is not an error: ``inspect_path`` returns facts whose ``problems`` say
why. Only a path that cannot be read at all raises ``BadInputError``.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import stat
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goci_doctor.artifact.gobuildinfo import Buffer, Layout, buildinfo_from_layout
from goci_doctor.model import ArtifactFacts, BadInputError, GoBuildInfo, VersionNeed
from goci_doctor.safety import safeio

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

# --------------------------------------------------------------------------------------------
# Public API


def inspect_path(path: str | os.PathLike[str]) -> ArtifactFacts:
    """Inspect one file without running it.

    Raises ``BadInputError`` (one line) when the path is missing, a directory, or unreadable.
    Corrupt, truncated or non-executable files return facts with ``problems`` explaining why.
    """
    p = Path(path)
    with _MappedFile(p) as buf:
        return inspect_bytes(buf, str(p))


def inspect_bytes(data: Buffer, name: str = "<data>") -> ArtifactFacts:
    """Inspect file contents already in memory (``name`` is reported as the path)."""
    size = len(data)
    head = bytes(data[:512])
    if size == 0:
        return ArtifactFacts(
            path=name,
            size=0,
            kind="empty",
            description="empty file",
            problems=("empty file (0 bytes): the build wrote nothing",),
        )
    try:
        if head.startswith(b"\x7fELF"):
            return _inspect_elf(data, name)
        if head.startswith(b"MZ"):
            return _inspect_pe(data, name)
        if _macho_magic(head) is not None:
            return _inspect_macho(data, name)
    except (struct.error, ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:
        # Our own header readers bounds-check, but a file crafted to confuse them must still
        # give facts, never a traceback.
        kind: Any = "elf" if head.startswith(b"\x7fELF") else "pe" if head.startswith(b"MZ") else "macho"
        return ArtifactFacts(
            path=name,
            size=size,
            kind=kind,
            description=f"{kind.upper()} (corrupt headers)",
            problems=(f"corrupt: headers could not be parsed ({type(exc).__name__}: {exc})",),
        )
    return _inspect_other(data, head, name)


def iter_artifacts(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand paths to the files worth inspecting.

    Files are returned as given. Directories (e.g. a goreleaser ``dist/``) are searched
    recursively for executables: files with ELF/PE/Mach-O magic or the executable bit, skipping
    obvious non-binaries (.json, .txt, .md, archives, checksums) and VCS folders.
    Raises ``BadInputError`` for a missing path or a directory without any candidate.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        try:
            os.lstat(p)
        except FileNotFoundError:
            raise BadInputError(f"{p}: no such file or directory") from None
        except PermissionError:
            # A folder on the way is closed to us: say so, not "no such file".
            raise BadInputError(f"{p}: permission denied") from None
        except OSError as exc:
            raise BadInputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        if p.is_dir():
            try:
                os.scandir(p).close()
            except OSError as exc:
                raise BadInputError(f"{p}: cannot list this folder ({safeio.os_reason(exc)})") from None
            found = sorted(_walk_candidates(p))
            if not found:
                raise BadInputError(f"{p}: no executables found in this directory")
            items = found
        else:
            items = [p]
        for item in items:
            key = item.resolve() if item.exists() else item
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def read_go_buildinfo(source: Buffer | str | os.PathLike[str]) -> GoBuildInfo | None:
    """Go build information embedded in a binary (what ``go version -m`` prints), or None.

    ``source`` is the file's bytes or a path. Works for ELF, PE and Mach-O (thin or universal),
    both the Go 1.18+ inline layout and the older pointer-based one, without ``go`` installed.
    Returns None for non-Go binaries and for files whose layout cannot be read. The format
    readers here locate the blob; ``gobuildinfo`` decodes it.
    """
    if isinstance(source, (str, os.PathLike)):
        with _MappedFile(Path(source)) as buf:
            return read_go_buildinfo(buf)
    try:
        layout = _layout_for(source)
        if layout is None:
            return None
        return buildinfo_from_layout(source, layout)
    except (struct.error, ValueError, IndexError, KeyError, TypeError, OverflowError):
        return None


def _layout_for(buf: Buffer) -> Layout | None:
    """The segment layout of an ELF, PE or Mach-O file (the first slice of a universal binary)."""
    head = bytes(buf[:8])
    if head.startswith(b"\x7fELF"):
        return _ElfHeaders.parse(buf).layout()
    if head.startswith(b"MZ"):
        pe = _pe_headers(buf)
        return pe.layout if pe else None
    kind = _macho_magic(head)
    if kind == "fat":
        fat = _parse_fat(buf)
        if not fat:
            return None
        _cpu, offset, _size = fat[0]
        return _MachO.parse(buf, offset).layout()
    if kind is not None:
        return _MachO.parse(buf, 0).layout()
    return None


# --------------------------------------------------------------------------------------------
# Reading files


class _MappedFile:
    """A file's contents for reading, turning OS errors into BadInputError.

    Copied into a private anonymous mapping (``safeio.Snapshot``, holes skipped): a file
    truncated while it is inspected gives one line instead of SIGBUS, and a sparse 2 GB file
    costs nothing. Only files with more real data than ``safeio.SNAPSHOT_DATA_LIMIT`` are
    mapped directly (shared, no copy). A file whose size says 0 (``/proc``) is read, bounded.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._snapshot: safeio.Snapshot | None = None

    def __enter__(self) -> Buffer:
        p = self.path
        try:
            st = os.stat(p)
        except OSError as exc:
            raise _unreadable(p, exc) from None
        if stat.S_ISDIR(st.st_mode):
            raise _unreadable(p, IsADirectoryError())
        if not stat.S_ISREG(st.st_mode):
            raise BadInputError(f"{p}: not a regular file")
        try:
            fd = safeio.open_regular(p)  # non-blocking, and the type checked on what was opened
        except safeio.UnsafeInput as exc:
            raise BadInputError(f"{p}: {exc.reason}") from None
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return self._read_unsized(fd)
            if safeio.snapshot_fits(fd, size):
                self._snapshot = safeio.Snapshot(fd, size, p)
                snap = self._snapshot
                return snap.map if snap.length == size else bytes(snap.map[: snap.length])
            try:
                self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                return self._map
            except (OSError, ValueError):
                raise BadInputError(f"{p}: too large to read ({size} bytes) and cannot be mapped") from None
        except OSError as exc:
            raise _unreadable(p, exc) from None
        finally:
            os.close(fd)

    def _read_unsized(self, fd: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while total < safeio.EMPTY_STAT_READ:
            chunk = os.read(fd, safeio.EMPTY_STAT_READ - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    def __exit__(self, *exc: object) -> None:
        for m in (self._map, self._snapshot.map if self._snapshot else None):
            if m is None:
                continue
            try:
                m.close()
            except BufferError:
                # A parser still holds a view; the map is freed with it.
                pass


def _unreadable(p: Path, exc: OSError) -> BadInputError:
    # Worded for artifacts (a directory of binaries is a valid argument to inspect), unlike model.unreadable.
    if isinstance(exc, FileNotFoundError):
        return BadInputError(f"{p}: no such file or directory")
    if isinstance(exc, PermissionError):
        return BadInputError(f"{p}: permission denied")
    if isinstance(exc, IsADirectoryError):
        return BadInputError(f"{p}: is a directory (pass the binaries in it, or a file)")
    return BadInputError(f"{p}: cannot read ({exc.strerror or exc})")


_SKIP_SUFFIXES = frozenset(
    ".json .txt .md .yaml .yml .toml .sha256 .sha512 .sig .pem .asc .sbom .spdx .log .html .sh"
    " .gz .tgz .zip .xz .zst .bz2 .tar .deb .rpm .apk .a .o .h .c .go .mod .sum .py".split()
)
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__"})


def _walk_candidates(root: Path) -> Iterator[Path]:
    closed: list[Path] = []
    # A subfolder that cannot be listed is yielded too: inspect_each reports it instead of
    # silently finding "no executables" in it.
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda exc: closed.append(Path(exc.filename))):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for fname in filenames:
            p = Path(dirpath) / fname
            if p.suffix.lower() in _SKIP_SUFFIXES or fname.endswith(".sbom.json"):
                continue
            try:
                st = p.stat()
                if not stat.S_ISREG(st.st_mode):
                    continue
                with open(p, "rb") as f:
                    magic = f.read(4)
            except OSError:
                # Unreadable entries are listed so that inspecting them reports why.
                yield p
                continue
            if _is_executable_magic(magic) or (st.st_mode & 0o111 and st.st_size > 0):
                yield p
    yield from closed


def _listing_error(folder: Path) -> str:
    try:
        os.scandir(folder).close()
    except OSError as exc:
        return safeio.os_reason(exc)
    return "it changed while it was walked"


def inspect_each(paths: Sequence[Path]) -> list[ArtifactFacts]:
    """``inspect_path`` for each path; with several paths (a folder), one that cannot be read
    becomes facts whose problem says why, and the others are still inspected."""
    if len(paths) == 1:
        return [inspect_path(paths[0])]
    out: list[ArtifactFacts] = []
    for p in paths:
        try:
            out.append(inspect_path(p))
        except BadInputError as exc:
            reason = exc.message.removeprefix(f"{p}: ")
            if p.is_dir():
                reason = f"cannot list this folder ({_listing_error(p)})"
            out.append(
                ArtifactFacts(
                    path=str(p), size=0, kind="unknown", description="unreadable", problems=(f"unreadable: {reason}",)
                )
            )
    return out


def _is_executable_magic(magic: bytes) -> bool:
    return magic.startswith((b"\x7fELF", b"MZ")) or _macho_magic(magic) is not None


# --------------------------------------------------------------------------------------------
# ELF

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
class _ElfHeaders:
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
    def parse(cls, buf: Buffer) -> _ElfHeaders:
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


def _elf_arch(h: _ElfHeaders) -> tuple[str, str]:
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


def _read_dynamic(buf: Buffer, headers: _ElfHeaders) -> _DynamicFacts:
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


def _read_versions(elf: ELFFile, headers: _ElfHeaders, facts: _DynamicFacts) -> None:
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


def _inspect_elf(buf: Buffer, name: str) -> ArtifactFacts:
    h = _ElfHeaders.parse(buf)
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

    go = _safe_buildinfo(buf, h.layout)

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
    h: _ElfHeaders,
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


def _safe_buildinfo(buf: Buffer, layout: Callable[[], Layout]) -> GoBuildInfo | None:
    try:
        return buildinfo_from_layout(buf, layout())
    except (struct.error, ValueError, IndexError, KeyError, TypeError, OverflowError):
        return None


# --------------------------------------------------------------------------------------------
# PE

_PE_MACHINES: dict[int, tuple[str, str, str]] = {
    # Machine: (pe_machine, file(1)-style name, GOARCH)
    0x8664: ("AMD64", "x86-64", "amd64"),
    0x14C: ("I386", "Intel 80386", "386"),
    0xAA64: ("ARM64", "Aarch64", "arm64"),
    0x1C4: ("ARMNT", "ARMv7 Thumb", "arm"),
    0x1C0: ("ARM", "ARM", "arm"),
}
_PE_SUBSYSTEMS = {
    1: "native",
    2: "gui",
    3: "console",
    5: "os2-console",
    7: "posix-console",
    9: "windows-ce-gui",
    10: "efi-application",
    11: "efi-boot-service-driver",
    12: "efi-runtime-driver",
    13: "efi-rom",
    14: "xbox",
    16: "windows-boot-application",
}


@dataclass
class _PeHeaders:
    machine: int
    is_pe32_plus: bool
    characteristics: int
    subsystem: int
    layout: Layout
    problems: list[str]


def _pe_headers(buf: Buffer) -> _PeHeaders | None:
    """PE headers and section table read with struct (no pefile): enough for facts and build info."""
    size = len(buf)
    if size < 0x40:
        return None
    (lfanew,) = struct.unpack_from("<I", buf, 0x3C)
    if lfanew + 24 > size or bytes(buf[lfanew : lfanew + 4]) != b"PE\0\0":
        return None
    machine, nsect, _ts, _sym, _nsym, opt_size, chars = struct.unpack_from("<HHIIIHH", buf, lfanew + 4)
    opt = lfanew + 24
    problems: list[str] = []
    if opt + min(opt_size, 70) > size:
        problems.append(f"truncated: the PE optional header ends past end of file ({size} bytes)")
        return _PeHeaders(machine, False, chars, 0, Layout(), problems)
    (magic,) = struct.unpack_from("<H", buf, opt)
    plus = magic == 0x20B
    # ImageBase: 8 bytes at +24 in PE32+, 4 bytes at +28 in PE32.
    (image_base,) = struct.unpack_from(*(("<Q", buf, opt + 24) if plus else ("<I", buf, opt + 28)))
    (subsystem,) = struct.unpack_from("<H", buf, opt + 68) if opt_size >= 70 else (0,)
    sect_table = opt + opt_size
    layout = Layout()
    if sect_table + nsect * 40 > size:
        problems.append(
            f"truncated: the PE section table ends at offset {sect_table + nsect * 40} past end of file ({size} bytes)"
        )
        return _PeHeaders(machine, plus, chars, subsystem, layout, problems)
    if nsect == 0:
        problems.append("corrupt: the PE file has no sections (no code or data): not a complete executable")
    truncated_at: tuple[str, int] | None = None
    for i in range(nsect):
        sname, _vsize, va, raw_size, raw_ptr, _r, _l, _nr, _nl, schars = struct.unpack_from(
            "<8sIIIIIIHHI", buf, sect_table + i * 40
        )
        layout.segments.append((image_base + va, raw_size, raw_ptr))
        if raw_size and raw_ptr + raw_size > size and truncated_at is None:
            # A corrupt name is shown escaped, never as raw bytes in a report.
            name = sname.rstrip(b"\0").decode("ascii", "backslashreplace")
            truncated_at = (name if name.isprintable() else repr(name), raw_ptr + raw_size)
        # Go's debug/buildinfo: the first initialised, read-write data section.
        if layout.data_start is None and va and raw_size and schars & ~0x600000 == 0xC0000040:
            layout.data_start = image_base + va
    if truncated_at is not None:
        problems.append(
            f"truncated: section {truncated_at[0]} ends at offset {truncated_at[1]} past end of file ({size} bytes)"
        )
    return _PeHeaders(machine, plus, chars, subsystem, layout, problems)


def _pe_imports(buf: Buffer) -> tuple[list[str], list[str]]:
    """(imported DLL names, problems) via pefile, parsing only the import directory."""
    import pefile

    problems: list[str] = []
    try:
        pe = pefile.PE(data=buf if isinstance(buf, (bytes, mmap.mmap)) else bytes(buf), fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    except pefile.PEFormatError as exc:
        return [], [f"corrupt: PE headers rejected ({exc.value})"]
    dlls = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
        dll = entry.dll.decode("latin-1") if isinstance(entry.dll, bytes) else str(entry.dll)
        if dll not in dlls:
            dlls.append(dll)
    return dlls, problems


def _inspect_pe(buf: Buffer, name: str) -> ArtifactFacts:
    size = len(buf)
    hdr = _pe_headers(buf)
    if hdr is None:
        return ArtifactFacts(
            path=name,
            size=size,
            kind="pe",
            description="MS-DOS executable (no PE header)",
            problems=("corrupt: MZ header without a readable PE header (truncated, or a DOS program)",),
        )
    problems = list(hdr.problems)
    unknown = (f"{hdr.machine:#x}", f"machine {hdr.machine:#x}", "")
    pe_machine, machine_name, goarch = _PE_MACHINES.get(hdr.machine, unknown)
    imports: list[str] = []
    if not problems:
        try:
            imports, more = _pe_imports(buf)
            problems.extend(more)
        except Exception as exc:  # pefile raises assorted types on crafted input
            problems.append(f"corrupt: PE imports unreadable ({type(exc).__name__}: {exc})")
    lower = [d.lower() for d in imports]
    if any(d.startswith("api-ms-win-crt-") or d == "ucrtbase.dll" for d in lower):
        libc = "ucrt"
    elif any(d.startswith("msvcr") or d == "msvcrt.dll" for d in lower):
        libc = "msvcrt"
    else:
        libc = "none" if imports else ""
    go = _safe_buildinfo(buf, lambda: hdr.layout)
    subsystem = _PE_SUBSYSTEMS.get(hdr.subsystem, str(hdr.subsystem) if hdr.subsystem else "")
    is_dll = bool(hdr.characteristics & 0x2000)
    what = "DLL" if is_dll else "executable"
    sub_word = {"gui": " GUI", "console": " console"}.get(subsystem, f" ({subsystem})" if subsystem else "")
    desc = f"{'PE32+' if hdr.is_pe32_plus else 'PE32'} {machine_name} Windows{sub_word} {what}"
    if go is not None:
        desc += f", Go {go.go_version}"
    if is_dll:
        problems.append("not an executable: a Windows DLL")
    return ArtifactFacts(
        path=name,
        size=size,
        kind="pe",
        description=desc,
        os="windows",
        arch=goarch,
        bits=64 if hdr.is_pe32_plus else 32,
        libc=libc,  # type: ignore[arg-type]
        pe_subsystem=subsystem,
        pe_machine=pe_machine,
        pe_imports=tuple(imports),
        go=go,
        problems=tuple(problems),
    )


# --------------------------------------------------------------------------------------------
# Mach-O

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


def _macho_magic(head: bytes) -> str | None:
    """ "32"/"64" for thin Mach-O, "fat" for universal binaries, else None."""
    if len(head) < 4:
        return None
    m = head[:4]
    if m in (b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe"):
        return "32"
    if m in (b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"):
        return "64"
    if m in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") and len(head) >= 8:
        # 0xCAFEBABE is also a Java class file: its next word is a version number (45+),
        # while a universal binary counts a handful of architectures.
        (count,) = struct.unpack_from(">I", head, 4)
        return "fat" if 0 < count < 30 else None
    return None


def _parse_fat(buf: Buffer) -> list[tuple[int, int, int]]:
    """(cputype, offset, size) of each slice of a universal binary."""
    magic, count = struct.unpack_from(">II", buf, 0)
    wide = magic == 0xCAFEBABF
    entsize = 32 if wide else 20
    slices = []
    for i in range(min(count, 30)):
        at = 8 + i * entsize
        if at + entsize > len(buf):
            break
        if wide:
            cpu, _sub, off, sz, _align, _res = struct.unpack_from(">iiQQII", buf, at)
        else:
            cpu, _sub, off, sz, _align = struct.unpack_from(">iiIII", buf, at)
        slices.append((cpu & 0xFFFFFFFF, off, sz))
    return slices


@dataclass
class _MachO:
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
    def parse(cls, buf: Buffer, base: int) -> _MachO:
        m = cls(base=base)
        size = len(buf)
        head = bytes(buf[base : base + 32])
        kind = _macho_magic(head)
        if kind not in ("32", "64") or len(head) < 28:
            m.problems.append(f"truncated: Mach-O header at offset {base} is cut short")
            return m
        e = ">" if head[0] == 0xFE else "<"
        m.bits = 64 if kind == "64" else 32
        m.cputype, _sub, m.filetype, ncmds, sizeofcmds, _flags = struct.unpack_from(e + "IiIIII", head, 4)
        at = base + (32 if m.bits == 64 else 28)
        end = at + sizeofcmds
        if end > size:
            m.problems.append(f"truncated: load commands end at offset {end} past end of file ({size} bytes)")
            return m
        for _ in range(min(ncmds, 100000)):
            if at + 8 > end:
                break
            cmd, cmdsize = struct.unpack_from(e + "II", buf, at)
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
            segname, vmaddr, _vmsize, fileoff, filesize, maxprot, initprot, nsects, _f = struct.unpack_from(
                seg_fmt, buf, at + 8
            )
            name = segname.rstrip(b"\0").decode("latin-1")
            self.segments.append((name, vmaddr, filesize, self.base + fileoff, maxprot, initprot))
            sect_at = at + 8 + struct.calcsize(seg_fmt)
            sect_fmt = e + ("16s16sQQIIIIIIII" if wide else "16s16sIIIIIIIII")
            sect_size = struct.calcsize(sect_fmt)
            for i in range(min(nsects, (cmdsize - (sect_at - at)) // sect_size)):
                sectname, _seg, addr, *_rest = struct.unpack_from(sect_fmt, buf, sect_at + i * sect_size)
                if sectname.rstrip(b"\0") == b"__go_buildinfo":
                    self.buildinfo_addr = addr
        elif cmd in _LC_DYLIB_KINDS or cmd == _LC_LOAD_DYLINKER:
            (name_off,) = struct.unpack_from(e + "I", buf, at + 8)
            raw = bytes(buf[at + name_off : at + cmdsize]).split(b"\0", 1)[0].decode("utf-8", "replace")
            if cmd == _LC_LOAD_DYLINKER:
                self.dylinker = raw
            else:
                self.dylibs.append(raw)
        elif cmd == _LC_BUILD_VERSION:
            _platform, minos = struct.unpack_from(e + "II", buf, at + 8)
            self.min_os = f"{minos >> 16}.{(minos >> 8) & 0xFF}"
        elif cmd == _LC_VERSION_MIN_MACOSX:
            (minos,) = struct.unpack_from(e + "I", buf, at + 8)
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


def _inspect_macho(buf: Buffer, name: str) -> ArtifactFacts:
    size = len(buf)
    kind = _macho_magic(bytes(buf[:8]))
    problems: list[str] = []
    if kind == "fat":
        slices = _parse_fat(buf)
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
        m = _MachO.parse(buf, slices[0][1])
        plural = "s" if len(slices) != 1 else ""
        head = f"Mach-O universal binary with {len(slices)} architecture{plural}: [{', '.join(a[0] for a in archs)}]"
        # Several GOARCH values: comma-joined, in slice order.
        goarch = ",".join(dict.fromkeys(a[1] for a in archs if a[1]))
    else:
        m = _MachO.parse(buf, 0)
        cpu_name, goarch = _MACHO_CPUS.get(m.cputype, (f"cpu {m.cputype:#x}", ""))
        head = f"Mach-O {m.bits}-bit {cpu_name} {_MACHO_TYPES.get(m.filetype, 'file')}"
    problems.extend(m.problems)
    go = _safe_buildinfo(buf, m.layout)
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


# --------------------------------------------------------------------------------------------
# Everything that is not an executable

_ARCHIVES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip"),
)


def _inspect_other(buf: Buffer, head: bytes, name: str) -> ArtifactFacts:
    size = len(buf)

    def facts(kind: Any, description: str, problem: str, **kw: Any) -> ArtifactFacts:
        return ArtifactFacts(path=name, size=size, kind=kind, description=description, problems=(problem,), **kw)

    if head.startswith(b"#!"):
        line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        interp = line.split()[0] if line else ""
        return facts(
            "script",
            f"script, interpreter {line or '(none)'}",
            f"not a compiled binary: a script run by {interp or 'an unnamed interpreter'}",
            shebang=f"#!{line}",
        )
    if head.startswith(b"version https://git-lfs.github.com/spec/"):
        text = bytes(buf[:1024]).decode("utf-8", "replace")
        oid = re.search(r"^oid (\S+)", text, re.M)
        lfs_size = re.search(r"^size (\d+)", text, re.M)
        detail = ", ".join(x for x in (oid and oid.group(1), lfs_size and f"{lfs_size.group(1)} bytes") if x)
        return facts(
            "lfs-pointer",
            f"Git LFS pointer ({detail})" if detail else "Git LFS pointer",
            "a Git LFS pointer, not the binary: the real file was never fetched "
            "(run `git lfs pull`, or check out with LFS enabled)",
        )
    if head.startswith(b"!<arch>\n"):
        if head[8:].startswith(b"__.PKGDEF") or b"go object" in head:
            return facts(
                "archive",
                "Go package archive (ar)",
                "not an executable: a Go package archive (built a library, not package main?)",
            )
        return facts("archive", "ar archive (static library)", "not an executable: an ar archive (static library)")
    if size > 262 and bytes(buf[257:262]) == b"ustar":
        return facts("archive", "tar archive", "an archive (tar), not an executable: unpack it first")
    for magic, label in _ARCHIVES:
        if head.startswith(magic):
            return facts(
                "archive",
                f"{label} compressed data" if label not in ("zip", "7-zip") else f"{label} archive",
                f"an archive ({label}), not an executable: unpack it first",
            )
    if head.startswith(b"\0asm"):
        return facts(
            "unknown",
            "WebAssembly (wasm) binary module",
            "not a native executable: a WebAssembly module (GOOS=js or GOOS=wasip1)",
        )
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")) or (b"<html" in head.lower() and b"\0" not in head):
        text = bytes(buf[:4096]).decode("utf-8", "replace")
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        title_text = " ".join(title.group(1).split()) if title else ""
        return facts(
            "html",
            f"HTML document{f' ({title_text})' if title_text else ''}",
            "an HTML page, not a binary: probably an error page saved by a failed download"
            + (f" (title: {title_text})" if title_text else ""),
        )
    if _looks_like_text(head):
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()[:80]
        return facts("text", "text", f"not an executable: a text file (first line: {first!r})")
    if bytes(buf[:4096]).count(0) == min(size, 4096) and _all_zero(buf):
        return facts(
            "unknown",
            "data (all zero bytes)",
            f"not an executable: all {size} bytes are zero (the file was allocated but never written)",
        )
    first_bytes = " ".join(f"{b:02x}" for b in head[:8])
    return facts("unknown", "data", f"not an executable: unrecognised format (first bytes: {first_bytes})")


def _all_zero(buf: Buffer) -> bool:
    # In slices: a 2 GB file must not be copied into memory to learn it holds nothing.
    step = 1 << 20
    zero = bytes(step)
    size = len(buf)
    return all(bytes(buf[off : off + step]) == zero[: min(step, size - off)] for off in range(0, size, step))


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the end of the sample.
        if exc.start < len(head) - 4:
            return False
        text = head[: exc.start].decode("utf-8")
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n\f")
    return bool(text) and printable / len(text) > 0.95
