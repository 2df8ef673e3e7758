"""Reading CI configs into facts: every ``go build`` with its environment, and the images around it.

Parsers for GitHub Actions workflows, GitLab CI, Dockerfiles (multi-stage), Makefiles,
``.goreleaser.yaml`` and ``go.mod``: PyYAML node trees for line numbers, goci_doctor.gate.dockerfile_text,
shlex for shell lines and a small Makefile reader. Each reader turns a file into a
:class:`ConfigFacts` (the :class:`GoBuild` records, the images named, what could not be read)
and passes no judgement: the GOCI rules that decide what crashes live in :mod:`goci_doctor.gate.lint`.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re2

from goci_doctor.safety import linear, safeio

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
    """Invalid YAML, with the 1-based line it was found at."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_yaml(text: str) -> Any:
    """Parse one YAML document into YMap/YSeq/scalars with line numbers; YamlError on bad YAML."""
    import yaml

    try:
        node = safeio.compose_yaml(text)  # depth and alias expansion bounded
    except safeio.YamlLimitError as exc:
        raise YamlError(f"refused YAML: {exc}", exc.line) from None
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

_VAR = linear.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=+?]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ASSIGN = linear.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", "<", ">&", "<&", "&>", ">|", "&>>", "<<", "<<<"}
_PREFIX_WORDS = {
    "do",
    "then",
    "else",
    "elif",
    "if",
    "while",
    "until",
    "!",
    "{",
    "}",
    "time",
    "exec",
    "sudo",
    "command",
    "nice",
    "nohup",
}
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

    out = _VAR.sub(sub, text)
    if len(out) != len(text):
        safeio.spend(len(out))  # ENV X1=${X0}${X0} chains double on each line
    return out


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


_FOR_LOOP = re2.compile(r"^(.*?)\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([^;]*);\s*do\s+(.*?);?\s*done\b(.*)$")


def unroll_loops(script: str) -> str:
    """One-line ``for X in a b; do ...; done`` loops written out once per literal value."""
    if "for " not in script:
        return script
    out: list[str] = []
    for offset, text in _logical_lines(script):
        out += [""] * (offset - len(out))  # keep line offsets: a joined line leaves blank ones
        m = _FOR_LOOP.match(text) if len(text) < 4000 else None
        if m:
            values = m.group(3).split()
            if 0 < len(values) <= 16 and not any("$" in v or "*" in v for v in values):
                body = m.group(4)
                text = m.group(1) + " ; ".join(f"{m.group(2)}={v} ; {body}" for v in values) + " ; " + m.group(5)
        out.append(text)
    return "\n".join(out)


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
    """A go build/install in a script: line offset, environment it sees, arguments after ``go``."""

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
    calls: list[tuple[int, list[str], dict[str, str]]] = field(default_factory=list)
    """(offset, expanded argv, environment) of every command other than go build/install."""


XX_WRAP = "_GOCI_XX_GO_WRAP"
"""Pseudo variable: ``xx-go --wrap`` ran, so later ``go`` commands are tonistiigi/xx's wrapper."""

_CC_PACKAGES = ("gcc", "build-base", "build-essential", "clang", "musl-dev", "musl-tools", "zig")


_SHELL_PROGS = ("sh", "bash", "ash", "dash", "/bin/sh", "/bin/bash", "/bin/ash", "/usr/bin/env")


def _inline_script(argv: list[str]) -> str | None:
    """The script of ``sh -c '...'`` (also ``bash -ec``, ``/bin/sh -c``), None for other commands."""
    if argv[0] not in _SHELL_PROGS or (argv[0] == "/usr/bin/env" and argv[1:2] not in (["sh"], ["bash"])):
        return None
    args = argv[2:] if argv[0] == "/usr/bin/env" else argv[1:]
    for i, a in enumerate(args):
        if a.startswith("-") and not a.startswith("--") and a.endswith("c") and i + 1 < len(args):
            return args[i + 1]
        if not a.startswith("-"):
            return None
    return None


