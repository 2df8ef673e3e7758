"""Running a trace: the command (held at a gate until the tracer is attached), the tracer, and
the readers that turn its output into events while it runs.

The command is forked first and waits on a pipe; bpftrace gets its pid, attaches, prints its ready
line, and only then is the command released, so its very first exec is seen. If bpftrace cannot
attach, the held child (which never ran anything) is killed and strace runs the command instead,
with one line saying so. While events arrive, the root of every new mount namespace and every
failed exec's file are held open, so containers that die at once can still be read afterwards.
Imports: ``engines``, ``parse``, ``procs``, ``rootfs``, ``diagnose``, ``events`` and the core.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import posixpath
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from goci_doctor.hostenv import tracers as engines
from goci_doctor.model import GociError
from goci_doctor.safety.redact import redact
from goci_doctor.trace.diagnose import diagnose, locate
from goci_doctor.trace.events import ExecDiagnosis, ExecEvent, Trace
from goci_doctor.trace.parse import Assembler, BpftraceParser, StraceParser, _Pending
from goci_doctor.trace.procs import StderrTee, alive, cwd_of, descendants, spawn_gated, wait_child
from goci_doctor.trace.rootfs import RootKeeper

READY_TIMEOUT_S = 60.0
"""bpftrace needs a few seconds to parse BTF and attach; beyond this it is considered stuck."""
MAX_HELD = 64


@dataclass
class Options:
    command: tuple[str, ...] = ()
    pid: int = 0
    duration: float = 0.0
    system: bool = False
    engine: str = "auto"
    command_stdout: int | None = None
    """fd the command's stdout goes to (None: ours)."""
    say: Callable[[str], None] = field(default=lambda line: print(f"goci-doctor: {line}", file=sys.stderr))


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


