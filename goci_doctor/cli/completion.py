"""``goci-doctor completion SHELL``: print a shell completion script (bash, zsh or fish).

The script generator (``cli.shellcomplete``, shtab) is imported only when it runs.

Imports: cli.shellcomplete, model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"], metavar="SHELL", help="bash, zsh or fish")


def execute(args: argparse.Namespace) -> int:
    """Print the completion script (install hint on stderr when stdout is a terminal)."""
    from goci_doctor.cli.shellcomplete import INSTALL_HINTS, completion_script

    sys.stdout.write(completion_script(args.shell))
    if sys.stdout.isatty():
        print(f"# install: {INSTALL_HINTS[args.shell]}", file=sys.stderr)
    return int(ExitCode.OK)
