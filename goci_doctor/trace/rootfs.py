"""A process's own filesystem, read through a directory fd on its root.

``/proc/PID/root`` is the root a process sees (its container's, for a containerised process).
An O_PATH fd on it keeps that filesystem readable after the process — and its mount namespace —
is gone, which is how a container that dies at once is still inspected. Paths are resolved here one
component at a time, symlinks relative to that root and ``..`` clamped at it, so nothing outside
the root is ever reached. ``RootFS`` offers the interface of ``lab.containerfs.ContainerFS``, so the same
libc probe and loader/library check run on a live process's files. Imports: ``imagefs`` only.
"""

from __future__ import annotations

import errno
import os
import stat as _stat
import threading
from pathlib import Path
from typing import Any

from goci_doctor.lab.containerfs import ContainerFS

MAX_READ = 512 * 1024 * 1024
"""Largest file read into memory for inspection (big Go binaries are ~100 MB)."""
MAX_ROOTS = 256
"""Namespaces whose root is kept open at once (each costs one fd)."""


def open_root(pid: int) -> int | None:
    """An O_PATH fd on the root directory process ``pid`` sees, or None when it is gone."""
    try:
        return os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None


def open_cwd(pid: int) -> int | None:
    try:
        return os.open(f"/proc/{pid}/cwd", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None


def mount_ns(pid: int | str) -> int:
    """The mount-namespace inode of a process ("self" for ours), 0 when unknown."""
    try:
        return os.stat(f"/proc/{pid}/ns/mnt").st_ino
    except OSError:
        return 0


def _unescape_mountinfo(field: str) -> str:
    r"""mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


_SKIP_MOUNTS = ("/proc", "/sys", "/dev")


def open_mounts(pid: int, root_fd: int, limit: int = 64) -> dict[str, int]:
    """O_PATH fds on every mount the process sees below its root (bind-mounted binaries, volumes).

    When a mount namespace dies its mounts are detached from one another: the root fd alone would
    then show the empty mount point where ``-v ./app:/app`` was. A fd on each mount keeps it.
    """
    try:
        text = Path(f"/proc/{pid}/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 5:
            continue
        point = _unescape_mountinfo(fields[4])
        if (
            point == "/"
            or not point.startswith("/")
            or any(point == d or point.startswith(d + "/") for d in _SKIP_MOUNTS)
        ):
            continue
        if len(out) >= limit:
            break
        try:
            out[point] = os.open(point.lstrip("/"), os.O_PATH | os.O_CLOEXEC, dir_fd=root_fd)
        except OSError:
            continue
    return out


class RootFS(ContainerFS):
    """Read-only access to the tree under a root directory fd (``ContainerFS``'s interface).

    ``mounts`` maps mount points to fds on the mounts themselves (see ``open_mounts``); the fds are
    owned by whoever made them, and closed by ``close`` only when ``owned``.
    """

    def __init__(self, root_fd: int, label: str = "", mounts: dict[str, int] | None = None, owned: bool = True) -> None:
        self.root_fd = root_fd
        self.label = label
        self.mounts = mounts or {}
        self.owned = owned

    def close(self) -> None:
        if self.owned:
            os.close(self.root_fd)
            for fd in self.mounts.values():
                os.close(fd)

    def _at(self, parts: list[str]) -> tuple[int, str]:
        """(fd, path relative to it) for the real path ``parts``: the deepest held mount wins."""
        for i in range(len(parts), 0, -1):
            fd = self.mounts.get("/" + "/".join(parts[:i]))
            if fd is not None:
                return fd, "/".join(parts[i:])
        return self.root_fd, "/".join(parts)

    def _lstat(self, parts: list[str]) -> os.stat_result:
        fd, rel = self._at(parts)
        return os.lstat(rel, dir_fd=fd) if rel else os.stat(fd)

    def _walk(self, path: str, *, follow_last: bool = True) -> list[str] | None:
        """The components of the real path (inside the root) ``path`` leads to, or None."""
        parts: list[str] = []
        todo = [p for p in path.split("/") if p not in ("", ".")]
        hops = 0
        while todo:
            name = todo.pop(0)
            if name == "..":
                if parts:
                    parts.pop()
                continue
            candidate = [*parts, name]
            try:
                st = self._lstat(candidate)
            except OSError:
                return None
            if _stat.S_ISLNK(st.st_mode) and (todo or follow_last):
                hops += 1
                if hops > 40:
                    return None
                fd, rel = self._at(candidate)
                try:
                    link = os.readlink(rel, dir_fd=fd)
                except OSError:
                    return None
                if link.startswith("/"):
                    parts = []
                todo = [p for p in link.split("/") if p not in ("", ".")] + todo
                continue
            parts = candidate
        return parts

    def stat(self, path: str) -> dict[str, Any] | None:
        parts = self._walk(path, follow_last=False)
        if parts is None:
            return None
        try:
            st = self._lstat(parts) if parts else os.stat(self.root_fd)
        except OSError:
            return None
        return {"name": parts[-1] if parts else "/", "size": st.st_size, "mode": st.st_mode}

    def resolve(self, path: str, depth: int = 0) -> str | None:
        parts = self._walk(path)
        return None if parts is None else "/" + "/".join(parts)

    def exists(self, path: str) -> bool:
        return self.resolve(path) is not None

    def open(self, path: str) -> int | None:
        """A read-only fd on the regular file ``path`` leads to, or None."""
        real = self._walk(path)
        if not real:
            return None
        base, rel = self._at(real)
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            # A bind-mounted file is itself a held mount: reopen it through its O_PATH fd.
            fd = os.open(rel, flags | os.O_NOFOLLOW, dir_fd=base) if rel else os.open(f"/proc/self/fd/{base}", flags)
        except OSError:
            return None
        if not _stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return fd

    def read(self, path: str, limit: int = 16 * 1024 * 1024) -> bytes | None:
        fd = self.open(path)
        if fd is None:
            return None
        try:
            return read_fd(fd, limit)
        finally:
            os.close(fd)


def read_fd(fd: int, limit: int = MAX_READ) -> bytes | None:
    """The whole regular file behind ``fd`` when it is at most ``limit`` bytes, else None."""
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return None
        return os.pread(fd, size, 0) if size else b""
    except OSError as exc:
        if exc.errno in (errno.EIO, errno.EINVAL):
            return None
        return None


def container_id(pid: int) -> str:
    """The short container id in a process's cgroup path (Docker, containerd, Podman), or ""."""
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        last = line.rsplit("/", 1)[-1].removesuffix(".scope")
        candidate = last.rsplit("-", 1)[-1]
        if len(candidate) == 64 and all(c in "0123456789abcdef" for c in candidate):
            return candidate[:12]
    return ""


class RootKeeper:
    """Keeps the root (and its mounts) of each mount namespace, grabbed as soon as it shows up.

    The kernel reuses a dead namespace's inode number for the next one, so each namespace number
    holds generations: a pivot_root (a container's root being set up) starts a new one, and so does
    an exec whose root is not the one kept. Lookups take the generation alive at the event's time.
    """

    def __init__(self) -> None:
        self.own_ns = mount_ns("self")
        self._roots: dict[int, list[tuple[float, int, dict[str, int], str]]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def grab(self, pid: int, ns: int, time: float, *, fresh: bool = False) -> None:
        """Keep the root of ``pid`` for namespace ``ns`` (ours needs none: our own root serves).

        ``fresh``: the namespace's root was just set up (pivot_root), so it is a new generation.
        """
        if not ns or ns == self.own_ns:
            return
        with self._lock:
            if self._count >= MAX_ROOTS:
                return
            latest = self._roots.get(ns, [])[-1:]
        fd = open_root(pid)
        if fd is None:
            return
        if latest and not fresh:
            # Same inode number: the same namespace, unless its root is another directory (reused number).
            old, new = os.fstat(latest[0][1]), os.fstat(fd)
            if (old.st_dev, old.st_ino) == (new.st_dev, new.st_ino):
                os.close(fd)
                return
        mounts = open_mounts(pid, fd)
        cid = container_id(pid)
        with self._lock:
            generation = len(self._roots.get(ns, ()))
            label = f"container {cid}" if cid else f"mount namespace {ns}"
            if not cid and generation:
                label += f" #{generation + 1}"
            self._roots.setdefault(ns, []).append((time, fd, mounts, label))
            self._count += 1

    def fs_for(self, ns: int, pid: int, time: float) -> tuple[RootFS | None, str]:
        """The filesystem a process saw at ``time``, and how it was reached (close it after use)."""
        if not ns or ns == self.own_ns:
            fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            return RootFS(fd, "this machine"), "host filesystem"
        with self._lock:
            generations = list(self._roots.get(ns, ()))
        if generations:
            usable = [g for g in generations if g[0] <= time + 0.001] or generations[:1]
            _, fd, mounts, label = usable[-1]
            return (
                RootFS(fd, label, mounts, owned=False),
                f"root of mount namespace {ns} ({label}), held open since it appeared",
            )
        live = open_root(pid)
        if live is not None:
            cid = container_id(pid)
            label = f"container {cid}" if cid else f"mount namespace {ns}"
            return RootFS(live, label, open_mounts(pid, live)), f"/proc/{pid}/root"
        return None, "gone"

    def close(self) -> None:
        with self._lock:
            for generations in self._roots.values():
                for _, fd, mounts, _label in generations:
                    os.close(fd)
                    for m in mounts.values():
                        os.close(m)
            self._roots.clear()
