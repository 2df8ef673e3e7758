"""The sources a build container sees: a private copy of the project, with nothing that leads out.

The project is copied (regular files, directories, and symlinks that stay inside the tree) into
the call's build directory, which is then mounted read-only. Symlinks that point out of the
project (``go.mod -> /dev/zero``, ``vendor -> /``) and special files (FIFOs, devices, sockets)
are left out and named, so a hostile tree can neither make the build read the host's files nor
an endless device. ``.git`` is not copied (the build container has no use for it). The copy
belongs to the uid the build runs as, so the build never needs root to read it.

``build_user`` says which uid:gid that is: the invoking user, or, when goci-doctor runs as root,
the project's owner if that is not root, else nobody (65534).

Imports only the standard library and ``goci_doctor.model``.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from goci_doctor.model import BadInputError

NOBODY = (65534, 65534)
MAX_COPY_BYTES = 2 << 30
"""A project larger than this (without .git) is refused rather than copied."""
MAX_ENTRIES = 200_000
SKIP_DIRS = {".git", ".hg", ".svn"}


@dataclass
class Staged:
    """A copied project: where it is, and what was deliberately left out (path -> why)."""

    root: Path
    left_out: dict[str, str] = field(default_factory=dict)
    bytes_copied: int = 0

    def note(self) -> str:
        """One line per left-out entry, prepended to each build's output."""
        return "".join(
            f"goci-doctor: not copied into the build: {p} ({why})\n" for p, why in sorted(self.left_out.items())
        )


def build_user(project: Path) -> tuple[int, int]:
    """The uid:gid a build container runs as: never root."""
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return uid, gid
    try:
        owner = project.stat()
    except OSError:
        return NOBODY
    return (owner.st_uid, owner.st_gid) if owner.st_uid != 0 else NOBODY


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def stage_sources(project: Path, dest: Path, owner: tuple[int, int]) -> Staged:
    """Copy ``project`` into ``dest`` (created) as described in the module docstring."""
    root = os.path.realpath(project)
    staged = Staged(dest)
    dest.mkdir(parents=True)
    entries = 0
    chown = os.getuid() == 0 and owner != (0, 0)
    for current, dirs, files in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(current, root)
        target_dir = dest if rel_dir == "." else dest / rel_dir
        keep_dirs = []
        for name in sorted(dirs):
            if rel_dir == "." and name in SKIP_DIRS:
                continue
            if os.path.islink(os.path.join(current, name)):
                files.append(name)  # a symlink to a directory: judged like any other symlink below
                continue
            keep_dirs.append(name)
            (target_dir / name).mkdir()
        dirs[:] = keep_dirs
        for name in sorted(files):
            entries += 1
            if entries > MAX_ENTRIES:
                raise BadInputError(f"{project}: more than {MAX_ENTRIES} files; build a smaller module directory")
            source = os.path.join(current, name)
            shown = os.path.normpath(os.path.join(rel_dir, name))
            info = os.lstat(source)
            if stat.S_ISLNK(info.st_mode):
                resolved = os.path.realpath(source)
                if not _inside(resolved, root):
                    staged.left_out[shown] = f"a symlink out of the project, to {os.readlink(source)}"
                    continue
                try:
                    kind = os.stat(resolved).st_mode
                except OSError:
                    staged.left_out[shown] = "a dangling symlink"
                    continue
                if not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
                    staged.left_out[shown] = "a symlink to a special file"
                    continue
                os.symlink(os.path.relpath(resolved, current), target_dir / name)
                continue
            if not stat.S_ISREG(info.st_mode):
                staged.left_out[shown] = "not a regular file"
                continue
            staged.bytes_copied += info.st_size
            if staged.bytes_copied > MAX_COPY_BYTES:
                raise BadInputError(
                    f"{project}: more than {MAX_COPY_BYTES >> 30} GiB of sources; build a smaller module directory"
                )
            shutil.copyfile(source, target_dir / name, follow_symlinks=False)
            os.chmod(target_dir / name, 0o755 if info.st_mode & 0o111 else 0o644)
    if chown:
        for current, dirs, files in os.walk(dest):
            os.chown(current, *owner)
            for name in dirs + files:
                os.chown(os.path.join(current, name), *owner, follow_symlinks=False)
    return staged


def owned_dir(path: Path, owner: tuple[int, int]) -> Path:
    """``path`` created if needed and, when we are root building as another user, owned by that user.

    Only for directories goci-doctor creates for itself (its cache, a build's output): never a user's.
    """
    path.mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0 and owner != (0, 0) and path.stat().st_uid != owner[0]:
        for current, dirs, files in os.walk(path):
            os.chown(current, *owner)
            for name in dirs + files:
                os.chown(os.path.join(current, name), *owner, follow_symlinks=False)
    return path
