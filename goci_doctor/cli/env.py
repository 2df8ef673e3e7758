"""``goci-doctor env``: gather the build environment (Go, C compilers, libc, CI, Docker).

Imports ``hostenv`` and ``render`` only when it runs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from goci_doctor.cli.common import add_format, emit, emit_document, load_config
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("env", help="gather the build environment (Go, C compilers, libc, CI, Docker)")
    add_format(p, ("text", "json", "markdown"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor import hostenv
    from goci_doctor.render.documents import document

    config = load_config(args)
    from goci_doctor.lab.engine import probe as ssh_probe

    facts = hostenv.gather(docker=True, engines=getattr(config, "engines", None), ssh_probe=ssh_probe)
    if args.format == "json":
        emit_document(document("env", env=facts, problems=hostenv.problems(facts)), args)
    elif args.format == "markdown":
        emit("# Build environment\n\n```\n" + hostenv.format_env_text(facts) + cache_text() + "```\n", args)
    else:
        emit(hostenv.format_env_text(facts) + cache_text(), args)
    return ExitCode.OK


def cache_text() -> str:
    """Where goci-doctor keeps build outputs and how much they hold (they are pruned, not kept)."""
    from goci_doctor.lab.buildplan import KEEP_BUILDS_PER_PROJECT, builds_dir

    folder = builds_dir()
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return (
        f"\nCache\n  {'build outputs':<14}{folder} ({total / 1e6:.1f} MB; newest "
        f"{KEEP_BUILDS_PER_PROJECT} builds per project kept, none older than a day)\n"
    )
