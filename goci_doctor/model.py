"""Plain data shared by every layer of goci-doctor.

Everything here is a frozen dataclass (or an exception). Nothing in this module imports another
goci-doctor module, Textual, Rich or the Docker SDK: the rest of the core depends on it, never the
other way round. The records of a diagnosis (``Target``, ``EnvFacts``, ``RunResult``,
``BuildResult``, ``ChainNode``, ``Verdict``, ``Diagnosis``, ``Report``, ...) live one floor up in
``goci_doctor.records``: a dataclass costs start-up time, and ``goci-doctor inspect`` needs only
the artifact facts, the errors and the exit codes defined here (and ``first_line``, the one line
an error or a tool's output becomes in a message).

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

SCHEMA_VERSION = 1
"""Version of the JSON documents goci-doctor writes (see docs/schema.json)."""
FORMATS = ("text", "json", "markdown", "sarif")
"""The formats a diagnosis is written in (``--format``)."""


class ExitCode(enum.IntEnum):
    """Documented, stable process exit codes."""

    OK = 0
    """Nothing wrong found: the artifact runs, the log shows no known failure, the gate passes."""
    PROBLEM = 1
    """A crash was predicted or observed, a known failure was recognised, or a policy was violated."""
    BAD_INPUT = 2
    """Bad usage or unreadable input: missing file, unknown target, no Docker engine where one is needed."""
    INTERNAL_ERROR = 70
    """goci-doctor itself failed (a bug, EX_SOFTWARE): never a finding, so CI does not read it as one."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (containers and temporary files are cleaned up first)."""


class GociError(Exception):
    """An error with a one-line, user-facing message. The CLI prints it and exits with ``exit_code``."""

    exit_code: int = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class BadInputError(GociError):
    """The user gave us something we cannot read or do not understand."""


class EngineUnavailableError(GociError):
    """No container engine can be reached (not installed, stopped, permission denied, died mid-run)."""


def no_such_file(path: object, what: str = "") -> BadInputError:
    """The one wording for a path with nothing at it: "<path>: no such file" (``what``: e.g. "config file")."""
    return BadInputError(f"{path}: no such file" + (f" ({what})" if what else ""))


def unreadable(path: object, exc: OSError, what: str = "file") -> BadInputError:
    """The one-line error for a file that could not be opened or read; ``what`` names the file expected."""
    if isinstance(exc, FileNotFoundError):
        return no_such_file(path)
    if isinstance(exc, IsADirectoryError):
        return BadInputError(f"{path}: is a directory, not a {what}")
    if isinstance(exc, PermissionError):
        return BadInputError(f"{path}: permission denied")
    return BadInputError(f"{path}: cannot read: {exc.strerror or exc}")


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" when there is none): what a tool's output
    or an error's text becomes in a one-line message."""
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


# --------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Evidence:
    """One fact that supports a conclusion, with where it came from."""

    fact: str
    """What the fact is about, e.g. "highest GLIBC version required"."""
    value: str
    """The value observed, e.g. "2.34 (pthread_create@GLIBC_2.34)"."""
    source: str
    """Where it was read: "ELF .gnu.version_r of ./app", "targets.toml: centos:7 (CentOS 7 release notes)"."""
    file: str = ""
    """The file the fact was read in, when it has a place in one (a log, a CI config)."""
    line: int = 0
    """1-based line in ``file``; 0 when the fact has no line."""


@dataclass(frozen=True)
class VersionNeed:
    """Symbol versions an ELF file needs from one shared library (from .gnu.version_r)."""

    library: str
    versions: tuple[str, ...]
    """All version names needed from that library, e.g. ("GLIBC_2.2.5", "GLIBC_2.34")."""


@dataclass(frozen=True)
class GoBuildInfo:
    """Build information the Go linker embeds in every binary (what ``go version -m`` prints)."""

    go_version: str
    """e.g. "go1.22.3"."""
    path: str = ""
    """Package path of the main package."""
    main_module: str = ""
    main_version: str = ""
    deps: tuple[tuple[str, str], ...] = ()
    """(module path, version) of each dependency."""
    settings: tuple[tuple[str, str], ...] = ()
    """Build settings in order: ("CGO_ENABLED", "1"), ("GOOS", "linux"), ("-tags", "netgo"), ..."""

    def setting(self, key: str, default: str = "") -> str:
        for k, v in self.settings:
            if k == key:
                return v
        return default

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.setting("CGO_ENABLED")
        return None if value == "" else value == "1"

    @property
    def tags(self) -> tuple[str, ...]:
        raw = self.setting("-tags")
        return tuple(t for t in raw.replace(",", " ").split() if t)

    def has_dep(self, module: str) -> bool:
        return any(path == module for path, _ in self.deps)


