"""Plain data shared by every layer of goci-doctor.

Everything here is a frozen dataclass (or an exception). Nothing in this module imports
another goci-doctor module, Textual, Rich or the Docker SDK: the rest of the core depends on
it, never the other way round.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

SCHEMA_VERSION = 1
"""Version of the JSON documents goci-doctor writes (see docs/schema.json)."""


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


@dataclass(frozen=True)
class Target:
    """A deploy or build target from the knowledge base (targets.toml)."""

    name: str
    """Canonical name, e.g. "centos:7"."""
    title: str
    aliases: tuple[str, ...] = ()
    os: str = "linux"
    archs: tuple[str, ...] = ("amd64", "arm64")
    libc: Literal["glibc", "musl", "none"] = "glibc"
    libc_version: str = ""
    image: str = ""
    """Default image reference."""
    kernel: str = ""
    """Kernel version the distribution ships (the host's kernel rules in containers)."""
    shell: str = "/bin/sh"
    """"" for images without a shell (scratch, distroless)."""
    libraries: tuple[str, ...] = ()
    """Shared libraries present in the base image beyond libc ("*" = a full distribution)."""
    gcompat: bool = False
    build_image: bool = False
    """True for golang:* images used to build, not to deploy."""
    eol: str = ""
    source: str = ""
    notes: str = ""


@dataclass(frozen=True)
class HostTool:
    name: str
    path: str = ""
    version: str = ""
    target: str = ""
    """For compilers: the triple they produce code for (gcc -dumpmachine)."""


@dataclass(frozen=True)
class EnvFacts:
    """The environment a build runs in (``goci-doctor env``). Secrets are already redacted."""

    os: str
    arch: str
    kernel: str
    os_release: dict[str, str] = field(default_factory=dict)
    libc: str = ""
    libc_version: str = ""
    go: dict[str, str] = field(default_factory=dict)
    """Selected ``go env -json`` values; empty when go is not installed."""
    go_path: str = ""
    compilers: tuple[HostTool, ...] = ()
    binfmt: tuple[str, ...] = ()
    """Registered binfmt_misc handlers (qemu-aarch64, ...)."""
    ci_provider: str = ""
    ci_details: dict[str, str] = field(default_factory=dict)
    docker: dict[str, str] = field(default_factory=dict)
    """{"reachable": "yes"/"no", "version": ..., "host": ..., "error": ...}."""
    engines: tuple[dict[str, str], ...] = ()
    """Other engines (Docker contexts, the config's ``[engines]``), each like ``docker`` plus its "name"."""
    env: dict[str, str] = field(default_factory=dict)
    """Build-relevant environment variables (CGO_*, GO*, CC, CXX, DOCKER_HOST, ...), redacted."""
    notes: tuple[str, ...] = ()
    """Why a fact is missing (go not found, a probe timed out, ...): context, not problems."""
    trace_engine: str = ""
    """The tracer ``goci-doctor trace`` would use here and why ("bpftrace (...)", "strace fallback: ...")."""


# --------------------------------------------------------------------------------------------
# Runs


_GLIBC_LINE = re.compile(r"version `GLIBC_(\d+(?:\.\d+)*)' not found")


def highest_glibc_line(lines: list[str]) -> str:
    """Of several ``version `GLIBC_x' not found`` lines, the one naming the highest version (the floor).

    ld.so prints them in the binary's ``.gnu.version_r`` order, which is not sorted: quoting the
    highest keeps the quote and the verdict ("needs glibc 2.34") about the same version.
    """
    best, best_v = "", tuple[int, ...]()
    for ln in lines:
        m = _GLIBC_LINE.search(ln)
        if m:
            v = tuple(int(x) for x in m.group(1).split("."))
            if v > best_v:
                best, best_v = ln, v
    return best or (lines[-1] if lines else "")


@dataclass(frozen=True)
class RunResult:
    """What happened when an artifact ran in a container (or what a recording says happened)."""

    target: str
    image: str
    """The image reference really used."""
    libc: str
    """The libc really found in that image, e.g. "glibc 2.31", "musl 1.2.3", "none"."""
    outcome: Literal["runs", "crashes", "error"]
    """"error" means the engine could not run it (no image, daemon died); not a verdict."""
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    signal: str = ""
    timed_out: bool = False
    emulated: bool = False
    platform: str = ""
    duration_s: float = 0.0
    error: str = ""
    variant: str = ""
    """For diagnostic builds: which rebuilt variant ran ("" for the user's own artifact)."""
    missing: tuple[str, ...] = ()
    """Loader or libraries found missing in the image's filesystem before running."""
    where: str = ""
    """Who produced this observation: the engine ("docker unix:///var/run/docker.sock") or the machine
    ("GitHub Actions runner ubuntu-24.04" for ``run --on-this-machine``); "" in older reports."""

    @property
    def message(self) -> str:
        """The most telling line of output: what a user would paste into an issue."""
        if self.error:
            return self.error
        text = (self.stderr or "").strip() or (self.stdout or "").strip()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if self.outcome == "crashes" and lines:
            # ld.so prints one line per missing symbol version in .gnu.version_r order (not sorted):
            # quote the highest version, the one the verdict names.
            versions = [ln for ln in lines if "version `GLIBC_" in ln and "not found" in ln]
            if len(versions) > 1:
                return highest_glibc_line(versions).strip()
            telling = [ln for ln in lines if "not found" in ln or "error" in ln.lower() or "No such file" in ln]
            return (telling[-1] if telling else lines[-1]).strip()
        if self.outcome == "crashes" and self.signal:
            return f"killed by {self.signal}"  # what `docker run` shows: nothing; the exit status says it
        if self.timed_out:
            return "timed out"
        return lines[0].strip() if lines else ""


@dataclass(frozen=True)
class BuildResult:
    """One diagnostic build variant: the command, its output and the artifact it produced."""

    variant: str
    title: str
    env: tuple[tuple[str, str], ...]
    command: tuple[str, ...]
    ok: bool
    output: str = ""
    artifact: str = ""
    image: str = ""
    duration_s: float = 0.0
    facts: ArtifactFacts | None = None
    reason: str = ""
    """Why the build failed or was skipped, in one line ("module x@v1 is not in the module cache ...")."""
    toolchain: str = ""
    """The Go that built it: "go1.27.3 from the host (GOROOT)" or "go1.27.3 from build image X (/usr/local/go)"."""


# --------------------------------------------------------------------------------------------
# Diagnosis

NodeKind = Literal["symptom", "mechanism", "cause", "fix", "note"]


@dataclass(frozen=True)
class ChainNode:
    """One node of a crash chain: symptom ← mechanism ← root cause, with fixes under the cause.

    The chain is a single recursive structure that every renderer (text, JSON, Markdown,
    SARIF, the Textual tree) walks.
    """

    id: str
    """Stable id, e.g. "glibc-too-new/cause"; fixes "glibc-too-new/fix/zig"."""
    kind: NodeKind
    title: str
    family: str = ""
    """The failure family (families.toml id) every node of the chain belongs to."""
    detail: str = ""
    evidence: tuple[Evidence, ...] = ()
    commands: tuple[str, ...] = ()
    """Copyable commands or diff lines (fixes)."""
    children: tuple[ChainNode, ...] = ()
    proven_in: tuple[str, ...] = ()
    """For fixes: where a rebuilt variant really ran, e.g. "debian:bullseye (glibc 2.31)"."""
    failed_in: tuple[str, ...] = ()
    """For fixes: where a rebuilt variant was tried and still crashed."""
    variant: str = ""
    """For fixes: the diagnostic build variant that proves it ("cgo-off", "zig-2.17", ...)."""
    severity: Literal["error", "warning", "note", ""] = ""
    """On a chain's root: how bad the failure family is. Warnings and notes explain, they do not fail."""

    def __post_init__(self) -> None:
        if not self.family and "/" in self.id:
            # Reports saved by 0.1 carry no family: their ids start with it.
            object.__setattr__(self, "family", self.id.split("/", 1)[0])

    def walk(self) -> list[ChainNode]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


Outcome = Literal["runs", "crashes", "unknown"]
Confidence = Literal["certain", "likely", "possible"]


@dataclass(frozen=True)
class Verdict:
    """Static prediction for one (artifact, target) pair, possibly confirmed by a real run."""

    artifact: str
    target: str
    outcome: Outcome
    message: str = ""
    """The exact text the loader or kernel would print, e.g. ``/app: ... version `GLIBC_2.34' not found``."""
    confidence: Confidence = "likely"
    family: str = ""
    """Failure family id from patterns.toml ("" when it runs)."""
    reason: str = ""
    observed: RunResult | None = None


@dataclass(frozen=True)
class Finding:
    """A recognised failure: a family and the facts extracted for it (from an artifact, log or config)."""

    family: str
    facts: tuple[tuple[str, str], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    line: str = ""
    """The log line or message that matched."""
    line_no: int = 0

    def fact(self, key: str, default: str = "") -> str:
        for k, v in self.facts:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Hypothesis:
    """One candidate root cause of an explained failure, ranked against the others of its symptom."""

    family: str
    confidence: float
    """0..1; the candidates of one symptom add up to 1 (those under 2% are not listed)."""
    symptom: str = ""
    """The shared symptom the candidates compete for (e.g. ``exec-format``), or the family itself."""
    reasons: tuple[str, ...] = ()
    """The facts and cues from the paste that raised or lowered this candidate."""
    decide: str = ""
    """The one command that tells this symptom's candidates apart."""


@dataclass(frozen=True)
class Diagnosis:
    """The result of ``check``, ``explain`` or a session: verdicts plus one crash chain per failure."""

    subject: str
    kind: Literal["artifact", "log", "session", "build"]
    chains: tuple[ChainNode, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    findings: tuple[Finding, ...] = ()
    artifacts: tuple[ArtifactFacts, ...] = ()
    runs: tuple[RunResult, ...] = ()
    builds: tuple[BuildResult, ...] = ()
    notes: tuple[str, ...] = ()
    hypotheses: tuple[Hypothesis, ...] = ()
    """``explain``: ranked candidate root causes, leading hypothesis first."""

    @property
    def has_problem(self) -> bool:
        """A crash predicted or observed, or a chain of an error family (exit code 1)."""
        errors = any(c.severity in ("error", "") for c in self.chains)
        return errors or any(v.outcome == "crashes" for v in self.verdicts)


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


@dataclass(frozen=True)
class Report:
    """A saved session: what a bug report carries, and what ``--report FILE`` replays elsewhere."""

    diagnosis: Diagnosis
    env: EnvFacts | None = None
    created: str = ""
    tool_version: str = ""
    targets: tuple[str, ...] = ()
    title: str = ""


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
