"""Following a build to where it happens: ``make <target>``, repository scripts, build programs.

A Dockerfile ``RUN make backend`` or ``RUN ./scripts/build.sh`` hides the ``go build`` that
produces the shipped binary. :func:`follow` takes the commands a shell scan saw
(:attr:`ShellScan.calls`) and looks them up in the repository: make goals are resolved with
:mod:`goci_doctor.gate.makeresolve` (command-line variables, the caller's environment), shell
scripts are scanned like the RUN itself, each at most :data:`MAX_DEPTH` levels deep. What
cannot be followed (``go run build.go``, mage, a missing Makefile target or script) is returned
as an opaque build, so the rules can say "could not follow" instead of staying silent.

Imports goci_doctor.gate.shell (shell scanning) and goci_doctor.gate.makeresolve (the Makefile parser).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from goci_doctor.gate.makeresolve import parse_make, resolve
from goci_doctor.gate.shell import ShellBuild, ShellScan, scan_shell, source_command
from goci_doctor.model import BadInputError
from goci_doctor.safety import safeio

MAX_DEPTH = 3
_MAX_FILE = 512 * 1024
_SHELLS = ("sh", "bash", "ash", "dash", "/bin/sh", "/bin/bash", "/usr/bin/env")
_MAKES = ("make", "gmake", "/usr/bin/make")
_MAKE_VALUE_FLAGS = ("-C", "-f", "--file", "--makefile", "--directory", "-j", "-l", "-o", "-W", "-I")


@dataclass
class FollowedBuild:
    """A go build found by following a command of a script."""

    offset: int
    """Line offset of the calling command in the original script."""
    build: ShellBuild
    via: str
    """How it was reached, e.g. "make backend (Makefile:128)"."""
    command: str
    """The go command as written where it really is (a recipe line, a script line)."""


@dataclass
class Followed:
    """Builds found behind make/scripts, builds that could not be seen, files read."""

    builds: list[FollowedBuild] = field(default_factory=list)
    opaque: list[tuple[int, str]] = field(default_factory=list)
    """(offset in the calling script, what builds there and why it could not be followed)."""
    files: list[str] = field(default_factory=list)


def _read(path: Path) -> str | None:
    """A repository script or Makefile: a regular file, no symlink, bounded (untrusted input)."""
    try:
        if path.is_symlink():
            return None
        return safeio.read_text(path, limit=_MAX_FILE, errors="replace")
    except (BadInputError, OSError):
        return None


def _repo_path(repo: Path, cwd: str, name: str, workdir: str = "") -> Path | None:
    """The repository file a path in a build means (the build context is the repository root)."""
    name = name.strip()
    if not name or "$" in name:
        return None
    candidates = []
    if name.startswith("/"):
        if workdir and workdir != "/" and name.startswith(workdir.rstrip("/") + "/"):
            candidates.append(name[len(workdir.rstrip("/")) + 1 :])
    else:
        candidates.append(posixpath.normpath(posixpath.join(cwd, name)) if cwd else posixpath.normpath(name))
        candidates.append(posixpath.normpath(name))
    root = repo.resolve()
    for c in candidates:
        if c.startswith(".."):
            continue
        p = (root / c).resolve()
        if (p == root or root in p.parents) and p.exists():
            return p
    return None


def _make_args(argv: list[str]) -> tuple[str, str, dict[str, str], list[str]]:
    """(-C dir, -f file, VAR=value overrides, goals) of a make command line."""
    directory, makefile = "", ""
    overrides: dict[str, str] = {}
    goals: list[str] = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in _MAKE_VALUE_FLAGS and i + 1 < len(argv):
            if a in ("-C", "--directory"):
                directory = posixpath.join(directory, argv[i + 1])
            elif a in ("-f", "--file", "--makefile"):
                makefile = argv[i + 1]
            i += 2
            continue
        if a.startswith("-C") and len(a) > 2:
            directory = posixpath.join(directory, a[2:])
        elif a.startswith(("--directory=",)):
            directory = posixpath.join(directory, a.split("=", 1)[1])
        elif a.startswith(("-f", "--file=", "--makefile=")) and len(a) > 2:
            makefile = a.split("=", 1)[1] if "=" in a else a[2:]
        elif a.startswith("-"):
            pass
        elif "=" in a:
            k, _, v = a.partition("=")
            overrides[k] = v
        else:
            goals.append(a)
        i += 1
    return directory, makefile, overrides, goals


def _opaque_program(argv: list[str]) -> str:
    """A description when ``argv`` builds Go in a way no config states ("" when it does not)."""
    prog = posixpath.basename(argv[0])
    if prog == "go" and len(argv) > 2 and argv[1] == "run":
        target = next((a for a in argv[2:] if not a.startswith("-")), "")
        if target.endswith(("build.go", "mage.go", "make.go")) or target.rstrip("/").endswith(("/build", "/mage")):
            return " ".join(argv[:6])
    if prog in ("mage", "task", "just", "bazel", "goreleaser") and len(argv) > 1:
        return " ".join(argv[:4])
    return ""


def follow(scan: ShellScan, repo: Path, cwd: str = "", workdir: str = "", depth: int = 0) -> Followed:
    """Follow the make goals, scripts and build programs ``scan`` ran (see the module docstring)."""
    out = Followed()
    if depth >= MAX_DEPTH:
        return out
    for offset, argv, env in scan.calls:
        if not argv:
            continue
        prog = argv[0]
        base = posixpath.basename(prog)
        if base in _MAKES or prog == "$(MAKE)":
            _follow_make(out, offset, argv, env, repo, cwd, workdir, depth)
            continue
        script = ""
        if prog.endswith((".sh", ".bash")):
            script = prog
        elif base in _SHELLS and len(argv) > 1:
            rest = [a for a in argv[1:] if not a.startswith("-")]
            if base == "env":
                rest = rest[1:] if rest and posixpath.basename(rest[0]) in _SHELLS else []
            if rest and rest[0].endswith((".sh", ".bash")) and "-c" not in argv:
                script = rest[0]
        if script:
            _follow_script(out, offset, script, env, repo, cwd, workdir, depth)
            continue
        what = _opaque_program(argv)
        if what:
            out.opaque.append((offset, f"`{what}` builds with a program goci-doctor does not run"))
    return out


def _follow_make(
    out: Followed, offset: int, argv: list[str], env: dict[str, str], repo: Path, cwd: str, workdir: str, depth: int
) -> None:
    directory, makefile, overrides, goals = _make_args(argv)
    here = posixpath.normpath(posixpath.join(cwd, directory)) if directory else cwd
    shown = " ".join(["make", *goals]) if goals else "make"
    path = None
    for name in [makefile] if makefile else ["GNUmakefile", "makefile", "Makefile"]:
        path = _repo_path(repo, here, name, workdir)
        if path is not None and path.is_file():
            break
        path = None
    text = _read(path) if path is not None else None
    if path is None or text is None:
        out.opaque.append((offset, f"built by `{shown}`: no Makefile found in the repository to follow"))
        return
    rel = path.relative_to(repo.resolve()).as_posix()
    out.files.append(rel)
    db = parse_make(text, env, overrides)
    lines, missing = resolve(db, goals)
    if not lines and missing:
        out.opaque.append((offset, f"built by `{shown}`: no rule for {', '.join(missing[:3])} in {rel}"))
        return
    for rl in lines:
        sub = scan_shell(rl.text, rl.env)
        via = f"{shown} ({rel}:{rl.line})"
        for sb in sub.builds:
            out.builds.append(FollowedBuild(offset, sb, via, rl.raw.strip()))
        nested = follow(sub, repo, posixpath.dirname(rel) if rel != path.name else "", workdir, depth + 1)
        for fb in nested.builds:
            out.builds.append(FollowedBuild(offset, fb.build, f"{via} → {fb.via}", fb.command))
        out.opaque += [
            (offset, f"{via} → {what}") for _o, what in nested.opaque if "`go run" in what or "does not run" in what
        ]
        out.files += nested.files


def _follow_script(
    out: Followed, offset: int, script: str, env: dict[str, str], repo: Path, cwd: str, workdir: str, depth: int
) -> None:
    path = _repo_path(repo, cwd, script, workdir)
    text = _read(path) if path is not None else None
    if path is None or text is None:
        if "build" in posixpath.basename(script) or "release" in posixpath.basename(script):
            out.opaque.append((offset, f"built by `{script}`: the script is not in the repository"))
        return
    rel = path.relative_to(repo.resolve()).as_posix()
    out.files.append(rel)
    sub = scan_shell(text, dict(env))
    for sb in sub.builds:
        command = source_command(text, sb.offset, sb.raw)
        out.builds.append(FollowedBuild(offset, sb, f"{script} ({rel}:{sb.offset + 1})", command))
    nested = follow(sub, repo, cwd, workdir, depth + 1)
    for fb in nested.builds:
        out.builds.append(FollowedBuild(offset, fb.build, f"{script} → {fb.via}", fb.command))
    # Deeper down only Go build programs count: a script's own `make` often builds C code elsewhere.
    out.opaque += [(offset, f"{script} → {what}") for _o, what in nested.opaque if "does not run" in what]
    out.files += nested.files