def scan_shell(script: str, env: dict[str, str], depth: int = 0) -> ShellScan:
    """Walk a shell script, tracking exported variables, and collect its go build commands."""
    out = ShellScan()
    exported = dict(env)
    shell_vars: dict[str, str] = {}
    for offset, argv, redirects in simple_commands(unroll_loops(script)):
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
        inline = _inline_script(argv) if depth < 3 else None
        if inline is not None:
            # `sh -c '...'` (exec-form RUN ["sh", "-c", "..."]): the string is a script of its own.
            sub = scan_shell(inline, {**exported, **assigns}, depth + 1)
            out.builds += [ShellBuild(offset, b.env, b.args, b.raw) for b in sub.builds]
            out.calls += [(offset, a, e) for _o, a, e in sub.calls]
            out.runs += [(offset, p) for _o, p in sub.runs]
            out.github_env.update(sub.github_env)
            out.go_env_w.update(sub.go_env_w)
            out.installs_cc = out.installs_cc or sub.installs_cc
            continue
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
        if prog in ("apk", "apt-get", "apt", "yum", "dnf", "microdnf", "xx-apk", "xx-apt", "xx-apt-get") and any(
            a.startswith(_CC_PACKAGES) for a in argv[1:]
        ):
            out.installs_cc = True
        out.runs.append((offset, prog))
        if prog == "xx-go" and argv[1:2] == ["--wrap"]:
            out.go_env_w[XX_WRAP] = exported[XX_WRAP] = "1"
            continue
        if prog == "xx-go" or (exported.get(XX_WRAP) == "1" and prog == "go"):
            # tonistiigi/xx: GOOS/GOARCH from TARGETPLATFORM and a cross CC (xx-clang) for cgo.
            assigns = {
                "GOOS": exported.get("TARGETOS", "$TARGETOS"),
                "GOARCH": exported.get("TARGETARCH", "$TARGETARCH"),
                "CC": "xx-clang",
                **assigns,
            }
            prog = "go"
        if not (prog == "go" or prog.endswith("/go")) or argv[1:2] not in (["build"], ["install"], ["env"]):
            out.calls.append((offset, argv, {**exported, **assigns}))
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
    platform: str = ""
    """The build stage's --platform as written ("$BUILDPLATFORM"), "" when none."""
    shipped: bool | None = None
    """False when nothing in its CI job uploads or releases what it builds (a compile check)."""
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
                self.ldflags = (self.ldflags + " " + part[len("-ldflags=") :]).strip()

    @property
    def goos(self) -> str:
        return self.env.get("GOOS") or self.host_os

    @property
    def goarch(self) -> str:
        return self.env.get("GOARCH") or self.host_arch

    @property
    def cgo_setting(self) -> str:
        """ "1", "0", "" (unset) or the unresolved text."""
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
            if (
                cross is None
                and self.host_arch == ""
                and known(self.env.get("GOOS", ""))
                and self.env.get("GOOS", self.host_os) != self.host_os
            ):
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


def source_command(text: str, offset: int, fallback: str) -> str:
    """The line of the config that holds a go command, as the user wrote it (for fixes)."""
    lines = text.split("\n")
    line = lines[offset].strip() if 0 <= offset < len(lines) else ""
    # A multi-line command (`go build \` ... `-o bin/app`) is kept whole, so fixes keep its -o.
    k = offset
    while line.endswith("\\") and k + 1 < len(lines) and k - offset < 40:
        k += 1
        nxt = lines[k].strip()
        line = line[:-1].rstrip() + " " + nxt
        if nxt.endswith("&&") or nxt.endswith(";"):
            break
    line = line.removesuffix("\\").strip().removesuffix("&&").strip().removesuffix(";").strip()
    if line.upper().startswith("RUN "):
        line = line[4:].strip()
    return line if re.search(r"\bgo (build|install)\b", line) else fallback


# --------------------------------------------------------------------------------------------
# Dockerfiles


