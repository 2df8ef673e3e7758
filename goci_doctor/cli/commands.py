"""Handlers for the core CLI commands: env, inspect, check, explain, targets, demo, tui, history.

Each takes the argparse namespace and returns an exit code (see ``model.ExitCode``). Nothing here
imports Textual or the Docker SDK at module level.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from goci_doctor.model import SCHEMA_VERSION, ArtifactFacts, BadInputError, ExitCode, to_jsonable

if TYPE_CHECKING:  # annotations only: `inspect` must not build the diagnosis records (start-up time)
    from goci_doctor.model import Diagnosis, Target
from goci_doctor.safety.safetext import TERMINAL_SEQUENCE, clean_output, one_line

MAX_LOG_LINE = 4 * 1024
"""No line from ``iter_log_lines`` is longer (head, elision mark and tail)."""
# Colours, OSC 8 links, title changes, ESC c and C1 forms: all of ECMA-48, in linear time.
_ANSI = TERMINAL_SEQUENCE


def emit(text: str, args: argparse.Namespace) -> None:
    """Print to stdout, or write atomically to --output: secrets masked, controls neutralised."""
    from goci_doctor.render import write_output
    from goci_doctor.safety.safetext import clean_line

    output = getattr(args, "output", None)
    write_output(clean_output(text, getattr(args, "format", "text") or "text"), output)
    if output:
        print(f"wrote {clean_line(output)}", file=sys.stderr)


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

    config = _config(args)
    facts = hostenv.gather(docker=True, engines=getattr(config, "engines", None))
    if args.format == "json":
        doc = {
            "schema_version": SCHEMA_VERSION,
            "kind": "env",
            "env": to_jsonable(facts),
            "problems": hostenv.problems(facts),
        }
        emit(json.dumps(doc, indent=2) + "\n", args)
    elif args.format == "markdown":
        emit("# Build environment\n\n```\n" + hostenv.format_env_text(facts) + _cache_text() + "```\n", args)
    else:
        emit(hostenv.format_env_text(facts) + _cache_text(), args)
    return ExitCode.OK


def _cache_text() -> str:
    """Where goci-doctor keeps build outputs and how much they hold (they are pruned, not kept)."""
    from goci_doctor.lab.builds import KEEP_BUILDS_PER_PROJECT, builds_dir

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


def cmd_inspect(args: argparse.Namespace) -> int:
    from goci_doctor import artifact
    from goci_doctor.render import artifact_lines

    paths = artifact.iter_artifacts(args.paths)
    if not paths:
        raise BadInputError("no files to inspect in " + ", ".join(args.paths))
    results: list[ArtifactFacts] = artifact.inspect_each(paths)
    if args.format == "json":
        doc = {"schema_version": SCHEMA_VERSION, "kind": "inspect", "artifacts": to_jsonable(results)}
        emit(json.dumps(doc, indent=2) + "\n", args)
    else:
        blocks = ["\n".join(artifact_lines(f)) for f in results]
        emit("\n\n".join(blocks) + "\n", args)
    return ExitCode.PROBLEM if any(f.problems for f in results) else ExitCode.OK


def cmd_check(args: argparse.Namespace) -> int:
    if args.policy:
        from goci_doctor.gate import policy

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
    diags = [
        diagnosis.check_artifact(facts, targets, binfmt=binfmt, arch=arch, cpu=cpu, image_config=config)
        for facts in artifact.inspect_each(paths)
    ]
    result = diags[0] if len(diags) == 1 else diagnosis.merge(diags, kind="artifact")
    from goci_doctor.render import render, render_sarif

    if args.format == "sarif" and len(diags) > 1:
        # One location per artifact, not one named "a, b, c".
        emit(json.dumps(render_sarif(result, parts=diags), indent=2, ensure_ascii=False) + "\n", args)
    else:
        emit(render(result, args.format), args)
    # An artifact that could not be read was not checked: a problem for that file, never a pass.
    unread = any(a.description == "unreadable" for a in result.artifacts)
    return ExitCode.PROBLEM if result.has_problem or unread else ExitCode.OK


def _open_log(name: str) -> tuple[BinaryIO, str]:
    if name == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise BadInputError("no log on standard input (pass a LOGFILE)")
        return sys.stdin.buffer, "<stdin>"
    from goci_doctor.safety import safeio

    # A named log must be a regular file: /dev/zero or a FIFO would never end (or never start).
    # Endless input the user chose still works on stdin, read in bounded memory.
    try:
        fd = safeio.open_regular(name)
    except safeio.UnsafeInput as exc:
        if exc.missing:
            raise BadInputError(f"{name}: no such file") from None
        hint = (
            ""
            if "directory" in exc.reason or exc.reason == "permission denied"
            else " (to read it anyway, pipe it on standard input: goci-doctor explain - < FILE)"
        )
        raise BadInputError(f"{name}: {exc.reason}{hint}") from None
    return os.fdopen(fd, "rb"), name


LOG_LINE_HEAD = 1000
LOG_LINE_TAIL = 2800
"""A longer line keeps its first and last characters (errors end long progress lines) joined by
`` [...] ``: together under explain's per-line window, so both ends are always searched."""
LOG_LINE_ELISION = " [...] "
_READ_CHUNK = 64 * 1024


