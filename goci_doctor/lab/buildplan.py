"""What a diagnostic build is made of before any container starts: where things sit inside the
build container, the project checks (is it Go, which package is main), each variant's environment
and shell script, the zig CC/CXX wrappers, and the directories the binaries are written to
(``<user cache>/goci-doctor/builds/<project>-<hash>/<time>-<id>/<variant>/app``; a project keeps
its newest three, and none older than a day).

Imports: config (lazily, for the configured build image), knowledge, lab.sandbox, model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from goci_doctor.knowledge import Variant
from goci_doctor.lab.sandbox import GRACE_S
from goci_doctor.model import BadInputError

DEFAULT_BUILD_IMAGE = "goci/build:trixie"

SKIPPED_EXIT = 97
"""Exit status of the in-container script when the variant's C compiler is absent."""

# Where things sit inside the build container.
C_GOROOT = "/usr/local/go"
C_SRC = "/src"
C_OUT = "/out"
C_GOCACHE = "/var/cache/go-build"
C_GOMODCACHE = "/go/pkg/mod"
C_TOOLS = "/opt/goci"
C_ZIG = "/opt/ziglang"
C_ZIGCACHE = "/var/cache/zig"

ZIG_TRIPLES = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "386": "x86",
    "arm": "arm",
    "riscv64": "riscv64",
    "ppc64le": "powerpc64le",
    "s390x": "s390x",
}
"""GOARCH -> zig/LLVM architecture name."""

HOST_ENV_PASSTHROUGH = ("GOFLAGS", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE", "GOAMD64", "GOARM")
"""Build settings taken from the user's environment: they are part of "the project's own settings"."""


# --------------------------------------------------------------------------------------------
# Host facts: the toolchain and caches we mount


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("goci-doctor"))


def _ziglang_dir() -> Path | None:
    """The installed PyPI ``ziglang`` package (a static zig binary plus its lib/), if any."""
    import importlib.util

    spec = importlib.util.find_spec("ziglang")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "zig").exists() else None


def _zig_wrappers(tools: Path, arch: str) -> None:
    """Write the CC/CXX scripts the zig variant uses: Go wants CC to be one command."""
    triple = f"{ZIG_TRIPLES.get(arch, arch)}-linux-gnu.2.17"
    tools.mkdir(parents=True, exist_ok=True)
    for name, mode in (("zigcc", "cc"), ("zigcxx", "c++")):
        script = tools / f"{name}-{arch}"
        text = f'#!/bin/sh\nexec {C_ZIG}/zig {mode} -target {triple} "$@"\n'
        if not script.exists() or script.read_text() != text:
            # Write beside and rename: a concurrent build never sees a half-written script.
            tmp = script.with_name(f".{script.name}.{os.getpid()}")
            tmp.write_text(text)
            tmp.chmod(0o755)
            os.replace(tmp, script)


# --------------------------------------------------------------------------------------------
# Project checks


def check_project(project: Path) -> Path:
    """The project directory, resolved; ``BadInputError`` when it is not a Go project."""
    project = Path(project).expanduser()
    if not project.exists():
        raise BadInputError(f"{project}: no such directory")
    if not project.is_dir():
        raise BadInputError(f"{project}: not a directory (give the Go project's folder)")
    if not (project / "go.mod").exists() and not any(project.glob("*.go")):
        raise BadInputError(f"{project}: not a Go project (no go.mod and no .go files)")
    return project.resolve()


def _main_package(project: Path) -> str:
    """The package to build: the root if it holds Go files, else the only ./cmd/<name>."""
    if any(project.glob("*.go")):
        return "."
    cmds = sorted(p.parent for p in project.glob("cmd/*/*.go"))
    unique = sorted(set(cmds))
    if len(unique) == 1:
        return "./" + unique[0].relative_to(project).as_posix()
    for path in sorted(project.rglob("*.go")):
        if "vendor" in path.parts or path.name.endswith("_test.go"):
            continue
        try:
            head = path.read_text(errors="replace")[:4000]
        except OSError:
            continue
        if re.search(r"^package main\b", head, re.M):
            return "./" + path.parent.relative_to(project).as_posix()
    return "."