@dataclass
class Stage:
    """One FROM stage of a Dockerfile, with what it builds, copies in and runs."""

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
    parent: Stage | None = None
    builds: list[tuple[GoBuild, str]] = field(default_factory=list)
    """(build, absolute output path or "" when unknown)."""
    copies: list[tuple[int, str, list[str], str]] = field(default_factory=list)
    """(line, --from value, sources, destination)."""
    runs: list[tuple[int, str]] = field(default_factory=list)
    opaque: list[tuple[int, str]] = field(default_factory=list)
    """(line, description) of builds that happen where goci-doctor cannot follow them."""
    raw_platform: str = ""
    """The --platform value as written ("$BUILDPLATFORM")."""


def platform_arch(platform: str) -> str:
    """The architecture of a --platform value ("linux/arm64" → "arm64"); "" when unknown."""
    if not platform or not known(platform):
        return ""
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else ""


def _find_line(content: str, start: int, needle: str) -> int:
    for i, text in enumerate(content.split("\n")):
        if needle in text:
            return start + i
    return start


def split_words(value: str) -> list[str]:
    """Shell words of ``value``; plain whitespace split when its quotes do not balance."""
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def copy_matches(output: str, sources: list[str]) -> bool:
    """Whether a COPY of ``sources`` takes a build output.

    ``output`` is an absolute path, ending in / when only its directory is known.
    """
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


def stage_builds(stage: Stage) -> list[tuple[GoBuild, str]]:
    """(build, output path) of a stage and of the stages it is built FROM."""
    out: list[tuple[GoBuild, str]] = []
    s: Stage | None = stage
    while s is not None:
        out.extend(s.builds)
        s = s.parent
    return out


# --------------------------------------------------------------------------------------------
# GitHub Actions


def scalar(v: Any) -> str:
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
        combos = [
            c
            for c in combos
            if not any(isinstance(e, dict) and all(c.get(k) == v for k, v in e.items()) for e in excludes)
        ]
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


def runner_platform(runs_on: str) -> tuple[str, str]:
    low = runs_on.lower()
    if not known(low) or not low:
        return "linux", "amd64"
    if "windows" in low:
        return "windows", "arm64" if "arm" in low else "amd64"
    if "macos" in low:
        return "darwin", "amd64" if any(v in low for v in ("macos-13", "macos-12", "large")) else "arm64"
    return "linux", "arm64" if "arm" in low else "amd64"


def env_map(value: Any, expand: Any = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):  # GitLab's {value: ..., description: ...}
                v = v.get("value", "")
            s = scalar(v)
            out[str(k)] = expand(s) if expand else s
    return out


# --------------------------------------------------------------------------------------------
# GitLab CI

_GITLAB_RESERVED = {
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "default",
    "workflow",
}


def _gitlab_image(value: Any) -> str:
    if isinstance(value, dict):
        return scalar(value.get("name", ""))
    return scalar(value)


def _gitlab_extends(doc: YMap, job: YMap, depth: int = 0) -> YMap:
    parents = job.get("extends")
    if not parents or depth > 5:
        return job
    merged = YMap(job)
    merged.line = job.line
    merged.key_lines, merged.value_lines, merged.value_cols = (
        dict(job.key_lines),
        dict(job.value_lines),
        dict(job.value_cols),
    )
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
    """One recipe line of a Makefile target (1-based line)."""

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
    source: str = ""

    def expand(self, text: str, depth: int = 0) -> str:
        """Expand $(VAR) and ${VAR}; $(shell ...) and other functions become UNKNOWN; $$ → $."""
        safeio.spend(0)  # every call counts: $(A) = $(B)$(B)... chains grow exponentially
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
                    out.append(
                        self.expand(self.variables[name], depth + 1)
                        if name in self.variables
                        else UNKNOWN
                        if name
                        else ""
                    )
                i = j
            else:
                out.append(self.expand(self.variables.get(nxt, ""), depth + 1))
                i += 2
        result = "".join(out)
        safeio.spend(len(result))
        return result

    def recipe_env(self) -> dict[str, str]:
        names = set(self.variables) if self.export_all else self.exported
        return {n: self.expand(self.variables[n]) for n in names if n in self.variables}