class _LineBuilder:
    """One line, held in bounded memory whatever its length."""

    def __init__(self) -> None:
        self.buf = ""
        self.tail = ""
        self.cut = False

    def add(self, text: str) -> None:
        if not text:
            return
        if self.cut:
            self.tail = (self.tail + text)[-LOG_LINE_TAIL:]
            return
        self.buf += text
        if len(self.buf) > LOG_LINE_HEAD + LOG_LINE_TAIL + len(LOG_LINE_ELISION):
            self.tail = self.buf[LOG_LINE_HEAD:][-LOG_LINE_TAIL:]
            self.buf = self.buf[:LOG_LINE_HEAD]
            self.cut = True

    def take(self) -> str:
        line = self.buf + LOG_LINE_ELISION + self.tail if self.cut else self.buf
        self.buf, self.tail, self.cut = "", "", False
        return _ANSI.sub("", line.rstrip("\r"))

    def __bool__(self) -> bool:
        return bool(self.buf or self.tail)


def _sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, bytes of BOM to skip). FF FE / FE FF only mean UTF-16 when the text after them
    looks like it (ASCII in UTF-16 has a zero in every other byte); otherwise they are garbage
    at the start of a UTF-8 log."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    for bom, codec, zero_at in ((codecs.BOM_UTF16_LE, "utf-16-le", 1), (codecs.BOM_UTF16_BE, "utf-16-be", 0)):
        if head.startswith(bom):
            sample = head[2:]
            pairs = len(sample) // 2
            zeros = sum(1 for i in range(pairs) if sample[2 * i + zero_at] == 0)
            if pairs == 0 or zeros >= 0.25 * pairs:
                return codec, 2
            return "utf-8", 2  # a stray mark: the text after it is read as UTF-8
    return "utf-8", 0


def iter_log_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode a log line by line in bounded memory: any encoding, binary garbage, huge lines.

    The one log decoder (``explain`` and the TUI's ``--log``): UTF-8, or UTF-16 with a BOM,
    invalid bytes replaced, ANSI colour codes removed, and a line longer than
    ``LOG_LINE_HEAD + LOG_LINE_TAIL`` kept as its head and tail (one line still counts as one).
    """
    head = stream.read(512)
    codec, skip = _sniff_encoding(head)
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    line = _LineBuilder()

    def feed(text: str) -> Iterator[str]:
        parts = text.split("\n")
        for part in parts[:-1]:
            line.add(part)
            yield line.take()
        line.add(parts[-1])

    data = head[skip:]
    while data:
        yield from feed(decoder.decode(data))
        data = stream.read(_READ_CHUNK)
    yield from feed(decoder.decode(b"", final=True))
    if line:
        yield line.take()


def explain_file(name: str) -> Diagnosis:
    from goci_doctor.diagnosis import explain

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
        emit(
            json.dumps({"schema_version": SCHEMA_VERSION, "kind": "targets", "targets": to_jsonable(items)}, indent=2)
            + "\n",
            args,
        )
        return ExitCode.OK
    lines = [f"{'target':<24} {'libc':<14} {'image':<34} aliases"]
    for t in items:
        libc = t.libc if t.libc == "none" else f"{t.libc} {t.libc_version}"
        lines.append(f"{t.name:<24} {libc:<14} {t.image:<34} {', '.join(t.aliases[:4])}")
    emit("\n".join(lines) + "\n", args)
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from goci_doctor.lab import demo

    if args.list:
        for s in demo.scenarios():
            print(f"{s.name:<24} {s.title}")
        return ExitCode.OK
    if args.scenario:
        demo.scenario(args.scenario)  # unknown name -> BadInputError before anything opens
    if args.text or not sys.stdout.isatty() or not sys.stdin.isatty():
        sys.stdout.write(clean_output(demo.render_walkthrough(args.scenario)))
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

    return int(
        run_app(
            path=args.path,
            log=args.log,
            project=args.project,
            report=args.report,
        )
    )


def cmd_history(args: argparse.Namespace) -> int:
    from goci_doctor.render import history, render

    if args.entry:
        report = history.load_session(args.entry)
        emit(render(report, args.format), args)
        return ExitCode.OK
    entries = history.list_sessions()
    if args.format == "json":
        emit(
            json.dumps(
                {"schema_version": SCHEMA_VERSION, "kind": "history", "sessions": to_jsonable(entries)}, indent=2
            )
            + "\n",
            args,
        )
        return ExitCode.OK
    if not entries:
        emit("no saved sessions yet\n", args)
        return ExitCode.OK
    emit("\n".join(f"{e.id}  {e.created}  {one_line(e.title)}" for e in entries) + "\n", args)
    return ExitCode.OK
