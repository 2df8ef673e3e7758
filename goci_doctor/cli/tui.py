"""``goci-doctor tui`` (and no command at all): open the interactive session.

Textual is imported only when the session opens.

Imports: model, tui.app.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from goci_doctor.model import BadInputError, no_such_file


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("tui", help="open the interactive session")
    p.add_argument("path", nargs="?", metavar="PATH", help="artifact to start with")
    p.add_argument("--log", metavar="FILE", help="start from a crash or CI log")
    p.add_argument("--project", metavar="DIR", help="start from a Go project")
    p.add_argument("--report", metavar="FILE", help="replay an exported JSON report")
    # SUPPRESS: without it the subcommand's default (None) would hide a global --config.
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file (as the global --config)")


def execute(args: argparse.Namespace) -> int:
    for label, value in (("PATH", args.path), ("--log", args.log), ("--report", args.report)):
        if value and not Path(value).exists():
            raise no_such_file(value, label)
    if args.project and not Path(args.project).is_dir():
        raise BadInputError(f"{args.project}: not a directory (--project)")
    if not sys.stdout.isatty():
        raise BadInputError("the interactive session needs a terminal; use inspect/check/explain for scripts")
    from goci_doctor.tui.app import run_app

    return int(run_app(path=args.path, log=args.log, project=args.project, report=args.report))
