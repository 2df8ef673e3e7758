"""The records of a diagnosis: deploy targets, the build environment, container runs and builds,
crash chains, verdicts, findings, and saved reports. Frozen dataclasses, like ``goci_doctor.model``.

They live apart from ``model`` only for start-up time: a dataclass compiles its methods when its
module is imported (about a millisecond each), and ``goci-doctor inspect`` needs none of these.
Import them from here (``from goci_doctor.records import Diagnosis``).

Imports: ``goci_doctor.model`` and the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from goci_doctor.model import ArtifactFacts, Evidence


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


@dataclass(frozen=True)
class Report:
    """A saved session: what a bug report carries, and what ``--report FILE`` replays elsewhere."""

    diagnosis: Diagnosis
    env: EnvFacts | None = None
    created: str = ""
    tool_version: str = ""
    targets: tuple[str, ...] = ()
    title: str = ""