def _configured_build_image(config: Any = None) -> str:
    if config is None:
        from goci_doctor import config as config_module

        config = config_module.load_config()
    image = getattr(config, "build_image", "")
    return str(image) if image else DEFAULT_BUILD_IMAGE


KEEP_BUILDS_S = 24 * 3600.0
"""Earlier builds (of any project) are pruned once they are this old."""
KEEP_BUILDS_PER_PROJECT = 3
"""Newest earlier builds kept per project, however recent: a few builds must not pile up 100 MB."""


def builds_dir() -> Path:
    """Where ``build`` writes its binaries (shown by ``goci-doctor env``)."""
    return _cache_dir() / "builds"


def prune_builds(keep: int = KEEP_BUILDS_PER_PROJECT, max_age: float = KEEP_BUILDS_S) -> None:
    """Remove build output directories older than ``max_age`` and all but the newest ``keep`` per project."""
    now = time.time()
    try:
        projects = [p for p in builds_dir().iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return
    for project in projects:
        try:
            runs = sorted(
                ((d.stat().st_mtime, d) for d in project.iterdir() if d.is_dir() and not d.is_symlink()), reverse=True
            )
        except OSError:
            continue
        for index, (mtime, run) in enumerate(runs):
            if index >= keep or now - mtime > max_age:
                shutil.rmtree(run, ignore_errors=True)


def _new_build_dir(project: Path) -> Path:
    """A fresh directory for one ``build_variants`` call; prunes old ones first (``prune_builds``).

    Each call gets its own directory, so concurrent sessions building the same project (the TUI
    and the CLI, parallel test runs) never overwrite each other's binaries.
    """
    key = hashlib.sha256(str(project).encode()).hexdigest()[:12]
    root = builds_dir() / f"{project.name}-{key}"
    root.mkdir(parents=True, exist_ok=True)
    # Room for this one: the newest KEEP_BUILDS_PER_PROJECT - 1 earlier builds stay.
    prune_builds(keep=KEEP_BUILDS_PER_PROJECT - 1)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=root))


def _env_for(v: Variant, arch: str, vendor: bool, allow_network: bool, proxy: str) -> dict[str, str]:
    """The build environment of one variant (shown to the user as part of the result)."""
    env: dict[str, str] = {"GOOS": v.goos or "linux", "GOARCH": v.goarch or arch}
    for key in HOST_ENV_PASSTHROUGH:
        if os.environ.get(key):
            env[key] = os.environ[key]
    if v.name == "as-configured" and os.environ.get("CGO_ENABLED"):
        env["CGO_ENABLED"] = os.environ["CGO_ENABLED"]
    goflags = env.get("GOFLAGS", "")
    if "-mod=" not in goflags:
        # vendor/ wins, as it does for the go command itself; else resolve from the module cache.
        env["GOFLAGS"] = (goflags + (" -mod=vendor" if vendor else " -mod=mod")).strip()
    env["GOPROXY"] = (proxy or "https://proxy.golang.org,direct") if allow_network else "off"
    if not allow_network:
        env["GOSUMDB"] = "off"
    for key, value in v.env:
        env[key] = value.format(zigcc=f"{C_TOOLS}/zigcc-{env['GOARCH']}", zigcxx=f"{C_TOOLS}/zigcxx-{env['GOARCH']}")
    return env


def _script(v: Variant, image: str, command: Sequence[str], timeout: float = 0.0) -> str:
    check = ""
    if v.cc == "zig":
        check = (
            f"[ -x {C_ZIG}/zig ] || "
            f'{{ echo "skipped: zig is not installed (pip install ziglang)"; exit {SKIPPED_EXIT}; }}\n'
        )
    elif v.cc:
        check = (
            f"command -v {v.cc} >/dev/null 2>&1 || "
            f'{{ echo "skipped: {v.cc} not in build image {image}"; exit {SKIPPED_EXIT}; }}\n'
        )
    # The deadline enforced inside the container too: a build outlives no goci-doctor that died.
    bounded = (
        (
            f"if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL {int(timeout + GRACE_S)} "
            f"{shlex.join(command)}; fi\n"
        )
        if timeout
        else ""
    )
    return f"export PATH={C_GOROOT}/bin:$PATH\n{check}{bounded}exec {shlex.join(command)}\n"
