"""Running a trace: the command (held at a gate until the tracer is attached), the tracer, and
the readers that turn its output into events while it runs.

The command is forked first and waits on a pipe; bpftrace gets its pid, attaches, prints its ready
line, and only then is the command released, so its very first exec is seen. If bpftrace cannot
attach, the held child (which never ran anything) is killed and strace runs the command instead,
with one line saying so. While events arrive, the root of every new mount namespace and every
failed exec's file are held open, so containers that die at once can still be read afterwards.

Here: ``run`` (which tracer, the fallback, the ``Trace`` it returns); the tracers themselves and
``Options`` are in ``runners``, what is held and made of the events in ``collect``.

Imports: ``collect`` (held files, results), ``runners`` (bpftrace and strace, the options),
``parse``, ``rootfs``, ``events``, hostenv.tracers and the core.
"""

from __future__ import annotations

import tempfile
import time

from goci_doctor.hostenv import tracers as engines
from goci_doctor.model import GociError
from goci_doctor.safety.redact import redact
from goci_doctor.trace.collect import _finish, _Held
from goci_doctor.trace.events import Trace
from goci_doctor.trace.parse import Assembler
from goci_doctor.trace.rootfs import RootKeeper
from goci_doctor.trace.runners import Options, _run_bpftrace, _run_strace

__all__ = ["Options", "run"]


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
