"""An image's or a root's filesystem, read without running anything in it.

From any read-only ``FilesystemView`` (a whole tree; ``safety.fileview.FileView`` is one file's
bytes) we learn the libc it really holds (``probe_libc``) and, lddtree-style, the loader or
DT_NEEDED libraries an artifact will miss there (``find_missing``).
The views themselves live with what provides them: a created, never started container
(``lab.containerfs``) or a traced process's root (``trace.rootfs``).

Imports: model, platforms.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Protocol

from goci_doctor import platforms
from goci_doctor.model import ArtifactFacts

# Go GOARCH → (multiarch triple, ELF machine name used by musl's loader, qemu binfmt name): the
# architectures an image's libc is looked for under, each row from the one table (platforms.py).
_ARCH = {
    a: (platforms.BY_GOARCH[a].multiarch, platforms.BY_GOARCH[a].musl, platforms.BY_GOARCH[a].qemu)
    for a in ("amd64", "arm64", "386", "arm", "riscv64", "ppc64le", "s390x")
}


MOUNT_DIR = "/goci"
"""Where the lab puts the artifact in a container: ``$ORIGIN`` when libraries are searched."""


class FilesystemView(Protocol):
    """A read-only view of a filesystem: a container's (``lab.containerfs.ContainerFS``) or a
    process's root seen from the host (``trace.rootfs``)."""

    def exists(self, path: str) -> bool: ...

    def read(self, path: str, limit: int = 16 * 1024 * 1024) -> bytes | None: ...


_GLIBC_BANNER = re.compile(rb"GNU C Library[^\n\x00]*?version (\d+\.\d+(?:\.\d+)?)")
_GLIBC_SYMVER = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\x00")
_MUSL_VERSION = re.compile(rb"\x00(1\.\d+\.\d+)\x00")
_APK_MUSL = re.compile(r"^P:musl\nV:([^\n]+)", re.M)


def glibc_version_from_bytes(data: bytes) -> str:
    """The glibc release of a libc.so.6 image ("2.31"), from its banner or its symbol versions."""
    m = _GLIBC_BANNER.search(data)
    if m:
        return m.group(1).decode()
    versions = [tuple(int(x or 0) for x in v) for v in _GLIBC_SYMVER.findall(data)]
    if versions:
        best = max(versions)
        return ".".join(str(x) for x in (best if best[2] else best[:2]))
    return ""


def musl_version_from_bytes(data: bytes) -> str:
    """musl's version string (musl embeds it for ``ldd --version``), or ""."""
    m = _MUSL_VERSION.search(data)
    return m.group(1).decode() if m else ""


def _arch_order(preferred: str) -> list[str]:
    return [preferred] + [a for a in _ARCH if a != preferred]


def probe_libc(fs: FilesystemView, arch: str = "amd64") -> str:
    """The libc an image really holds: "glibc 2.31", "musl 1.2.3", "musl (version unknown)" or "none"."""
    glibc_paths: list[str] = []
    for a in _arch_order(arch):
        triple = _ARCH[a][0]
        glibc_paths += [f"/lib/{triple}/libc.so.6", f"/usr/lib/{triple}/libc.so.6"]
    glibc_paths += ["/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"]
    for path in glibc_paths:
        if fs.exists(path):
            data = fs.read(path) or b""
            version = glibc_version_from_bytes(data)
            return f"glibc {version}" if version else "glibc (version unknown)"
    for a in _arch_order(arch):
        machine = _ARCH[a][1]
        for path in (f"/lib/ld-musl-{machine}.so.1", f"/lib/libc.musl-{machine}.so.1"):
            if fs.exists(path):
                version = musl_version_from_bytes(fs.read(path) or b"")
                if not version:
                    apk = (fs.read("/lib/apk/db/installed") or b"").decode("utf-8", "replace")
                    m = _APK_MUSL.search(apk)
                    version = m.group(1).split("-r")[0] if m else ""
                return f"musl {version}" if version else "musl (version unknown)"
    return "none"


def _search_dirs(facts: ArtifactFacts, fs: FilesystemView) -> list[str]:
    """Where the loader looks for DT_NEEDED libraries, in order (ld.so.cache is not consulted)."""
    origin = MOUNT_DIR

    def expand(paths: Sequence[str]) -> list[str]:
        out = []
        for p in paths:
            for part in p.split(":"):
                if part:
                    out.append(part.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
        return out

    dirs = [] if facts.runpath else expand(facts.rpath)
    dirs += expand(facts.runpath)
    triple, machine, _ = _ARCH.get(facts.arch, _ARCH["amd64"])
    if "ld-musl" in facts.interpreter:
        path_file = fs.read(f"/etc/ld-musl-{machine}.path") or b""
        listed = [p for p in re.split(r"[:\n]", path_file.decode("utf-8", "replace")) if p.strip()]
        dirs += listed or ["/lib", "/usr/local/lib", "/usr/lib"]
    else:
        dirs += [f"/lib/{triple}", f"/usr/lib/{triple}"]
        if facts.bits == 64:
            dirs += ["/lib64", "/usr/lib64"]
        dirs += ["/lib", "/usr/lib"]
    return dirs


# musl's loader answers for these itself (dynlink.c refuses to load another copy of libc).
MUSL_BUILTIN = re.compile(r"^lib(c|pthread|rt|m|dl|util|xnet)\.so(\.\d+)*$")


def find_missing(fs: FilesystemView, facts: ArtifactFacts) -> tuple[str, ...]:
    """The loader or DT_NEEDED libraries the artifact will not find in the image, without running it.

    Only direct dependencies are resolved; when the loader itself is missing, that is the whole
    answer (the kernel fails before any library is looked up).
    """
    if facts.kind != "elf" or not facts.interpreter:
        return ()
    if not fs.exists(facts.interpreter):
        return (facts.interpreter,)
    musl = "ld-musl" in facts.interpreter
    dirs = _search_dirs(facts, fs)
    missing = []
    for lib in facts.needed:
        if musl and MUSL_BUILTIN.match(lib):
            continue
        if "/" in lib:
            found = fs.exists(lib)
        else:
            found = any(fs.exists(posixpath.join(d, lib)) for d in dirs)
        if not found:
            missing.append(lib)
    return tuple(missing)