def parse_makefile(text: str) -> Makefile:
    """Read variable assignments (=, :=, ::=, ?=, +=, export, override) and recipe lines."""
    mk = Makefile(source=text)
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
            stripped = stripped[len(words[0]) :].strip()
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


# --------------------------------------------------------------------------------------------
# goreleaser

_GORELEASER_DEFAULT_GOOS = ("linux", "darwin", "windows")
_GORELEASER_DEFAULT_GOARCH = ("386", "amd64", "arm64")


def _env_items(seq: Any) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    if isinstance(seq, YSeq):
        for item, line in zip(seq, seq.item_lines, strict=False):
            k, eq, v = scalar(item).partition("=")
            if eq:
                out.append((k.strip(), v.strip(), line))
    return out


def _env_raw(seq: Any) -> list[tuple[str, int]]:
    """(entry as written, line) of a goreleaser env list (entries may be templates)."""
    if isinstance(seq, YSeq):
        return [(scalar(item), line) for item, line in zip(seq, seq.item_lines, strict=False)]
    return []


def _target_env(raw: list[tuple[str, int]], goos: str, goarch: str) -> dict[str, str]:
    """A goreleaser env list rendered for one target; unknown templates leave their names UNKNOWN."""
    from goci_doctor.gate.gotemplate import render

    out: dict[str, str] = {}
    data = {"Os": goos, "Arch": goarch, "Target": f"{goos}_{goarch}"}
    for text, _line in raw:
        rendered = render(text, {**data, "Env": dict(out)})
        if rendered is None:
            for name in ("CC", "CXX", "CGO_ENABLED"):
                if name in text:
                    out[name] = UNKNOWN
            continue
        k, eq, v = rendered.strip().partition("=")
        if eq and k.strip():
            out[k.strip()] = v.strip()
    return out


def _goreleaser_targets(bdef: YMap) -> list[tuple[str, str]]:
    raw_targets = bdef.get("targets")
    if isinstance(raw_targets, list):
        out = []
        for t in raw_targets:
            parts = scalar(t).split("_")
            if len(parts) >= 2:
                out.append((parts[0], parts[1]))
        return out
    from goci_doctor.gate.gotemplate import GO_TARGETS

    goos = [scalar(x) for x in bdef.get("goos") or _GORELEASER_DEFAULT_GOOS]
    goarch = [scalar(x) for x in bdef.get("goarch") or _GORELEASER_DEFAULT_GOARCH]
    ignore_raw = bdef.get("ignore")
    ignore: list[Any] = ignore_raw if isinstance(ignore_raw, list) else [{"goos": "darwin", "goarch": "386"}]
    pairs = []
    for o in goos:
        for a in goarch:
            if (
                any(
                    isinstance(ig, dict) and scalar(ig.get("goos", o)) == o and scalar(ig.get("goarch", a)) == a
                    for ig in ignore
                )
                or f"{o}/{a}" not in GO_TARGETS
            ):
                continue  # goreleaser builds only what `go tool dist list` has
            pairs.append((o, a))
    return pairs


def final_image(path: Path) -> tuple[str, int]:
    """(image, line) of the last FROM of a Dockerfile, as written; ("", 0) when it has none or cannot be parsed."""
    from goci_doctor.gate.dockerfile_text import structure as dockerfile_structure

    try:
        structure = dockerfile_structure(safeio.read_bytes(path).decode("utf-8", errors="replace"))
    except Exception:  # malformed files are reported when the Dockerfile itself is linted
        return "", 0
    image, line = "", 0
    for ins in structure:
        if str(ins["instruction"]).upper() == "FROM":
            words = [w for w in split_words(str(ins["value"])) if not w.startswith("--")]
            if words:
                image, line = words[0], int(ins["startline"]) + 1
    return image, line


