"""Build containers: the engine client, the build image (required locally, its Go version), and
one build script run to completion in a labelled, sandboxed container that is removed in every
case (exit status or timeout, the end of the output, whether it was OOM-killed).

The Docker SDK is imported lazily, inside functions, so importing this module stays cheap.

Imports: config (lazily), lab.buildplan, lab.buildsrc (lazily), lab.containerfs, lab.engine,
lab.images (lazily), lab.sandbox, model.
"""

from __future__ import annotations

import uuid
from typing import Any

from goci_doctor.lab import containerfs, engine
from goci_doctor.lab.buildplan import C_GOROOT, C_SRC
from goci_doctor.lab.sandbox import build_create_kwargs, frames_text, read_logs
from goci_doctor.model import BadInputError, EngineUnavailableError, first_line

BUILD_OUTPUT_LIMIT = 1 << 20
"""Bytes of a build's output kept (the end: go prints the errors last)."""


def _docker_client(client: Any = None) -> Any:
    if client is not None:
        return client

    client = engine.connect()
    # What a killed goci-doctor left behind (its deadline label passed) goes before we add more.
    engine.sweep_stale_containers(client)
    return client


def _error_line(exc: BaseException) -> str:
    return first_line(str(exc)) or type(exc).__name__


def _require_image(client: Any, image: str) -> Any:
    import docker.errors

    try:
        return client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise BadInputError(
            f"build image {image} is not available locally; build it with `goci-doctor images build`"
        ) from exc
    except docker.errors.APIError as exc:
        raise EngineUnavailableError(f"container engine error: {_error_line(exc)}") from exc


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
        raise EngineUnavailableError(f"container engine error: {_error_line(exc)}") from exc
    finally:
        try:
            (container or client.containers.get(name)).remove(force=True)
        except (docker.errors.APIError, requests.exceptions.ConnectionError):
            # Never created, already gone, or the engine died: nothing left we can clean.
            pass
