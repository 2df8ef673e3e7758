"""``goci-doctor run PATH -t T ...``: run an artifact in target containers and show what happens.

The lab (``lab.docker``, ``lab.fleet``, ``lab.onmachine``) and the Docker SDK are imported only
when it runs; the report is ``render.runs``.

Imports: cli.common, config, lab.onmachine, lab.proof, model, render, render.documents,
render.markdown, render.runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from pathlib import Path
from typing import Any

from goci_doctor.cli.common import add_format, emit, load_config, output_format, shell_words_arg, target_arg
from goci_doctor.model import BadInputError, ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run an artifact in target containers and show what really happens")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", type=target_arg, help="repeatable")
    p.add_argument("--timeout", metavar="SECONDS", help="seconds per run (default: [run] timeout, 20)")
    p.add_argument("--platform", help="container platform, e.g. linux/arm64 (needs binfmt/qemu)")
    p.add_argument("--args", dest="run_args", default="", type=shell_words_arg, help="arguments passed to the artifact")
    p.add_argument(
        "--on-this-machine",
        action="store_true",
        help="run the artifact directly on this machine instead of a container (disposable CI "
        "runners only: refused without a CI variable unless --force); the report names the machine",
    )
    p.add_argument("--force", action="store_true", help="with --on-this-machine: run even outside CI")
    p.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME",
        help="container engine to use: a Docker context, a unix:// tcp:// or ssh:// URL, or an "
        "[engines] name; repeatable: cells go to engines native for the artifact's platform",
    )
    p.add_argument(
        "--exact-images",
        action="store_true",
        help="never use a local stand-in when a target's image cannot be pulled ([run] exact_images)",
    )
    add_format(p)


def execute(args: argparse.Namespace) -> int:
    """Run the artifact (containers, a fleet of engines, or this machine) and print what happened."""
    from goci_doctor.config import RunSettings, resolve_timeout
    from goci_doctor.lab.proof import run_artifact, run_diagnosis
    from goci_doctor.render.runs import progress_printer

    config = load_config(args)
    if getattr(args, "exact_images", False) and getattr(config, "run", None) is not None:
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, exact_images=True))
    targets = list(getattr(args, "target", None) or []) or list(getattr(config, "default_targets", None) or [])
    run_args = shlex.split(getattr(args, "run_args", "") or "")
    configured = float(getattr(getattr(config, "run", None), "timeout", RunSettings.timeout))
    timeout = resolve_timeout(getattr(args, "timeout", None), configured)
    if getattr(args, "on_this_machine", False):
        from goci_doctor.lab import onmachine

        if len(getattr(args, "target", None) or []) > 1:
            raise BadInputError("--on-this-machine runs on one machine: give at most one --target (its name)")
        facts, here = onmachine.run_for_cli(
            args.path, run_args, timeout, (getattr(args, "target", None) or [""])[0], bool(args.force)
        )
        results = [here]
    else:
        facts, results = run_artifact(
            args.path,
            targets,
            args=run_args,
            timeout=timeout,
            platform=getattr(args, "platform", None),
            config=config,
            on_event=progress_printer(),
            engines_=getattr(args, "engine", None) or (),
        )
    fmt = output_format(args)
    from goci_doctor import render
    from goci_doctor.render.documents import dumps
    from goci_doctor.render.runs import render_run, run_document

    diag = run_diagnosis(facts, results)
    if fmt == "json":
        text = dumps(run_document(facts, results, diag, artifact=Path(args.path)))
    elif fmt == "markdown":
        from goci_doctor.render.markdown import render_markdown

        text = render_markdown(diag)
    elif fmt == "sarif":
        text = render.render(diag, "sarif")
    else:
        text = render_run(facts, results, diag)
    emit(text, args, announce=False)
    if any(r.outcome == "crashes" for r in results):
        return int(ExitCode.PROBLEM)
    # A cell the engine could not run (image missing, daemon died) proves nothing: not "fine".
    return int(ExitCode.BAD_INPUT) if any(r.outcome == "error" for r in results) else int(ExitCode.OK)
