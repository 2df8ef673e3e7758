"""``goci-doctor targets``: the deploy and build targets the knowledge base knows.

Imports: cli.common, knowledge, model, render.documents.
"""

from __future__ import annotations

import argparse
from typing import Any

from goci_doctor.cli.common import add_format, emit, emit_document
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("targets", help="list the deploy and build targets the knowledge base knows")
    add_format(p, ("text", "json"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor import knowledge

    items = list(knowledge.targets().values())
    if args.format == "json":
        from goci_doctor.render.documents import document

        emit_document(document("targets", targets=items), args)
        return ExitCode.OK
    lines = [f"{'target':<24} {'libc':<14} {'image':<34} aliases"]
    for t in items:
        libc = t.libc if t.libc == "none" else f"{t.libc} {t.libc_version}"
        lines.append(f"{t.name:<24} {libc:<14} {t.image:<34} {', '.join(t.aliases[:4])}")
    emit("\n".join(lines) + "\n", args)
    return ExitCode.OK