class _Bpftrace:
    """bpftrace as a subprocess: started, waited for until attached, stopped with SIGINT."""

    def __init__(
        self, choice: engines.EngineChoice, parser: BpftraceParser, roots: Sequence[int], system: bool, workdir: str
    ) -> None:
        program = Path(workdir, "trace.bt")
        program.write_text(engines.bpftrace_program(choice, roots, system=system))
        self.parser = parser
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.proc = subprocess.Popen(
            engines.bpftrace_command(str(program)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=engines.bpftrace_env(),
            start_new_session=True,
        )
        self.ready = threading.Event()
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            if line.startswith(engines.READY):
                self.ready.set()
                continue
            self.parser.feed(line)
        self.ready.set()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if not line or line.startswith("Attaching "):
                continue
            if "RLIMIT_MEMLOCK" in line:
                # Kernels ≥ 5.11 account BPF memory to the cgroup: the limit bpftrace fails to raise is unused.
                self.warnings.append("bpftrace could not raise RLIMIT_MEMLOCK (harmless on kernels ≥ 5.11)")
            elif "WARNING" in line:
                self.warnings.append(line[:300])
            else:
                self.errors.append(line[:300])

    def wait_ready(self) -> str:
        """ "" once attached, else why bpftrace could not attach."""
        self.ready.wait(READY_TIMEOUT_S)
        if self.proc.poll() is None and self.ready.is_set():
            return ""
        self.stop()
        return "; ".join(self.errors[:3]) or f"bpftrace exited with {self.proc.returncode} before attaching"

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.join(timeout=10)
        self._err.join(timeout=10)


def run(opts: Options) -> Trace:
    """Trace as ``opts`` says; the command's stderr passes through to ours as it comes."""
    system = opts.system or (not opts.command and not opts.pid)
    choice = engines.choose(want=opts.engine, system=system, mount=True)
    if not choice.engine:
        raise GociError(f"cannot trace: {choice.reason}")
    if choice.engine == "strace":
        opts.say(f"using strace: {choice.reason}")
    keeper = RootKeeper()
    held = _Held(keeper)
    asm = Assembler(on_enter=held.on_enter, on_failed=held.on_failed)
    offset = time.time() - time.monotonic()
    started = time.time()
    notes: list[str] = []
    exit_code: int | None = None
    stderr_lines: list[str] = []
    engine = choice.engine
    reason = choice.reason
    try:
        with tempfile.TemporaryDirectory(prefix="goci-trace-") as work:
            if choice.engine == "bpftrace":
                result = _run_bpftrace(opts, choice, asm, keeper, offset, system, work, notes)
                if result is None:  # could not attach: fall back on the command's own tree
                    engine, reason = "strace", "strace fallback: " + notes.pop()
                    opts.say(f"using strace: {reason}")
                    exit_code, stderr_lines = _run_strace(opts, asm, work)
                else:
                    exit_code, stderr_lines = result
            else:
                exit_code, stderr_lines = _run_strace(opts, asm, work)
            events, failures, misses = _finish(asm, keeper, held, stderr_lines)
    finally:
        held.close()
        keeper.close()
    if asm.malformed:
        notes.append(f"{asm.malformed} tracer line(s) could not be read")
    if asm.dropped:
        notes.append(f"more than {len(events)} execs: {asm.dropped} more not kept")
    return Trace(
        engine=engine,
        engine_reason=reason,  # type: ignore[arg-type]
        scope="system" if system else "tree",
        command=tuple(redact(a) for a in opts.command),
        attached_pid=opts.pid,
        started=started,
        duration_s=round(time.time() - started, 3),
        exit_code=exit_code,
        events=tuple(events),
        failures=tuple(failures),
        path_misses=misses,
        dropped=asm.dropped,
        notes=tuple(notes),
    )


def _run_bpftrace(
    opts: Options,
    choice: engines.EngineChoice,
    asm: Assembler,
    keeper: RootKeeper,
    offset: float,
    system: bool,
    work: str,
    notes: list[str],
) -> tuple[int | None, list[str]] | None:
    asm.root_cwd = os.getcwd() if opts.command else cwd_of(opts.pid, 0)
    parser = BpftraceParser(
        asm, lambda ns: ns / 1e9 + offset, on_root=lambda pid, ns, t: keeper.grab(pid, ns, t, fresh=True)
    )
    child = 0
    gate_w = -1
    err_r = err_w = -1
    if opts.command:
        err_r, err_w = os.pipe()
        child, gate_w = spawn_gated(opts.command, opts.command_stdout, err_w)
        os.close(err_w)
        roots: list[int] = [child]
    elif opts.pid:
        if not alive(opts.pid):
            raise GociError(f"no process {opts.pid}")
        roots = descendants(opts.pid)
    else:
        roots = []
    tracer = _Bpftrace(choice, parser, roots, system, work)
    try:
        why = tracer.wait_ready()
    except BaseException:
        # Ctrl-C while attaching: bpftrace runs in its own session and would outlive us.
        tracer.stop()
        if child:
            os.close(gate_w)
            wait_child(child)
        raise
    notes.extend(tracer.warnings)
    if why:
        if child:
            os.close(gate_w)  # the held child exits without running anything
            wait_child(child)
            os.close(err_r)
        if system or not opts.command:
            raise GociError(f"bpftrace could not attach: {why}")
        notes.append(f"bpftrace could not attach ({why})")
        return None
    if not child:
        # Without a command the user triggers what is watched: tell them when it is watched.
        what = f"the process tree of pid {opts.pid}" if opts.pid else "every process on this machine"
        until = f" for {opts.duration:g}s" if opts.duration else ""
        opts.say(f"attached: watching {what}{until} (Ctrl-C stops)")
    tee = StderrTee(err_r, sys.stderr.buffer) if child else None
    exit_code: int | None = None
    try:
        if child:
            os.write(gate_w, b"g")
            os.close(gate_w)
            try:
                exit_code = wait_child(child)
            except KeyboardInterrupt:
                # The command got the same Ctrl-C: report what it did until it stopped.
                notes.append("interrupted (Ctrl-C)")
                exit_code = wait_child(child)
        else:
            deadline = time.monotonic() + opts.duration if opts.duration else None
            try:
                while (not opts.pid or alive(opts.pid)) and (deadline is None or time.monotonic() < deadline):
                    time.sleep(0.2)
            except KeyboardInterrupt:
                notes.append("stopped with Ctrl-C")
        time.sleep(0.3)  # let the last exits reach the perf buffer before the tracer stops
    finally:
        tracer.stop()
    return exit_code, tee.lines() if tee else []


def _run_strace(opts: Options, asm: Assembler, work: str) -> tuple[int | None, list[str]]:
    if not opts.command and not opts.pid:
        raise GociError("strace can only follow a command or a --pid tree, not the whole machine")
    out = Path(work, "strace.out")
    out.touch()
    parser = StraceParser(asm)
    asm.root_cwd = os.getcwd()
    if opts.command:
        cmd = engines.strace_command(str(out), opts.command)
    else:
        cmd = [
            "strace",
            "-f",
            "-q",
            "-Y",
            "-y",
            "-ttt",
            "-e",
            f"trace={engines.STRACE_TRACE}",
            "-e",
            "signal=none",
            "-o",
            str(out),
        ]
        for pid in descendants(opts.pid):
            cmd += ["-p", str(pid)]
    err_r, err_w = os.pipe()
    try:
        proc = subprocess.Popen(cmd, stdin=None, stdout=opts.command_stdout, stderr=err_w)
    except OSError as exc:
        os.close(err_r)
        raise GociError(f"cannot start strace: {exc.strerror}") from None
    finally:
        os.close(err_w)
    tee = StderrTee(err_r, sys.stderr.buffer)
    asm.root_ppid = proc.pid if opts.command else 0
    done = threading.Event()

    def follow() -> None:
        with open(out, "rb") as fh:
            buf = b""
            while True:
                chunk = fh.read(65536)
                if chunk:
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for ln in lines:
                        parser.feed(ln.decode("utf-8", "replace"))
                elif done.is_set():
                    break
                else:
                    time.sleep(0.02)
            if buf:
                parser.feed(buf.decode("utf-8", "replace"))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        if opts.duration:
            try:
                code = proc.wait(timeout=opts.duration)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                code = proc.wait()
        else:
            code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait()
        raise
    finally:
        done.set()
        reader.join(timeout=30)
    return (code if opts.command else None), tee.lines()


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
