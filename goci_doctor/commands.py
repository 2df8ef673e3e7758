"""Handlers for the core CLI commands: env, inspect, check, explain, targets, demo, tui, history.

Each takes the argparse namespace and returns an exit code (see ``model.ExitCode``). Nothing here
imports Textual or the Docker SDK at module level.
"""

from __future__ import annotations

import argparse
import codecs
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from goci_doctor.model import (
    SCHEMA_VERSION,
    ArtifactFacts,
    BadInputError,
    Diagnosis,
    ExitCode,
    Target,
    to_jsonable,
    unreadable,
)

MAX_LOG_LINE = 64 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def emit(text: str, args: argparse.Namespace) -> None:
    """Print to stdout, or write atomically to --output."""
    from goci_doctor.render import write_output

    output = getattr(args, "output", None)
    write_output(text, output)
    if output:
        print(f"wrote {output}", file=sys.stderr)


def _config(args: argparse.Namespace) -> object | None:
    try:
        from goci_doctor import config
    except ImportError:
        return None
    return config.load_config(getattr(args, "config", None))


def default_targets(args: argparse.Namespace) -> list[str]:
    cfg = _config(args)
    targets = list(getattr(cfg, "default_targets", []) or [])
    return targets or ["ubuntu:22.04", "debian:bullseye", "centos:7", "alpine:3.20", "distroless/static"]


def resolve_targets(names: list[str]) -> list[Target]:
    from goci_doctor import knowledge

    out: list[Target] = []
    for name in names:
        for part in name.split(","):
            if part.strip():
                t = knowledge.resolve_target(part.strip())
                if t not in out:
                    out.append(t)
    return out


# --------------------------------------------------------------------------------------------


def cmd_env(args: argparse.Namespace) -> int:
    from goci_doctor import hostenv

    facts = hostenv.gather(docker=True)
    if args.format == "json":
        doc = {"schema_version": SCHEMA_VERSION, "kind": "env", "env": to_jsonable(facts),
               "problems": hostenv.problems(facts)}
        emit(json.dumps(doc, indent=2) + "\n", args)
    elif args.format == "markdown":
        emit("# Build environment\n\n```\n" + hostenv.format_env_text(facts) + "```\n", args)
    else:
        emit(hostenv.format_env_text(facts), args)
    return ExitCode.OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from goci_doctor import artifact
    from goci_doctor.render import artifact_lines

    paths = artifact.iter_artifacts(args.paths)
    if not paths:
        raise BadInputError("no files to inspect in " + ", ".join(args.paths))
    results: list[ArtifactFacts] = [artifact.inspect_path(p) for p in paths]
    if args.format == "json":
        doc = {"schema_version": SCHEMA_VERSION, "kind": "inspect", "artifacts": to_jsonable(results)}
        emit(json.dumps(doc, indent=2) + "\n", args)
    else:
        blocks = ["\n".join(artifact_lines(f)) for f in results]
        emit("\n\n".join(blocks) + "\n", args)
    return ExitCode.PROBLEM if any(f.problems for f in results) else ExitCode.OK


def cmd_check(args: argparse.Namespace) -> int:
    if args.policy:
        from goci_doctor import policy

        return int(policy.cmd_policy_check(args))
    if not args.paths:
        raise BadInputError("check needs an artifact PATH (or --policy ENV to check a CI policy)")
    from goci_doctor import artifact, diagnosis, hostenv

    targets = resolve_targets(args.target or default_targets(args))
    paths = artifact.iter_artifacts(args.paths)
    if not paths:
        raise BadInputError("no files to check in " + ", ".join(args.paths))
    binfmt = hostenv.read_binfmt()
    cpu = getattr(args, "cpu", None)
    if cpu:
        diagnosis.parse_cpu(cpu)  # a bad level is bad input before anything is inspected
    arch = getattr(args, "arch", None) or None
    # Targets the config maps to a present local image are predicted from its real filesystem.
    config = _config(args)
    diags = [diagnosis.check_artifact(artifact.inspect_path(p), targets, binfmt=binfmt, arch=arch, cpu=cpu,
                                      image_config=config)
             for p in paths]
    result = diags[0] if len(diags) == 1 else diagnosis.merge(diags, kind="artifact")
    from goci_doctor.render import render

    emit(render(result, args.format), args)
    return ExitCode.PROBLEM if result.has_problem else ExitCode.OK


