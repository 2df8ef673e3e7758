"""PE (Windows): machine, subsystem and imported DLLs, read from the headers; pefile only for imports.

Imports: model, artifact.gobuildinfo, safety.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from goci_doctor.artifact.elf import safe_buildinfo
from goci_doctor.artifact.gobuildinfo import Layout, unpack_from
from goci_doctor.model import ArtifactFacts

if TYPE_CHECKING:
    from goci_doctor.artifact.gobuildinfo import Buffer

    pass


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
class PeHeaders:
    machine: int
    is_pe32_plus: bool
    characteristics: int
    subsystem: int
    layout: Layout
    problems: list[str]


def pe_headers(buf: Buffer) -> PeHeaders | None:
    """PE headers and section table read with struct (no pefile): enough for facts and build info."""
    size = len(buf)
    if size < 0x40:
        return None
    (lfanew,) = unpack_from("<I", buf, 0x3C)
    if lfanew + 24 > size or bytes(buf[lfanew : lfanew + 4]) != b"PE\0\0":
        return None
    machine, nsect, _ts, _sym, _nsym, opt_size, chars = unpack_from("<HHIIIHH", buf, lfanew + 4)
    opt = lfanew + 24
    problems: list[str] = []
    if opt + min(opt_size, 70) > size:
        problems.append(f"truncated: the PE optional header ends past end of file ({size} bytes)")
        return PeHeaders(machine, False, chars, 0, Layout(), problems)
    (magic,) = unpack_from("<H", buf, opt)
    plus = magic == 0x20B
    # ImageBase: 8 bytes at +24 in PE32+, 4 bytes at +28 in PE32.
    (image_base,) = unpack_from(*(("<Q", buf, opt + 24) if plus else ("<I", buf, opt + 28)))
    (subsystem,) = unpack_from("<H", buf, opt + 68) if opt_size >= 70 else (0,)
    sect_table = opt + opt_size
    layout = Layout()
    if sect_table + nsect * 40 > size:
        problems.append(
            f"truncated: the PE section table ends at offset {sect_table + nsect * 40} past end of file ({size} bytes)"
        )
        return PeHeaders(machine, plus, chars, subsystem, layout, problems)
    if nsect == 0:
        problems.append("corrupt: the PE file has no sections (no code or data): not a complete executable")
    truncated_at: tuple[str, int] | None = None
    for i in range(nsect):
        sname, _vsize, va, raw_size, raw_ptr, _r, _l, _nr, _nl, schars = unpack_from(
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
    return PeHeaders(machine, plus, chars, subsystem, layout, problems)


def _pe_imports(buf: Buffer) -> tuple[list[str], list[str]]:
    """(imported DLL names, problems) via pefile, parsing only the import directory."""
    import pefile

    problems: list[str] = []
    try:
        # pefile slices its data: bytes, an mmap or a FileView serve; views are copied first.
        data = bytes(buf) if isinstance(buf, (bytearray, memoryview)) else buf
        pe = pefile.PE(data=data, fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    except pefile.PEFormatError as exc:
        return [], [f"corrupt: PE headers rejected ({exc.value})"]
    dlls = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
        dll = entry.dll.decode("latin-1") if isinstance(entry.dll, bytes) else str(entry.dll)
        if dll not in dlls:
            dlls.append(dll)
    return dlls, problems


def inspect_pe(buf: Buffer, name: str) -> ArtifactFacts:
    size = len(buf)
    hdr = pe_headers(buf)
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
    go = safe_buildinfo(buf, lambda: hdr.layout)
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
