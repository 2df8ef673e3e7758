"""``goci-doctor explain [LOGFILE]``: explain a pasted crash or CI log.

The log is read by the one log decoder (``diagnosis.explain.logread``), imported when it runs.

Imports: cli.common, diagnosis.explain.logread, model, render.
"""

from __future__ import annotations

import argparse
from typing import Any

from goci_doctor.cli.common import add_format, emit
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("explain", help="explain a pasted crash or CI log")
    p.add_argument("log", nargs="?", default="-", metavar="LOGFILE", help="log file, or - for stdin (default)")
    add_format(p)


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.diagnosis.explain.logread import explain_file
    from goci_doctor.render import render

    result = explain_file(args.log)
    emit(render(result, args.format), args)
    return ExitCode.PROBLEM if result.has_problem else ExitCode.OK
