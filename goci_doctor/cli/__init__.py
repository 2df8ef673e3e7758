"""The ``goci-doctor`` command line.

A thin layer: it parses arguments, calls one handler in the core and turns ``GociError`` into
one line on stderr and a documented exit code. Handlers are imported lazily, so that
``goci-doctor inspect`` never imports Textual or the Docker SDK.

Exit codes (stable): 0 nothing wrong, 1 a crash predicted/observed or a policy violated,
2 bad usage or unreadable input (or no container engine where one is required, or output that
cannot be written), 70 an internal error (a bug: one line asking for a report, never a
traceback unless ``GOCI_DOCTOR_DEBUG=1``), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from goci_doctor import __version__
from goci_doctor.model import ExitCode, GociError
from goci_doctor.safety import interrupts

# subcommand -> (module, function). Each function takes the parsed namespace and returns an exit code.
HANDLERS: dict[str, tuple[str, str]] = {
    "env": ("goci_doctor.cli.commands", "cmd_env"),
    "inspect": ("goci_doctor.cli.commands", "cmd_inspect"),
    "check": ("goci_doctor.cli.commands", "cmd_check"),
    "explain": ("goci_doctor.cli.commands", "cmd_explain"),
    "targets": ("goci_doctor.cli.commands", "cmd_targets"),
    "run": ("goci_doctor.lab.docker", "cmd_run"),
    "build": ("goci_doctor.lab.builds", "cmd_build"),
    "images": ("goci_doctor.lab.docker", "cmd_images"),
    "lint": ("goci_doctor.gate.lint", "cmd_lint"),
    "demo": ("goci_doctor.cli.commands", "cmd_demo"),
    "tui": ("goci_doctor.cli.commands", "cmd_tui"),
    "history": ("goci_doctor.cli.commands", "cmd_history"),
    "merge": ("goci_doctor.render.fanin", "cmd_merge"),
    "completion": ("goci_doctor.cli.completion", "cmd_completion"),
    "trace": ("goci_doctor.cli.trace", "cmd_trace"),
}

FORMATS = ("text", "json", "markdown", "sarif")


DEBUG_ENV = "GOCI_DOCTOR_DEBUG"


class UsageError(Exception):
    """A command line argparse rejected; printed as one line (argparse prints a usage block)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        command = self.prog.removeprefix("goci-doctor").strip()
        raise UsageError(f"{command + ': ' if command else ''}{message} (see `{self.prog} --help`)")


def _target(value: str) -> str:
    if not value.strip(" ,"):
        raise argparse.ArgumentTypeError("empty target (an unset CI variable?)")
    return value


def _goarch(value: str) -> str:
    from goci_doctor.knowledge import GO_ARCHS

    if value not in GO_ARCHS:
        raise argparse.ArgumentTypeError(f"unknown architecture {value!r} (known: {', '.join(GO_ARCHS)})")
    return value


def _shell_words(value: str) -> str:
    import shlex

    try:
        shlex.split(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc.args[0] if exc.args else exc} in {value!r}") from None
    return value


