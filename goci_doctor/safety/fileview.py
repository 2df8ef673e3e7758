"""Artifacts read on demand with ``pread``, so a file truncated while it is read can never turn
into SIGBUS as a mapping would (``FileView``), through a bounded cache of small blocks.

Imports: the standard library and ``safety.safeio`` (``UnsafeInput``, ``os_reason``).
"""

from __future__ import annotations

import errno
import os

from goci_doctor.safety.safeio import UnsafeInput, os_reason

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

SMALL_FILE = 1024 * 1024
"""Files up to this size are read whole (one read; also right for /sys files whose size lies)."""
EMPTY_STAT_READ = 1024 * 1024
"""How much is read from a file whose size says 0 (/proc and /sys files have content anyway)."""
_BLOCK = 16 * 1024  # most reads are headers and tables of a few hundred bytes to a few KB
_CACHED_BLOCKS = 256  # 4 MiB of small reads cached; large reads go straight to the file


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of the regions of a file that hold data; holes of a sparse file are skipped.

    Filesystems without SEEK_DATA report the whole file as data."""
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after pos
                break
            return [(0, size)]  # EINVAL: SEEK_DATA unsupported here
        try:
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        except OSError:
            end = size
        if end <= start:
            break
        out.append((start, end))
        pos = end
    return out


class FileView:
    """A regular file's bytes, read with ``pread`` where and when a parser looks (never mapped).

    Behaves like a read-only ``bytes`` for what the artifact readers and pefile use (``len``,
    indexing, slicing, ``find``).
    Reading a 40 MB Go binary touches a few hundred KB of it. A file that shrinks while it is read
    cannot kill the process with SIGBUS, as a mapping would: the short read raises ``UnsafeInput``
    (one line) and sets ``shrank``, which the caller checks again after parsers that swallow
    exceptions. Small reads go through a bounded cache of 16 KiB blocks. The view owns ``fd``.
    """

    def __init__(self, fd: int, size: int, path: object) -> None:
        self._fd = fd
        self._size = size
        self._path = path
        self._blocks: dict[int, bytes] = {}
        self.shrank = False

    # bytes-like
    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._size)
            if step != 1:
                raise ValueError("FileView slices take no step")
            return self._read(start, max(0, stop - start))
        index = key + self._size if key < 0 else key
        if not 0 <= index < self._size:
            raise IndexError("FileView index out of range")
        return self._read(index, 1)[0]

    def __bytes__(self) -> bytes:
        return self._read(0, self._size)

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """``bytes.find``, reading 1 MiB at a time (a search over a large file holds no copy of it)."""
        start, end, _ = slice(start, end).indices(self._size)
        step = max(1 << 20, 2 * len(sub))
        pos = start
        while pos < end:
            chunk = self._read(pos, min(end, pos + step + len(sub) - 1) - pos)
            found = chunk.find(sub)
            if found >= 0:
                return pos + found
            pos += step
        return -1 if sub or start > end else start

    def extents(self) -> list[tuple[int, int]]:
        """The regions holding data (holes of a sparse file skipped)."""
        return data_extents(self._fd, self._size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._blocks.clear()

    def _read(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self._size - offset))
        if n == 0:
            return b""
        first, last = offset // _BLOCK, (offset + n - 1) // _BLOCK
        if last - first > 1:  # large: straight from the file, not through the cache
            return self._pread(offset, n)
        parts = [self._block(b) for b in range(first, last + 1)]
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        skip = offset - first * _BLOCK
        return data[skip : skip + n]

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            if len(self._blocks) >= _CACHED_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            start = index * _BLOCK
            block = self._blocks[index] = self._pread(start, min(_BLOCK, self._size - start))
        return block

    def _pread(self, offset: int, n: int) -> bytes:
        chunks: list[bytes] = []
        got = 0
        try:
            while got < n:
                chunk = os.pread(self._fd, n - got, offset + got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except OSError as exc:
            raise UnsafeInput(self._path, os_reason(exc)) from None
        if got < n:
            self.shrank = True
            raise UnsafeInput(self._path, "the file shrank while it was read (still being written?)")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