# --------------------------------------------------------------------------------------------
# go.mod


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
            rest = line[len("require") :].strip()
            if rest.startswith("("):
                in_block = True
                continue
            words = rest.split()
        else:
            continue
        if len(words) >= 2:
            out.append((words[0].strip('"'), words[1], n))
    return out


# --------------------------------------------------------------------------------------------
# Facts read from one config file


@dataclass
class ConfigFacts:
    """What one CI config file says about its Go builds, as written (no judgement)."""

    file: str
    """Repository-relative path."""
    builds: list[GoBuild] = field(default_factory=list)
    images: list[tuple[int, str]] = field(default_factory=list)
    """(line, reference) of every image a job or a Dockerfile stage starts from."""
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, message, fix) for what could not be read or parsed."""
    release_envs: list[dict[str, str]] = field(default_factory=list)
    """Environment of each CI step that runs goreleaser (its builds inherit it)."""


@dataclass
class DockerfileFacts(ConfigFacts):
    """A Dockerfile's stages in order (their builds, COPY --from and RUN lines)."""

    stages: list[Stage] = field(default_factory=list)


@dataclass
class GoreleaserBuild:
    """One ``builds:`` entry of a goreleaser config, expanded to one GoBuild per target."""

    id: str
    line: int
    """Line of its CGO_ENABLED setting, or of the entry when it sets none."""
    targets: list[tuple[str, str]]
    builds: list[GoBuild]


@dataclass
class GoreleaserFacts(ConfigFacts):
    """The builds of a goreleaser config and the images it ships them in."""

    entries: list[GoreleaserBuild] = field(default_factory=list)
    dockers: list[tuple[int, str]] = field(default_factory=list)
    """(line, Dockerfile path) of each ``dockers:`` entry."""
    ko_images: list[tuple[int, str]] = field(default_factory=list)
    """(line, base_image) of each ``kos:`` entry."""


def load_yaml_file(path: Path, facts: ConfigFacts) -> Any:
    """The parsed YAML document of ``path``; None (with a problem in ``facts``) when unreadable."""
    try:
        text = safeio.read_text(path)
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {facts.file}: {exc.reason}", "make the file readable UTF-8 text"))
        return None
    try:
        return load_yaml(text)
    except YamlError as exc:
        facts.problems.append((exc.line, f"{exc} (line {exc.line})", "fix the YAML syntax at this line"))
        return None


