"""``goci-doctor build DIR``: rebuild a Go project as diagnostic variants and run them on targets.

The lab (``lab.builds``) and the Docker SDK are imported only when it runs; the matrix is
rendered by ``render.builds``.

Imports: cli.common, config, hostenv.engines, lab.builds, lab.fleet, render.builds, safety.safetext.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from goci_doctor.cli.common import add_format, emit, output_format, target_arg


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("build", help="rebuild a Go project as diagnostic variants and run them on targets")
    p.add_argument("project", metavar="DIR")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="as-configured, cgo-off, zig-2.17, musl-static, cross (repeatable; default: all)",
    )
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", type=target_arg, help="repeatable")
    p.add_argument("--allow-network", action="store_true", help="let the build container download modules")
    p.add_argument("--build-image", metavar="IMAGE", help="image to build in (default: the configured build image)")
    p.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME",
        help="engines the variants run on (context, URL or [engines] name; repeatable)",
    )
    p.add_argument("--timeout", metavar="SECONDS", help="seconds per run of a built variant (default: [run] timeout)")
    add_format(p)


def execute(args: argparse.Namespace) -> int:
    """Rebuild as variants, run them on targets, print the matrix."""
    from goci_doctor import config as config_module
    from goci_doctor.lab import buildmatrix, builds
    from goci_doctor.render.builds import RENDERERS
    from goci_doctor.safety.safetext import clean_line

    project = builds.check_project(Path(args.project))
    names = list(getattr(args, "variant", None) or []) or None
    for name in names or ():
        buildmatrix.variant(name)
    config = config_module.load_config(getattr(args, "config", None))
    timeout = config_module.resolve_timeout(getattr(args, "timeout", None), config.run.timeout)
    targets = list(getattr(args, "target", None) or []) or list(config.default_targets)
    runner = None
    engine_names = list(getattr(args, "engine", None) or []) or list(config.engines)
    if engine_names:
        from goci_doctor.hostenv import engines
        from goci_doctor.lab import fleet

        runner = fleet.FleetRunner(fleet.assemble(engines.resolve_all(engine_names, config.engines)), config)
    matrix = builds.prove(
        project,
        targets,
        names,
        build_image=getattr(args, "build_image", None),
        allow_network=bool(getattr(args, "allow_network", False)),
        config=config,
        runner=runner,
        timeout=timeout,
    )
    emit(RENDERERS[output_format(args)](matrix), args, announce=False)
    failed = matrix.unrun
    if failed:
        print(
            f"goci-doctor: {len(failed)} run(s) could not start: {clean_line(failed[0].error or failed[0].message)}",
            file=sys.stderr,
        )
    return buildmatrix.exit_code(matrix)
