"""Plain data shared by every layer of goci-doctor.

Everything here is a frozen ``Record`` (or an exception). Nothing in this module imports another
goci-doctor module, Textual, Rich or the Docker SDK: the rest of the core depends on it, never the
other way round. The records of a diagnosis (``Target``, ``EnvFacts``, ``RunResult``,
``BuildResult``, ``ChainNode``, ``Verdict``, ``Diagnosis``, ``Report``, ...) are dataclasses one
floor up in ``goci_doctor.records``. ``goci-doctor inspect`` needs only the artifact facts, the
errors and the exit codes defined here, and is meant to start as fast as ``readelf``: importing
``dataclasses`` (it imports ``inspect``, ``ast``, ``dis``, ``tokenize``) and generating a frozen
dataclass's methods cost that command about a third of its start-up, so the artifact facts are
``Record``s: frozen, typed (mypy reads ``Record`` as a dataclass through ``dataclass_transform``),
compared, hashed and printed like frozen dataclasses, with ``replace`` and ``record_fields``
instead of ``dataclasses.replace`` and ``dataclasses.fields``. ``first_line`` is the one line an
error or a tool's output becomes in a message.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import enum
from pathlib import PurePath

# typing.TYPE_CHECKING without importing typing, for the same start-up reason (PEP 781's idiom).
# Annotations are strings (PEP 563); ``type_hints`` resolves them where they are needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Literal, Self, TypeAlias

    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_kwargs: object) -> object:
        return lambda cls: cls


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
# Records


class FrozenRecordError(AttributeError):
    """Assigning to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


@dataclass_transform(frozen_default=True)
class Record:
    """A frozen record: fields are the class's annotations (in order), defaults its class attributes.

    Construction takes the fields by position or by name and checks them as a dataclass's
    ``__init__`` does (unknown, repeated or missing names raise TypeError); instances compare equal
    when their type and every field are, hash by their fields, and refuse assignment.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Not inspect.get_annotations: importing inspect is the cost a Record avoids.
        annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        own = [name for name, hint in annotations.items() if "ClassVar" not in str(hint)]
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        seen_default = ""
        for name in cls._fields:
            if name in cls._defaults:
                seen_default = name
            elif seen_default:
                raise TypeError(f"{cls.__name__}: field {name!r} without a default follows {seen_default!r}")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} fields, {len(args)} given")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name in values:
                raise TypeError(f"{type(self).__name__}() got field {name!r} twice")
            if name not in fields:
                raise TypeError(f"{type(self).__name__}() got an unexpected field {name!r}")
            values[name] = value
        if len(values) < len(fields):
            missing = [name for name in fields if name not in values and name not in self._defaults]
            if missing:
                raise TypeError(f"{type(self).__name__}() missing field(s): {', '.join(missing)}")
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (``dataclasses.replace`` for records)."""
        return type(self)(**{**{name: getattr(self, name) for name in self._fields}, **changes})


def is_record_type(tp: object) -> bool:
    """Whether ``tp`` is a class ``to_jsonable``/``from_jsonable`` take apart field by field: a
    ``Record`` or a dataclass."""
    return isinstance(tp, type) and (issubclass(tp, Record) or hasattr(tp, "__dataclass_fields__"))


def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a record or dataclass; this module's annotations name typing's
    ``Literal``, ``Any`` and ``ClassVar``, which it imports for type checkers only."""
    import typing

    names = {"Literal": typing.Literal, "Any": typing.Any, "ClassVar": typing.ClassVar}
    return typing.get_type_hints(cls, localns=names)


def record_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, required) for each field of a ``Record`` or dataclass class, in order."""
    if issubclass(cls, Record):
        return tuple((name, name not in cls._defaults) for name in cls._fields)
    import dataclasses

    return tuple(
        (f.name, f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# Facts


class Evidence(Record):
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


class VersionNeed(Record):
    """Symbol versions an ELF file needs from one shared library (from .gnu.version_r)."""

    library: str
    versions: tuple[str, ...]
    """All version names needed from that library, e.g. ("GLIBC_2.2.5", "GLIBC_2.34")."""


class GoBuildInfo(Record):
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


ArtifactKind: TypeAlias = (
    'Literal["elf", "pe", "macho", "script", "archive", "empty", "text", "html", "lfs-pointer", "unknown"]'
)


class ArtifactFacts(Record):
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
    """Turn records and dataclasses (recursively) into JSON-ready dicts, lists and scalars."""
    if isinstance(obj, Record):
        return {name: to_jsonable(getattr(obj, name)) for name in obj._fields}
    if hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        return {name: to_jsonable(getattr(obj, name)) for name in obj.__dataclass_fields__}
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
    """Rebuild a record or dataclass (recursively) from what ``to_jsonable`` produced.

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
        if origin is typing.Literal:
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
        if is_record_type(tp):
            return build(tp, value)
        if tp is float and isinstance(value, int):
            return float(value)
        if tp in (str, int, float, bool) and not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(value).__name__}")
        return value

    def build(klass: Any, value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {klass.__name__}, got {type(value).__name__}")
        hints = type_hints(klass)
        kwargs = {}
        for name, _required in record_fields(klass):
            if name in value:
                kwargs[name] = convert(hints[name], value[name])
        return klass(**kwargs)

    return build(cls, data)