ArtifactKind = Literal["elf", "pe", "macho", "script", "archive", "empty", "text", "html", "lfs-pointer", "unknown"]


@dataclass(frozen=True)
class ArtifactFacts:
    """What static inspection learned about one file. Never obtained by running it."""

    path: str
    size: int
    kind: ArtifactKind
    description: str
    """One human line, e.g. "ELF 64-bit x86-64 executable, dynamically linked (glibc)"."""
    os: str = ""
    """Go GOOS naming: linux, windows, darwin, freebsd, ... ("" when not an executable)."""
    arch: str = ""
    """Go GOARCH naming: amd64, arm64, 386, arm, riscv64, ppc64le, s390x, ..."""
    bits: int = 0
    elf_type: str = ""
    """EXEC, DYN (PIE or shared object), REL, CORE."""
    linkage: Literal["static", "static-pie", "dynamic", ""] = ""
    interpreter: str = ""
    """PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2 or /lib/ld-musl-x86_64.so.1."""
    libc: Literal["glibc", "musl", "none", "msvcrt", "ucrt", "darwin", ""] = ""
    """The C library the binary expects at run time ("none" for a fully static Go binary)."""
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: tuple[VersionNeed, ...] = ()
    glibc_required: str = ""
    """Highest GLIBC_x.y symbol version needed, e.g. "2.34" ("" when none)."""
    glibc_floor_symbols: tuple[str, ...] = ()
    """The symbols that set that floor, e.g. ("pthread_create@GLIBC_2.34",)."""
    glibcxx_required: str = ""
    cxxabi_required: str = ""
    pe_subsystem: str = ""
    """"gui" or "console" (others by name) for PE files."""
    pe_machine: str = ""
    pe_imports: tuple[str, ...] = ()
    go: GoBuildInfo | None = None
    problems: tuple[str, ...] = ()
    """Why the file is corrupt, truncated or not what a build should produce. Empty when fine."""
    shebang: str = ""
    min_os_version: str = ""
    """Oldest OS release the file itself declares, e.g. "13.0" from a Mach-O LC_BUILD_VERSION ("" when none)."""

    @property
    def is_executable_format(self) -> bool:
        return self.kind in ("elf", "pe", "macho")

    @property
    def is_corrupt(self) -> bool:
        return bool(self.problems)


def to_jsonable(obj: Any) -> Any:
    """Turn dataclasses (recursively) into JSON-ready dicts, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            out[f.name] = to_jsonable(getattr(obj, f.name))
        return out
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    return obj


def from_jsonable(cls: Any, data: Any) -> Any:
    """Rebuild a dataclass (recursively) from what ``to_jsonable`` produced.

    Unknown keys are ignored and missing ones take their defaults, so reports written by a newer or
    older goci-doctor still load. Raises ValueError/TypeError on data of the wrong shape.
    """
    import types
    import typing

    def convert(tp: Any, value: Any) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if value is None:
            return None
        if origin in (typing.Union, types.UnionType):
            non_none = [a for a in args if a is not type(None)]
            return convert(non_none[0], value) if len(non_none) == 1 else value
        if origin is Literal:
            if value not in args:
                raise ValueError(f"unexpected value {value!r}")
            return value
        if origin is tuple:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected a list, got {type(value).__name__}")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(convert(args[0], v) for v in value)
            return tuple(convert(a, v) for a, v in zip(args, value, strict=False))
        if origin is dict:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            return {str(k): convert(args[1], v) for k, v in value.items()}
        if dataclasses.is_dataclass(tp):
            return build(tp, value)
        if tp is float and isinstance(value, int):
            return float(value)
        if tp in (str, int, float, bool) and not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(value).__name__}")
        return value

    def build(klass: Any, value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {klass.__name__}, got {type(value).__name__}")
        hints = typing.get_type_hints(klass)
        kwargs = {}
        for f in dataclasses.fields(klass):
            if f.name in value:
                kwargs[f.name] = convert(hints[f.name], value[f.name])
        return klass(**kwargs)

    return build(cls, data)
