"""The lab's side of a container engine: connecting with the Docker SDK (docker-py, imported lazily),
describing an engine, and removing or sweeping the containers and volumes the lab leaves.

Where an engine is (DOCKER_HOST, contexts, Podman's socket, names in the config) is decided once, in
``hostenv.engines``; this module only talks to it.

Imports: model, platforms, hostenv.engines, artifact.imagefs, lab.containerfs (labels), lab.sandbox
(deadlines).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from goci_doctor.artifact.imagefs import MOUNT_DIR
from goci_doctor.hostenv.engines import EngineInfo, EngineSpec, default_spec
from goci_doctor.lab.containerfs import LABEL, SESSION_LABEL, remove_container
from goci_doctor.lab.sandbox import expired
from goci_doctor.model import EngineUnavailableError
from goci_doctor.platforms import goarch


def connect_spec(spec: EngineSpec, timeout: float = 60.0) -> Any:
    """A docker-py client for ``spec``, checked with a ping; EngineUnavailableError with one line otherwise."""
    try:
        import docker
    except ImportError:
        raise EngineUnavailableError("the Docker SDK is not installed (pip install docker)") from None
    kwargs: dict[str, Any] = {"base_url": spec.url, "timeout": int(timeout)}
    if spec.url.startswith("ssh://"):
        kwargs["use_ssh_client"] = True  # the system ssh: its config, agent and known_hosts
    if spec.tls is not None:
        from docker.tls import TLSConfig

        cert = (spec.tls.cert, spec.tls.key) if spec.tls.cert and spec.tls.key else None
        kwargs["tls"] = TLSConfig(client_cert=cert, ca_cert=spec.tls.ca or None, verify=spec.tls.verify)
    try:
        client = docker.DockerClient(**kwargs)
        client.ping()
    except Exception as exc:  # DockerException, requests errors, OSError, ssh failures
        where = spec.url if spec.name in (spec.url, "default") else f"{spec.name} ({spec.url})"
        raise engine_error(where, exc) from None
    return client


def engine_error(host: str, exc: BaseException) -> EngineUnavailableError:
    """One clear line for a failure to reach an engine."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, PermissionError) for e in chain) or "Permission denied" in text:
        why = "permission denied (add yourself to the docker group or set DOCKER_HOST)"
    elif any(isinstance(e, FileNotFoundError) for e in chain) or "No such file or directory" in text:
        why = "no engine socket there (is Docker or Podman installed and running? set DOCKER_HOST otherwise)"
    elif any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        why = "connection refused (is the daemon running?)"
    else:
        last = str(chain[-1]).strip() or type(chain[-1]).__name__
        why = last.splitlines()[0][:200]
    return EngineUnavailableError(f"cannot reach the Docker engine at {host}: {why}")


def describe(spec: EngineSpec, client: Any) -> EngineInfo:
    """Ask a connected engine what it is: version, OS, architecture, CPUs."""
    version = client.version()
    info = client.info()
    names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [] if isinstance(c, dict))
    return EngineInfo(
        spec=spec,
        answers=True,
        kind="Podman" if "podman" in names.lower() else "Docker Engine",
        version=str(version.get("Version", "")),
        os=str(info.get("OSType") or version.get("Os") or "linux"),
        arch=goarch(str(info.get("Architecture") or version.get("Arch") or "")),
        cpus=int(info.get("NCPU") or 0),
    )


