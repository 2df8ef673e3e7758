"""The Go build information embedded in a binary: what ``go version -m`` prints, read without ``go``.

The blob (``\\xff Go buildinf:``) sits at the start of the data the linker placed in
``.go.buildinfo`` (or the first writable segment). Its two strings — the Go version and the
module info — are inline (Go 1.18+) or behind pointers (older). Locating the blob needs the
binary's segment layout, which the ELF, PE and Mach-O readers in ``artifact`` provide as a
``Layout``; this module only decodes.

Imports: model, safety.linear, safety.redact.
"""

from __future__ import annotations

import struct

from goci_doctor.model import GoBuildInfo
from goci_doctor.safety import linear
from goci_doctor.safety.fileview import FileView

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    import mmap
    from typing import Any, TypeAlias

    Buffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap | FileView
    """What the format readers read: bytes in memory, or a file read on demand (``FileView``)."""


def unpack_from(fmt: str, buf: Buffer, offset: int) -> tuple[Any, ...]:
    """``struct.unpack_from`` that also reads a ``FileView`` (which has no buffer protocol)."""
    if isinstance(buf, FileView):
        return struct.unpack(fmt, buf[offset : offset + struct.calcsize(fmt)] if offset >= 0 else b"")
    return struct.unpack_from(fmt, buf, offset)


_SECRETISH = linear.compile(r"(?i)token|secret|pass|pwd|pw=|key|auth|credential|cookie|bearer|://[^/\s]*@")


def _redact_setting(value: str) -> str:
    """Build settings (-ldflags "-X main.token=...") can carry credentials into every report: mask them.

    The redaction patterns are only loaded when a value looks like it might hold one (start-up time).
    """
    if not _SECRETISH.search(value):
        return value
    from goci_doctor.safety.redact import redact

    return redact(value)


def parse_go_modinfo(go_version: str, modinfo: str) -> GoBuildInfo:
    """Parse the module-info text (``path``/``mod``/``dep``/``=>``/``build`` lines) into GoBuildInfo.

    A replaced module keeps its own path; its version reads ``"v1.2.3 => other/path v1.2.4"``.
    Quoted build values (``-ldflags="-s -w"``) are unquoted as Go's strconv.Unquote does.
    """
    path = main_module = main_version = ""
    deps: list[tuple[str, str]] = []
    settings: list[tuple[str, str]] = []
    last: str = ""  # "main" or "dep": which module a following "=>" line replaces
    for line in modinfo.split("\n"):
        kind, _, rest = line.partition("\t")
        if kind == "path":
            path = rest
        elif kind == "mod":
            cols = rest.split("\t")
            main_module, main_version = cols[0], cols[1] if len(cols) > 1 else ""
            last = "main"
        elif kind == "dep":
            cols = rest.split("\t")
            deps.append((cols[0], cols[1] if len(cols) > 1 else ""))
            last = "dep"
        elif kind == "=>":
            cols = rest.split("\t")
            repl = " ".join(c for c in cols[:2] if c)
            if last == "main":
                main_version = f"{main_version} => {repl}".strip()
            elif last == "dep" and deps:
                mod, ver = deps[-1]
                deps[-1] = (mod, f"{ver} => {repl}".strip())
        elif kind == "build" and rest:
            key, value = _parse_build_setting(rest)
            settings.append((key, _redact_setting(value)))
        elif kind == "go" and rest and not go_version:
            go_version = rest
    return GoBuildInfo(
        go_version=go_version,
        path=path,
        main_module=main_module,
        main_version=main_version,
        deps=tuple(deps),
        settings=tuple(settings),
    )


class Layout:
    """Where a binary's bytes land in memory, as each format's header reader describes it
    (a plain class: a dataclass costs start-up time)."""

    def __init__(self, segments: list[tuple[int, int, int]] | None = None, data_start: int | None = None) -> None:
        self.segments: list[tuple[int, int, int]] = segments if segments is not None else []
        """(virtual address, size in file, file offset)."""
        self.data_start = data_start
        """Address of the section or segment that holds the Go build info blob."""

    def read(self, buf: Buffer, addr: int, size: int) -> bytes | None:
        for vaddr, filesz, offset in self.segments:
            if filesz and vaddr <= addr < vaddr + filesz:
                n = min(size, vaddr + filesz - addr)
                start = offset + (addr - vaddr)
                return bytes(buf[start : start + n])
        return None


