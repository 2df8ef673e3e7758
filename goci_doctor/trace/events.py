"""Plain data of a trace: one ``ExecEvent`` per execve/execveat, and the ``Trace`` that holds them.

Frozen dataclasses only, like ``goci_doctor.model`` (the only module imported here), so the JSON
document and its schema come from the same definitions.

Imports: model.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Literal

from goci_doctor.records import ChainNode

ExecResult = Literal["ok", "ENOEXEC", "ENOENT", "EACCES", "other"]
Status = Literal["ok", "failed", "loader-failed", "not-found"]
"""ok: the exec worked and the program did not die at once with 126/127; failed: the kernel
refused it; loader-failed: it started and exited 126/127 within a moment (loader gave up);
not-found: a PATH search miss (the file is absent), which is how execvp looks for a program."""

LOADER_WINDOW_S = 2.0
"""An exec that succeeds and exits 126/127 within this many seconds counts as a loader failure."""
LOADER_EXIT_CODES = (1, 126, 127)
"""Exit codes of a loader that gave up: 127 (library missing), 1 (glibc: a symbol version missing),
126/127 as shells report them."""


def errno_name(ret: int) -> str:
    """ "ENOEXEC" for -8: the symbolic name of a negative kernel return value."""
    return errno.errorcode.get(-ret, f"E{-ret}") if ret < 0 else ""


@dataclass(frozen=True)
class ExecEvent:
    """One execve/execveat seen by the tracer, with how it ended."""

    time: float
    """Wall-clock time of the call (seconds since the epoch)."""
    pid: int
    ppid: int
    comm: str
    """The process name before the exec (what called it)."""
    path: str
    """The file named to the kernel (as given: relative paths are relative to the process's cwd)."""
    argv0: str
    ret: int
    """The syscall's return value: 0 or a negative errno."""
    result: str
    """"ok", or the errno name: "ENOEXEC", "ENOENT", "EACCES", ..."""
    status: Status
    exit_code: int | None = None
    """Exit status of the process (after the exec) when it ended during the trace."""
    signal: str = ""
    """Signal that killed it ("SIGSEGV"), "" when it exited or is still running."""
    exited_after_s: float | None = None
    """Seconds from the exec to the process's exit."""
    mnt_ns: int = 0
    """Mount-namespace inode: differs from the tracer's own for processes in containers."""
    in_container: bool = False
    container: str = ""
    """Where the process ran when not on this machine's own filesystem: "container 0ccbfb4b017e"
    (its id from the cgroup) or "mount namespace N"."""
    syscall: Literal["execve", "execveat"] = "execve"


@dataclass(frozen=True)
class ExecDiagnosis:
    """What a failed exec was, in the filesystem the process saw, and why it failed."""

    event: ExecEvent
    resolved: str
    """How the file was reached: "/proc/4242/root/app", "copied at event time", "gone"."""
    description: str
    """The artifact inspector's one-line description, or what is known when the file is gone."""
    environment: str
    """The libc the process's filesystem holds ("glibc 2.31", "musl 1.2.3", "none") or ""."""
    family: str
    """Failure family id (families.toml), "" when none could be named."""
    message: str
    """The error as a user sees it (kernel errno text or the loader's own line from stderr)."""
    chain: ChainNode | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trace:
    """A whole trace: the engine that watched, every exec, and a diagnosis per failure."""

    engine: Literal["bpftrace", "strace"]
    engine_reason: str
    scope: Literal["tree", "system"]
    """tree: the command's (or --pid's) own process tree; system: every process on the machine."""
    command: tuple[str, ...] = ()
    attached_pid: int = 0
    started: float = 0.0
    duration_s: float = 0.0
    exit_code: int | None = None
    """The traced command's own exit status (None with --pid or --duration)."""
    events: tuple[ExecEvent, ...] = ()
    failures: tuple[ExecDiagnosis, ...] = ()
    path_misses: int = 0
    """PATH search misses left out of ``events`` (execvp trying each directory)."""
    dropped: int = 0
    """Events not kept because the trace exceeded its bound."""
    notes: tuple[str, ...] = ()
