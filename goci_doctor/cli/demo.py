"""``goci-doctor demo``: walk through the classic failures with recorded real evidence.

Opens the TUI on a terminal (Textual is imported then, and only then); ``--text`` prints the
walkthrough (``render.demo``).

Imports: lab.demo, model, render.demo, safety.safetext, tui.app.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="walk through the classic failures with recorded real evidence")
    p.add_argument("--scenario", metavar="NAME", help="start at one scenario (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--text", action="store_true", help="print the walkthrough instead of opening the TUI")


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.lab import demo

    if args.list:
        for s in demo.scenarios():
            print(f"{s.name:<24} {s.title}")
        return ExitCode.OK
    if args.scenario:
        demo.scenario(args.scenario)  # unknown name -> BadInputError before anything opens
    if args.text or not sys.stdout.isatty() or not sys.stdin.isatty():
        from goci_doctor.render.demo import render_walkthrough
        from goci_doctor.safety.safetext import clean_output

        sys.stdout.write(clean_output(render_walkthrough(args.scenario)))
        return ExitCode.OK
    from goci_doctor.tui.app import run_app

    return int(run_app(demo_scenario=args.scenario or ""))
