"""The ``goci-doctor`` command line.

A thin layer: it parses arguments, calls one handler in the core and turns ``GociError`` into
one line on stderr and a documented exit code. Handlers are imported lazily, so that
``goci-doctor inspect`` never imports Textual or the Docker SDK.

Exit codes (stable): 0 nothing wrong, 1 a crash predicted/observed or a policy violated,
2 bad usage or unreadable input (or no container engine where one is required), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from goci_doctor import __version__
from goci_doctor.model import ExitCode, GociError

# subcommand -> (module, function). Each function takes the parsed namespace and returns an exit code.
HANDLERS: dict[str, tuple[str, str]] = {
    "env": ("goci_doctor.commands", "cmd_env"),
    "inspect": ("goci_doctor.commands", "cmd_inspect"),
    "check": ("goci_doctor.commands", "cmd_check"),
    "explain": ("goci_doctor.commands", "cmd_explain"),
    "targets": ("goci_doctor.commands", "cmd_targets"),
    "run": ("goci_doctor.lab", "cmd_run"),
    "build": ("goci_doctor.builds", "cmd_build"),
    "images": ("goci_doctor.lab", "cmd_images"),
    "lint": ("goci_doctor.lint", "cmd_lint"),
    "demo": ("goci_doctor.commands", "cmd_demo"),
    "tui": ("goci_doctor.commands", "cmd_tui"),
    "history": ("goci_doctor.commands", "cmd_history"),
    "completion": ("goci_doctor.completion", "cmd_completion"),
}

FORMATS = ("text", "json", "markdown", "sarif")


def _add_format(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", "-f", choices=list(formats), default="text", help="output format (default: text)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goci-doctor",
        description="Diagnose Go builds and deploys that crash (exec format error, GLIBC_x.y not found, ...).",
        epilog="Exit codes: 0 fine, 1 problem found, 2 bad usage or unreadable input, 130 interrupted. "
        "Run without a command to open the interactive session.",
    )
    parser.add_argument("--version", action="version", version=f"goci-doctor {__version__}")
    parser.add_argument("--config", metavar="FILE", help="config file (default: the user config directory)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("env", help="gather the build environment (Go, C compilers, libc, CI, Docker)")
    _add_format(p, ("text", "json", "markdown"))

    p = sub.add_parser("inspect", help="read an artifact's format, arch, libc, GLIBC floor and Go build info")
    p.add_argument("paths", nargs="+", metavar="PATH", help="binaries or folders of binaries")
    _add_format(p, ("text", "json"))

    p = sub.add_parser("check", help="predict whether artifacts run on targets, or check a CI policy")
    p.add_argument("paths", nargs="*", metavar="PATH", help="artifacts to check")
    p.add_argument("--target", "-t", action="append", default=[], metavar="T",
                   help="deploy target (e.g. centos:7, alpine:3.20, distroless/static); repeatable")
    p.add_argument("--policy", metavar="ENV", help="check against environment ENV of the policy file")
    p.add_argument("--policy-file", metavar="FILE", help="policy file (default: .goci-policy.toml in REPO)")
    p.add_argument("--repo", metavar="DIR", default=".", help="repository whose configs the policy checks")
    p.add_argument("--env-from-ci", action="store_true", help="also check the live environment (CI variables)")
    p.add_argument("--arch", metavar="GOARCH", help="CPU architecture of the deploy machines (default: this one's)")
    p.add_argument("--cpu", metavar="LEVEL",
                   help="CPU level of the deploy machines: x86-64-v1..v4, or armv5/armv6/armv7 "
                   "(checks GOAMD64/GOARM)")
    _add_format(p)

    p = sub.add_parser("explain", help="explain a pasted crash or CI log")
    p.add_argument("log", nargs="?", default="-", metavar="LOGFILE", help="log file, or - for stdin (default)")
    _add_format(p)

    p = sub.add_parser("targets", help="list the deploy and build targets the knowledge base knows")
    _add_format(p, ("text", "json"))

    p = sub.add_parser("run", help="run an artifact in target containers and show what really happens")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", help="repeatable")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per run (default 20)")
    p.add_argument("--platform", help="container platform, e.g. linux/arm64 (needs binfmt/qemu)")
    p.add_argument("--args", dest="run_args", default="", help="arguments passed to the artifact")
    p.add_argument("--exact-images", action="store_true",
                   help="never use a local stand-in when a target's image cannot be pulled ([run] exact_images)")
    _add_format(p)

    p = sub.add_parser("build", help="rebuild a Go project as diagnostic variants and run them on targets")
    p.add_argument("project", metavar="DIR")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="as-configured, cgo-off, zig-2.17, musl-static, cross (repeatable; default: all)")
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", help="repeatable")
    p.add_argument("--allow-network", action="store_true", help="let the build container download modules")
    p.add_argument("--build-image", metavar="IMAGE", help="image to build in (default: the configured build image)")
    _add_format(p)

    p = sub.add_parser("images", help="build or list the local target images (no registry needed)")
    isub = p.add_subparsers(dest="images_command", metavar="ACTION")
    ib = isub.add_parser("build", help="build local images with debootstrap, musl and busybox")
    ib.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    ib.add_argument("--all", action="store_true", help="build every local image")
    ib.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    ib.add_argument("--write-config", action=argparse.BooleanOptionalAction, default=True,
                    help="map the logical targets (debian:bullseye, alpine:3.20, scratch, ...) to these local "
                    "images in the user config, for air-gapped machines (default: yes)")
    il = isub.add_parser("list", help="list local images and the libc each really holds")
    _add_format(il, ("text", "json"))

    p = sub.add_parser("lint", help="lint CI configs (Dockerfile, workflows, Makefile, goreleaser, go.mod)")
    p.add_argument("repo", nargs="?", default=".", metavar="REPO")
    p.add_argument("--policy", metavar="ENV", help="also apply the rules of policy environment ENV")
    p.add_argument("--policy-file", metavar="FILE")
    _add_format(p, ("text", "json", "sarif", "github"))

    p = sub.add_parser("demo", help="walk through the classic failures with recorded real evidence")
    p.add_argument("--scenario", metavar="NAME", help="start at one scenario (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--text", action="store_true", help="print the walkthrough instead of opening the TUI")

    p = sub.add_parser("tui", help="open the interactive session")
    p.add_argument("path", nargs="?", metavar="PATH", help="artifact to start with")
    p.add_argument("--log", metavar="FILE", help="start from a crash or CI log")
    p.add_argument("--project", metavar="DIR", help="start from a Go project")
    p.add_argument("--report", metavar="FILE", help="replay an exported JSON report")

    p = sub.add_parser("history", help="list or show saved sessions")
    p.add_argument("entry", nargs="?", metavar="ID", help="session to show")
    _add_format(p, ("text", "json", "markdown"))

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"], metavar="SHELL", help="bash, zsh or fish")
    return parser


def _resolve(command: str) -> Callable[[argparse.Namespace], int]:
    module_name, func_name = HANDLERS[command]
    module = importlib.import_module(module_name)
    func: Callable[[argparse.Namespace], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["tui", *(argv or [])])
    try:
        return int(_resolve(args.command)(args))
    except GociError as exc:
        print(f"goci-doctor: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("goci-doctor: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
