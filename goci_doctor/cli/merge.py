"""``goci-doctor merge REPORT.json...``: join the JSON reports of a CI matrix into one diagnosis.

The joining and its reports are ``render.fanin``, imported when it runs.

Imports: cli.common, model, render.documents, render.fanin.
"""

from __future__ import annotations

import argparse
from typing import Any

from goci_doctor.cli.common import add_format, emit, output_format
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "merge", help="join the JSON reports of a CI matrix (run, build, report) into one diagnosis"
    )
    p.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports written by matrix jobs")
    add_format(p, ("text", "json", "markdown"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.render import fanin
    from goci_doctor.render.documents import dumps

    merged = fanin.merge_reports(list(args.reports))
    fmt = output_format(args)
    if fmt == "json":
        text = dumps(fanin.merge_document(merged))
    elif fmt == "markdown":
        text = fanin.render_markdown(merged)
    else:
        text = fanin.render_text(merged)
    # Reports come from other machines: what they carry is untrusted text like any log (emit cleans it).
    emit(text, args, announce=False)
    if merged.diagnosis.has_problem or merged.conflicts:
        return int(ExitCode.PROBLEM)
    return int(ExitCode.OK)
