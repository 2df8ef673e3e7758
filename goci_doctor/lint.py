"""``goci-doctor lint``: find Go build settings in CI configs that produce binaries which crash.

Reads GitHub Actions workflows, GitLab CI, Dockerfiles (multi-stage), Makefiles,
``.goreleaser.yaml`` and ``go.mod`` with real parsers (PyYAML node trees for line numbers,
dockerfile-parse, shlex for shell lines, a small Makefile reader) and turns every ``go build``
it finds into a :class:`GoBuild` (its environment, flags, build image and platform). Rules then
run over those builds and over the images they ship in. Each finding carries the file and line,
why it breaks and a concrete fix.

Exit codes of ``lint``: 0 no error-level finding, 1 at least one error (or any policy
violation), 2 bad input (missing repository, unreadable policy).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import posixpath
import re
import shlex
import sys
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from goci_doctor.model import BadInputError, ExitCode, GociError, to_jsonable
from goci_doctor.sarif import SarifResult, SarifRule, sarif_log

if TYPE_CHECKING:
    from goci_doctor.policy import PolicyEnv

Level = Literal["error", "warning", "note"]

# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    """One lint rule: stable id, name, default level and the texts SARIF shows."""

    id: str
    name: str
    level: Level
    short: str
    full: str
    help: str

    @property
    def title(self) -> str:
        return f"{self.id} {self.name}"


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("GOCI000", "parse-error", "error", "A CI config could not be parsed",
             "The file is not valid YAML/Dockerfile/go.mod syntax, so neither CI nor goci-doctor can read it.",
             "Fix the syntax error at the reported line."),
        Rule("GOCI001", "cgo-libc-mismatch", "error",
             "A cgo binary is shipped into an image with a different or older C library",
             "With cgo on (CGO_ENABLED unset on a native build, or =1) the Go binary is dynamically linked "
             "against the build image's libc. An alpine (musl), scratch or distroless/static (no libc) "
             "runtime image has no matching loader, and an older glibc lacks the symbol versions: the "
             "container dies with 'exec ...: no such file or directory' or \"GLIBC_2.xx not found\".",
             "Set CGO_ENABLED=0 on the go build (pure-Go binary, runs anywhere), or build in an image "
             "with the runtime's libc (golang:<ver>-alpine for alpine, an older glibc for older distros)."),
        Rule("GOCI002", "windows-without-exe", "warning",
             "A GOOS=windows build writes an output without the .exe suffix",
             "Windows finds programs by extension (PATHEXT): a file named 'app' is not runnable from cmd, "
             "PowerShell or Explorer, and release downloads look broken.",
             "Add .exe to the -o output for windows builds."),
        Rule("GOCI003", "windows-binary-in-linux", "error",
             "A GOOS=windows binary is copied into or run in a Linux image",
             "A PE (.exe) file cannot be executed by the Linux kernel: 'exec format error'.",
             "Build with GOOS=linux for Linux images, or ship the Windows build only in Windows images."),
        Rule("GOCI004", "arch-platform-mismatch", "error",
             "GOARCH of the build differs from the platform of the image it runs in",
             "An amd64 binary in an arm64 image (or the reverse) fails with 'exec format error' unless "
             "qemu emulation happens to be installed.",
             "Use GOARCH=$TARGETARCH (with ARG TARGETARCH) or make GOARCH match the runtime stage --platform."),
        Rule("GOCI005", "cgo-cross-without-cc", "error",
             "A CGO_ENABLED=1 cross build has no cross C compiler",
             "Cross-compiling cgo code needs a C compiler for the target (CC=aarch64-linux-gnu-gcc, "
             "zig cc -target ..., x86_64-w64-mingw32-gcc). With the host gcc the build fails "
             "('gcc: error: unrecognized command-line option -m64' / 'cannot find -lc').",
             "Set CC (and CXX) to a cross compiler for the target, e.g. CC='zig cc -target aarch64-linux-gnu', "
             "or set CGO_ENABLED=0 if the code does not need cgo."),
        Rule("GOCI006", "cgo-module-without-cgo", "error",
             "go.mod requires a cgo-only module while every build sets CGO_ENABLED=0",
             "Modules such as mattn/go-sqlite3 wrap a C library. Built with CGO_ENABLED=0 they compile to "
             "a stub (or not at all), and the program fails at run time.",
             "Switch to the pure-Go alternative named in the finding, or build with cgo on and a libc "
             "that matches the runtime image."),
        Rule("GOCI007", "unpinned-image", "warning",
             "An image is not pinned (latest / no tag, or no digest where a policy requires one)",
             "golang:latest changes Go version and libc under you: a build that ran yesterday can "
             "produce a binary that needs a newer glibc today.",
             "Pin a version tag (golang:1.22-bookworm), and a digest (@sha256:...) where the policy asks."),
        Rule("GOCI008", "missing-trimpath", "error",
             "The policy requires -trimpath and this go build does not use it",
             "Without -trimpath the binary embeds the builder's file system paths: it is not reproducible.",
             "Add -trimpath to the go build flags (or GOFLAGS=-trimpath)."),
        Rule("GOCI009", "missing-empty-buildid", "error",
             "The policy requires -ldflags=-buildid= and this go build does not set it",
             "A build id that depends on the build environment makes the binary not byte-for-byte reproducible.",
             "Add -buildid= to -ldflags."),
        Rule("GOCI101", "policy-cgo", "error",
             "CGO_ENABLED differs from what the policy environment requires",
             "The policy pins cgo on or off for this environment so the artifacts match its images.",
             "Set CGO_ENABLED as the policy requires."),
        Rule("GOCI102", "policy-platform", "error",
             "GOOS/GOARCH not allowed by the policy environment",
             "The environment only runs the operating systems and architectures its policy lists.",
             "Build only the GOOS/GOARCH pairs the policy allows."),
        Rule("GOCI103", "policy-image", "error",
             "Runtime image not in the policy's allowed_images",
             "The environment only allows these base images (known libc, patched, approved).",
             "Use one of the allowed images."),
        Rule("GOCI104", "policy-glibc", "error",
             "The artifact needs (or the build image gives it) a newer glibc than the policy's minimum target",
             "A cgo binary needs the glibc symbol versions of the image it was linked in; hosts with an older "
             "glibc refuse to start it ('GLIBC_2.xx not found').",
             "Build in an image with the minimum glibc (e.g. centos:7 for 2.17), link with "
             "zig cc -target x86_64-linux-gnu.2.17, or turn cgo off."),
        Rule("GOCI105", "policy-live-env", "error",
             "The live build environment differs from the policy",
             "CGO_ENABLED/GOOS/GOARCH in this environment would produce artifacts the policy forbids.",
             "Export the values the policy requires in the CI job (env: CGO_ENABLED: '0', ...)."),
    )
}


def sarif_rules() -> list[SarifRule]:
    """The rule table as SARIF rule descriptors."""
    return [SarifRule(r.id, r.name, r.short, r.full, r.help, level=r.level) for r in RULES.values()]


# --------------------------------------------------------------------------------------------
# Findings and reports


@dataclass(frozen=True)
class LintFinding:
    """One problem in a config, with where it is, why it breaks and how to fix it."""

    rule_id: str
    """Stable id from RULES, e.g. "GOCI001"."""
    level: Level
    file: str
    """Repository-relative path ("" for the live environment)."""
    line: int
    column: int
    message: str
    """Why it breaks."""
    fix: str
    """A concrete change: a diff-like line or a command."""
    evidence: tuple[str, ...] = ()

    @property
    def rule_name(self) -> str:
        rule = RULES.get(self.rule_id)
        return rule.name if rule else ""

    @property
    def location(self) -> str:
        if not self.file:
            return "<environment>"
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class LintReport:
    """All findings for one repository, and which files were read."""

    repo: str
    findings: tuple[LintFinding, ...]
    files: tuple[str, ...]
    policy_env: str = ""

    @property
    def has_error(self) -> bool:
        return any(f.level == "error" for f in self.findings)


# --------------------------------------------------------------------------------------------
# Image knowledge (adapter over goci_doctor.knowledge)


def image_libc(ref: str) -> tuple[str, str] | None:
    """(libc, version) of an image reference, e.g. ("glibc", "2.36"), ("musl", "1.2.5"), ("none", "").

    Accepts tags, digests and registry prefixes (the knowledge base normalises them). Returns
    None for unknown images and for references that still hold an unresolved ``$VAR``.
    """
    t = _image_target(ref)
    return (t.libc, t.libc_version) if t is not None else None


def _image_target(ref: str) -> Any:
    if not ref or "$" in ref:
        return None
    from goci_doctor import knowledge

    try:
        return knowledge.find_target(ref)
    except GociError:
        return None


def _image_os(ref: str) -> str:
    t = _image_target(ref)
    if t is not None:
        return str(t.os)
    low = ref.lower()
    if any(w in low for w in ("windows", "nanoserver", "servercore")):
        return "windows"
    return "" if "$" in ref else "linux"


def _vt(version: str) -> tuple[int, ...]:
    from goci_doctor.knowledge import version_tuple

    return version_tuple(version)


def _unpinned(ref: str) -> str:
    """Why an image reference is not pinned to a version ("" when it has a tag or digest)."""
    if "@" in ref or "$" in ref:
        return ""
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (means :latest)"
    if last.endswith(":latest"):
        return "uses the moving :latest tag"
    return ""


# --------------------------------------------------------------------------------------------
# YAML with line numbers


class YMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where its keys and values are (1-based lines)."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]
    value_cols: dict[Any, int]


class YSeq(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers the line of each item."""

    line: int = 0
    item_lines: list[int]
    item_cols: list[int]


