"""The build environment: Go, C compilers, host libc, binfmt_misc, CI provider and Docker engine.

``gather()`` collects it quickly (probes run in parallel, each with a short timeout, so a hung
``go`` or ``docker`` cannot hang us) and returns a redacted ``EnvFacts``. ``problems()`` turns
those facts into the warnings ``goci-doctor env`` and the TUI show. Nothing here imports the
Docker SDK: the engine is probed with a raw HTTP request over its socket.

The only place that probes the host. ``tools`` (Go, C compilers, zig), ``system`` (OS, libc,
binfmt_misc), ``ci`` (providers, relevant variables), ``engines`` (where an engine is: the one
resolution), ``engineprobe`` (is it there), ``tracers`` (what ``trace`` can use), ``report``
(problems, the text report); this entry gathers them and re-exports their public names.

Imports: model, platforms, knowledge, safety and its own modules.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from goci_doctor.hostenv.ci import _build_relevant, detect_ci
from goci_doctor.hostenv.engineprobe import SshProbe, docker_endpoint, probe_docker, probe_engines
from goci_doctor.hostenv.report import cc_tool, format_env_text, problems
from goci_doctor.hostenv.system import binfmt_handler, host_libc, read_binfmt, read_os_release
from goci_doctor.hostenv.tools import (
    BINFMT_DIR,
    COMPILERS,
    DEFAULT_DOCKER_SOCKET,
    DOCKER_TIMEOUT,
    GO_ENV_KEYS,
    TOOL_TIMEOUT,
    HostGo,
    _go_env,
    _probe_compiler,
    _probe_zig,
    _probe_ziglang,
    find_go,
    go_arch,
    host_go,
    require_go,
    triple_goos_goarch,
)
from goci_doctor.records import EnvFacts, HostTool
from goci_doctor.safety.redact import redact, redact_env

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


__all__ = [
    "BINFMT_DIR",
    "COMPILERS",
    "DEFAULT_DOCKER_SOCKET",
    "DOCKER_TIMEOUT",
    "GO_ENV_KEYS",
    "TOOL_TIMEOUT",
    "HostGo",
    "SshProbe",
    "binfmt_handler",
    "cc_tool",
    "detect_ci",
    "docker_endpoint",
    "find_go",
    "format_env_text",
    "gather",
    "go_arch",
    "host_go",
    "host_libc",
    "probe_docker",
    "probe_engines",
    "problems",
    "read_binfmt",
    "read_os_release",
    "require_go",
    "triple_goos_goarch",
]
