"""Static inspection of build artifacts: what a file is, for which OS and CPU, which libc it needs.

Nothing here runs the file. ELF, PE and Mach-O headers, the ELF dynamic section and symbol
versions are read directly with ``struct`` (only the parts needed, so a 40 MB Go binary is
inspected in milliseconds); pefile reads the imports of PE files, imported lazily because
``goci-doctor inspect`` start-up time matters.

A file that is not what a build should produce (empty, truncated, an HTML error page, a Git LFS
pointer, random bytes) is not an error: ``inspect_path`` returns facts whose ``problems`` say
why. Only a path that cannot be read at all raises ``BadInputError``.

This module reads files (bounded, on demand) and dispatches on the magic: ``elf``, ``pe``, ``macho``,
``sniff`` (everything else), ``gobuildinfo`` (Go's embedded build info); ``imagefs`` reads a
container image's files the same way, without running anything.
Imports: model, platforms, safety and its own submodules only.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

from goci_doctor.artifact.elf import ElfHeaders, inspect_elf
from goci_doctor.artifact.gobuildinfo import Layout, buildinfo_from_layout
from goci_doctor.artifact.sniff import inspect_other, macho_magic
from goci_doctor.model import ArtifactFacts, BadInputError, GoBuildInfo
from goci_doctor.safety import fileview, safeio

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

    from goci_doctor.artifact.gobuildinfo import Buffer

# --------------------------------------------------------------------------------------------
# Public API


def inspect_path(path: str | os.PathLike[str]) -> ArtifactFacts:
    """Inspect one file without running it.

    Raises ``BadInputError`` (one line) when the path is missing, a directory, or unreadable.
    Corrupt, truncated or non-executable files return facts with ``problems`` explaining why.
    """
    p = Path(path)
    with _ArtifactFile(p) as buf:
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
            return inspect_elf(data, name)
        # The PE and Mach-O readers are imported when such a file comes (start-up time).
        if head.startswith(b"MZ"):
            from goci_doctor.artifact.pe import inspect_pe

            return inspect_pe(data, name)
        if macho_magic(head) is not None:
            from goci_doctor.artifact.macho import inspect_macho

            return inspect_macho(data, name)
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
    return inspect_other(data, head, name)


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
        with _ArtifactFile(Path(source)) as buf:
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
        return ElfHeaders.parse(buf).layout()
    if head.startswith(b"MZ"):
        from goci_doctor.artifact.pe import pe_headers

        pe = pe_headers(buf)
        return pe.layout if pe else None
    from goci_doctor.artifact.macho import MachO, parse_fat

    kind = macho_magic(head)
    if kind == "fat":
        fat = parse_fat(buf)
        if not fat:
            return None
        _cpu, offset, _size = fat[0]
        return MachO.parse(buf, offset).layout()
    if kind is not None:
        return MachO.parse(buf, 0).layout()
    return None


# --------------------------------------------------------------------------------------------
# Reading files


class _ArtifactFile:
    """A file's contents for reading, turning OS errors into BadInputError.

    Small files (``fileview.SMALL_FILE``) are read whole; bigger ones through a ``fileview.FileView``,
    which reads with ``pread`` only the parts the parsers look at (headers, the dynamic and version
    tables, Go's build info): a 40 MB Go binary costs a few hundred KB of reads and no copy, a
    sparse 2 GB file nothing, and a file truncated while it is inspected gives one line instead of
    the SIGBUS a mapping would raise. A file whose size says 0 (``/proc``) is read, bounded.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._view: fileview.FileView | None = None

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
            if size <= fileview.SMALL_FILE:
                return self._read_small(fd, size)
        except OSError as exc:
            os.close(fd)
            raise _unreadable(p, exc) from None
        except BaseException:
            os.close(fd)
            raise
        self._view = fileview.FileView(fd, size, p)
        return self._view

    def _read_small(self, fd: int, size: int) -> bytes:
        # Read to the end, not to st_size: /proc files say 0 and /sys files claim 4096.
        limit = size or fileview.EMPTY_STAT_READ
        chunks: list[bytes] = []
        total = 0
        try:
            while total < limit:
                chunk = os.read(fd, limit - total)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        view, self._view = self._view, None
        if view is None:
            return
        view.close()
        if view.shrank and not isinstance(exc, BadInputError):
            # A parser that catches broadly (pefile does, inside) must not turn a file cut short
            # under us into "corrupt" facts: the file changed, say so.
            raise BadInputError(f"{self.path}: the file shrank while it was read (still being written?)")


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
    return magic.startswith((b"\x7fELF", b"MZ")) or macho_magic(magic) is not None