def read_dockerfile(path: Path, rel: str) -> DockerfileFacts:
    """The stages of a (multi-stage) Dockerfile with ARG/ENV expanded and their go builds.

    A build's ``cc_available`` is True when an earlier RUN installed a C compiler and None
    otherwise; what the base image ships is for the caller to know.
    """
    from goci_doctor.gate.dockerfile_text import structure as dockerfile_structure

    facts = DockerfileFacts(rel)
    try:
        data = safeio.read_bytes(path)
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {rel}: {exc.reason}", "make the file a readable regular file"))
        return facts
    try:
        structure = dockerfile_structure(data.decode("utf-8", errors="replace"))
    except Exception as exc:  # a malformed file is a finding, never a traceback
        facts.problems.append((1, f"cannot parse Dockerfile: {exc}", "fix the Dockerfile syntax"))
        return facts
    global_args: dict[str, str] = {}
    stages = facts.stages
    as_posix = path.as_posix()
    repo = Path(as_posix[: -len(rel)] or ".") if as_posix.endswith(rel) else path.parent
    st: Stage | None = None
    for ins in structure:
        instr = str(ins["instruction"]).upper()
        line = int(ins["startline"]) + 1
        value = str(ins["value"])
        if instr == "FROM":
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = value.split()
            platform = raw_platform = ""
            words: list[str] = []
            for p in parts:
                if p.startswith("--platform="):
                    raw_platform = p.split("=", 1)[1]
                    platform = expand_vars(raw_platform, global_args)
                elif not p.startswith("--"):
                    words.append(p)
            if not words:
                facts.problems.append((line, "FROM without an image", "FROM <image>"))
                continue
            image = expand_vars(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            parent = next((s for s in stages if s.name and s.name.lower() == image.lower()), None)
            st = Stage(
                len(stages),
                name,
                image,
                parent.root_image if parent else image,
                line,
                platform,
                dict(parent.env) if parent else {},
                parent.workdir if parent else "/",
                parent.cc_available if parent else None,
                parent,
            )
            st.raw_platform = raw_platform or (parent.raw_platform if parent else "")
            stages.append(st)
            if parent is None:
                facts.images.append((line, image))
            continue
        if instr == "ARG":
            for tok in split_words(value):
                k, eq, v = tok.partition("=")
                if st is None:
                    if eq:
                        global_args[k] = expand_vars(v, global_args)
                    # ARG NAME without a default: set only by --build-arg, so it stays $NAME.
                elif eq:
                    st.env[k] = expand_vars(v, st.env)
                elif global_args.get(k):
                    st.env[k] = global_args[k]
            continue
        if st is None:
            continue
        if instr == "ENV":
            words = split_words(value)
            if words and "=" not in words[0]:
                st.env[words[0]] = expand_vars(" ".join(words[1:]), st.env)  # legacy "ENV KEY value"
            else:
                for tok in words:
                    k, _, v = tok.partition("=")
                    st.env[k] = expand_vars(v, st.env)
        elif instr == "WORKDIR":
            st.workdir = posixpath.normpath(posixpath.join(st.workdir, expand_vars(value.strip(), st.env)))
        elif instr in ("COPY", "ADD"):
            words = split_words(value)
            src_from = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), "")
            plain = [w for w in words if not w.startswith("--")]
            if src_from and len(plain) >= 2:
                st.copies.append((line, expand_vars(src_from, st.env), plain[:-1], plain[-1]))
        elif instr == "RUN":
            facts.builds.extend(_read_run(rel, st, line, value, str(ins["content"]), repo))
    return facts


def _read_run(rel: str, st: Stage, line: int, value: str, content: str, repo: Path | None = None) -> list[GoBuild]:
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
    found: list[tuple[ShellBuild, int, str, str]] = []
    for sb in scan.builds:
        bline = _find_line(content, line, "go " + sb.args[0]) if sb.args else line
        found.append((sb, bline, source_command(content, bline - line, sb.raw), ""))
    if repo is not None and scan.calls:
        from goci_doctor.gate.buildfollow import follow

        followed = follow(scan, repo, "", st.workdir)
        for fb in followed.builds:
            found.append((fb.build, line, fb.command, fb.via))
        st.opaque += [(line, what) for _offset, what in followed.opaque]
    builds = []
    for sb, bline, command, via in found:
        context = f"stage {st.name or st.index}" + (f", via {via}" if via else "")
        b = GoBuild(
            rel,
            bline,
            sb.env,
            tuple(sb.args),
            command,
            host_os="linux",
            host_arch=platform_arch(st.platform) if st.platform else "amd64",
            image=st.root_image,
            context=context,
            cc_available=st.cc_available,
            platform=st.raw_platform,
        )
        output = ""
        if b.output and known(b.output):
            output = posixpath.normpath(posixpath.join(st.workdir, b.output))
        elif not b.output and sb.args and sb.args[0] == "install":
            output = posixpath.join(sb.env.get("GOBIN") or "/go/bin", _install_name(sb.args))
        elif not b.output:
            output = posixpath.join(st.workdir, "")
        st.builds.append((b, output))
        builds.append(b)
    return builds


