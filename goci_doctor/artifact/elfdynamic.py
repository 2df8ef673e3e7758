"""ELF dynamic linking facts: the dynamic section (DT_NEEDED, RPATH/RUNPATH, SONAME, DF_1_PIE), the
symbol versions needed (.gnu.version_r) and which symbols need them (.gnu.version, .dynsym,
.dynstr), read directly with ``struct``.

Every size and offset is checked against the file and bounded before it is read: a corrupt or
hostile table raises ``ValueError`` (or ``IndexError``/``struct.error``), which ``elf`` reports as
"corrupt: dynamic section unreadable". Large tables are not read whole: of a program's megabytes
of symbols and names, only the entries a needed version points to are.
Imports: model, artifact.gobuildinfo (the ``Buffer`` type and ``unpack_from``).
"""

from __future__ import annotations

import struct

from goci_doctor.artifact.gobuildinfo import unpack_from
from goci_doctor.model import VersionNeed

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Protocol

    from goci_doctor.artifact.gobuildinfo import Buffer

    class Headers(Protocol):
        """What the reader needs from ``elf.ElfHeaders``."""

        size: int
        bits: int
        endian: str
        phdrs: list[tuple[int, int, int, int, int, int]]
        section_index_by_type: dict[int, int]
        section_rows: list[tuple[int, int, int, int, int, int]]


PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
SHT_DYNAMIC, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 6, 0x6FFFFFFE, 0x6FFFFFFF


class DynamicFacts:
    def __init__(self) -> None:
        self.needed: list[str] = []
        self.rpath: list[str] = []
        self.runpath: list[str] = []
        self.soname = ""
        self.pie_flag = False
        self.version_needs: list[VersionNeed] = []
        self.version_by_index: dict[int, str] = {}
        self.symbols_by_version: dict[str, list[str]] = {}


_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
_DT_FLAGS_1 = 0x6FFFFFFB
_SHT_NOBITS = 8
_MAX_DYN_TAGS = 65536  # real programs have a few dozen
_MAX_VERNEED = 1 << 20  # .gnu.version_r of a real program is a few hundred bytes
_MAX_DYNSYMS = 1 << 20  # a large real program exports tens of thousands
_MAX_DYNSTR = 64 << 20