def _content_line(node: Any) -> int:
    # A block scalar ("run: |") starts on the line after its indicator.
    extra = 1 if getattr(node, "style", None) in ("|", ">") else 0
    return int(node.start_mark.line) + 1 + extra


def _content_col(node: Any) -> int:
    if getattr(node, "style", None) in ("|", ">"):
        return 1
    return int(node.start_mark.column) + 1


def _convert(node: Any, constructor: Any) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        out = YMap()
        out.line = node.start_mark.line + 1
        out.key_lines, out.value_lines, out.value_cols = {}, {}, {}
        merges: list[Any] = []
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                merges.append(vnode)
                continue
            key = _convert(knode, constructor)
            if isinstance(key, (dict, list)):
                key = str(key)
            out[key] = _convert(vnode, constructor)
            out.key_lines[key] = knode.start_mark.line + 1
            out.value_lines[key] = _content_line(vnode)
            out.value_cols[key] = _content_col(vnode)
        for m in merges:
            for src in m.value if isinstance(m, yaml.SequenceNode) else [m]:
                merged = _convert(src, constructor)
                if isinstance(merged, YMap):
                    for k, v in merged.items():
                        if k not in out:
                            out[k] = v
                            out.key_lines[k] = merged.key_lines[k]
                            out.value_lines[k] = merged.value_lines[k]
                            out.value_cols[k] = merged.value_cols[k]
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = YSeq(_convert(n, constructor) for n in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [_content_line(n) for n in node.value]
        seq.item_cols = [_content_col(n) for n in node.value]
        return seq
    return constructor.construct_object(node, deep=True)


class YamlError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_yaml(text: str) -> Any:
    """Parse one YAML document into YMap/YSeq/scalars with line numbers; YamlError on bad YAML."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"invalid YAML: {problem}", line) from exc
    if node is None:
        return None
    constructor = yaml.SafeLoader("")
    try:
        return _convert(node, constructor)
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", node.start_mark.line + 1) from exc


# --------------------------------------------------------------------------------------------
# Shell lines → go build invocations

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=+?]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", "<", ">&", "<&", "&>", ">|", "&>>", "<<", "<<<"}
_PREFIX_WORDS = {"do", "then", "else", "elif", "if", "while", "until", "!", "{", "}", "time", "exec",
                 "sudo", "command", "nice", "nohup"}
UNKNOWN = "${?}"
"""Placeholder for a value goci-doctor cannot know statically (a CI expression, $(shell ...))."""


def expand_vars(text: str, env: dict[str, str]) -> str:
    """Expand $NAME, ${NAME} and ${NAME:-default} from ``env``; unknown names stay as written."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name in env:
            return env[name]
        op = m.group(0)[len(name) + 2 :][:2] if m.group(1) else ""
        if op.startswith((":-", "-", ":=", "=")) and m.group(2) is not None:
            return m.group(2)
        return m.group(0)

    return _VAR.sub(sub, text)


def known(value: str) -> bool:
    """True when a value has no unresolved variable or CI expression in it."""
    return "$" not in value


def _tokens(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError:
        # An unbalanced quote (a string that continues on the next line): plain words are
        # still good enough to find a go build.
        return line.split()


def _logical_lines(script: str) -> Iterator[tuple[int, str]]:
    """(0-based line offset, text) with backslash continuations joined."""
    lines = script.split("\n")
    i = 0
    while i < len(lines):
        start, buf = i, lines[i]
        while buf.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            buf = buf.rstrip()[:-1] + " " + lines[i]
        yield start, buf
        i += 1


def simple_commands(script: str) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line offset, argv, redirect targets) for each simple command of a shell script."""
    for offset, text in _logical_lines(script):
        argv: list[str] = []
        redirects: list[str] = []
        toks = _tokens(text)
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok in _OPERATORS:
                if argv or redirects:
                    yield offset, argv, redirects
                argv, redirects = [], []
            elif tok in _REDIRECTS:
                if argv and argv[-1].isdigit():
                    argv.pop()
                if i + 1 < len(toks):
                    redirects.append(toks[i + 1])
                i += 1
            else:
                argv.append(tok)
            i += 1
        if argv or redirects:
            yield offset, argv, redirects


@dataclass
class ShellBuild:
    offset: int
    env: dict[str, str]
    args: list[str]
    raw: str


@dataclass
class ShellScan:
    """What a script does that matters for Go builds."""

    builds: list[ShellBuild] = field(default_factory=list)
    exported: dict[str, str] = field(default_factory=dict)
    """Variables exported (or set by ``go env -w``) by the end of the script."""
    go_env_w: dict[str, str] = field(default_factory=dict)
    github_env: dict[str, str] = field(default_factory=dict)
    """NAME=VALUE lines appended to $GITHUB_ENV (visible to later steps)."""
    runs: list[tuple[int, str]] = field(default_factory=list)
    """(offset, program) of every command run, for "is the built binary executed here"."""
    installs_cc: bool = False


_CC_PACKAGES = ("gcc", "build-base", "build-essential", "clang", "musl-dev", "musl-tools", "zig")


def scan_shell(script: str, env: dict[str, str]) -> ShellScan:
    """Walk a shell script, tracking exported variables, and collect its go build commands."""
    out = ShellScan()
    exported = dict(env)
    shell_vars: dict[str, str] = {}
    for offset, argv, redirects in simple_commands(script):
        scope = {**exported, **shell_vars}
        argv = [expand_vars(a, scope) for a in argv]
        while argv and argv[0] in _PREFIX_WORDS:
            argv.pop(0)
            while argv and argv[0].startswith("-") and argv[0] != "--":
                argv.pop(0)
        assigns: dict[str, str] = {}
        while argv and _ASSIGN.match(argv[0]):
            k, _, v = argv.pop(0).partition("=")
            assigns[k] = v
        if argv and argv[0] == "env":
            argv.pop(0)
            while argv and (argv[0].startswith("-") or _ASSIGN.match(argv[0])):
                tok = argv.pop(0)
                if _ASSIGN.match(tok):
                    k, _, v = tok.partition("=")
                    assigns[k] = v
        if not argv:
            for k, v in assigns.items():
                # A bare assignment only reaches child processes if the name is already exported.
                (exported if k in exported else shell_vars)[k] = v
            continue
        prog = argv[0]
        if prog == "export":
            for a in argv[1:]:
                k, eq, v = a.partition("=")
                if eq:
                    exported[k] = v
                elif k in shell_vars:
                    exported[k] = shell_vars[k]
            continue
        if prog == "unset":
            for a in argv[1:]:
                exported.pop(a, None)
            continue
        if prog in ("echo", "printf") and any("GITHUB_ENV" in r for r in redirects):
            for a in argv[1:]:
                k, eq, v = a.partition("=")
                if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                    out.github_env[k] = v
            continue
        if prog in ("apk", "apt-get", "apt", "yum", "dnf", "microdnf") and any(
            a.startswith(_CC_PACKAGES) for a in argv[1:]
        ):
            out.installs_cc = True
        out.runs.append((offset, prog))
        if (prog == "go" or prog.endswith("/go")) and len(argv) > 1:
            if argv[1] == "env" and "-w" in argv:
                for a in argv[2:]:
                    k, eq, v = a.partition("=")
                    if eq:
                        out.go_env_w[k] = v
                        exported[k] = v
            elif argv[1] in ("build", "install"):
                raw = shlex.join([*(f"{k}={v}" for k, v in assigns.items()), *argv])
                out.builds.append(ShellBuild(offset, {**exported, **assigns}, argv[1:], raw))
    out.exported = exported
    return out


# --------------------------------------------------------------------------------------------
# A go build found in a config


@dataclass
class GoBuild:
    """One ``go build`` (or goreleaser target) with everything known about how it runs."""

    file: str
    line: int
    env: dict[str, str]
    args: tuple[str, ...] = ()
    """Arguments after ``go`` (build/install and flags), or goreleaser flags."""
    command: str = ""
    column: int = 1
    host_os: str = "linux"
    host_arch: str = ""
    """Architecture of the machine running the build; "" when unknown."""
    image: str = ""
    """Image the build runs in ("" when it runs on the CI runner itself)."""
    context: str = ""
    """Where it is, for messages: "stage build", "job release (goos=windows, goarch=amd64)"."""
    cc_available: bool | None = None
    """Whether a C compiler is there (None: assume yes, as on CI runners and golang:*-bookworm)."""
    ldflags: str = ""
    output: str = ""
    trimpath: bool = False
    native_default: bool = True
    """False for goreleaser/ko builds whose GOOS/GOARCH always come from the target list."""

    def __post_init__(self) -> None:
        args = list(self.args)
        i = 0
        while i < len(args):
            a = args[i]
            name, eq, val = a.partition("=")
            if name in ("-o", "-ldflags", "--ldflags") and not eq and i + 1 < len(args):
                val = args[i + 1]
                i += 1
            if name == "-o":
                self.output = val
            elif name in ("-ldflags", "--ldflags"):
                self.ldflags = (self.ldflags + " " + val).strip()
            elif name in ("-trimpath", "--trimpath"):
                self.trimpath = True
            i += 1
        goflags = self.env.get("GOFLAGS", "")
        if "-trimpath" in goflags.split():
            self.trimpath = True
        for part in goflags.split():
            if part.startswith("-ldflags="):
                self.ldflags = (self.ldflags + " " + part[len("-ldflags="):]).strip()

    @property
    def goos(self) -> str:
        return self.env.get("GOOS") or self.host_os

    @property
    def goarch(self) -> str:
        return self.env.get("GOARCH") or self.host_arch

    @property
    def cgo_setting(self) -> str:
        """"1", "0", "" (unset) or the unresolved text."""
        return self.env.get("CGO_ENABLED", "")

    @property
    def is_cross(self) -> bool | None:
        """True when GOOS/GOARCH differ from the build machine; None when unknown."""
        goos, goarch = self.goos, self.goarch
        if not known(goos) or not known(goarch) or not goarch:
            return None
        if not self.host_arch or not self.host_os:
            return None
        return goos != self.host_os or goarch != self.host_arch

    @property
    def cgo_on(self) -> bool | None:
        """Whether cgo is really on, following the go command's defaults; None when unknown."""
        setting = self.cgo_setting
        if setting in ("0", "1"):
            return setting == "1"
        if setting:
            return None
        if "GOOS" in self.env or "GOARCH" in self.env:
            cross = self.is_cross
            if cross is None and self.host_arch == "" and known(self.env.get("GOOS", "")) \
                    and self.env.get("GOOS", self.host_os) != self.host_os:
                cross = True
            if cross:
                return False  # cross builds default to CGO_ENABLED=0
        if self.cc_available is False:
            return False  # the go command turns cgo off when it finds no C compiler
        return True

    @property
    def static_link(self) -> bool:
        flags = self.ldflags.replace("'", " ").replace('"', " ")
        return "-static" in flags.split() or "-extldflags=-static" in flags or "--static" in flags.split()

    @property
    def cc(self) -> str:
        return self.env.get("CC", "")

    def where(self) -> str:
        return f"{self.file}:{self.line}"


# --------------------------------------------------------------------------------------------
# Collection context


@dataclass
class _Ctx:
    repo: Path
    policy: PolicyEnv | None
    findings: dict[tuple[str, str, int, str], LintFinding] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    builds: list[GoBuild] = field(default_factory=list)
    runtime_images: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, line, image) of every image artifacts run in (final stages, ko base images)."""

    def add(self, rule_id: str, file: str, line: int, message: str, fix: str,
            evidence: Sequence[str] = (), column: int = 1, level: Level | None = None) -> None:
        rule = RULES[rule_id]
        lvl: Level = level or rule.level
        key = (rule_id, file, line, message)
        if key not in self.findings:
            self.findings[key] = LintFinding(rule_id, lvl, file, line, max(column, 1), message, fix,
                                             tuple(evidence))

    def rel(self, path: Path) -> str:
        return path.relative_to(self.repo).as_posix()


def _libc_text(libc: tuple[str, str]) -> str:
    name, version = libc
    if name == "none":
        return "no C library"
    return f"{name} {version}".strip()


# glibc 2.34 moved __libc_start_main (and libpthread) to new symbol versions: every cgo binary
# linked against glibc >= 2.34 needs GLIBC_2.34 (seen in the cgo-host test fixture).
_GLIBC_START_MAIN = (2, 34)


def _libc_problem(build_libc: tuple[str, str], run_libc: tuple[str, str]) -> tuple[str, Level]:
    """Why a dynamically linked cgo binary from one libc does not run on another, and how sure that is.

    ("", "note") when it runs. A newer build glibc is an error when the runtime is below 2.34 and
    the builder at or above it (certain), a warning otherwise (depends on the symbols used).
    """
    b, r = build_libc, run_libc
    if r[0] == "none":
        return "the runtime image has no C library and no dynamic loader", "error"
    if b[0] != r[0]:
        return f"it is linked against {_libc_text(b)} but the runtime image has {_libc_text(r)}", "error"
    if b[0] == "glibc" and b[1] and r[1] and _vt(b[1]) > _vt(r[1]):
        if _vt(b[1]) >= _GLIBC_START_MAIN > _vt(r[1]):
            return (f"it needs at least GLIBC_2.34 (__libc_start_main) but the runtime image has glibc {r[1]}",
                    "error")
        return f"it may need symbols up to GLIBC_{b[1]} but the runtime image has glibc {r[1]}", "warning"
    return "", "note"


# --------------------------------------------------------------------------------------------
# Checks shared by every kind of config


def _source_command(text: str, offset: int, fallback: str) -> str:
    """The line of the config that holds a go command, as the user wrote it (for fixes)."""
    lines = text.split("\n")
    line = lines[offset].strip() if 0 <= offset < len(lines) else ""
    line = line.removesuffix("\\").strip().removesuffix("&&").strip()
    if line.upper().startswith("RUN "):
        line = line[4:].strip()
    return line if re.search(r"\bgo (build|install)\b", line) else fallback


def _prefix_env(command: str, key: str, value: str) -> str:
    """``command`` (source text) with KEY=value in front of its go command, replacing KEY=... if set."""
    m = re.search(rf"(?<![A-Za-z0-9_]){key}=\S*", command)
    if m:
        return command[: m.start()] + f"{key}={value}" + command[m.end():]
    m = re.search(r"(?:^|[\s;&|(])(go (?:build|install))\b", command)
    if m:
        return command[: m.start(1)] + f"{key}={value} " + command[m.start(1):]
    return f"{key}={value} {command}"


def _exe_fix(b: GoBuild) -> str:
    # GitHub expressions (${{ matrix.goos }}) contain spaces: keep them whole.
    m = re.search(r"(?:^|\s)-o[= ]\s*((?:\$\{\{[^}]*\}\}|\S)+)", b.command)
    written = m.group(1) if m else b.output
    if "${{" in written:
        return f"-o {written}${{{{ matrix.goos == 'windows' && '.exe' || '' }}}}"
    if "$" in written:
        return f"-o {written}$EXT   (with EXT=.exe for GOOS=windows and empty otherwise)"
    return f"-o {written}.exe"


def _check_build(ctx: _Ctx, b: GoBuild) -> None:
    ctxt = f" ({b.context})" if b.context else ""
    goos, goarch = b.goos, b.goarch
    if goos == "windows" and b.output and known(b.output) and not b.output.endswith((".exe", "/")) \
            and not b.output.endswith(UNKNOWN):
        ctx.add("GOCI002", b.file, b.line,
                f"GOOS=windows build{ctxt} writes '{b.output}' without .exe; Windows will not run it by name",
                _exe_fix(b), [f"go {' '.join(b.args)}"], b.column)
    if b.cgo_setting == "1" and b.is_cross and not b.cc:
        target = f"{goos}/{goarch}"
        cross_cc = {"arm64": "aarch64-linux-gnu-gcc", "arm": "arm-linux-gnueabihf-gcc",
                    "amd64": "x86_64-linux-gnu-gcc", "386": "i686-linux-gnu-gcc"}.get(goarch, "")
        if goos == "windows":
            cross_cc = "x86_64-w64-mingw32-gcc" if goarch == "amd64" else "i686-w64-mingw32-gcc"
        suggestion = f"CC={cross_cc}" if cross_cc else f"CC='zig cc -target {goarch}-{goos}'"
        ctx.add("GOCI005", b.file, b.line,
                f"CGO_ENABLED=1 cross build for {target}{ctxt} on a {b.host_os}/{b.host_arch} builder with no CC "
                "set: the host C compiler cannot produce code for the target",
                _prefix_env(b.command, "CC", suggestion.split("=", 1)[1]) if b.command else suggestion,
                [f"CGO_ENABLED=1, GOOS={goos}, GOARCH={goarch}, CC unset"], b.column)
    _check_build_policy(ctx, b)


def _check_build_policy(ctx: _Ctx, b: GoBuild) -> None:
    pol = ctx.policy
    if pol is None:
        return
    ctxt = f" ({b.context})" if b.context else ""
    if pol.cgo_enabled is not None:
        on = b.cgo_on
        want = "1" if pol.cgo_enabled else "0"
        if on is not None and on != pol.cgo_enabled:
            state = f"CGO_ENABLED={b.cgo_setting}" if b.cgo_setting else "CGO_ENABLED unset (cgo on by default)"
            ctx.add("GOCI101", b.file, b.line,
                    f"policy {pol.name} requires CGO_ENABLED={want}; this build{ctxt} has {state}",
                    _prefix_env(b.command, "CGO_ENABLED", want) if b.command else f"CGO_ENABLED={want}",
                    [f"policy file: {pol.source}"], b.column)
    if pol.goos and known(b.goos) and b.goos and b.goos not in pol.goos:
        ctx.add("GOCI102", b.file, b.line,
                f"policy {pol.name} allows GOOS {', '.join(pol.goos)}; this build{ctxt} targets {b.goos}",
                f"GOOS={pol.goos[0]}", [f"policy file: {pol.source}"], b.column)
    if pol.goarch and known(b.goarch) and b.goarch and b.goarch not in pol.goarch:
        ctx.add("GOCI102", b.file, b.line,
                f"policy {pol.name} allows GOARCH {', '.join(pol.goarch)}; this build{ctxt} targets {b.goarch}",
                f"GOARCH={pol.goarch[0]}", [f"policy file: {pol.source}"], b.column)
    if pol.require_trimpath and not b.trimpath:
        ctx.add("GOCI008", b.file, b.line, f"policy {pol.name} requires -trimpath; this build{ctxt} lacks it",
                b.command.replace("go build", "go build -trimpath", 1) if "go build" in b.command
                else "flags: [-trimpath]", [], b.column)
    if pol.require_empty_buildid and "-buildid=" not in b.ldflags:
        ctx.add("GOCI009", b.file, b.line,
                f"policy {pol.name} requires -ldflags=-buildid=; this build{ctxt} does not set it",
                "-ldflags='-buildid='", [], b.column)
    if pol.min_glibc_target and b.cgo_on and b.image:
        libc = image_libc(b.image)
        if libc and libc[0] == "glibc" and libc[1] and _vt(libc[1]) > _vt(pol.min_glibc_target):
            ctx.add("GOCI104", b.file, b.line,
                    f"cgo build{ctxt} links against glibc {libc[1]} of {b.image}; policy {pol.name} targets "
                    f"glibc {pol.min_glibc_target}",
                    f"CC='zig cc -target x86_64-linux-gnu.{pol.min_glibc_target}' or CGO_ENABLED=0",
                    [f"{b.image}: glibc {libc[1]} (targets.toml)"], b.column)


def _check_image_ref(ctx: _Ctx, file: str, line: int, ref: str, column: int = 1) -> None:
    if not ref or not known(ref) or ref.lower() == "scratch":
        return
    why = _unpinned(ref)
    if why:
        repo_name = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
        level: Level | None = "error" if ctx.policy and ctx.policy.require_pinned_images else None
        ctx.add("GOCI007", file, line, f"image {ref} {why}: its contents (Go version, libc) change without notice",
                f"{repo_name}:<version>@sha256:<digest>", [], column, level)
    elif ctx.policy and ctx.policy.require_pinned_images and "@sha256:" not in ref:
        ctx.add("GOCI007", file, line,
                f"policy {ctx.policy.name} requires images pinned by digest; {ref} has none",
                f"{ref}@sha256:<digest>  (docker buildx imagetools inspect {ref})", [], column, "error")


# --------------------------------------------------------------------------------------------
# Dockerfiles


@dataclass
class _Stage:
    index: int
    name: str
    image: str
    """The FROM reference after ARG expansion."""
    root_image: str
    """The real base image (through FROM <earlier stage> chains)."""
    line: int
    platform: str
    env: dict[str, str]
    workdir: str = "/"
    cc_available: bool | None = None
    parent: _Stage | None = None
    builds: list[tuple[GoBuild, str]] = field(default_factory=list)
    """(build, absolute output path or "" when unknown)."""
    copies: list[tuple[int, str, list[str], str]] = field(default_factory=list)
    """(line, --from value, sources, destination)."""
    runs: list[tuple[int, str]] = field(default_factory=list)


def _platform_arch(platform: str) -> str:
    if not platform or not known(platform):
        return ""
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else ""


def _find_line(content: str, start: int, needle: str) -> int:
    for i, text in enumerate(content.split("\n")):
        if needle in text:
            return start + i
    return start


def _scan_dockerfile(ctx: _Ctx, path: Path) -> list[_Stage]:
    from dockerfile_parse import DockerfileParser

    rel = ctx.rel(path)
    data = path.read_bytes()
    try:
        structure = DockerfileParser(fileobj=io.BytesIO(data), env_replace=False).structure
    except Exception as exc:  # dockerfile-parse raises plain exceptions on malformed input
        ctx.add("GOCI000", rel, 1, f"cannot parse Dockerfile: {exc}", "fix the Dockerfile syntax")
        return []
    global_args: dict[str, str] = {}
    stages: list[_Stage] = []
    st: _Stage | None = None
    for ins in structure:
        instr = str(ins["instruction"]).upper()
        line = int(ins["startline"]) + 1
        value = str(ins["value"])
        if instr == "FROM":
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = value.split()
            platform = ""
            words: list[str] = []
            for p in parts:
                if p.startswith("--platform="):
                    platform = expand_vars(p.split("=", 1)[1], global_args)
                elif not p.startswith("--"):
                    words.append(p)
            if not words:
                ctx.add("GOCI000", rel, line, "FROM without an image", "FROM <image>")
                continue
            image = expand_vars(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            parent = next((s for s in stages if s.name and s.name.lower() == image.lower()), None)
            st = _Stage(len(stages), name, image, parent.root_image if parent else image, line, platform,
                        dict(parent.env) if parent else {}, parent.workdir if parent else "/",
                        parent.cc_available if parent else None, parent)
            stages.append(st)
            if parent is None:
                _check_image_ref(ctx, rel, line, image)
            continue
        if instr == "ARG":
            for tok in _split_words(value):
                k, eq, v = tok.partition("=")
                if st is None:
                    global_args[k] = v if eq else global_args.get(k, "")
                elif eq:
                    st.env[k] = expand_vars(v, st.env)
                elif global_args.get(k):
                    st.env[k] = global_args[k]
            continue
        if st is None:
            continue
        if instr == "ENV":
            words = _split_words(value)
            if words and "=" not in words[0]:
                st.env[words[0]] = expand_vars(" ".join(words[1:]), st.env)  # legacy "ENV KEY value"
            else:
                for tok in words:
                    k, _, v = tok.partition("=")
                    st.env[k] = expand_vars(v, st.env)
        elif instr == "WORKDIR":
            st.workdir = posixpath.normpath(posixpath.join(st.workdir, expand_vars(value.strip(), st.env)))
        elif instr in ("COPY", "ADD"):
            words = _split_words(value)
            src_from = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), "")
            plain = [w for w in words if not w.startswith("--")]
            if src_from and len(plain) >= 2:
                st.copies.append((line, expand_vars(src_from, st.env), plain[:-1], plain[-1]))
        elif instr == "RUN":
            _scan_run(ctx, rel, st, line, value, str(ins["content"]))
    _check_stages(ctx, rel, stages)
    return stages


def _split_words(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def _scan_run(ctx: _Ctx, rel: str, st: _Stage, line: int, value: str, content: str) -> None:
    script = value.strip()
    while script.startswith("--"):
        script = script.split(None, 1)[1] if " " in script else ""
    if script.startswith("["):
        try:
            script = shlex.join(str(a) for a in json.loads(script))
        except (ValueError, TypeError):
            pass
    scan = scan_shell(script, dict(st.env))
    if scan.installs_cc:
        st.cc_available = True
    st.env.update(scan.go_env_w)  # go env -w writes the go env file: later RUNs see it
    for _offset, prog in scan.runs:
        st.runs.append((line, prog))
    for sb in scan.builds:
        bline = _find_line(content, line, "go " + sb.args[0]) if sb.args else line
        root_libc = image_libc(st.root_image)
        cc_avail = st.cc_available
        if cc_avail is None and root_libc and root_libc[0] == "musl":
            cc_avail = False  # golang:*-alpine ships no gcc unless the Dockerfile installs one
        command = _source_command(content, bline - line, sb.raw)
        b = GoBuild(rel, bline, sb.env, tuple(sb.args), command, host_os="linux",
                    host_arch=_platform_arch(st.platform) if st.platform else "amd64",
                    image=st.root_image, context=f"stage {st.name or st.index}", cc_available=cc_avail)
        output = ""
        if b.output and known(b.output):
            output = posixpath.normpath(posixpath.join(st.workdir, b.output))
        elif not b.output and sb.args and sb.args[0] == "install":
            output = posixpath.join(sb.env.get("GOBIN") or "/go/bin", "")
        elif not b.output:
            output = posixpath.join(st.workdir, "")
        st.builds.append((b, output))
        ctx.builds.append(b)
        _check_build(ctx, b)


def _copy_matches(output: str, sources: list[str]) -> bool:
    if not output:
        return False
    import fnmatch

    for src in sources:
        s = posixpath.normpath("/" + src.lstrip("/")) if known(src) else ""
        if not s:
            continue
        if output.endswith("/"):  # unknown file name inside a known directory
            if s.startswith(output) or s == output.rstrip("/") or posixpath.dirname(s) + "/" == output:
                return True
            continue
        if output == s or output.startswith(s.rstrip("/") + "/") or fnmatch.fnmatch(output, s):
            return True
    return False


def _stage_builds(stage: _Stage) -> list[tuple[GoBuild, str]]:
    out: list[tuple[GoBuild, str]] = []
    s: _Stage | None = stage
    while s is not None:
        out.extend(s.builds)
        s = s.parent
    return out


def _check_stages(ctx: _Ctx, rel: str, stages: list[_Stage]) -> None:
    by_name = {s.name.lower(): s for s in stages if s.name}
    for st in stages:
        run_libc = image_libc(st.root_image)
        run_os = _image_os(st.root_image)
        run_arch = _platform_arch(st.platform)
        for copy_line, src_from, sources, dest in st.copies:
            src_stage = by_name.get(src_from.lower())
            if src_stage is None and src_from.isdigit() and int(src_from) < len(stages):
                src_stage = stages[int(src_from)]
            if src_stage is None:
                continue
            for b, output in _stage_builds(src_stage):
                if not _copy_matches(output, sources):
                    continue
                _check_shipped(ctx, rel, b, st, copy_line, dest, run_libc, run_os, run_arch)
        # A binary built in this same stage and executed here (RUN ./app).
        for b, output in _stage_builds(st):
            if b.goos == "windows" and output and not output.endswith("/"):
                for run_line, prog in st.runs:
                    if prog and (prog == output or posixpath.basename(prog) == posixpath.basename(output)) \
                            and run_os == "linux":
                        ctx.add("GOCI003", rel, run_line,
                                f"RUN executes {prog}, a GOOS=windows build ({b.where()}), in a Linux stage: "
                                "exec format error", "GOOS=linux for binaries run during the build",
                                [b.command])
    if stages:
        final = stages[-1]
        ctx.runtime_images.append((rel, final.line, final.root_image))


def _crash_text(run_libc: tuple[str, str], build_libc: tuple[str, str], dest: str, b: GoBuild) -> str:
    """What the container prints when it starts the binary."""
    exe = dest
    if dest.endswith("/") and b.output:
        exe = posixpath.join(dest, posixpath.basename(b.output))
    if run_libc[0] == build_libc[0] == "glibc":
        needed = "2.34" if _vt(build_libc[1]) >= _GLIBC_START_MAIN > _vt(run_libc[1]) else build_libc[1]
        return f"\"{exe}: ... version `GLIBC_{needed}' not found\""
    return f"\"exec {exe}: no such file or directory\" (the dynamic loader is missing)"


def _check_shipped(ctx: _Ctx, rel: str, b: GoBuild, st: _Stage, copy_line: int, dest: str,
                   run_libc: tuple[str, str] | None, run_os: str, run_arch: str) -> None:
    """Checks for a build whose output is copied into stage ``st``."""
    image = st.root_image
    if b.goos == "windows" and run_os == "linux":
        ctx.add("GOCI003", rel, copy_line,
                f"COPY puts a GOOS=windows binary (built at line {b.line}) into the Linux image {image}: "
                "the kernel cannot execute a PE file (exec format error)",
                _prefix_env(b.command, "GOOS", "linux"), [b.command, f"runtime stage: {image} (line {st.line})"])
    if b.goos == "linux" and known(b.goarch) and b.goarch and run_arch and b.goarch != run_arch:
        ctx.add("GOCI004", rel, copy_line,
                f"the binary is built for GOARCH={b.goarch} (line {b.line}) but the stage it is copied into "
                f"runs as {st.platform}: exec format error",
                "ARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build ...",
                [b.command, f"FROM --platform={st.platform} {st.image} (line {st.line})"])
    if b.cgo_on and not b.static_link and b.goos == "linux" and run_libc is not None:
        build_libc = image_libc(b.image)
        if build_libc is None:
            return
        problem, level = _libc_problem(build_libc, run_libc)
        if not problem:
            return
        state = "CGO_ENABLED=1" if b.cgo_setting == "1" else "CGO_ENABLED is not set (cgo defaults to on)"
        fix = _prefix_env(b.command, "CGO_ENABLED", "0")
        ctx.add("GOCI001", b.file, b.line,
                f"{state} in {b.image} ({_libc_text(build_libc)}), and the binary is copied (line {copy_line}) "
                f"into {image}: {problem}. The container "
                f"{'fails' if level == 'error' else 'can fail'} with {_crash_text(run_libc, build_libc, dest, b)}",
                f"RUN {fix}",
                [f"build: {b.command} in {b.image} ({_libc_text(build_libc)})",
                 f"runtime: FROM {st.image} (line {st.line}) → {_libc_text(run_libc)}"], level=level)


# --------------------------------------------------------------------------------------------
# GitHub Actions

_GHA_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _gha_expand(text: str, matrix: dict[str, Any], env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        expr = m.group(1)
        mm = re.fullmatch(r"matrix\.([A-Za-z0-9_-]+)", expr)
        if mm and mm.group(1) in matrix and not isinstance(matrix[mm.group(1)], (dict, list)):
            return _scalar(matrix[mm.group(1)])
        em = re.fullmatch(r"env\.([A-Za-z0-9_]+)", expr)
        if em and em.group(1) in env:
            return env[em.group(1)]
        return UNKNOWN

    return _GHA_EXPR.sub(sub, text)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def expand_matrix(matrix: Any, limit: int = 256) -> list[dict[str, Any]]:
    """The job combinations of a GitHub Actions strategy.matrix (include/exclude applied)."""
    if not isinstance(matrix, dict):
        return [{}]
    keys = [k for k in matrix if k not in ("include", "exclude")]
    combos: list[dict[str, Any]] = [{}]
    for k in keys:
        values = matrix[k] if isinstance(matrix[k], list) else [matrix[k]]
        combos = [{**c, k: v} for c in combos for v in values][:limit]
    excludes = matrix.get("exclude") or []
    if isinstance(excludes, list):
        combos = [c for c in combos
                  if not any(isinstance(e, dict) and all(c.get(k) == v for k, v in e.items()) for e in excludes)]
    includes = matrix.get("include") or []
    if keys == [] and includes:
        combos = []
    for inc in includes if isinstance(includes, list) else []:
        if not isinstance(inc, dict):
            continue
        matched = False
        for c in combos:
            # An include extends every combination whose original values it does not overwrite.
            if all(c.get(k) == v for k, v in inc.items() if k in keys):
                if any(k in keys for k in inc):
                    c.update({k: v for k, v in inc.items() if k not in keys})
                    matched = True
        if not matched:
            combos.append(dict(inc))
    return combos[:limit] or [{}]


def _runner_platform(runs_on: str) -> tuple[str, str]:
    low = runs_on.lower()
    if not known(low) or not low:
        return "linux", "amd64"
    if "windows" in low:
        return "windows", "arm64" if "arm" in low else "amd64"
    if "macos" in low:
        return "darwin", "amd64" if any(v in low for v in ("macos-13", "macos-12", "large")) else "arm64"
    return "linux", "arm64" if "arm" in low else "amd64"


def _env_map(value: Any, expand: Any = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):  # GitLab's {value: ..., description: ...}
                v = v.get("value", "")
            s = _scalar(v)
            out[str(k)] = expand(s) if expand else s
    return out


def _scan_github(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    doc = _load_yaml_file(ctx, path)
    if not isinstance(doc, YMap):
        return
    jobs = doc.get("jobs")
    if not isinstance(jobs, YMap):
        return
    wf_env_raw = doc.get("env")
    for job_id, job in jobs.items():
        if not isinstance(job, YMap):
            continue
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for combo in expand_matrix(matrix):
            label = ", ".join(f"{k}={_scalar(v)}" for k, v in combo.items() if not isinstance(v, (dict, list)))
            context = f"job {job_id}" + (f", {label}" if label else "")
            env: dict[str, str] = {}
            env.update(_env_map(wf_env_raw, lambda s, c=combo, e=env: _gha_expand(s, c, e)))
            env.update(_env_map(job.get("env"), lambda s, c=combo, e=env: _gha_expand(s, c, e)))
            host_os, host_arch = _runner_platform(_gha_expand(_scalar(job.get("runs-on", "")), combo, env))
            container = job.get("container")
            image = container.get("image") if isinstance(container, dict) else container
            image = _gha_expand(_scalar(image), combo, env) if image else ""
            if image:
                cline = job.value_lines.get("container", job.line)
                if isinstance(container, YMap) and "image" in container:
                    cline = container.value_lines["image"]
                _check_image_ref(ctx, rel, cline, image)
                host_os = "linux"
            steps = job.get("steps")
            if not isinstance(steps, YSeq):
                continue
            carried: dict[str, str] = {}
            for step in steps:
                if not isinstance(step, YMap) or not isinstance(step.get("run"), str):
                    continue
                step_env = {**env, **carried}
                step_env.update(_env_map(step.get("env"), lambda s, c=combo, e=step_env: _gha_expand(s, c, e)))
                script = _gha_expand(step["run"], combo, step_env)
                scan = scan_shell(script, step_env)
                carried.update(scan.github_env)
                base_line = step.value_lines["run"]
                for sb in scan.builds:
                    command = _source_command(step["run"], sb.offset, sb.raw)
                    b = GoBuild(rel, base_line + sb.offset, sb.env, tuple(sb.args), command, host_os=host_os,
                                host_arch=host_arch, image=image, context=context)
                    ctx.builds.append(b)
                    _check_build(ctx, b)


def _load_yaml_file(ctx: _Ctx, path: Path) -> Any:
    rel = ctx.rel(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.add("GOCI000", rel, 1, f"cannot read {rel}: {exc}", "make the file readable UTF-8 text")
        return None
    try:
        return load_yaml(text)
    except YamlError as exc:
        ctx.add("GOCI000", rel, exc.line, f"{exc} (line {exc.line})", "fix the YAML syntax at this line")
        return None


# --------------------------------------------------------------------------------------------
# GitLab CI

_GITLAB_RESERVED = {"image", "services", "stages", "types", "before_script", "after_script", "variables",
                    "cache", "include", "default", "workflow"}


def _gitlab_image(value: Any) -> str:
    if isinstance(value, dict):
        return _scalar(value.get("name", ""))
    return _scalar(value)


def _scan_gitlab(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    doc = _load_yaml_file(ctx, path)
    if not isinstance(doc, YMap):
        return
    default_raw = doc.get("default")
    default: YMap = default_raw if isinstance(default_raw, YMap) else YMap()
    top_vars = _env_map(doc.get("variables"))
    for key, job in doc.items():
        if key in _GITLAB_RESERVED or str(key).startswith(".") or not isinstance(job, YMap):
            continue
        job = _gitlab_extends(doc, job)
        img_key = "image"
        holder: YMap = job if "image" in job else default if "image" in default else doc
        image = _gitlab_image(holder.get(img_key, ""))
        combos: list[dict[str, Any]] = [{}]
        parallel = job.get("parallel")
        if isinstance(parallel, dict) and isinstance(parallel.get("matrix"), list):
            combos = []
            for entry in parallel["matrix"]:
                combos.extend(expand_matrix(entry) if isinstance(entry, dict) else [])
            combos = combos or [{}]
        for combo in combos:
            env = {**top_vars, **_env_map(job.get("variables"))}
            env.update({k: _scalar(v) for k, v in combo.items()})
            env = {k: expand_vars(v, env) for k, v in env.items()}
            img = expand_vars(image, env)
            if img and img_key in holder:
                _check_image_ref(ctx, rel, holder.value_lines[img_key], img)
            label = ", ".join(f"{k}={_scalar(v)}" for k, v in combo.items())
            context = f"job {key}" + (f", {label}" if label else "")
            for skey in ("before_script", "script"):
                items = job.get(skey)
                if isinstance(items, str):
                    items = YSeq([items])
                    items.item_lines = [job.value_lines[skey]]
                if not isinstance(items, YSeq):
                    continue
                carried = dict(env)
                for item, line in zip(items, items.item_lines, strict=False):
                    if not isinstance(item, str):
                        continue
                    scan = scan_shell(item, carried)
                    carried = scan.exported
                    for sb in scan.builds:
                        command = _source_command(item, sb.offset, sb.raw)
                        b = GoBuild(rel, line + sb.offset, sb.env, tuple(sb.args), command, host_os="linux",
                                    host_arch="amd64", image=img, context=context)
                        ctx.builds.append(b)
                        _check_build(ctx, b)


def _gitlab_extends(doc: YMap, job: YMap, depth: int = 0) -> YMap:
    parents = job.get("extends")
    if not parents or depth > 5:
        return job
    merged = YMap(job)
    merged.line = job.line
    merged.key_lines, merged.value_lines, merged.value_cols = (
        dict(job.key_lines), dict(job.value_lines), dict(job.value_cols))
    for name in parents if isinstance(parents, list) else [parents]:
        parent = doc.get(name)
        if isinstance(parent, YMap):
            parent = _gitlab_extends(doc, parent, depth + 1)
            for k, v in parent.items():
                if k not in merged:
                    merged[k] = v
                    merged.key_lines[k] = parent.key_lines.get(k, parent.line)
                    merged.value_lines[k] = parent.value_lines.get(k, parent.line)
                    merged.value_cols[k] = parent.value_cols.get(k, 1)
    return merged


# --------------------------------------------------------------------------------------------
# Makefiles


@dataclass
class MakeRecipeLine:
    line: int
    target: str
    text: str


@dataclass
class Makefile:
    """Variables (with export state) and recipe lines of a Makefile."""

    variables: dict[str, str] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    export_all: bool = False
    recipes: list[MakeRecipeLine] = field(default_factory=list)

    def expand(self, text: str, depth: int = 0) -> str:
        """Expand $(VAR) and ${VAR}; $(shell ...) and other functions become UNKNOWN; $$ → $."""
        if depth > 10:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "$" or i + 1 >= len(text):
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt in "({":
                close = ")" if nxt == "(" else "}"
                level, j = 1, i + 2
                while j < len(text) and level:
                    if text[j] == nxt:
                        level += 1
                    elif text[j] == close:
                        level -= 1
                    j += 1
                inner = text[i + 2 : j - 1]
                if " " in inner.strip() or "," in inner:
                    out.append(UNKNOWN)
                else:
                    name = self.expand(inner, depth + 1)
                    # An undefined variable may come from the caller's environment: unknown, not "".
                    out.append(self.expand(self.variables[name], depth + 1) if name in self.variables
                               else UNKNOWN if name else "")
                i = j
            else:
                out.append(self.expand(self.variables.get(nxt, ""), depth + 1))
                i += 2
        return "".join(out)

    def recipe_env(self) -> dict[str, str]:
        names = set(self.variables) if self.export_all else self.exported
        return {n: self.expand(self.variables[n]) for n in names if n in self.variables}


def parse_makefile(text: str) -> Makefile:
    """Read variable assignments (=, :=, ::=, ?=, +=, export, override) and recipe lines."""
    mk = Makefile()
    target = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start = i
        raw = lines[i]
        while raw.endswith("\\") and i + 1 < len(lines):
            i += 1
            raw = raw[:-1].rstrip() + " " + lines[i].lstrip()
        i += 1
        if raw.startswith("\t"):
            if target:
                mk.recipes.append(MakeRecipeLine(start + 1, target, raw[1:]))
            continue
        stripped = raw.split("#", 1)[0].strip()
        if not stripped:
            continue
        words = stripped.split()
        exporting = False
        while words and words[0] in ("export", "override", "private"):
            exporting = exporting or words[0] == "export"
            stripped = stripped[len(words[0]):].strip()
            words = words[1:]
        if exporting and not stripped:
            mk.export_all = True
            continue
        eq = stripped.find("=")
        colon = stripped.find(":")
        if eq > 0 and (colon < 0 or colon >= eq - 2):
            op_start = eq
            while op_start > 0 and stripped[op_start - 1] in ":?+!":
                op_start -= 1
            op = stripped[op_start : eq + 1]
            name = stripped[:op_start].strip()
            value = stripped[eq + 1 :].strip()
            if op == "?=" and name in mk.variables:
                pass
            elif op == "+=" and name in mk.variables:
                mk.variables[name] = (mk.variables[name] + " " + value).strip()
            elif op in (":=", "::="):
                mk.variables[name] = mk.expand(value)
            elif op == "!=":
                mk.variables[name] = UNKNOWN
            else:
                mk.variables[name] = value
            if exporting:
                mk.exported.add(name)
            target = ""
        elif exporting:
            mk.exported.update(words)
        elif colon > 0:
            target = stripped[:colon].strip()
    return mk


def _scan_makefile(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    try:
        mk = parse_makefile(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        ctx.add("GOCI000", rel, 1, f"cannot read {rel}: {exc}", "make the file readable")
        return
    env = mk.recipe_env()
    for rl in mk.recipes:
        text = rl.text.lstrip("@-+ \t")
        scan = scan_shell(mk.expand(text), dict(env))
        for sb in scan.builds:
            command = _source_command(text, sb.offset, sb.raw)
            b = GoBuild(rel, rl.line + sb.offset, sb.env, tuple(sb.args), command, host_os="linux",
                        host_arch="amd64", context=f"target {rl.target}")
            ctx.builds.append(b)
            _check_build(ctx, b)


# --------------------------------------------------------------------------------------------
# goreleaser

_GORELEASER_DEFAULT_GOOS = ("linux", "darwin", "windows")
_GORELEASER_DEFAULT_GOARCH = ("386", "amd64", "arm64")


def _env_items(seq: Any) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    if isinstance(seq, YSeq):
        for item, line in zip(seq, seq.item_lines, strict=False):
            k, eq, v = _scalar(item).partition("=")
            if eq:
                out.append((k.strip(), v.strip(), line))
    return out


def _scan_goreleaser(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    doc = _load_yaml_file(ctx, path)
    if not isinstance(doc, YMap):
        return
    global_env = _env_items(doc.get("env"))
    builds = doc.get("builds")
    if not isinstance(builds, YSeq):
        builds = YSeq([YMap()])
        builds.item_lines = [1]
    shipped_linux: list[GoBuild] = []
    for bdef, bline in zip(builds, builds.item_lines, strict=False):
        if not isinstance(bdef, YMap) or bdef.get("skip") is True:
            continue
        env_items = global_env + _env_items(bdef.get("env"))
        env = {k: v for k, v, _ in env_items}
        cgo_line = next((line for k, _, line in reversed(env_items) if k == "CGO_ENABLED"), bline)
        flags = [_scalar(f) for f in bdef.get("flags") or []] if isinstance(bdef.get("flags"), list) \
            else _split_words(_scalar(bdef.get("flags", "")))
        ldflags_raw = bdef.get("ldflags")
        ldflags = " ".join(_scalar(x) for x in ldflags_raw) if isinstance(ldflags_raw, list) else \
            _scalar(ldflags_raw)
        targets = _goreleaser_targets(bdef)
        overrides_raw = bdef.get("overrides")
        overrides: list[Any] = overrides_raw if isinstance(overrides_raw, list) else []
        bid = _scalar(bdef.get("id", "")) or _scalar(bdef.get("binary", "")) or "default"
        cross_no_cc: list[str] = []
        for goos, goarch in targets:
            tenv = dict(env)
            for ov in overrides:
                if isinstance(ov, dict) and _scalar(ov.get("goos", goos)) == goos and \
                        _scalar(ov.get("goarch", goarch)) == goarch:
                    tenv.update({k: v for k, v, _ in _env_items(ov.get("env"))})
            tenv.update({"GOOS": goos, "GOARCH": goarch})
            args = ("build", *flags, *(["-ldflags", ldflags] if ldflags else []))
            b = GoBuild(rel, cgo_line if "CGO_ENABLED" in tenv else bline, tenv, args, "",
                        host_os="linux", host_arch="amd64", context=f"build {bid}, {goos}/{goarch}",
                        column=1)
            ctx.builds.append(b)
            if tenv.get("CGO_ENABLED") == "1" and b.is_cross and not tenv.get("CC"):
                cross_no_cc.append(f"{goos}/{goarch}")
            _check_build_policy(ctx, b)
            if goos == "linux" and goarch == "amd64":
                shipped_linux.append(b)
        if cross_no_cc:
            ctx.add("GOCI005", rel, cgo_line,
                    f"build {bid} sets CGO_ENABLED=1 and cross-compiles {', '.join(cross_no_cc)} with no CC: "
                    "goreleaser runs every target with the host C compiler, which cannot produce them",
                    "overrides:\n  - goos: linux\n    goarch: arm64\n    env: [CC=aarch64-linux-gnu-gcc]\n"
                    "or env: [\"CC=zig cc -target {{ .Arch }}-{{ .Os }}\"] (goreleaser-cross / zig)",
                    [f"targets: {', '.join(f'{o}/{a}' for o, a in targets)}"])
    _goreleaser_images(ctx, rel, doc, shipped_linux)


def _goreleaser_targets(bdef: YMap) -> list[tuple[str, str]]:
    raw_targets = bdef.get("targets")
    if isinstance(raw_targets, list):
        out = []
        for t in raw_targets:
            parts = _scalar(t).split("_")
            if len(parts) >= 2:
                out.append((parts[0], parts[1]))
        return out
    goos = [_scalar(x) for x in bdef.get("goos") or _GORELEASER_DEFAULT_GOOS]
    goarch = [_scalar(x) for x in bdef.get("goarch") or _GORELEASER_DEFAULT_GOARCH]
    ignore_raw = bdef.get("ignore")
    ignore: list[Any] = ignore_raw if isinstance(ignore_raw, list) else [{"goos": "darwin", "goarch": "386"}]
    pairs = []
    for o in goos:
        for a in goarch:
            if any(isinstance(ig, dict) and _scalar(ig.get("goos", o)) == o and _scalar(ig.get("goarch", a)) == a
                   for ig in ignore):
                continue
            pairs.append((o, a))
    return pairs


def _goreleaser_images(ctx: _Ctx, rel: str, doc: YMap, shipped: list[GoBuild]) -> None:
    dockers = doc.get("dockers")
    for entry in dockers if isinstance(dockers, YSeq) else []:
        if not isinstance(entry, YMap):
            continue
        dockerfile = _scalar(entry.get("dockerfile", "Dockerfile"))
        dpath = ctx.repo / dockerfile
        if not known(dockerfile) or not dpath.is_file():
            continue
        from_image, from_line = _final_image(dpath)
        if not from_image:
            continue
        run_libc = image_libc(from_image)
        for b in shipped:
            if b.cgo_on and not b.static_link and run_libc and run_libc[0] in ("musl", "none"):
                line = entry.value_lines.get("dockerfile", entry.line)
                state = "CGO_ENABLED=1" if b.cgo_setting == "1" else "CGO_ENABLED unset (on for native linux/amd64)"
                ctx.add("GOCI001", rel, line,
                        f"goreleaser {b.context} has {state}, so the binary links the runner's glibc, and "
                        f"{dockerfile} ships it in {from_image} ({_libc_text(run_libc)}): the container fails "
                        "with 'exec /app: no such file or directory'",
                        "builds[].env: [CGO_ENABLED=0]",
                        [f"{dockerfile}:{from_line}: FROM {from_image}"])
                break
    kos = doc.get("kos")
    for entry in kos if isinstance(kos, YSeq) else []:
        if isinstance(entry, YMap) and "base_image" in entry:
            ref = _scalar(entry["base_image"])
            ctx.runtime_images.append((rel, entry.value_lines["base_image"], ref))
            _check_image_ref(ctx, rel, entry.value_lines["base_image"], ref)


def _final_image(path: Path) -> tuple[str, int]:
    from dockerfile_parse import DockerfileParser

    try:
        structure = DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), env_replace=False).structure
    except Exception:  # malformed files are reported when the Dockerfile itself is linted
        return "", 0
    image, line = "", 0
    for ins in structure:
        if str(ins["instruction"]).upper() == "FROM":
            words = [w for w in _split_words(str(ins["value"])) if not w.startswith("--")]
            if words:
                image, line = words[0], int(ins["startline"]) + 1
    return image, line


# --------------------------------------------------------------------------------------------
# go.mod


@dataclass(frozen=True)
class CgoModule:
    """A module that needs cgo, from data/cgo_modules.toml."""

    path: str
    library: str
    alternatives: tuple[str, ...]
    note: str
    source: str

    def matches(self, module: str) -> bool:
        return module == self.path or (module.startswith(self.path + "/v") and module[len(self.path) + 2:].isdigit())


@functools.cache
def cgo_modules() -> tuple[CgoModule, ...]:
    """The cgo-only module list shipped in goci_doctor/data/cgo_modules.toml."""
    path = Path(str(resources.files("goci_doctor") / "data" / "cgo_modules.toml"))
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, entry in enumerate(doc.get("module", [])):
        try:
            out.append(CgoModule(entry["path"], entry["library"], tuple(entry["alternatives"]), entry["note"],
                                 entry["source"]))
        except KeyError as exc:
            raise GociError(f"{path}: module #{i + 1}: missing key {exc}") from exc
    return tuple(out)


def parse_go_mod_requires(text: str) -> list[tuple[str, str, int]]:
    """(module path, version, 1-based line) of every require in a go.mod file."""
    out: list[tuple[str, str, int]] = []
    in_block = False
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if in_block:
            if line.startswith(")"):
                in_block = False
                continue
            words = line.split()
        elif line.startswith("require"):
            rest = line[len("require"):].strip()
            if rest.startswith("("):
                in_block = True
                continue
            words = rest.split()
        else:
            continue
        if len(words) >= 2:
            out.append((words[0].strip('"'), words[1], n))
    return out


def _check_go_mod(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    try:
        requires = parse_go_mod_requires(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        ctx.add("GOCI000", rel, 1, f"cannot read {rel}: {exc}", "make the file readable")
        return
    mod_dir = path.parent.relative_to(ctx.repo).as_posix()
    builds = [b for b in ctx.builds if mod_dir in (".", "") or b.file.startswith(mod_dir + "/")]
    for module, version, line in requires:
        cm = next((m for m in cgo_modules() if m.matches(module)), None)
        if cm is None:
            continue
        alt = cm.alternatives[0] if cm.alternatives else ""
        fix = (f"go get {alt} && go mod tidy  # replace {module} (pure Go: {', '.join(cm.alternatives)})"
               if alt else f"keep cgo on for {module} and build per target with a matching C toolchain")
        if builds and all(b.cgo_setting == "0" for b in builds):
            where = ", ".join(sorted({b.where() for b in builds})[:4])
            ctx.add("GOCI006", rel, line,
                    f"{module} {version} needs cgo ({cm.library}) but every build sets CGO_ENABLED=0 ({where}). "
                    f"{cm.note}", fix, [f"cgo_modules.toml: {cm.source}"])
        elif ctx.policy is not None and ctx.policy.cgo_enabled is False:
            ctx.add("GOCI101", rel, line,
                    f"policy {ctx.policy.name} requires CGO_ENABLED=0 but {module} needs cgo ({cm.library}). "
                    f"{cm.note}", fix, [f"cgo_modules.toml: {cm.source}"])


# --------------------------------------------------------------------------------------------
# Repository walk

_SKIP_DIRS = {".git", "vendor", "node_modules", "testdata", ".venv", "__pycache__", "third_party"}


def _walk(repo: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not (d.startswith(".") and d not in
                                                                              (".github", ".gitlab")))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _is_dockerfile(name: str) -> bool:
    low = name.lower()
    return low in ("dockerfile", "containerfile") or low.startswith("dockerfile.") or low.endswith(".dockerfile")


def lint_repo(repo: Path | str, policy_env: PolicyEnv | None = None) -> LintReport:
    """Lint every CI config under ``repo``; with ``policy_env`` also apply that environment's rules.

    Raises BadInputError when ``repo`` is not a directory. Unparseable files become GOCI000
    findings, never exceptions.
    """
    root = Path(repo)
    if not root.is_dir():
        raise BadInputError(f"{repo}: no such directory")
    root = root.resolve()
    ctx = _Ctx(root, policy_env)
    dockerfiles, workflows, gitlab, makefiles, goreleasers, gomods = [], [], [], [], [], []
    for p in _walk(root):
        rel = p.relative_to(root).as_posix()
        name = p.name
        if _is_dockerfile(name):
            dockerfiles.append(p)
        elif rel.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
            workflows.append(p)
        elif name in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
            gitlab.append(p)
        elif name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
            makefiles.append(p)
        elif name in (".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml"):
            goreleasers.append(p)
        elif name == "go.mod":
            gomods.append(p)
    for p in dockerfiles:
        ctx.files.append(ctx.rel(p))
        _scan_dockerfile(ctx, p)
    for p in workflows:
        ctx.files.append(ctx.rel(p))
        _scan_github(ctx, p)
    for p in gitlab:
        ctx.files.append(ctx.rel(p))
        _scan_gitlab(ctx, p)
    for p in makefiles:
        ctx.files.append(ctx.rel(p))
        _scan_makefile(ctx, p)
    for p in goreleasers:
        ctx.files.append(ctx.rel(p))
        _scan_goreleaser(ctx, p)
    for p in gomods:
        ctx.files.append(ctx.rel(p))
        _check_go_mod(ctx, p)
    if policy_env is not None and policy_env.allowed_images:
        for file, line, image in ctx.runtime_images:
            if known(image) and not policy_env.image_allowed(image):
                ctx.add("GOCI103", file, line,
                        f"runtime image {image} is not allowed by policy {policy_env.name} "
                        f"(allowed: {', '.join(policy_env.allowed_images)})",
                        f"FROM {policy_env.allowed_images[0].replace('*', '')}", [f"policy file: {policy_env.source}"])
    findings = sorted(ctx.findings.values(), key=lambda f: (f.file, f.line, f.rule_id, f.message))
    return LintReport(str(root), tuple(findings), tuple(ctx.files), policy_env.name if policy_env else "")


# --------------------------------------------------------------------------------------------
# Output


def _gh_escape(text: str, prop: bool = False) -> str:
    out = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        out = out.replace(":", "%3A").replace(",", "%2C")
    return out


def github_annotations(findings: Iterable[LintFinding]) -> str:
    """GitHub Actions workflow commands (::error file=...,line=...::message), one per finding."""
    lines = []
    for f in findings:
        cmd = {"error": "error", "warning": "warning", "note": "notice"}[f.level]
        props = []
        if f.file:
            props.append(f"file={_gh_escape(f.file, True)}")
            if f.line:
                props.append(f"line={f.line}")
                props.append(f"col={f.column}")
        props.append(f"title={_gh_escape(f'{f.rule_id} {f.rule_name}', True)}")
        lines.append(f"::{cmd} {','.join(props)}::{_gh_escape(f.message + chr(10) + 'fix: ' + f.fix)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_text(findings: Sequence[LintFinding], files: Sequence[str], header: str = "") -> str:
    """Human-readable report: one block per finding, then a summary line."""
    out: list[str] = []
    if header:
        out.append(header)
    for f in findings:
        col = f":{f.column}" if f.file and f.line else ""
        out.append(f"{f.location}{col}: {f.level} {f.rule_id} {f.rule_name}: {f.message}")
        for fix_line in f.fix.splitlines():
            out.append(f"    fix: {fix_line}")
        for ev in f.evidence:
            out.append(f"    evidence: {ev}")
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    checked = f"{len(files)} file(s) checked: " if files else ""
    out.append(f"{checked}{errors} error(s), {warnings} warning(s), {len(findings) - errors - warnings} note(s)")
    return "\n".join(out) + "\n"


def render_markdown(findings: Sequence[LintFinding], title: str) -> str:
    """A Markdown table of findings (for job summaries and PR comments)."""
    out = [f"## {title}", ""]
    if not findings:
        return "\n".join([*out, "No findings.", ""])
    out += ["| level | rule | where | why | fix |", "|---|---|---|---|---|"]
    for f in findings:
        cells = [f.level, f"{f.rule_id} {f.rule_name}", f.location, f.message, f.fix.replace("\n", "<br>")]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def findings_json(findings: Sequence[LintFinding], **extra: Any) -> dict[str, Any]:
    """The JSON document for ``--json`` (schema_version, findings with rule names, summary)."""
    from goci_doctor.model import SCHEMA_VERSION

    items = []
    for f in findings:
        d = to_jsonable(f)
        d["rule_name"] = f.rule_name
        d["evidence"] = list(f.evidence)
        items.append(d)
    return {
        "schema_version": SCHEMA_VERSION,
        **extra,
        "findings": items,
        "summary": {
            "errors": sum(f.level == "error" for f in findings),
            "warnings": sum(f.level == "warning" for f in findings),
            "notes": sum(f.level == "note" for f in findings),
        },
    }


def findings_sarif(findings: Sequence[LintFinding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log of the findings (GOCI rule table as tool.driver.rules)."""
    from goci_doctor import __version__

    results = [
        SarifResult(f.rule_id, f"{f.message}\nFix: {f.fix}", f.level, f.file, f.line, f.column,
                    fingerprint=f.message, properties={"fix": f.fix, "evidence": list(f.evidence)})
        for f in findings
    ]
    return sarif_log("goci-doctor", __version__, sarif_rules(), results)


