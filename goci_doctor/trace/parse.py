"""The tracers' line output → ``ExecEvent`` records.

``BpftraceParser`` reads the tab-separated lines of the program ``engines.bpftrace_program`` writes;
``StraceParser`` reads ``strace -f -q -Y -ttt`` output. Both feed one ``Assembler``, which pairs
each exec's entry with its return and the process's exit. Every line is untrusted text (argv of any
process): fields are split, never matched with backtracking patterns; malformed lines are counted
and skipped. Imports: ``events`` only.
"""

from __future__ import annotations

import dataclasses
import posixpath
import signal as _signal
from collections.abc import Callable
from dataclasses import dataclass

from goci_doctor.trace.events import LOADER_EXIT_CODES, LOADER_WINDOW_S, ExecEvent, Status, errno_name

MAX_EVENTS = 20000
"""Execs kept per trace; beyond it they are counted, not stored (a runaway build loop stays bounded)."""


@dataclass
class _Pending:
    time: float
    pid: int
    tid: int
    ppid: int
    mnt_ns: int
    comm: str
    path: str
    syscall: str
    argv0: str = ""


@dataclass
class _Exec:
    event: ExecEvent
    exit_at: float | None = None


def decode_wait_status(raw: int) -> tuple[int | None, str]:
    """(exit code, signal name) from a kernel exit_code word ((status << 8) | signal)."""
    sig = raw & 0x7F
    if sig:
        try:
            return None, _signal.Signals(sig).name
        except ValueError:
            return None, f"signal {sig}"
    return (raw >> 8) & 0xFF, ""


class Assembler:
    """Pairs exec entries, returns and exits into events. Not thread-safe: one reader feeds it."""

    def __init__(
        self, on_enter: Callable[[_Pending], None] | None = None, on_failed: Callable[[ExecEvent], None] | None = None
    ) -> None:
        self._pending: dict[int, _Pending] = {}
        self._execs: list[_Exec] = []
        self._last_ok: dict[int, _Exec] = {}
        self._parents: dict[int, int] = {}
        self._exec_names: dict[int, str] = {}
        self._chdirs: dict[int, list[tuple[float, str]]] = {}
        self._pending_chdir: dict[int, tuple[float, int, str]] = {}
        self.root_ppid = 0
        """Parent of the first process when the tracer started it (strace), for its ppid."""
        self.root_cwd = ""
        """Working directory of the traced command itself (strace follows chdir from there)."""
        self.dropped = 0
        self.malformed = 0
        self._on_enter = on_enter
        self._on_failed = on_failed

    # -- records -------------------------------------------------------------------------
    def enter(self, p: _Pending) -> None:
        if not p.ppid:
            p.ppid = self._parents.get(p.pid, 0)
        else:
            self._parents.setdefault(p.pid, p.ppid)
        self._pending[p.tid] = p
        if self._on_enter is not None:
            self._on_enter(p)

    def argv0(self, tid: int, argv0: str) -> None:
        p = self._pending.get(tid)
        if p is not None:
            p.argv0 = argv0

    def returned(self, time: float, pid: int, tid: int, ret: int, new_path: str = "") -> None:
        p = self._pending.pop(tid, None)
        if p is None:
            return
        if len(self._execs) >= MAX_EVENTS:
            self.dropped += 1
            return
        if ret == 0:
            name = self._exec_names.pop(pid, "")
            new_path = new_path or name
        result = "ok" if ret == 0 else errno_name(ret)
        status: Status = "ok" if ret == 0 else "not-found" if result == "ENOENT" else "failed"
        ev = ExecEvent(
            time=p.time,
            pid=pid if ret == 0 else p.pid,
            ppid=p.ppid,
            comm=p.comm,
            path=p.path or new_path,
            argv0=p.argv0,
            ret=ret,
            result=result,
            status=status,
            mnt_ns=p.mnt_ns,
            syscall="execveat" if p.syscall == "execveat" else "execve",
        )
        rec = _Exec(ev)
        self._execs.append(rec)
        if ret == 0:
            self._last_ok[ev.pid] = rec
        elif self._on_failed is not None:
            self._on_failed(ev)

    def exec_path(self, pid: int, path: str) -> None:
        """The kernel's own name of what a successful exec runs (fills a path str() could not copy)."""
        self._exec_names[pid] = path

    def forked(self, parent: int, child: int) -> None:
        self._parents[child] = parent

    def exited(
        self, time: float, pid: int, raw_status: int | None = None, *, code: int | None = None, sig: str = ""
    ) -> None:
        rec = self._last_ok.pop(pid, None)
        if rec is None:
            return
        if raw_status is not None:
            code, sig = decode_wait_status(raw_status)
        after = max(0.0, time - rec.event.time)
        status: Status = rec.event.status
        # 126/127 is what a shell reports; ld.so itself exits 127 for a missing library and 1 for a
        # missing symbol version. Candidates only: the diagnosis confirms them or puts them back to ok.
        if code in LOADER_EXIT_CODES and after <= LOADER_WINDOW_S:
            status = "loader-failed"
        rec.event = dataclasses.replace(
            rec.event, exit_code=code, signal=sig, exited_after_s=round(after, 6), status=status
        )

    def chdir_enter(self, time: float, pid: int, tid: int, path: str) -> None:
        self._pending_chdir[tid] = (time, pid, path)

    def chdir_return(self, tid: int, ret: int) -> None:
        entry = self._pending_chdir.pop(tid, None)
        if entry is not None and ret == 0:
            self.chdir(*entry)

    def chdir(self, time: float, pid: int, path: str) -> None:
        if not path.startswith("/"):
            path = posixpath.normpath(posixpath.join(self.cwd_at(pid, time) or "/", path))
        self._chdirs.setdefault(pid, []).append((time, path))

    def cwd_at(self, pid: int, time: float) -> str:
        """The working directory of ``pid`` at ``time`` from the chdirs seen, inherited over fork."""
        for _ in range(64):
            for t, path in reversed(self._chdirs.get(pid, ())):
                if t <= time:
                    return path
            parent = self._parents.get(pid)
            if parent is None:
                return self.root_cwd
            pid = parent
        return ""

    def events(self) -> list[ExecEvent]:
        out = []
        for r in self._execs:
            ev = r.event
            if not ev.ppid and (ev.pid in self._parents or self.root_ppid):
                # vfork: the child's exec is printed before the parent learns its pid.
                ev = r.event = dataclasses.replace(ev, ppid=self._parents.get(ev.pid, self.root_ppid))
            out.append(ev)
        return sorted(out, key=lambda e: e.time)


