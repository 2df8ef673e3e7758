"""The settings' schema and defaults: ``Config`` with its ``[run]`` (``RunSettings``) and
``[build]`` (``BuildSettings``) tables, the one home of every default, and the checks each limit
passes (memory sizes, pids, CPUs, timeouts), shared by the file and the command-line flags.

Imports: knowledge (lazily, for target aliases), model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from goci_doctor.model import BadInputError

DEFAULT_TARGETS = ("ubuntu:22.04", "debian:bullseye", "alpine:3.20", "distroless/static")

# docker run --memory syntax: a number with an optional b/k/m/g unit.
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([bkmg]?)$", re.IGNORECASE)
_UNIT = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
MIN_MEMORY = 6 << 20
"""The engine refuses a memory limit below 6 MiB; "0" would remove the limit altogether."""
MAX_MEMORY = 1 << 40
MAX_PIDS = 1 << 22
"""The kernel's own ceiling for pid_max."""
MAX_TIMEOUT_S = 24 * 3600.0
"""Longer than any run or build; beyond it a "timeout" is no deadline at all."""


def memory_bytes(value: object) -> int:
    """Bytes of a ``docker run --memory`` size; ValueError saying what is wrong when it is no usable limit."""
    match = _MEMORY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'must be a size like "256m" or "1g", got {_describe(value)}')
    size = int(float(match.group(1)) * _UNIT[match.group(2).lower()])
    if size < MIN_MEMORY:
        raise ValueError(f"must be at least 6m (the engine's minimum; 0 would mean no limit), got {value!r}")
    if size > MAX_MEMORY:
        raise ValueError(f"must be at most 1024g, got {value!r}")
    return size


def check_pids(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PIDS:
        raise ValueError(f"must be an integer from 1 to {MAX_PIDS}, got {_describe(value)}")
    return value


def check_cpus(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and 0.01 <= value <= 1024)
    ):
        raise ValueError(f"must be a number of CPUs from 0.01 up, got {_describe(value)}")
    return float(value)


def check_timeout(value: object) -> float:
    """Seconds as a deadline: finite, above zero, at most a day. Strings (from the CLI) are parsed."""
    number: object = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {value!r}") from None
    if (
        isinstance(number, bool)
        or not isinstance(number, (int, float))
        or not (math.isfinite(number) and 0 < number <= MAX_TIMEOUT_S)
    ):
        raise ValueError(
            f"must be a positive number of seconds, at most {MAX_TIMEOUT_S:.0f}, got "
            f"{value if isinstance(value, str) else _describe(value)}"
        )
    return float(number)


def resolve_timeout(flag: object, configured: float, option: str = "--timeout") -> float:
    """The ``--timeout`` flag when given (validated, one clear line when bad), else the config's value."""
    if flag is None:
        return configured
    try:
        return check_timeout(flag)
    except ValueError as exc:
        raise BadInputError(f"{option} {exc}") from None


@dataclass(frozen=True)
class RunSettings:
    """Limits for each container run (the ``[run]`` table): the one home of the run defaults."""

    timeout: float = 20.0
    """Seconds an artifact may run before it is stopped."""
    memory: str = "256m"
    """Memory limit in ``docker run --memory`` syntax."""
    pids: int = 128
    """Maximum number of processes in the container (a fork bomb stops here)."""
    allow_pull: bool = True
    """Pull a missing image from its registry; False for air-gapped hosts."""
    exact_images: bool = False
    """Never run a local stand-in (goci/*) when a target's own image cannot be had."""


@dataclass(frozen=True)
class BuildSettings:
    """Limits for each diagnostic build container (the ``[build]`` table), sized for a Go build."""

    timeout: float = 900.0
    """Seconds a build may take: a cold cgo build through zig compiles its libc first."""
    memory: str = "4g"
    """The go command, compile and link of a large module, or cgo with a big C header, fit in 4 GiB."""
    pids: int = 2048
    """Processes and threads: go build runs one compile per CPU, each with its runtime threads."""
    cpus: float = 2.0
    """At most this many CPUs (capped at the host's)."""


@dataclass(frozen=True)
class Config:
    """The user's settings, with defaults for everything left out."""

    default_targets: tuple[str, ...] = DEFAULT_TARGETS
    """Targets checked when the user names none."""
    theme: str = "textual-dark"
    build_image: str = "goci/build:trixie"
    """Image diagnostic builds run in."""
    images: dict[str, str] = field(default_factory=dict)
    """Logical target name → image reference actually run (local mirrors), from ``[images]``."""
    run: RunSettings = field(default_factory=RunSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    env_images: dict[str, str] = field(default_factory=dict)
    """Overrides from ``$GOCI_DOCTOR_IMAGES``: used, never saved."""
    path: str = ""
    """The file these settings were read from ("" for defaults)."""
    engines: dict[str, str] = field(default_factory=dict)
    """``[engines]``: name → Docker context or endpoint URL; ``run`` spreads its matrix over them."""

    def image_for(self, target_name: str, default_image: str) -> str:
        """The image to run for a target: ``$GOCI_DOCTOR_IMAGES``, then ``[images]``, then the
        knowledge base's ``default_image``."""
        for table in (self.env_images, self.images):
            if target_name in table:
                return table[target_name]
            # Keys may be written as any alias of the target ("debian:bullseye" for "debian:11").
            for key, image in table.items():
                if _same_target(key, target_name):
                    return image
        return default_image


def _same_target(key: str, target_name: str) -> bool:
    from goci_doctor import knowledge

    found = knowledge.find_target(key)
    return found is not None and found.name == target_name


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    name = kind.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return name
    return f"{name} {value!r}" if not isinstance(value, bool) else f"{name} {str(value).lower()}"
