"""What a trace keeps while it runs and makes of its events afterwards: the files of failed execs
held open at event time (and their relative paths made absolute while the process lives), execvp's
PATH search dropped, and every failed exec diagnosed in the filesystem it saw.

Imports: hostenv (lazily, for binfmt_misc), safety.redact, trace.diagnose, trace.events,
trace.parse, trace.procs, trace.rootfs.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import posixpath
import threading

from goci_doctor.safety.redact import redact
from goci_doctor.trace.diagnose import diagnose, locate
from goci_doctor.trace.events import ExecDiagnosis, ExecEvent
from goci_doctor.trace.parse import Assembler, _Pending
from goci_doctor.trace.procs import cwd_of
from goci_doctor.trace.rootfs import RootKeeper

MAX_HELD = 64


class _Held:
    """Failed execs' files opened at event time, and relative paths made absolute while the process lives."""

    def __init__(self, keeper: RootKeeper) -> None:
        self.keeper = keeper
        self.files: dict[tuple[int, float], int] = {}
        self.absolute: dict[tuple[int, float], str] = {}
        self._cwd: dict[int, str] = {}
        self.lock = threading.Lock()

    def on_enter(self, p: _Pending) -> None:
        self.keeper.grab(p.pid, p.mnt_ns, p.time)
        if p.path and not p.path.startswith("/"):
            cwd = cwd_of(p.pid, p.ppid)
            if cwd:
                self._cwd[p.tid] = cwd

    def on_failed(self, ev: ExecEvent) -> None:
        key = (ev.pid, ev.time)
        cwd = self._cwd.pop(ev.pid, "") or (cwd_of(ev.pid, ev.ppid) if not ev.path.startswith("/") else "")
        path = posixpath.join(cwd, ev.path) if cwd and not ev.path.startswith("/") else ev.path
        with self.lock:
            self.absolute[key] = path
            if len(self.files) >= MAX_HELD or not path.startswith("/"):
                return
        fs, _ = self.keeper.fs_for(ev.mnt_ns, ev.pid, ev.time)
        if fs is None:
            return
        try:
            fd = fs.open(path)
        finally:
            fs.close()
        if fd is not None:
            with self.lock:
                self.files[key] = fd

    def close(self) -> None:
        with self.lock:
            for fd in self.files.values():
                os.close(fd)
            self.files.clear()


def _path_misses(events: list[ExecEvent]) -> tuple[list[ExecEvent], int]:
    """Drop execvp's PATH search: ENOENT tries followed by the same pid exec'ing that name elsewhere."""
    kept: list[ExecEvent] = []
    misses = 0
    later: dict[int, list[ExecEvent]] = collections.defaultdict(list)
    for ev in events:
        later[ev.pid].append(ev)
    for ev in events:
        if ev.status == "not-found" and (ev.path.startswith("/") or not ev.path):
            name = posixpath.basename(ev.path)
            # An unreadable name (str() found the page not present) counts as a miss when the same
            # process then execs something: that is the PATH search of execvp.
            if any(
                o.time >= ev.time
                and o is not ev
                and o.path != ev.path
                and (posixpath.basename(o.path) == name or (not name and o.ret == 0))
                for o in later[ev.pid]
            ):
                misses += 1
                continue
        kept.append(ev)
    return kept, misses


def _finish(
    asm: Assembler, keeper: RootKeeper, held: _Held, stderr_lines: list[str]
) -> tuple[list[ExecEvent], list[ExecDiagnosis], int]:
    from goci_doctor.hostenv import read_binfmt

    events, misses = _path_misses(asm.events())
    binfmt = read_binfmt()
    libc_cache: dict[str, str] = {}
    out: list[ExecEvent] = []
    failures: list[ExecDiagnosis] = []
    for ev in events:
        ev = dataclasses.replace(
            ev,
            in_container=bool(ev.mnt_ns and ev.mnt_ns != keeper.own_ns),
            path=redact(ev.path),
            argv0=redact(ev.argv0),
            comm=redact(ev.comm),
        )
        if ev.status in ("failed", "loader-failed", "not-found"):
            key = (ev.pid, ev.time)
            path = held.absolute.get(key, ev.path)
            if not path.startswith("/") and not ev.in_container:
                path = posixpath.join(asm.cwd_at(ev.pid, ev.time) or "/", path)
            fs, how = keeper.fs_for(ev.mnt_ns, ev.pid, ev.time)
            label = "this machine"
            if ev.in_container:
                label = fs.label if fs is not None else f"mount namespace {ev.mnt_ns}"
                ev = dataclasses.replace(ev, container=label)
            try:
                where = locate(fs, how, path, held.files.get(key))
                diag, status = diagnose(ev, where, label, stderr_lines, binfmt, libc_cache)
            finally:
                if fs is not None:
                    fs.close()
            ev = dataclasses.replace(ev, status=status)
            if diag is not None:
                failures.append(dataclasses.replace(diag, event=ev))
        out.append(ev)
    return out, failures, misses