def _install_name(args: list[str]) -> str:
    """The binary name ``go install pkg[@version]`` writes ("" when it cannot be told)."""
    pkgs = [a for a in args[1:] if not a.startswith("-")]
    if len(pkgs) != 1 or "$" in pkgs[0] or "..." in pkgs[0]:
        return ""
    path = pkgs[0].split("@", 1)[0].rstrip("/")
    parts = [p for p in path.split("/") if p not in (".", "")]
    if parts and re.fullmatch(r"v[0-9]+", parts[-1]) and len(parts) > 1:
        parts.pop()  # module major version suffix: example.com/tool/v2 installs "tool"
    return parts[-1] if parts and pkgs[0].split("@", 1)[0] not in (".", "./") else ""


def _shell_builds(
    rel: str, source: str, line: int, scan: ShellScan, *, host_os: str, host_arch: str, context: str, image: str = ""
) -> list[GoBuild]:
    """A GoBuild for each go build of ``scan``, the scan of ``source`` (a script that starts at ``line``)."""
    return [
        GoBuild(
            rel,
            line + sb.offset,
            sb.env,
            tuple(sb.args),
            source_command(source, sb.offset, sb.raw),
            host_os=host_os,
            host_arch=host_arch,
            image=image,
            context=context,
        )
        for sb in scan.builds
    ]


def read_github(path: Path, rel: str) -> ConfigFacts:
    """The go builds of a GitHub Actions workflow: one per job, matrix combination and run step.

    Conditions, expressions, make/script following and reusable workflows: goci_doctor.gate.ghaworkflow.
    """
    from goci_doctor.gate.ghaworkflow import read_workflow

    return read_workflow(path, rel)


def read_gitlab(path: Path, rel: str) -> ConfigFacts:
    """The go builds of a .gitlab-ci.yml: one per job (extends applied), parallel:matrix entry and script."""
    facts = ConfigFacts(rel)
    doc = load_yaml_file(path, facts)
    if not isinstance(doc, YMap):
        return facts
    default_raw = doc.get("default")
    default: YMap = default_raw if isinstance(default_raw, YMap) else YMap()
    top_vars = env_map(doc.get("variables"))
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
            env = {**top_vars, **env_map(job.get("variables"))}
            env.update({k: scalar(v) for k, v in combo.items()})
            env = {k: expand_vars(v, env) for k, v in env.items()}
            img = expand_vars(image, env)
            if img and img_key in holder:
                facts.images.append((holder.value_lines[img_key], img))
            label = ", ".join(f"{k}={scalar(v)}" for k, v in combo.items())
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
                    facts.builds += _shell_builds(
                        rel, item, line, scan, host_os="linux", host_arch="amd64", image=img, context=context
                    )
                    if scan.calls:
                        from goci_doctor.gate.buildfollow import follow

                        repo = (
                            Path(path.as_posix()[: -len(rel)] or ".") if path.as_posix().endswith(rel) else path.parent
                        )
                        for fb in follow(scan, repo).builds:
                            facts.builds.append(
                                GoBuild(
                                    rel,
                                    line,
                                    fb.build.env,
                                    tuple(fb.build.args),
                                    fb.command,
                                    host_os="linux",
                                    host_arch="amd64",
                                    image=img,
                                    context=f"{context}, via {fb.via}",
                                )
                            )
    return facts


def read_makefile(path: Path, rel: str) -> ConfigFacts:
    """The go builds in a Makefile's recipes, with its exported variables as their environment."""
    facts = ConfigFacts(rel)
    try:
        mk = parse_makefile(safeio.read_text(path, errors="replace"))
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {rel}: {exc.reason}", "make the file readable"))
        return facts
    from goci_doctor.gate.makeresolve import parse_make, resolve

    # The text parse_makefile read, again through makeresolve: conditionals, target-specific
    # variables and exports decide each recipe's environment.
    db = parse_make(mk.source)
    lines, _missing = resolve(db, [t for t in db.rules if "%" not in t and not t.startswith(".")], prereqs=False)
    for rl in lines:
        scan = scan_shell(rl.text, dict(rl.env))
        for b in _shell_builds(
            rel, rl.raw, rl.line, scan, host_os="linux", host_arch="amd64", context=f"target {rl.target}"
        ):
            if b.goos in ("darwin", "ios"):
                # A Makefile does not say where it runs; Apple targets are built on macOS hosts.
                b.host_os, b.host_arch = "darwin", ""
            facts.builds.append(b)
    if db.exhausted:
        facts.problems.append(
            (
                1,
                f"{rel}: variable expansion exceeded its budget (a value that keeps growing, or "
                "too many expansions); the recipes using it were not followed",
                "simplify the variables, or check the built artifact with `goci-doctor check`",
            )
        )
    return facts


