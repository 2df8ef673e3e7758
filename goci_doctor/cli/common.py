"""What the subcommand modules share: argument types, the output options, writing the report,
the config and the default targets.

Cheap to import (the parser is built from every subcommand module at start-up): ``argparse`` and
``model`` at module level, everything else (even ``safetext``, which loads the secret patterns)
inside the functions.

Imports: config, knowledge, model, records, render, render.documents, safety.safetext.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from goci_doctor.model import FORMATS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)

if TYPE_CHECKING:  # annotations only: `inspect` never builds the diagnosis records
    from typing import Any

    from goci_doctor.config import Config
    from goci_doctor.records import Target


def target_arg(value: str) -> str:
    """argparse type of ``--target``: an empty value (an unset CI variable) is a usage error."""
    if not value.strip(" ,"):
        raise argparse.ArgumentTypeError("empty target (an unset CI variable?)")
    return value


def goarch_arg(value: str) -> str:
    """argparse type of ``--arch``: a GOARCH the knowledge base knows."""
    from goci_doctor.knowledge import GO_ARCHS

    if value not in GO_ARCHS:
        raise argparse.ArgumentTypeError(f"unknown architecture {value!r} (known: {', '.join(GO_ARCHS)})")
    return value


def shell_words_arg(value: str) -> str:
    """argparse type of ``--args``: words a POSIX shell could split (balanced quotes)."""
    import shlex

    try:
        shlex.split(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc.args[0] if exc.args else exc} in {value!r}") from None
    return value


def add_format(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    """``--format/-f``, ``--json`` and ``--output/-o``."""
    p.add_argument("--format", "-f", choices=list(formats), default="text", help="output format (default: text)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")


def output_format(args: argparse.Namespace) -> str:
    """The format asked for (``text`` when the command has no ``--format``)."""
    return getattr(args, "format", "text") or "text"


def emit(text: str, args: argparse.Namespace, announce: bool = True) -> None:
    """Print to stdout, or write atomically to --output: secrets masked, controls neutralised.

    With ``announce``, a report written to a file is named on stderr.
    """
    from goci_doctor.render import write_output
    from goci_doctor.safety.safetext import clean_line, clean_output

    output = getattr(args, "output", None)
    write_output(clean_output(text, output_format(args)), output)
    if output and announce:
        print(f"wrote {clean_line(output)}", file=sys.stderr)


def emit_document(doc: dict[str, Any], args: argparse.Namespace, announce: bool = True) -> None:
    """Write a JSON document (``render.documents.document``) like ``emit``."""
    from goci_doctor.render.documents import dumps

    emit(dumps(doc), args, announce)


def load_config(args: argparse.Namespace) -> Config:
    """The config (``--config`` or the user config file)."""
    from goci_doctor import config

    return config.load_config(getattr(args, "config", None))


def default_targets(args: argparse.Namespace) -> list[str]:
    """The config's ``default_targets`` (``config.DEFAULT_TARGETS`` unless the user set their own)."""
    return list(load_config(args).default_targets)


def resolve_targets(names: list[str]) -> list[Target]:
    """Targets named on the command line (each may be a comma-separated list), without repeats."""
    from goci_doctor import knowledge

    out: list[Target] = []
    for name in names:
        for part in name.split(","):
            if part.strip():
                t = knowledge.resolve_target(part.strip())
                if t not in out:
                    out.append(t)
    return out
