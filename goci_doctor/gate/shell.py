"""Shell scripts into go build invocations: variable expansion, simple commands, :func:`scan_shell`.

A ``run:`` step, a Dockerfile ``RUN``, a recipe line: :func:`scan_shell` walks the script,
tracking exported variables (``export``, ``go env -w``, ``$GITHUB_ENV``, tonistiigi/xx's
``xx-go``), and returns every ``go build``/``go install`` with the environment it sees
(:class:`ShellScan`). :data:`UNKNOWN` stands for a value that cannot be known statically.

Imports only goci_doctor.safety (linear regular expressions, the expansion budget).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

import re2

from goci_doctor.safety import linear, safeio

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


def split_words(value: str) -> list[str]:
    """Shell words of ``value``; plain whitespace split when its quotes do not balance."""
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


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