def _add_format(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", "-f", choices=list(formats), default="text", help="output format (default: text)")
    p.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="goci-doctor",
        description="Diagnose Go builds and deploys that crash (exec format error, GLIBC_x.y not found, ...).",
        epilog="Exit codes: 0 fine, 1 problem found, 2 bad usage or unreadable input, 70 internal error (a bug), "
        "130 interrupted. "
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
    p.add_argument(
        "--target",
        "-t",
        action="append",
        default=[],
        metavar="T",
        type=_target,
        help="deploy target (e.g. centos:7, alpine:3.20, distroless/static); repeatable",
    )
    p.add_argument("--policy", metavar="ENV", help="check against environment ENV of the policy file")
    p.add_argument("--policy-file", metavar="FILE", help="policy file (default: .goci-policy.toml in REPO)")
    p.add_argument("--repo", metavar="DIR", default=".", help="repository whose configs the policy checks")
    p.add_argument("--env-from-ci", action="store_true", help="also check the live environment (CI variables)")
    p.add_argument(
        "--arch", metavar="GOARCH", type=_goarch, help="CPU architecture of the deploy machines (default: this one's)"
    )
    p.add_argument(
        "--cpu",
        metavar="LEVEL",
        help="CPU level of the deploy machines: x86-64-v1..v4, or armv5/armv6/armv7 (checks GOAMD64/GOARM)",
    )
    _add_format(p)

    p = sub.add_parser("explain", help="explain a pasted crash or CI log")
    p.add_argument("log", nargs="?", default="-", metavar="LOGFILE", help="log file, or - for stdin (default)")
    _add_format(p)

    p = sub.add_parser("targets", help="list the deploy and build targets the knowledge base knows")
    _add_format(p, ("text", "json"))

    p = sub.add_parser("run", help="run an artifact in target containers and show what really happens")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", type=_target, help="repeatable")
    p.add_argument("--timeout", metavar="SECONDS", help="seconds per run (default: [run] timeout, 20)")
    p.add_argument("--platform", help="container platform, e.g. linux/arm64 (needs binfmt/qemu)")
    p.add_argument("--args", dest="run_args", default="", type=_shell_words, help="arguments passed to the artifact")
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
    _add_format(p)

    p = sub.add_parser("build", help="rebuild a Go project as diagnostic variants and run them on targets")
    p.add_argument("project", metavar="DIR")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="as-configured, cgo-off, zig-2.17, musl-static, cross (repeatable; default: all)",
    )
    p.add_argument("--target", "-t", action="append", default=[], metavar="T", type=_target, help="repeatable")
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
    _add_format(p)

    p = sub.add_parser("images", help="build or list the local target images (no registry needed)")
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
    # SUPPRESS: without it the subcommand's default (None) would hide a global --config.
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="config file (as the global --config)")

    p = sub.add_parser("history", help="list or show saved sessions")
    p.add_argument("entry", nargs="?", metavar="ID", help="session to show")
    _add_format(p, ("text", "json", "markdown"))

    p = sub.add_parser("merge", help="join the JSON reports of a CI matrix (run, build, report) into one diagnosis")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports written by matrix jobs")
    _add_format(p, ("text", "json", "markdown"))

    p = sub.add_parser(
        "trace",
        help="run a command and explain every exec that fails in it (eBPF or strace)",
        description="Run COMMAND (or watch --pid, or the whole machine for --duration) and record "
        "every execve/execveat: bpftrace when root, strace otherwise. Each exec that fails, or "
        "whose loader gives up (exit 1/126/127 at once), gets its crash chain. Exit code 1 when an "
        "exec failed.",
    )
    p.add_argument(
        "trace_command", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS", help="the command to run and trace"
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="watch every process on the machine while COMMAND runs (containers too; eBPF only)",
    )
    p.add_argument("--pid", type=int, metavar="PID", help="attach to a running process and its descendants")
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="without a command: watch the whole machine for S seconds (with --pid: at most S)",
    )
    p.add_argument(
        "--engine",
        choices=["auto", "bpftrace", "strace"],
        default="auto",
        help="tracer (default: bpftrace when root and available, else strace)",
    )
    _add_format(p, ("text", "json"))

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"], metavar="SHELL", help="bash, zsh or fish")
    return parser


def _resolve(command: str) -> Callable[[argparse.Namespace], int]:
    module_name, func_name = HANDLERS[command]
    module = importlib.import_module(module_name)
    func: Callable[[argparse.Namespace], int] = getattr(module, func_name)
    return func


# Symbols the reports use, spelled in ASCII for a terminal or log that cannot show them
# (PYTHONIOENCODING=ascii, a latin-1 locale): better ">=" than a UnicodeEncodeError.
_ASCII_FALLBACK = {
    "≥": ">=",
    "≤": "<=",
    "✓": "ok",
    "✔": "ok",
    "✗": "x",
    "✘": "x",
    "└": "`",
    "├": "|",
    "─": "-",
    "│": "|",
    "→": "->",
    "←": "<-",
    "⇒": "=>",
    "…": "...",
    "—": "--",
    "–": "-",
    "•": "*",
    "·": ".",
    "×": "x",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "⚠": "!",
    "▶": ">",
    "▸": ">",
    "█": "#",
    "░": ".",
}


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end]
    return "".join(_ASCII_FALLBACK.get(ch, "?") for ch in text), exc.end


codecs.register_error("goci-ascii", _ascii_fallback)


def _prepare_streams() -> bool:
    """Make stdout/stderr safe to write; return False when stdout was closed (``>&-``)."""
    open_stdout = True
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            # Closed at start: hold the descriptor on /dev/null so that no file we open later
            # takes its number and receives our output.
            if name == "stdout":
                open_stdout = False
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
                setattr(sys, name, open(fd, "w", closefd=False))
            except OSError:
                pass
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="goci-ascii")
            except (ValueError, OSError):
                pass
    return open_stdout


