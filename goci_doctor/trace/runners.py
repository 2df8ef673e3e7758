"""The two ways a trace runs: bpftrace (the command forked first and held at a gate until the
tracer has attached, so its very first exec is seen; or a --pid tree, or the whole machine) and
strace (following the command or the --pid tree through its output file), with their options.

Imports: hostenv.tracers, model, trace.parse, trace.procs, trace.rootfs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from goci_doctor.hostenv import tracers as engines
from goci_doctor.model import GociError
from goci_doctor.trace.parse import Assembler, BpftraceParser, StraceParser
from goci_doctor.trace.procs import StderrTee, alive, cwd_of, descendants, spawn_gated, wait_child
from goci_doctor.trace.rootfs import RootKeeper

READY_TIMEOUT_S = 60.0
"""bpftrace needs a few seconds to parse BTF and attach; beyond this it is considered stuck."""


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
        # The same options as for a command (argv strings up to 4096 bytes, not strace's 32).
        cmd = engines.strace_command(str(out), pids=descendants(opts.pid))
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
