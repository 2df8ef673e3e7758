"""``goci-doctor history [ID]``: list or show saved sessions (``render.history``).

Imports: cli.common, model, render, render.documents, render.history, safety.safetext.
"""

from __future__ import annotations

import argparse
from typing import Any

from goci_doctor.cli.common import add_format, emit, emit_document
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("history", help="list or show saved sessions")
    p.add_argument("entry", nargs="?", metavar="ID", help="session to show")
    add_format(p, ("text", "json", "markdown"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.render import history, render
    from goci_doctor.safety.safetext import one_line

    if args.entry:
        report = history.load_session(args.entry)
        emit(render(report, args.format), args)
        return ExitCode.OK
    entries = history.list_sessions()
    if args.format == "json":
        from goci_doctor.render.documents import document

        emit_document(document("history", sessions=entries), args)
        return ExitCode.OK
    if not entries:
        emit("no saved sessions yet\n", args)
        return ExitCode.OK
    emit("\n".join(f"{e.id}  {e.created}  {one_line(e.title)}" for e in entries) + "\n", args)
    return ExitCode.OK