def emit(findings: Sequence[LintFinding], files: Sequence[str], fmt: str, output: str | None,
         **json_extra: Any) -> None:
    """Write findings in ``fmt`` (text, json, sarif, github, markdown) to ``output`` or stdout.

    Under GitHub Actions (GITHUB_ACTIONS=true) the text format also prints annotations, so
    findings show up on the pull request's diff.
    """
    if fmt == "json":
        text = json.dumps(findings_json(findings, files=list(files), **json_extra), indent=2) + "\n"
    elif fmt == "sarif":
        text = json.dumps(findings_sarif(findings), indent=2) + "\n"
    elif fmt == "github":
        text = github_annotations(findings)
    elif fmt == "markdown":
        text = render_markdown(findings, "goci-doctor")
    else:
        text = render_text(findings, files)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    else:
        sys.stdout.write(text)
    if fmt == "text" and os.environ.get("GITHUB_ACTIONS") == "true":
        sys.stdout.write(github_annotations(findings))
    sys.stdout.flush()


def cmd_lint(args: argparse.Namespace) -> int:
    """``goci-doctor lint [REPO] [--policy ENV] [--format text|json|sarif|github] [-o FILE]``.

    Exit codes: 0 no error-level finding, 1 error findings or a policy violation, 2 bad input.
    """
    repo = Path(getattr(args, "repo", ".") or ".")
    if not repo.is_dir():
        raise BadInputError(f"{repo}: no such directory")
    policy_env = None
    if getattr(args, "policy", None) or getattr(args, "policy_file", None):
        from goci_doctor import policy as policy_mod

        pol = policy_mod.load_policy(policy_mod.policy_path(repo, getattr(args, "policy_file", None)))
        if getattr(args, "policy", None):
            policy_env = pol.env(args.policy)
    report = lint_repo(repo, policy_env)
    emit(report.findings, report.files, getattr(args, "format", "text") or "text", getattr(args, "output", None),
         repo=report.repo, policy_env=report.policy_env)
    return int(ExitCode.PROBLEM if report.has_error else ExitCode.OK)
