"""``goci-doctor images build|list``: the local target images, no registry needed.

The lab (``lab.images``) and the Docker SDK are imported only when it runs.

Imports: cli.common, hostenv.engines, lab.engine, lab.images, model, render.images, safety.safetext.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from goci_doctor.cli.common import add_format, emit, emit_document, load_config
from goci_doctor.model import ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("images", help="build or list the local target images (no registry needed)")
    isub = p.add_subparsers(dest="images_command", metavar="ACTION")
    ib = isub.add_parser("build", help="build local images with debootstrap, musl and busybox")
    ib.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    ib.add_argument("--all", action="store_true", help="build every local image")
    ib.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    ib.add_argument("--engine", metavar="NAME", help="build on this engine (context, URL or [engines] name)")
    ib.add_argument(
        "--write-config",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="map the logical targets (debian:bullseye, alpine:3.20, scratch, ...) to these local "
        "images in the user config, for air-gapped machines (default: yes)",
    )
    il = isub.add_parser("list", help="list local images and the libc each really holds")
    add_format(il, ("text", "json"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.lab import images

    action = getattr(args, "images_command", None) or "list"
    if action == "build":
        return build(args)
    infos = images.list_images()
    if getattr(args, "format", "text") == "json":
        from goci_doctor.render.images import images_document

        emit_document(images_document(infos), args, announce=False)
        return int(ExitCode.OK)
    from goci_doctor.render.images import images_text

    emit(images_text(infos), args, announce=False)
    return int(ExitCode.OK)


def build(args: argparse.Namespace) -> int:
    """``images build``: build the local images (progress on stderr), then record the image map."""
    from goci_doctor.lab import images
    from goci_doctor.safety.safetext import clean_line

    names = [] if getattr(args, "all", False) else list(getattr(args, "names", []) or [])
    client = None
    if getattr(args, "engine", None):
        from goci_doctor.hostenv import engines

        spec = engines.resolve(args.engine, getattr(load_config(args), "engines", None))
        from goci_doctor.lab.engine import connect_spec

        client = connect_spec(spec)
        print(f"building on {spec.label}", file=sys.stderr)
    built = images.build_images(
        names or None,
        force=bool(getattr(args, "force", False)),
        on_progress=lambda line: print(clean_line(line), file=sys.stderr),
        client=client,
    )
    for info in built:
        print(f"{info.ref:28} {info.libc or '-':16} {'present' if info.present else 'missing'}")
    # The map is recorded at once (a second command was easy to miss); --no-write-config skips it.
    if getattr(args, "write_config", True) and any(info.present for info in built):
        path = images.write_config_images(getattr(args, "config", None))
        print(f"wrote the local image map to {path}")
    return int(ExitCode.OK)