_BUILDINFO_MAGIC = b"\xff Go buildinf:"


def buildinfo_from_layout(buf: Buffer, layout: Layout) -> GoBuildInfo | None:
    """Decode the Go build info blob found at ``layout.data_start``; None when there is none.

    Malformed input may raise struct.error, ValueError, IndexError...: callers catch them.
    """
    if layout.data_start is None:
        return None
    data = layout.read(buf, layout.data_start, 64 * 1024)
    if not data:
        return None
    # The blob is 16-byte aligned near the start of the data (cmd/link Link.buildinfo).
    pos = 0
    while True:
        i = data.find(_BUILDINFO_MAGIC, pos)
        if i < 0 or len(data) - i < 32:
            return None
        if i % 16 == 0:
            break
        pos = i + 1
    blob = data[i:]
    ptr_size, flags = blob[14], blob[15]
    if flags & 0x2:
        vers, rest = _uvarint_string(blob[32:])
        mod, _ = _uvarint_string(rest)
    else:
        if ptr_size not in (4, 8):
            return None
        endian = ">" if flags & 0x1 else "<"
        fmt = endian + ("I" if ptr_size == 4 else "Q")

        def read_string(ptr_at: int) -> str:
            (addr,) = struct.unpack_from(fmt, blob, ptr_at)
            hdr = layout.read(buf, addr, 2 * ptr_size)
            if hdr is None or len(hdr) < 2 * ptr_size:
                return ""
            (saddr,) = struct.unpack_from(fmt, hdr, 0)
            (slen,) = struct.unpack_from(fmt, hdr, ptr_size)
            raw = layout.read(buf, saddr, slen) if slen < (1 << 24) else None
            if raw is None or len(raw) < slen:
                return ""
            return raw.decode("utf-8", "replace")

        vers = read_string(16)
        mod = read_string(16 + ptr_size)
    if not vers:
        return None
    # Strip the 16-byte sentinels around the module info (cmd/go modload.infoStart/infoEnd).
    mod = mod[16:-16] if len(mod) >= 33 and mod[-17] == "\n" else ""
    return parse_go_modinfo(vers, mod)


def _uvarint_string(data: bytes) -> tuple[str, bytes]:
    value = shift = 0
    for n, byte in enumerate(data[:10]):
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            start = n + 1
            if value >= len(data) - start:
                return "", b""
            return data[start : start + value].decode("utf-8", "replace"), data[start + value :]
    return "", b""


def _parse_build_setting(kv: str) -> tuple[str, str]:
    if kv[0] in '"`':
        key, rest = _go_unquote_prefix(kv)
        raw_value = rest[1:] if rest.startswith("=") else rest
    else:
        key, _, raw_value = kv.partition("=")
    if raw_value and raw_value[0] in '"`':
        value, _ = _go_unquote_prefix(raw_value)
    else:
        value = raw_value
    return key, value


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


def _go_unquote_prefix(s: str) -> tuple[str, str]:
    """Unquote the Go string literal at the start of ``s``; return (value, rest after it).

    Lenient: a malformed literal returns the raw text rather than failing.
    """
    quote = s[0]
    if quote == "`":
        end = s.find("`", 1)
        return (s[1:], "") if end < 0 else (s[1:end], s[end + 1 :])
    out = bytearray()
    i = 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return out.decode("utf-8", "replace"), s[i + 1 :]
        if c != "\\" or i + 1 >= len(s):
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        e = s[i + 1]
        try:
            if e in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[e])
                i += 2
            elif e == "x":
                out.append(int(s[i + 2 : i + 4], 16))
                i += 4
            elif e == "u":
                out += chr(int(s[i + 2 : i + 6], 16)).encode("utf-8", "surrogatepass")
                i += 6
            elif e == "U":
                out += chr(int(s[i + 2 : i + 10], 16)).encode("utf-8", "surrogatepass")
                i += 10
            elif e in "01234567":
                out.append(int(s[i + 1 : i + 4], 8) & 0xFF)
                i += 4
            else:
                out += ("\\" + e).encode()
                i += 2
        except ValueError:
            out += ("\\" + e).encode()
            i += 2
    return s, ""