def read_dynamic(buf: Buffer, headers: Headers) -> DynamicFacts:
    """Dynamic section, .gnu.version_r and the versioned dynamic symbols, read with struct.

    Every size and offset is checked against the file and bounded before it is read; anything
    inconsistent raises ``ValueError`` (or ``IndexError``/``struct.error``), which the caller turns
    into "corrupt: dynamic section unreadable".
    """
    facts = DynamicFacts()
    tag_fmt = headers.endian + ("iI" if headers.bits == 32 else "qQ")
    tag_size = struct.calcsize(tag_fmt)
    table: tuple[int, int] | None = None  # (offset, size) of the tags
    strings: _Strings | None = None
    index = headers.section_index_by_type.get(SHT_DYNAMIC)
    if index is not None:
        _type, offset, size, link, _info, _entsize = headers.section_rows[index]
        table = (offset, size)
        strings = _Strings.of_section(buf, headers, link)
    else:
        # Section headers stripped (sstrip): the PT_DYNAMIC segment still has the tags.
        segment = next((p for p in headers.phdrs if p[0] == PT_DYNAMIC), None)
        if segment is not None:
            table = (segment[2], segment[4])
    if table is None:
        return facts
    offset, size = table
    if offset + min(size, tag_size) > headers.size:
        raise ValueError(f"the dynamic section starts past end of file (offset {offset})")
    count = min(size // tag_size, (headers.size - offset) // tag_size)
    if count > _MAX_DYN_TAGS and size // tag_size > _MAX_DYN_TAGS:
        count = _MAX_DYN_TAGS + 1
    raw = bytes(buf[offset : offset + count * tag_size])
    tags: list[tuple[int, int]] = []
    for i in range(count):
        tag, value = struct.unpack_from(tag_fmt, raw, i * tag_size)
        if tag == _DT_NULL:
            break
        if i >= _MAX_DYN_TAGS:  # a corrupt size must not loop for minutes
            raise ValueError("implausibly many dynamic section entries")
        tags.append((tag, value))
    if strings is None:
        strings = _Strings.of_address(buf, headers, tags)
    for tag, value in tags:
        if tag == _DT_NEEDED:
            facts.needed.append(strings.get(value))
        elif tag == _DT_RPATH:
            facts.rpath.extend(x for x in strings.get(value).split(":") if x)
        elif tag == _DT_RUNPATH:
            facts.runpath.extend(x for x in strings.get(value).split(":") if x)
        elif tag == _DT_SONAME:
            facts.soname = strings.get(value)
        elif tag == _DT_FLAGS_1:
            facts.pie_flag = bool(value & 0x08000000)  # DF_1_PIE
    _read_versions(buf, headers, facts)
    return facts


class _Strings:
    """A string table (.dynstr), read string by string where it is needed: a large program's
    .dynstr is megabytes (dockerd: 6.5 MB), of which a report needs a few hundred names."""

    def __init__(self, buf: Buffer, offset: int, size: int) -> None:
        self.buf = buf
        self.offset = offset
        self.size = max(0, min(size, len(buf) - offset))

    @classmethod
    def of_section(cls, buf: Buffer, headers: Headers, index: int) -> _Strings:
        sh_type, offset, size, _link, _info, _entsize = headers.section_rows[index]
        if sh_type == _SHT_NOBITS or size > _MAX_DYNSTR:
            raise ValueError(f"string table section {index} is unusable ({size} bytes)")
        return cls(buf, offset, size)

    @classmethod
    def of_address(cls, buf: Buffer, headers: Headers, tags: list[tuple[int, int]]) -> _Strings:
        addr = next((v for t, v in tags if t == _DT_STRTAB), None)
        size = next((v for t, v in tags if t == _DT_STRSZ), 1 << 20)
        if addr is None:
            return cls(buf, 0, 0)
        for p_type, _flags, offset, vaddr, filesz, _memsz in headers.phdrs:
            if p_type == PT_LOAD and vaddr <= addr < vaddr + filesz:
                return cls(buf, offset + addr - vaddr, min(size, _MAX_DYNSTR))
        raise ValueError(f"DT_STRTAB {addr:#x} is in no loadable segment")

    def get(self, offset: int) -> str:
        """The string at ``offset``; ValueError when it is past the table."""
        if not 0 <= offset < self.size:
            raise ValueError(f"string offset {offset} past the end of the string table")
        return self.name(offset)

    def name(self, offset: int) -> str:
        """The string at ``offset``, or "" when it is past the table."""
        if not 0 <= offset < self.size:
            return ""
        start, end = self.offset + offset, self.offset + self.size
        step = 256
        while True:
            chunk = bytes(self.buf[start : min(end, start + step)])
            cut = chunk.find(b"\0")
            if cut >= 0 or start + step >= end:
                return chunk[: cut if cut >= 0 else None].decode("utf-8", "replace")
            step *= 4


def _read_versions(buf: Buffer, headers: Headers, facts: DynamicFacts) -> None:
    need_index = headers.section_index_by_type.get(SHT_GNU_VERNEED)
    if need_index is None:
        return
    _type, offset, size, link, info, _entsize = headers.section_rows[need_index]
    if offset + size > headers.size or size > _MAX_VERNEED:
        raise ValueError(f".gnu.version_r ({size} bytes at offset {offset}) is past end of file or too large")
    data = bytes(buf[offset : offset + size])
    strings = _Strings.of_section(buf, headers, link)
    e = headers.endian
    budget = 10000  # version entries; a corrupt count must not make us loop for minutes
    at = 0
    for _ in range(info):  # sh_info: the number of Elf_Verneed entries
        _version, cnt, file_off, aux, next_off = struct.unpack_from(e + "HHIII", data, at)
        names = []
        aux_at = at + aux
        for _ in range(cnt):
            budget -= 1
            if budget < 0:
                raise ValueError("implausibly many symbol version entries")
            _hash, _flags, other, name_off, aux_next = struct.unpack_from(e + "IHHII", data, aux_at)
            name = strings.get(name_off)
            names.append(name)
            facts.version_by_index[other & 0x7FFF] = name
            aux_at += aux_next
        facts.version_needs.append(VersionNeed(library=strings.get(file_off), versions=tuple(names)))
        budget -= 1
        if budget < 0:
            raise ValueError("implausibly many symbol version entries")
        at += next_off
    sym_index = headers.section_index_by_type.get(SHT_GNU_VERSYM)
    if sym_index is None:
        return
    versym = headers.section_rows[sym_index]
    symtab = headers.section_rows[versym[3]]
    strsec = headers.section_rows[symtab[3]]
    entsize = _check_table(versym, symtab, strsec, headers)
    strtab = _Strings.of_section(buf, headers, symtab[3])
    # .gnu.version is a flat array of 16-bit indices parallel to .dynsym. It is read whole (its
    # size is checked against .dynsym above); .dynsym and .dynstr only where a hit points.
    raw = bytes(buf[versym[1] : versym[1] + versym[2]]) if versym[0] != _SHT_NOBITS else b""
    count = len(raw) // 2
    sym_size = symtab[2] if symtab[0] != _SHT_NOBITS else 0
    for i, version in _versioned(raw[: count * 2], e, facts.version_by_index):
        if (i + 1) * entsize > sym_size:
            continue
        (name_off,) = unpack_from(e + "I", buf, symtab[1] + i * entsize)  # st_name comes first
        facts.symbols_by_version.setdefault(version, []).append(strtab.name(name_off))


def _versioned(raw: bytes, endian: str, versions: dict[int, str]) -> list[tuple[int, str]]:
    """(symbol index, version name) of the .gnu.version entries that name a needed version, in
    symbol order.

    Most entries of a large program are its own exports (index 1; dockerd has 170,000 of them):
    instead of a Python loop over every entry, the low bytes are picked with one slice, mapped to
    1 where they could belong to a needed version, and the few candidates checked one by one.
    """
    if not versions or not raw:
        return []
    low, high = (raw[0::2], raw[1::2]) if endian == "<" else (raw[1::2], raw[0::2])
    table = bytearray(256)
    for v in versions:
        table[v & 0xFF] = 1
    wanted = bytes(table)
    marks = low.translate(wanted)
    out: list[tuple[int, str]] = []
    i = marks.find(1)
    while i >= 0:
        version = versions.get(((high[i] << 8) | low[i]) & 0x7FFF)
        if version is not None:
            out.append((i, version))
        i = marks.find(1, i + 1)
    return out


def _check_table(
    versym: tuple[int, int, int, int, int, int],
    symtab: tuple[int, int, int, int, int, int],
    strsec: tuple[int, int, int, int, int, int],
    headers: Headers,
) -> int:
    """Section sizes checked against the file and each other before anything is read: a
    .gnu.version that claims 1 GiB would otherwise be read and walked entry by entry. Returns the
    size of a .dynsym entry."""
    count = symtab[2] // (symtab[5] or 24)
    for (sh_type, offset, size, _link, _info, _entsize), label in (
        (versym, ".gnu.version"),
        (symtab, ".dynsym"),
        (strsec, ".dynstr"),
    ):
        if sh_type != _SHT_NOBITS and headers.size and offset + size > headers.size:
            raise ValueError(f"{label} ends at offset {offset + size} past end of file")
    if count > _MAX_DYNSYMS:
        raise ValueError(f".dynsym claims {count} symbols (implausibly many)")
    if versym[2] > 2 * count + 2:
        raise ValueError(f".gnu.version is {versym[2]} bytes but .dynsym has {count} symbols")
    if strsec[2] > _MAX_DYNSTR:
        raise ValueError(f".dynstr claims {strsec[2]} bytes (implausibly large)")
    return symtab[5] or (24 if headers.bits == 64 else 16)
