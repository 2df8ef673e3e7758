"""What confines every lab container: limits, a capped log, a read-only root and a deadline label.

``run`` containers (lab.py) and build containers (builds.py) take their limits from the config
(``[run]`` / ``[build]``, config.settings is the one home of the defaults) through ``run_host_config``
and ``build_create_kwargs``. Every container and volume is stamped with its deadline
(``goci-doctor.deadline``, epoch seconds): ``expired`` lets any later goci-doctor process remove
what a killed one left behind as soon as that deadline has passed, not an hour later. The engine
bounds what it can on its own: the container log is capped by the log driver, CPU time by
RLIMIT_CPU (a spinning or flooding program dies even if nobody is left to kill it), a build's
command by ``timeout``.

Imports only the standard library, ``goci_doctor.config`` and (lazily) the Docker SDK.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

from goci_doctor.config import BuildSettings, RunSettings, memory_bytes

DEADLINE_LABEL = "goci-doctor.deadline"
GRACE_S = 30.0
"""Time beyond the run's own timeout for probing the image, copying the artifact and reading logs."""
LOG_MAX_SIZE = "1m"
LOG_MAX_FILES = "2"
"""The engine keeps at most 2 MiB of a container's output: a flood fills nothing but this."""
LOG_READ_LIMIT = 8 << 20
"""Bytes of log read back at most, even from an engine that ignores the log options."""
LOG_TAIL_LINES = 5000
SCRATCH_TMPFS = "rw,nosuid,nodev,size=64m,mode=1777"
"""The only writable place in a run container (its root filesystem is read-only)."""
DEFAULT_CPUS = 1.0
DEFAULT_NOFILE = 1024
DEFAULT_NPROC = 4096
"""Open-file and process rlimits (soft = hard). Set explicitly because rootful Podman otherwise asks
runc for nofile=1048576 and nproc=4194304, which fails with EPERM ("error setting rlimit type 7")
wherever the engine's own hard limit is lower (a container host, a CI runner); Docker inherits its own."""


def deadline_labels(seconds: float, now: float | None = None) -> dict[str, str]:
    """The label saying when a container (or volume) may be removed by anyone: now + seconds + grace."""
    start = time.time() if now is None else now
    return {DEADLINE_LABEL: str(math.ceil(start + seconds + GRACE_S))}


def expired(labels: Mapping[str, str] | None, now: float | None = None) -> bool:
    """True when ``labels`` carry a deadline that has passed (no or unreadable label: False)."""
    value = (labels or {}).get(DEADLINE_LABEL, "")
    try:
        deadline = float(value)
    except ValueError:
        return False
    return math.isfinite(deadline) and (time.time() if now is None else now) > deadline


def log_config() -> Any:
    from docker.types import LogConfig

    return LogConfig(type="json-file", config={"max-size": LOG_MAX_SIZE, "max-file": LOG_MAX_FILES})


def read_logs(api: Any, cid: str) -> bytes:
    """The container's multiplexed log stream, its last lines only and never more than LOG_READ_LIMIT."""
    res = api._get(
        api._url("/containers/{0}/logs", cid),
        params={"stdout": 1, "stderr": 1, "timestamps": 0, "follow": 0, "tail": str(LOG_TAIL_LINES)},
        stream=True,
    )
    try:
        api._raise_for_status(res)
        chunks: list[bytes] = []
        size = 0
        for chunk in res.iter_content(chunk_size=64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size >= LOG_READ_LIMIT:
                break
        return b"".join(chunks)[:LOG_READ_LIMIT]
    finally:
        res.close()


def frames_text(raw: bytes) -> bytes:
    """The payloads of a multiplexed log stream in their order (stdout and stderr interleaved).

    A stream cut short by ``read_logs`` keeps its last partial frame; a body that is not framed
    (a TTY container) is returned as it is.
    """
    out: list[bytes] = []
    pos = 0
    while pos < len(raw):
        header = raw[pos : pos + 8]
        if len(header) < 8 or header[0] not in (0, 1, 2) or header[1:4] != b"\0\0\0":
            return raw if not out else b"".join(out)
        size = int.from_bytes(header[4:8], "big")
        out.append(raw[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return b"".join(out)


def _cpu_rlimit(seconds: float, cpus: float) -> int:
    """RLIMIT_CPU for a process that may run ``seconds`` on ``cpus``: never reached before the deadline."""
    return math.ceil(seconds * max(cpus, 1.0) + GRACE_S)


def run_host_config(
    api: Any, settings: RunSettings, timeout: float, mounts: list[Any] | None, read_only: bool = True
) -> Any:
    """The host config of a ``run`` container: no network, no capabilities, limits, read-only root."""
    memory = memory_bytes(settings.memory)
    cpu = _cpu_rlimit(timeout, DEFAULT_CPUS)
    return api.create_host_config(
        network_mode="none",
        mem_limit=memory,
        memswap_limit=memory,  # no swap beyond the limit: an OOM is an OOM, not a slow crawl
        pids_limit=settings.pids,
        nano_cpus=int(DEFAULT_CPUS * 1e9),
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        ulimits=[
            {"Name": "nofile", "Soft": DEFAULT_NOFILE, "Hard": DEFAULT_NOFILE},
            {"Name": "nproc", "Soft": DEFAULT_NPROC, "Hard": DEFAULT_NPROC},
            {"Name": "cpu", "Soft": cpu, "Hard": cpu},
        ],
        mounts=mounts,
        read_only=read_only,
        tmpfs={"/tmp": SCRATCH_TMPFS},
        log_config=log_config(),
    )


def build_cpus(settings: BuildSettings) -> float:
    return min(settings.cpus, float(os.cpu_count() or 1))


def build_create_kwargs(settings: BuildSettings, timeout: float, user: tuple[int, int]) -> dict[str, Any]:
    """``containers.create`` options of a build container: the invoking user, limits, no privileges."""
    memory = memory_bytes(settings.memory)
    cpus = build_cpus(settings)
    cpu = _cpu_rlimit(timeout, cpus)
    return {
        # buildsrc.build_user: the invoking user (files it adds to the shared GOCACHE stay theirs), never root.
        "user": f"{user[0]}:{user[1]}",
        "mem_limit": memory,
        "memswap_limit": memory,
        "pids_limit": settings.pids,
        "nano_cpus": int(cpus * 1e9),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": _ulimits(cpu),
        "log_config": log_config(),
        "labels": deadline_labels(timeout),
    }


def _ulimits(cpu: int) -> list[Any]:
    from docker.types import Ulimit

    return [Ulimit(name="nofile", soft=DEFAULT_NOFILE, hard=DEFAULT_NOFILE), Ulimit(name="cpu", soft=cpu, hard=cpu)]


def oom_message(kind: str, memory: str, table: str) -> str:
    return f"{kind} hit the memory limit ({memory}): raise [{table}] memory in the config"
