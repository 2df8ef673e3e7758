"""``goci-doctor inspect PATH...``: an artifact's format, arch, libc, GLIBC floor and Go build info.

Must start fast (a benchmark and a subprocess test watch it): ``artifact`` and ``render`` are
imported only when it runs, never Textual or the Docker SDK.

Imports: artifact, cli.common, model, render.documents, render.text.
"""

from __future__ import annotations

import argparse

from goci_doctor.cli.common import add_format, emit, emit_document
from goci_doctor.model import BadInputError, ExitCode

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("inspect", help="read an artifact's format, arch, libc, GLIBC floor and Go build info")
    p.add_argument("paths", nargs="+", metavar="PATH", help="binaries or folders of binaries")
    add_format(p, ("text", "json"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor import artifact

    paths = artifact.iter_artifacts(args.paths)
    if not paths:
        raise BadInputError("no files to inspect in " + ", ".join(args.paths))
    results = artifact.inspect_each(paths)
    if args.format == "json":
        from goci_doctor.render.documents import document

        emit_document(document("inspect", artifacts=results), args)
    else:
        from goci_doctor.render.text import artifact_lines

        blocks = ["\n".join(artifact_lines(f)) for f in results]
        emit("\n\n".join(blocks) + "\n", args)
    return ExitCode.PROBLEM if any(f.problems for f in results) else ExitCode.OK
