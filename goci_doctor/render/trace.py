"""``goci-doctor trace``'s output: its text timeline and its JSON document.

Everything printed passes through ``redact`` (argv can carry tokens) and has control characters
escaped (paths and argv are anyone's bytes).
Imports: ``trace.events``, ``model``, ``safety.redact``, ``render`` and ``render.documents``.
"""

from __future__ import annotations

import time
from typing import Any

from goci_doctor import __version__
from goci_doctor.model import to_jsonable
from goci_doctor.render.documents import document
from goci_doctor.safety.redact import redact
from goci_doctor.trace.events import ExecDiagnosis, ExecEvent, Trace

_MARK = {"ok": " ", "failed": "✗", "loader-failed": "✗", "not-found": "?"}


def clean(text: str) -> str:
    """``text`` with control characters shown as \\xNN, credentials masked."""
    out = "".join(ch if ch >= " " and ch != "\x7f" else f"\\x{ord(ch):02x}" for ch in text)
    return redact(out)


def _clean_json(obj: Any) -> Any:
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, list):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    return obj


def trace_document(trace: Trace) -> dict[str, Any]:
    """The ``trace`` JSON document (schema_version, kind, tool_version, has_problem, trace)."""
    return document(
        "trace", tool_version=__version__, has_problem=bool(trace.failures), trace=_clean_json(to_jsonable(trace))
    )


def _outcome(ev: ExecEvent) -> str:
    if ev.status == "loader-failed":
        return f"loader failed, exit {ev.exit_code}"
    if ev.status == "not-found":
        return "ENOENT (no such file)"
    if ev.ret:
        return ev.result
    if ev.signal:
        return f"ok, killed by {ev.signal}"
    if ev.exit_code is not None:
        return f"ok, exit {ev.exit_code}"
    return "ok, running"


def event_line(ev: ExecEvent) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(ev.time)) + f".{int(ev.time * 1000) % 1000:03d}"
    where = f" [{ev.container or 'container'}]" if ev.in_container else ""
    argv0 = "" if not ev.argv0 or ev.argv0 == ev.path else f" (argv[0] {clean(ev.argv0)})"
    return (
        f"{_MARK.get(ev.status, ' ')} {clock}  pid {ev.pid:<7} ppid {ev.ppid:<7} {clean(ev.comm)[:15]:<15} "
        f"{clean(ev.path)}{argv0}  → {_outcome(ev)}{where}"
    )


def failure_lines(i: int, d: ExecDiagnosis) -> list[str]:
    from goci_doctor.render.text import chain_lines

    ev = d.event
    lines = [
        f"{i}. pid {ev.pid} ({clean(ev.comm)}) {clean(ev.path)}: {clean(d.message)}",
        f"   file:        {clean(d.description)}",
        f"   read from:   {clean(d.resolved)}",
    ]
    if d.environment:
        lines.append(f"   environment: {d.environment}")
    if d.family:
        lines.append(f"   family:      {d.family}")
    lines += [f"   note: {clean(n)}" for n in d.notes]
    if d.chain is not None:
        lines += ["   " + clean(ln) for ln in chain_lines(d.chain)]
    return lines


def render_text(trace: Trace) -> str:
    failed = sum(1 for e in trace.events if e.status in ("failed", "loader-failed"))
    scope = "every process on this machine" if trace.scope == "system" else "the command's process tree"
    if trace.attached_pid:
        scope = f"the process tree of pid {trace.attached_pid}"
    head = [
        f"Traced {scope} with {trace.engine} for {trace.duration_s:.1f}s"
        + (f" — {' '.join(clean(a) for a in trace.command)} exited {trace.exit_code}" if trace.command else ""),
        f"Engine: {clean(trace.engine_reason)}",
        "",
    ]
    misses = f"; {trace.path_misses} PATH search misses not shown" if trace.path_misses else ""
    head.append(f"Timeline ({len(trace.events)} execs, {failed} failed{misses})")
    body = ["  " + event_line(e) for e in trace.events]
    out = head + body
    if trace.failures:
        out += ["", f"Failed execs ({len(trace.failures)})"]
        for i, d in enumerate(trace.failures, 1):
            out += ["", *failure_lines(i, d)]
    else:
        out += ["", "No exec failed."]
    if trace.notes:
        out += [""] + [f"note: {clean(n)}" for n in trace.notes]
    return "\n".join(out) + "\n"
