"""Container engines: where each one is — endpoint resolution, without the Docker SDK.

The one home of endpoint resolution. The default engine is what the Docker CLI would use:
``DOCKER_HOST``, else ``DOCKER_CONTEXT`` or the CLI config's ``currentContext`` (its meta.json and
TLS files), else the default socket, else a Podman socket when no Docker socket exists. Other
engines are named explicitly — a Docker context name (as ``docker context ls`` shows it), a
``unix://``/``tcp://``/``ssh://`` URL, or a name from the config's ``[engines]`` table. Here they
become ``EngineSpec`` (where to connect) and ``EngineInfo`` (what an engine said it is: OS,
architecture, version, CPUs, so the lab can route each cell of a matrix to an engine that runs the
target's platform natively).

How this differs from ``lab.engine``: this module only says *where* an engine is, with the standard
library (so ``env`` and the start-up paths never load the SDK); ``lab.engine`` *talks* to it with
the Docker SDK — connecting, describing it (the ``EngineInfo``), sweeping what the lab left.
``hostenv.engineprobe`` only checks that it answers (a raw GET /version, no SDK either).

Imports: model. Never the TUI, never the Docker SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goci_doctor.model import BadInputError, EngineUnavailableError

DEFAULT_SOCKET = "/var/run/docker.sock"
_PODMAN_SOCKETS = ("podman/podman.sock",)


@dataclass(frozen=True)
class TLSFiles:
    """Client TLS material for a ``tcp://`` engine (paths; empty when not given)."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True


@dataclass(frozen=True)
class EngineSpec:
    """An engine endpoint and where the name came from."""

    name: str
    """The context name, the ``[engines]`` key, "default", or the URL itself."""
    url: str
    source: str
    """"DOCKER_HOST", "context arm-box", "config [engines]", "Podman socket", "default socket", "URL"."""
    tls: TLSFiles | None = None

    @property
    def label(self) -> str:
        """How results name it: "engine arm-box (ssh://ci@arm-box)"."""
        return f"engine {self.url}" if self.name in (self.url, "default") else f"engine {self.name} ({self.url})"


@dataclass(frozen=True)
class EngineInfo:
    """What an engine said about itself (or why it did not answer)."""

    spec: EngineSpec
    answers: bool
    kind: str = ""
    """"Docker Engine" or "Podman"."""
    version: str = ""
    os: str = ""
    arch: str = ""
    """Go naming (amd64, arm64, ...)."""
    cpus: int = 0
    error: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def platform(self) -> str:
        return f"{self.os or 'linux'}/{self.arch}" if self.arch else ""


def _config_dir(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME") or str(Path.home())
    return Path(environ.get("DOCKER_CONFIG") or Path(home) / ".docker")


def _context_digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read(1 << 20))
    except (OSError, ValueError, RecursionError):
        return None


def context_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The Docker CLI's contexts (besides "default"), as ``docker context ls`` lists them."""
    env = os.environ if environ is None else environ
    names = []
    for meta in sorted((_config_dir(env) / "contexts" / "meta").glob("*/meta.json")):
        doc = _read_json(meta)
        if isinstance(doc, dict) and isinstance(doc.get("Name"), str):
            names.append(doc["Name"])
    return sorted(names)


def context_spec(name: str, environ: Mapping[str, str] | None = None) -> EngineSpec | None:
    """The endpoint of Docker context ``name`` (with its TLS files), or None when there is no such context."""
    env = os.environ if environ is None else environ
    base = _config_dir(env) / "contexts"
    digest = _context_digest(name)
    doc = _read_json(base / "meta" / digest / "meta.json")
    if not isinstance(doc, dict):
        # The CLI names the folder by the name's sha256; a hand-made or older store may not.
        for meta in sorted((base / "meta").glob("*/meta.json")):
            found = _read_json(meta)
            if isinstance(found, dict) and found.get("Name") == name:
                doc, digest = found, meta.parent.name
                break
        else:
            return None
    try:
        endpoint = doc["Endpoints"]["docker"]
        host = str(endpoint["Host"])
    except (KeyError, TypeError):
        return None
    tls_dir = base / "tls" / digest / "docker"
    tls = None
    if host.startswith("tcp://") and tls_dir.is_dir():
        tls = TLSFiles(
            ca=str(tls_dir / "ca.pem") if (tls_dir / "ca.pem").is_file() else "",
            cert=str(tls_dir / "cert.pem") if (tls_dir / "cert.pem").is_file() else "",
            key=str(tls_dir / "key.pem") if (tls_dir / "key.pem").is_file() else "",
            verify=not bool(endpoint.get("SkipTLSVerify")),
        )
    return EngineSpec(name=name, url=host, source=f"context {name}", tls=tls)