def _open_log(name: str) -> tuple[BinaryIO, str]:
    if name == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise BadInputError("no log on standard input (pass a LOGFILE)")
        return sys.stdin.buffer, "<stdin>"
    path = Path(name)
    try:
        return path.open("rb"), str(path)
    except OSError as exc:
        raise unreadable(path, exc, "log file") from None


def iter_log_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode a log line by line in bounded memory: any encoding, binary garbage, huge lines."""
    head = stream.read(4)
    encoding = "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(codecs.BOM_UTF8[:3]):
        head = head[3:]
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending = decoder.decode(head)
    while True:
        chunk = stream.readline(MAX_LOG_LINE) if encoding == "utf-8" else stream.read(MAX_LOG_LINE)
        if not chunk:
            break
        pending += decoder.decode(chunk)
        if "\n" not in pending and len(pending) < MAX_LOG_LINE:
            continue
        *lines, pending = pending.split("\n")
        for line in lines:
            yield _ANSI.sub("", line.rstrip("\r"))
        if len(pending) >= MAX_LOG_LINE:
            yield _ANSI.sub("", pending)
            pending = ""
    pending += decoder.decode(b"", final=True)
    if pending:
        yield _ANSI.sub("", pending.rstrip("\r"))


def explain_file(name: str) -> Diagnosis:
    from goci_doctor import explain

    stream, label = _open_log(name)
    try:
        return explain.explain_lines(iter_log_lines(stream), source=label)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def cmd_explain(args: argparse.Namespace) -> int:
    from goci_doctor.render import render

    result = explain_file(args.log)
    emit(render(result, args.format), args)
    return ExitCode.PROBLEM if result.has_problem else ExitCode.OK


def cmd_targets(args: argparse.Namespace) -> int:
    from goci_doctor import knowledge

    items = list(knowledge.targets().values())
    if args.format == "json":
        emit(json.dumps({"schema_version": SCHEMA_VERSION, "kind": "targets", "targets": to_jsonable(items)},
                        indent=2) + "\n", args)
        return ExitCode.OK
    lines = [f"{'target':<24} {'libc':<14} {'image':<34} aliases"]
    for t in items:
        libc = t.libc if t.libc == "none" else f"{t.libc} {t.libc_version}"
        lines.append(f"{t.name:<24} {libc:<14} {t.image:<34} {', '.join(t.aliases[:4])}")
    emit("\n".join(lines) + "\n", args)
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from goci_doctor import demo

    if args.list:
        for s in demo.scenarios():
            print(f"{s.name:<24} {s.title}")
        return ExitCode.OK
    if args.scenario:
        demo.scenario(args.scenario)  # unknown name -> BadInputError before anything opens
    if args.text or not sys.stdout.isatty() or not sys.stdin.isatty():
        sys.stdout.write(demo.render_walkthrough(args.scenario))
        return ExitCode.OK
    from goci_doctor.tui.app import run_app

    return int(run_app(demo_scenario=args.scenario or ""))


def cmd_tui(args: argparse.Namespace) -> int:
    for label, value in (("PATH", args.path), ("--log", args.log), ("--report", args.report)):
        if value and not Path(value).exists():
            raise BadInputError(f"{value}: no such file ({label})")
    if args.project and not Path(args.project).is_dir():
        raise BadInputError(f"{args.project}: not a directory (--project)")
    if not sys.stdout.isatty():
        raise BadInputError("the interactive session needs a terminal; use inspect/check/explain for scripts")
    from goci_doctor.tui.app import run_app

    return int(run_app(path=args.path, log=args.log, project=args.project, report=args.report,
))


def cmd_history(args: argparse.Namespace) -> int:
    from goci_doctor import history
    from goci_doctor.render import render

    if args.entry:
        report = history.load_session(args.entry)
        emit(render(report, args.format), args)
        return ExitCode.OK
    entries = history.list_sessions()
    if args.format == "json":
        emit(json.dumps({"schema_version": SCHEMA_VERSION, "kind": "history", "sessions": to_jsonable(entries)},
                        indent=2) + "\n", args)
        return ExitCode.OK
    if not entries:
        emit("no saved sessions yet\n", args)
        return ExitCode.OK
    emit("\n".join(f"{e.id}  {e.created}  {e.title}" for e in entries) + "\n", args)
    return ExitCode.OK