def read_goreleaser(path: Path, rel: str) -> GoreleaserFacts:
    """A goreleaser config: each build entry expanded to its targets, its dockers and kos images."""
    facts = GoreleaserFacts(rel)
    doc = load_yaml_file(path, facts)
    if not isinstance(doc, YMap):
        return facts
    global_env = _env_items(doc.get("env"))
    builds = doc.get("builds")
    if not isinstance(builds, YSeq):
        builds = YSeq([YMap()])
        builds.item_lines = [1]
    for bdef, bline in zip(builds, builds.item_lines, strict=False):
        if not isinstance(bdef, YMap) or bdef.get("skip") is True:
            continue
        env_items = global_env + _env_items(bdef.get("env"))
        env_raw = _env_raw(doc.get("env")) + _env_raw(bdef.get("env"))
        cgo_line = next((line for k, _, line in reversed(env_items) if k == "CGO_ENABLED"), bline)
        if cgo_line == bline:
            cgo_line = next((line for text, line in reversed(env_raw) if "CGO_ENABLED" in text), bline)
        flags = (
            [scalar(f) for f in bdef.get("flags") or []]
            if isinstance(bdef.get("flags"), list)
            else split_words(scalar(bdef.get("flags", "")))
        )
        ldflags_raw = bdef.get("ldflags")
        ldflags = " ".join(scalar(x) for x in ldflags_raw) if isinstance(ldflags_raw, list) else scalar(ldflags_raw)
        targets = _goreleaser_targets(bdef)
        overrides_raw = bdef.get("overrides")
        overrides: list[Any] = overrides_raw if isinstance(overrides_raw, list) else []
        bid = scalar(bdef.get("id", "")) or scalar(bdef.get("binary", "")) or "default"
        entry = GoreleaserBuild(bid, cgo_line, targets, [])
        for goos, goarch in targets:
            tenv = _target_env(env_raw, goos, goarch)
            for ov in overrides:
                if (
                    isinstance(ov, dict)
                    and scalar(ov.get("goos", goos)) == goos
                    and scalar(ov.get("goarch", goarch)) == goarch
                ):
                    tenv.update(_target_env(_env_raw(ov.get("env")), goos, goarch))
            tenv.update({"GOOS": goos, "GOARCH": goarch})
            args = ("build", *flags, *(["-ldflags", ldflags] if ldflags else []))
            entry.builds.append(
                GoBuild(
                    rel,
                    cgo_line if "CGO_ENABLED" in tenv else bline,
                    tenv,
                    args,
                    "",
                    host_os="linux",
                    host_arch="amd64",
                    context=f"build {bid}, {goos}/{goarch}",
                    column=1,
                )
            )
        facts.entries.append(entry)
        facts.builds.extend(entry.builds)
    dockers = doc.get("dockers")
    dockers_v2 = doc.get("dockers_v2")
    for dentry in [
        *(dockers if isinstance(dockers, YSeq) else []),
        *(dockers_v2 if isinstance(dockers_v2, YSeq) else []),
    ]:
        if isinstance(dentry, YMap):
            facts.dockers.append(
                (dentry.value_lines.get("dockerfile", dentry.line), scalar(dentry.get("dockerfile", "Dockerfile")))
            )
    kos = doc.get("kos")
    for kentry in kos if isinstance(kos, YSeq) else []:
        if isinstance(kentry, YMap) and "base_image" in kentry:
            facts.ko_images.append((kentry.value_lines["base_image"], scalar(kentry["base_image"])))
    return facts
