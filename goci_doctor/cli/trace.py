"""``goci-doctor trace -- COMMAND``: run a command and explain every exec that fails in it.

The tracer (``goci_doctor.trace``) is imported only when it runs; its output is ``render.trace``.

Imports: cli.common, model, render.trace, trace.session.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from goci_doctor.cli.common import add_format, emit, emit_document
from goci_doctor.model import BadInputError, ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "trace",
        help="run a command and explain every exec that fails in it (eBPF or strace)",
        description="Run COMMAND (or watch --pid, or the whole machine for --duration) and record "
        "every execve/execveat: bpftrace when root, strace otherwise. Each exec that fails, or "
        "whose loader gives up (exit 1/126/127 at once), gets its crash chain. Exit code 1 when an "
        "exec failed.",
    )
    p.add_argument(
        "trace_command", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS", help="the command to run and trace"
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="watch every process on the machine while COMMAND runs (containers too; eBPF only)",
    )
    p.add_argument("--pid", type=int, metavar="PID", help="attach to a running process and its descendants")
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="without a command: watch the whole machine for S seconds (with --pid: at most S)",
    )
    p.add_argument(
        "--engine",
        choices=["auto", "bpftrace", "strace"],
        default="auto",
        help="tracer (default: bpftrace when root and available, else strace)",
    )
    add_format(p, ("text", "json"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.render.trace import render_text, trace_document
    from goci_doctor.trace import session

    command = list(args.trace_command or [])
    if command and command[0] == "--":
        command = command[1:]
    if command and args.pid:
        raise BadInputError("give a command or --pid, not both")
    if not command and not args.pid and not args.duration:
        raise BadInputError("nothing to trace: give -- COMMAND ARGS, --pid PID or --duration SECONDS")
    if args.duration is not None and args.duration <= 0:
        raise BadInputError("--duration must be a positive number of seconds")
    json_to_stdout = args.format == "json" and not args.output
    opts = session.Options(
        command=tuple(command),
        pid=args.pid or 0,
        duration=args.duration or 0.0,
        system=bool(args.all),
        engine=args.engine,
        # JSON on stdout must stay parseable: the command's own stdout goes to stderr.
        command_stdout=2 if json_to_stdout else None,
    )
    trace = session.run(opts)
    if args.format == "json":
        emit_document(trace_document(trace), args)
    else:
        if not args.output:
            sys.stdout.flush()
        emit(render_text(trace), args)
    return ExitCode.PROBLEM if trace.failures else ExitCode.OK
