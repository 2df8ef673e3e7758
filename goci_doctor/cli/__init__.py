"""The ``goci-doctor`` command line.

A thin layer: ``main()`` builds the parser from one module per subcommand (``cli/<name>.py``, each
with ``configure_parser(subparsers)`` and ``execute(args) -> int``: the auditwheel pattern), runs
the chosen one and turns ``GociError`` into one line on stderr and a documented exit code. The
subcommand modules import only ``argparse``, ``model`` and ``cli.common`` at module level; what a
command needs (the core, the lab, Textual) is imported inside ``execute``, so ``goci-doctor
inspect`` never imports Textual or the Docker SDK and ``--version`` stays cheap.

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
from collections.abc import Sequence
from types import ModuleType

from goci_doctor import __version__, started
from goci_doctor.model import ExitCode, GociError
from goci_doctor.safety import interrupts

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any, NoReturn, TextIO

SUBCOMMANDS = (
    "env",
    "inspect",
    "check",
    "explain",
    "targets",
    "run",
    "build",
    "images",
    "lint",
    "demo",
    "tui",
    "history",
    "merge",
    "trace",
    "completion",
)
"""Every subcommand, in ``--help`` order: each is the module ``goci_doctor.cli.<name>``, with
``configure_parser(subparsers)`` and ``execute(args) -> int`` (the exit code)."""

DEBUG_ENV = "GOCI_DOCTOR_DEBUG"


class UsageError(Exception):
    """A command line argparse rejected; printed as one line (argparse prints a usage block)."""


def _terminal_width() -> int:
    """Columns for help text, as ``shutil.get_terminal_size`` finds them: importing ``shutil``
    (and ``bz2``, ``lzma``) for it was a visible part of every command's start-up."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno() if sys.__stdout__ else 1).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class _Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_terminal_width())  # type: ignore[call-arg]

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        command = self.prog.removeprefix("goci-doctor").strip()
        raise UsageError(f"{command + ': ' if command else ''}{message} (see `{self.prog} --help`)")


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (``goci_doctor.cli.<name>``)."""
    return importlib.import_module(f"goci_doctor.cli.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``goci-doctor`` parser, each subcommand configured by its own module (``only``: just that
    subcommand's, when the command line names it: start-up time, ``--help`` lists them all)."""
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
    for name in (only,) if only in SUBCOMMANDS else () if only == VERSION_ONLY else SUBCOMMANDS:
        command_module(name).configure_parser(sub)
    return parser


VERSION_ONLY = "--version"
"""``build_parser(only=VERSION_ONLY)``: no subcommand at all (``goci-doctor --version``)."""


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand the command line names, if it names one before anything else but --config
    (``VERSION_ONLY`` for ``--version`` alone: it needs no subcommand's parser)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--config":
            i += 2
        elif arg.startswith("--config="):
            i += 1
        elif arg == VERSION_ONLY and i == len(argv) - 1:
            return VERSION_ONLY
        else:
            return arg if arg in SUBCOMMANDS else None
    return None


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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_named_command(argv))
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
        module = command_module(args.command)
        tui = args.command in ("tui", "demo")
        if not tui:
            started()  # the TUI says so itself, once its first screen is drawn
        # Textual handles the terminal's own signals in the TUI.
        with interrupts.handled() if not tui else contextlib.nullcontext():
            return int(module.execute(args))
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
