"""Is the container engine there? A raw HTTP GET /version over its socket (no Docker SDK), for the
default engine and every other one configured or in the Docker CLI's contexts.

Imports: hostenv.engines, hostenv.tools, model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from goci_doctor.hostenv.tools import DOCKER_TIMEOUT

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