def probe(spec: EngineSpec, timeout: float = 10.0) -> EngineInfo:
    """``describe`` for an engine not yet connected; an EngineInfo with ``answers=False`` and the reason."""
    try:
        client = connect_spec(spec, timeout)
    except EngineUnavailableError as exc:
        return EngineInfo(spec=spec, answers=False, error=exc.message)
    try:
        return describe(spec, client)
    except Exception as exc:
        return EngineInfo(spec=spec, answers=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        client.close()


# --------------------------------------------------------------------------------------------
# Connecting to the engine


def engine_host() -> str:
    """The engine endpoint we will talk to (``engines.default_spec``: the one resolution)."""
    return default_spec().url


def connect(timeout: float = 60.0) -> Any:
    """A docker-py client for the default engine, checked with a ping; EngineUnavailableError if none."""
    return connect_spec(default_spec(), timeout)


def _is_connection_error(exc: BaseException) -> bool:
    """True when the engine itself stopped answering (not an API error about one request)."""
    import docker.errors
    import requests

    if isinstance(exc, (docker.errors.APIError, requests.exceptions.ReadTimeout)):
        return False
    # requests' exceptions derive from OSError, so name the transport-level ones explicitly.
    return isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError))


# --------------------------------------------------------------------------------------------
# Removing and sweeping the lab's containers and volumes


def _volume_mount(name: str, read_only: bool) -> Any:
    from docker.types import Mount

    # no_copy: the image has nothing at /goci to copy up, and copy-up would race the fill.
    return Mount(MOUNT_DIR, name, type="volume", read_only=read_only, no_copy=True)


def _remove_volume(client: Any, name: str) -> None:
    """Remove a lab volume; a failure is left to ``sweep_stale_containers`` (it is labelled)."""
    try:
        client.api.remove_volume(name, force=True)
    except Exception:
        pass


def cleanup_containers(client: Any, session: str | None = None) -> int:
    """Remove leftover lab containers and volumes (all, or one session's). Returns how many containers."""
    filters = {"label": [f"{SESSION_LABEL}={session}"] if session else [f"{LABEL}=1"]}
    removed = 0
    for c in client.api.containers(all=True, filters=filters):
        remove_container(client, c["Id"])
        removed += 1
    for v in _lab_volumes(client, filters["label"][0]):
        _remove_volume(client, v["Name"])
    return removed


def _lab_volumes(client: Any, label: str) -> list[dict[str, Any]]:
    """The lab's volumes carrying ``label`` (one matrix's shared copy of the artifact each)."""
    try:
        return list(client.api.volumes(filters={"label": label}).get("Volumes") or [])
    except Exception:
        return []


def _volume_age(volume: dict[str, Any], now: float) -> float:
    """Seconds since the volume was created (0 when the engine's date does not parse)."""
    from datetime import datetime

    try:
        created = datetime.fromisoformat(str(volume.get("CreatedAt", "")).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return now - created.timestamp()


STALE_AFTER_S = 3600.0


def sweep_stale_containers(client: Any, older_than_s: float = STALE_AFTER_S, session: str | None = None) -> int:
    """Remove lab containers (and volumes) whose deadline label has passed, or older than ``older_than_s``.

    Every container and volume is stamped with its deadline (``sandbox.DEADLINE_LABEL``), so what a
    killed goci-doctor left behind goes as soon as that deadline is past. Unstamped ones (older
    versions) go after ``older_than_s``: no run lasts that long. Others may belong to another
    goci-doctor running right now, and are left alone. ``session`` limits the sweep to one session's.
    """
    removed = 0
    now = time.time()
    label = f"{SESSION_LABEL}={session}" if session else f"{LABEL}=1"
    try:
        listed = client.api.containers(all=True, filters={"label": [label]})
    except Exception:
        return 0
    for c in listed:
        if expired(c.get("Labels"), now) or now - float(c.get("Created", now)) > older_than_s:
            remove_container(client, c["Id"])
            removed += 1
    for v in _lab_volumes(client, label):
        if expired(v.get("Labels"), now) or _volume_age(v, now) > older_than_s:
            _remove_volume(client, v["Name"])
    return removed


def iter_lab_containers(client: Any) -> Iterator[dict[str, Any]]:
    """Containers the lab created that still exist (for diagnostics and tests)."""
    yield from client.api.containers(all=True, filters={"label": [f"{LABEL}=1"]})