class _GuardedStdout:
    """Stdout whose write failures are told apart from other OS errors (a full disk under
    ``>/dev/full`` is one line and exit 2, not an internal error)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _OutputError(Exception):
    def __init__(self, exc: OSError) -> None:
        super().__init__((exc.strerror or str(exc)).lower())


def _say(message: str) -> None:
    """One line on stderr, whatever state stderr is in."""
    line = " ".join(message.split())  # one line, even when an exception message has several
    # Whatever the user typed (an escape sequence in an argument) is shown, never interpreted.
    line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in line)
    try:
        print(f"goci-doctor: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _silence_stdout() -> None:
    # What is still buffered would fail again at interpreter exit ("Exception ignored ...").
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _flush_stdout() -> int | None:
    """Flush stdout; the exit code to use if that failed, else None."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()  # piped into `head`, which closed early: not an error
        return int(ExitCode.OK)
    except OSError as exc:
        _silence_stdout()
        _say(f"cannot write to standard output: {(exc.strerror or str(exc)).lower()}")
        return int(ExitCode.BAD_INPUT)
    return None


class _ReaderLeft(Exception):
    """Stdout's reader closed the pipe before the report was complete (`goci-doctor ... | head`)."""


def _internal_error(exc: BaseException) -> int:
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    detail = str(exc)[:200]
    kind = type(exc).__name__
    what = "ran out of memory" if isinstance(exc, MemoryError) else f"internal error ({kind}: {detail})"
    _say(
        f"{what}; this is a bug in goci-doctor, not a finding: please report it with the command line "
        f"(set {DEBUG_ENV}=1 for the traceback)"
    )
    return int(ExitCode.INTERNAL_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; always returns a documented exit code, never raises."""
    stdout_open = _prepare_streams()
    original = sys.stdout
    if original is not None and not isinstance(original, _GuardedStdout):
        sys.stdout = _GuardedStdout(original)  # type: ignore[assignment]
    try:
        code = _main(argv, stdout_open)
    except _OutputError as exc:
        _silence_stdout()
        _say(f"cannot write to standard output: {exc}")
        code = int(ExitCode.BAD_INPUT)
    except _ReaderLeft:
        code = int(ExitCode.OK)
    except KeyboardInterrupt:
        _say("interrupted")
        code = int(ExitCode.INTERRUPTED)
    except SystemExit as exc:  # --help, --version: argparse exits after printing
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else int(ExitCode.BAD_INPUT)
    except BaseException as exc:
        code = _internal_error(exc)
    finally:
        sys.stdout = original
    failed = _flush_stdout()
    if failed is None or failed == ExitCode.OK:
        return code  # a reader that left early (`| head`) does not change the verdict
    return failed if code in (ExitCode.OK, ExitCode.PROBLEM) else code


def _main(argv: Sequence[str] | None, stdout_open: bool) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            # Global options (--config) stay with the session they configure.
            args = parser.parse_args([*argv, "tui"])
    except UsageError as exc:
        _say(str(exc).removeprefix("goci-doctor: "))
        return int(ExitCode.BAD_INPUT)
    named_config = getattr(args, "config", None)
    previous_config: str | None = None
    try:
        if named_config:
            # Imported only here: `inspect` and the other commands that read no settings do not
            # pay for the config module (start-up time, issue 12 point 9).
            from goci_doctor import config

            previous_config = os.environ.get(config.CONFIG_ENV)
            # Every reader of the settings (lab, builds, the TUI) honours the file named here,
            # and a missing or invalid one is an error now, not silently defaults.
            os.environ[config.CONFIG_ENV] = str(named_config)
            config.load_config()
        if not stdout_open and not getattr(args, "output", None):
            raise GociError("standard output is closed; pass -o FILE to write the report to a file")
        # Textual handles the terminal's own signals in the TUI.
        signals = interrupts.handled() if args.command not in ("tui", "demo") else contextlib.nullcontext()
        with signals:
            return int(_resolve(args.command)(args))
    except GociError as exc:
        from goci_doctor.safety.safetext import clean_line

        # One line, secrets masked: messages quote file names and engine errors (DOCKER_HOST=tcp://u:pw@...).
        _say(clean_line(exc.message))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        code, message = interrupts.exit_code_and_message()
        _say(message.removeprefix("goci-doctor: "))
        return code
    except BrokenPipeError:
        _silence_stdout()
        raise _ReaderLeft() from None
    finally:
        if named_config:  # main() may be called again in this process (tests, the TUI's own runs)
            from goci_doctor.config import CONFIG_ENV

            if previous_config is None:
                os.environ.pop(CONFIG_ENV, None)
            else:
                os.environ[CONFIG_ENV] = previous_config


if __name__ == "__main__":
    sys.exit(main())