def _int(text: str) -> int:
    return int(text.strip())


class BpftraceParser:
    """Lines of ``engines.bpftrace_program`` → ``Assembler`` calls. ``to_wall`` maps nsecs to epoch time."""

    def __init__(
        self, asm: Assembler, to_wall: Callable[[int], float], on_root: Callable[[int, int, float], None] | None = None
    ) -> None:
        self.asm = asm
        self.to_wall = to_wall
        self.on_root = on_root
        self.ready = False

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        if not line:
            return
        tag, _, rest = line.partition("\t")
        try:
            if tag in ("E", "EA"):
                f = rest.split("\t", 6)
                self.asm.enter(
                    _Pending(
                        time=self.to_wall(_int(f[0])),
                        pid=_int(f[1]),
                        tid=_int(f[2]),
                        ppid=_int(f[3]),
                        mnt_ns=_int(f[4]),
                        comm=f[5],
                        path=f[6],
                        syscall="execveat" if tag == "EA" else "execve",
                    )
                )
            elif tag == "A":
                tid, _, argv0 = rest.partition("\t")
                self.asm.argv0(_int(tid), argv0)
            elif tag == "R":
                f = rest.split("\t")
                self.asm.returned(self.to_wall(_int(f[0])), _int(f[1]), _int(f[2]), _int(f[3]))
            elif tag == "S":
                f = rest.split("\t", 2)
                self.asm.exec_path(_int(f[1]), f[2])
            elif tag == "Q":
                f = rest.split("\t")
                self.asm.exited(self.to_wall(_int(f[0])), _int(f[1]), _int(f[2]))
            elif tag == "F":
                parent, _, child = rest.partition("\t")
                self.asm.forked(_int(parent), _int(child))
            elif tag == "C":
                f = rest.split("\t", 3)
                self.asm.chdir_enter(self.to_wall(_int(f[0])), _int(f[1]), _int(f[2]), f[3])
            elif tag == "CR":
                tid, _, ret = rest.partition("\t")
                self.asm.chdir_return(_int(tid), _int(ret))
            elif tag == "P":
                f = rest.split("\t")
                if self.on_root is not None:
                    self.on_root(_int(f[1]), _int(f[2]), self.to_wall(_int(f[0])))
            elif line.startswith("Attaching ") or line.strip() == "GOCI-READY":
                self.ready = True
            else:
                self.asm.malformed += 1
        except (ValueError, IndexError):
            self.asm.malformed += 1