def _env_tls(url: str, environ: Mapping[str, str]) -> TLSFiles | None:
    if not url.startswith("tcp://"):
        return None
    cert_dir = environ.get("DOCKER_CERT_PATH", "")
    verify = bool(environ.get("DOCKER_TLS_VERIFY"))
    if not cert_dir and not verify:
        return None
    d = Path(cert_dir or _config_dir(environ))
    return TLSFiles(ca=str(d / "ca.pem"), cert=str(d / "cert.pem"), key=str(d / "key.pem"), verify=verify)


def default_spec(environ: Mapping[str, str] | None = None) -> EngineSpec:
    """The engine the Docker CLI would talk to here (see the module docstring for the order).

    Raises EngineUnavailableError when a selected context has no readable meta.json.
    """
    env = os.environ if environ is None else environ
    host = env.get("DOCKER_HOST", "").strip()
    if host:
        return EngineSpec("default", host, "DOCKER_HOST", _env_tls(host, env))
    name = env.get("DOCKER_CONTEXT", "").strip()
    source = "DOCKER_CONTEXT"
    if not name:
        doc = _read_json(_config_dir(env) / "config.json")
        name = str(doc.get("currentContext") or "") if isinstance(doc, dict) else ""
        source = "current context"
    if name and name != "default":
        spec = context_spec(name, env)
        if spec is not None:
            return EngineSpec(spec.name, spec.url, f"{source} {name}", spec.tls)
        if spec is None:
            raise EngineUnavailableError(
                f"Docker context '{name}' is selected ({source}) but its meta.json is missing or unreadable "
                f"under {_config_dir(env) / 'contexts'} (run `docker context use default` or set DOCKER_HOST)"
            )
    if not Path(DEFAULT_SOCKET).exists():
        # Rootless Podman serves the Docker API here (``systemctl --user start podman.socket``).
        runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
        for sock in (Path(runtime) / _PODMAN_SOCKETS[0], Path("/run") / _PODMAN_SOCKETS[0]):
            if sock.exists():
                return EngineSpec("default", f"unix://{sock}", "Podman socket (no Docker socket)")
    return EngineSpec("default", f"unix://{DEFAULT_SOCKET}", "default socket")


def resolve(
    word: str, configured: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> EngineSpec:
    """An engine named on the command line or in the config: an ``[engines]`` name, a URL, a context.

    BadInputError (one line) when it is none of them.
    """
    env = os.environ if environ is None else environ
    word = word.strip()
    table = dict(configured or {})
    if not word:
        raise BadInputError("an empty engine name (give a Docker context, a URL, or an [engines] name)")
    if word in table:
        target = table[word].strip()
        inner = resolve(target, None, env) if target != word else None
        if inner is None:
            raise BadInputError(f"[engines] {word} refers to itself")
        return EngineSpec(word, inner.url, f"config [engines] ({inner.source})", inner.tls)
    if "://" in word:
        scheme = word.split("://", 1)[0]
        if scheme not in ("unix", "tcp", "ssh", "npipe", "http", "https"):
            raise BadInputError(f"engine {word}: unknown scheme {scheme}:// (use unix://, tcp:// or ssh://)")
        return EngineSpec(word, word, "URL", _env_tls(word, env))
    if word == "default":
        return default_spec(env)
    spec = context_spec(word, env)
    if spec is not None:
        return spec
    known = context_names(env)
    hint = f" (contexts here: {', '.join(known)})" if known else ""
    raise BadInputError(f"unknown engine {word!r}: not a URL, an [engines] name or a Docker context{hint}")


def resolve_all(
    words: Sequence[str], configured: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> list[EngineSpec]:
    """Each named engine once (by URL), in order; the config's ``[engines]`` when none is named."""
    names = list(words) or list((configured or {}).keys())
    out: list[EngineSpec] = []
    seen: set[str] = set()
    for name in names:
        spec = resolve(name, configured, environ)
        if spec.url not in seen:
            seen.add(spec.url)
            out.append(spec)
    return out


def info_line(info: EngineInfo) -> str:
    """One line per engine for ``env``: name, URL, and what it is or why it does not answer."""
    if not info.answers:
        return f"{info.spec.name:14} {info.spec.url}  does not answer: {info.error}"
    return (
        f"{info.spec.name:14} {info.spec.url}  {info.kind} {info.version}, {info.platform}, "
        f"{info.cpus} CPU{'s' if info.cpus != 1 else ''} ({info.spec.source})"
    )
