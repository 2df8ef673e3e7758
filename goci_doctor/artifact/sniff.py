"""Everything that is not an executable: archives, scripts, text, error pages, LFS pointers, zeros;
and ``macho_magic``, the cheap check that tells a Mach-O apart before its reader is imported.

Imports: model, safety.
"""

from __future__ import annotations

import re
import struct

from goci_doctor.model import ArtifactFacts
from goci_doctor.safety.fileview import FileView

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)

if TYPE_CHECKING:
    from typing import Any

    from goci_doctor.artifact.gobuildinfo import Buffer


_ARCHIVES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip"),
)


def inspect_other(buf: Buffer, head: bytes, name: str) -> ArtifactFacts:
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
    # In slices: a 2 GB file must not be copied into memory to learn it holds nothing; the holes
    # of a sparse file are zero without being read.
    step = 1 << 20
    zero = bytes(step)
    extents = buf.extents() if isinstance(buf, FileView) else [(0, len(buf))]
    for start, end in extents:
        for off in range(start, end, step):
            if bytes(buf[off : min(off + step, end)]) != zero[: min(step, end - off)]:
                return False
    return True


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


def macho_magic(head: bytes) -> str | None:
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