# --------------------------------------------------------------------------------------------
# strace

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "\\": "\\", '"': '"', "'": "'"}


def c_string(text: str, start: int) -> tuple[str, int]:
    """Decode the strace-quoted string starting at ``text[start] == '"'``; returns (value, index after it)."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "x" and i + 3 < n:
                try:
                    out.append(chr(int(text[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            if nxt.isdigit():
                j = i + 1
                while j < n and j < i + 4 and text[j] in "01234567":
                    j += 1
                out.append(chr(int(text[i + 1 : j], 8)))
                i = j
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), n


def _ret_value(tail: str) -> int | None:
    """The syscall result from '... = -1 ENOEXEC (Exec format error)' or '... = 0' or '= 1234<sh>'."""
    pos = tail.rfind(") = ")
    if pos < 0:
        return None
    parts = tail[pos + 4 :].split()
    if not parts:
        return None
    value = parts[0].split("<", 1)[0]
    try:
        num = int(value)
    except ValueError:
        return None
    if num == -1 and len(parts) > 1:
        import errno as _errno

        return -getattr(_errno, parts[1], 1)
    return num


class StraceParser:
    """``strace -f -q -Y -ttt`` lines → ``Assembler`` calls."""

    def __init__(self, asm: Assembler) -> None:
        self.asm = asm
        self._unfinished: dict[int, str] = {}

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        head = line.split(" ", 2)
        if len(head) < 3:
            return
        pid_part, ts_part, body = head
        try:
            pid = int(pid_part.split("<", 1)[0])
            time = float(ts_part)
        except ValueError:
            self.asm.malformed += 1
            return
        comm = pid_part[pid_part.find("<") + 1 : -1] if "<" in pid_part and pid_part.endswith(">") else ""
        if body.startswith("+++ exited with "):
            code = body[len("+++ exited with ") :].split(" ", 1)[0]
            if code.isdigit():
                self.asm.exited(time, pid, code=int(code))
            return
        if body.startswith("+++ killed by "):
            self.asm.exited(time, pid, sig=body[len("+++ killed by ") :].split(" ", 1)[0])
            return
        if body.startswith("<... ") and " resumed>" in body:
            call = body[5 : body.find(" resumed>")]
            start = self._unfinished.pop(pid, "")
            if not start:
                return
            body = start + body[body.find(" resumed>") + len(" resumed>") :]
            self._handle(time, pid, comm, call, body)
            return
        call = body.split("(", 1)[0]
        if body.endswith("<unfinished ...>"):
            self._unfinished[pid] = body[: -len("<unfinished ...>")].rstrip()
            if call in ("execve", "execveat"):
                self._enter(time, pid, comm, call, body)
            return
        if call in ("execve", "execveat"):
            self._enter(time, pid, comm, call, body)
        self._handle(time, pid, comm, call, body)

    def _enter(self, time: float, pid: int, comm: str, call: str, body: str) -> None:
        quote = body.find('"')
        if quote < 0:
            self.asm.malformed += 1
            return
        path, after = c_string(body, quote)
        argv0 = ""
        bracket = body.find("[", after)
        if bracket >= 0 and bracket + 1 < len(body) and body[bracket + 1] == '"':
            argv0, _ = c_string(body, bracket + 1)
        self.asm.enter(_Pending(time=time, pid=pid, tid=pid, ppid=0, mnt_ns=0, comm=comm, path=path, syscall=call))
        self.asm.argv0(pid, argv0)

    def _handle(self, time: float, pid: int, comm: str, call: str, body: str) -> None:
        ret = _ret_value(body)
        if ret is None:
            return
        if call in ("execve", "execveat"):
            self.asm.returned(time, pid, pid, ret)
        elif call == "chdir" and ret == 0 and '"' in body:
            self.asm.chdir(time, pid, c_string(body, body.find('"'))[0])
        elif call == "fchdir" and ret == 0 and "<" in body:
            # -y shows the directory behind the fd: fchdir(3</tmp/build>)
            self.asm.chdir(time, pid, body[body.find("<") + 1 : body.rfind(">)")])
        elif call in ("clone", "clone3", "fork", "vfork") and ret > 0:
            self.asm.forked(pid, ret)
