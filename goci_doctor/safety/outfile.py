"""Where ``-o`` output goes: files we write never replace a device, a FIFO or a symlink.

``write_report(path, text)`` is the one way a report reaches a named destination:

* ``-`` is standard output; ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and
  ``/proc/self/fd/N`` write to that descriptor (as a shell would), whatever it points to;
* a regular file (new or existing, possibly behind symlinks) is written atomically next to
  its real path (temp file + fsync + rename), so a failed write keeps the old file and the
  symlink itself stays; an existing file keeps its mode (and owner, when we may), a new
  file gets ``0666 & ~umask`` like any other program's output;
* a character device or a FIFO is written through, never replaced;
* anything else (directory, block device, socket, dangling symlink) is refused with one
  ``BadInputError`` line.

Imports only the standard library and ``goci_doctor.model``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from goci_doctor.model import BadInputError

STDOUT = "-"
_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|\d+)/fd)/(\d+)")
_NAMED_FD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_KIND = {
    stat.S_IFDIR: "a directory",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def current_umask() -> int:
    """The process umask, read without changing it where the kernel tells (Linux ≥ 4.7)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # fallback: the classic set-and-restore
    os.umask(mask)
    return mask


def _descriptor_of(absolute: str) -> int | None:
    if absolute in _NAMED_FD:
        return _NAMED_FD[absolute]
    match = _FD_PATH.fullmatch(absolute)
    if match and (
        absolute.startswith(("/dev/", "/proc/self/", "/proc/thread-self/"))
        or absolute.startswith(f"/proc/{os.getpid()}/")
    ):
        return int(match.group(1))
    return None


def _descriptor(path: str) -> int | None:
    """The file descriptor a /dev/stdout-style path names (directly or via symlinks), or None."""
    current = os.path.abspath(path)
    for _hop in range(40):  # the kernel's own symlink limit
        fd = _descriptor_of(current)
        if fd is not None or not os.path.islink(current):
            return fd
        try:
            link = os.readlink(current)
        except OSError:
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def _write_descriptor(fd: int, text: str) -> None:
    if fd == 1:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if fd == 2:
        sys.stderr.write(text)
        sys.stderr.flush()
        return
    data = text.encode("utf-8")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_through(path: str, text: str) -> None:
    """Write into an existing character device or FIFO without creating or truncating anything."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # swapped between stat and open
            raise BadInputError(f"cannot write {path}: it changed while opening it")
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _write_atomic_regular(target: Path, text: str, existing: os.stat_result | None) -> None:
    directory = target.parent
    import tempfile  # only when a report is written to a file (start-up time)

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if existing is not None:
                os.fchmod(fh.fileno(), stat.S_IMODE(existing.st_mode))
                if os.geteuid() == 0 and (existing.st_uid, existing.st_gid) != (0, 0):
                    os.fchown(fh.fileno(), existing.st_uid, existing.st_gid)
            else:
                os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            os.fsync(fh.fileno())
        # Last look before the rename: a device or link swapped in meanwhile is never replaced.
        try:
            now = os.lstat(target)
        except FileNotFoundError:
            now = None
        if now is not None and not stat.S_ISREG(now.st_mode):
            raise BadInputError(f"cannot write {target}: it is no longer a regular file")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` as described in the module docstring; returns the path written."""
    name = os.fspath(path)
    if name == STDOUT:
        _write_descriptor(1, text)
        return Path(name)
    fd = _descriptor(name)
    if fd is not None:
        _write_descriptor(fd, text)
        return Path(name)
    try:
        info: os.stat_result | None = os.stat(name)
    except FileNotFoundError:
        info = None
        if os.path.islink(name):
            raise BadInputError(
                f"cannot write {name}: it is a symlink to nothing ({os.readlink(name)}); remove it or name a file"
            ) from None
    if info is None:
        _write_atomic_regular(Path(name), text, None)
        return Path(name)
    if stat.S_ISREG(info.st_mode):
        real = Path(os.path.realpath(name))  # keep symlinks: replace the file they point to
        _write_atomic_regular(real, text, info)
        return real
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        _write_through(name, text)
        return Path(name)
    kind = _KIND.get(stat.S_IFMT(info.st_mode), "not a regular file")
    raise BadInputError(f"cannot write {name}: it is {kind}, not a regular file")
