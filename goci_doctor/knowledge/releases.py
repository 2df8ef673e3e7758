"""Go releases (data/go_releases.toml: minimum kernels, macOS, Windows, glibc per release) and CPU
levels (data/cpu_levels.toml: GOAMD64/GOARM and the instructions each needs).

Imports: model, knowledge.base.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from goci_doctor.knowledge.base import GO_ARCHS, _check_keys, _data_path, _entries, _read_toml, version_tuple
from goci_doctor.model import GociError

# --------------------------------------------------------------------------------------------
# Data classes owned by the knowledge base (Target itself lives in model.py)


@dataclass(frozen=True)
class GoRelease:
    """Minimum platform versions one Go release needs (from the Go release notes)."""

    version: str
    """Go minor release, e.g. "1.21"."""
    min_linux_kernel: str
    """e.g. "2.6.32"; a binary built by this Go refuses to start on older kernels."""
    min_windows: str
    """e.g. "Windows 10 / Windows Server 2016"."""
    min_macos: str
    """e.g. "macOS 10.15 Catalina"."""
    min_freebsd: str
    notes: str = ""
    source: str = ""
    min_windows_version: str = ""
    """Machine-comparable NT version for min_windows, e.g. "10.0" (Windows 7 is "6.1")."""
    min_macos_version: str = ""
    """Machine-comparable form of min_macos, e.g. "10.15"."""


@dataclass(frozen=True)
class CpuLevel:
    """One CPU feature level a Go binary can be built for (GOAMD64, GOARM, GO386, GOARCH on Windows)."""

    variable: str
    """The build setting that selects it: "GOAMD64", "GOARM", "GOARCH"."""
    value: str
    """e.g. "v3", "7", "386"."""
    arch: str
    """Go GOARCH the level belongs to: amd64, arm, 386."""
    title: str
    requires: tuple[str, ...] = ()
    """Instruction-set features the CPU must have, e.g. ("AVX", "AVX2", "BMI1", ...)."""
    message: str = ""
    """What the user sees when the CPU (or OS) lacks them, verbatim."""
    examples: tuple[str, ...] = ()
    """Hardware that is (or is not) at this level, e.g. "Raspberry Pi Zero / 1 (ARMv6)"."""
    notes: str = ""
    source: str = ""


# --------------------------------------------------------------------------------------------
# Go releases

_GO_REQUIRED: dict[str, type] = {
    "version": str,
    "min_linux_kernel": str,
    "min_windows": str,
    "min_macos": str,
    "min_freebsd": str,
    "source": str,
}
_GO_OPTIONAL: dict[str, type] = {"notes": str, "min_windows_version": str, "min_macos_version": str}


def load_go_releases(path: str | Path | None = None) -> tuple[GoRelease, ...]:
    """Load and validate a Go releases file (default: the shipped go_releases.toml), oldest first."""
    p = Path(path) if path is not None else _data_path("go_releases.toml")
    doc = _read_toml(p)
    out: dict[tuple[int, ...], GoRelease] = {}
    for i, e in enumerate(_entries(p, doc, "release")):
        label = f"release '{e.get('version', f'#{i + 1}')}'"
        _check_keys(p, label, e, _GO_REQUIRED, _GO_OPTIONAL)
        v = version_tuple(e["version"])
        if len(v) != 2:
            raise GociError(f"{p}: {label}: version must be a Go minor release like '1.21'")
        if v in out:
            raise GociError(f"{p}: {label}: duplicate release")
        out[v] = GoRelease(**e)
    return tuple(out[k] for k in sorted(out))


@functools.cache
def go_releases() -> tuple[GoRelease, ...]:
    """All shipped Go release entries, oldest first (validated once, cached)."""
    return load_go_releases()


def go_release(go_version: str) -> GoRelease | None:
    """Platform minimums for a Go version ("go1.21.5", "1.22", "go1.23rc1").

    A version newer than the table inherits the newest entry; older than the table, or not a
    Go version at all, gives None.
    """
    v = version_tuple(go_version)[:2]
    if len(v) < 2:
        return None
    best: GoRelease | None = None
    for r in go_releases():
        if version_tuple(r.version) <= v:
            best = r
    return best


# --------------------------------------------------------------------------------------------
# CPU levels

_CPU_REQUIRED: dict[str, type] = {"variable": str, "value": str, "arch": str, "title": str, "source": str}
_CPU_OPTIONAL: dict[str, type] = {"requires": list, "message": str, "examples": list, "notes": str}


def load_cpu_levels(path: str | Path | None = None) -> tuple[CpuLevel, ...]:
    """Load and validate a CPU levels file (default: the shipped cpu_levels.toml)."""
    p = Path(path) if path is not None else _data_path("cpu_levels.toml")
    doc = _read_toml(p)
    out: list[CpuLevel] = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(_entries(p, doc, "level")):
        label = f"level '{e.get('variable', '?')}={e.get('value', f'#{i + 1}')}'"
        _check_keys(p, label, e, _CPU_REQUIRED, _CPU_OPTIONAL)
        if e["arch"] not in GO_ARCHS:
            raise GociError(f"{p}: {label}: arch must be a Go GOARCH name, got {e['arch']!r}")
        key = (e["variable"], e["value"])
        if key in seen:
            raise GociError(f"{p}: {label}: duplicate level")
        seen.add(key)
        out.append(
            CpuLevel(
                variable=e["variable"],
                value=e["value"],
                arch=e["arch"],
                title=e["title"],
                requires=tuple(e.get("requires", [])),
                message=e.get("message", ""),
                examples=tuple(e.get("examples", [])),
                notes=e.get("notes", ""),
                source=e["source"],
            )
        )
    return tuple(out)


@functools.cache
def cpu_levels() -> tuple[CpuLevel, ...]:
    """All shipped CPU levels (GOAMD64 v1–v4, GOARM 5–7, GOARCH 386 vs amd64 on Windows)."""
    return load_cpu_levels()


def cpu_level(variable: str, value: str) -> CpuLevel | None:
    """The level for a build setting, e.g. cpu_level("GOAMD64", "v3"); None when unknown."""
    for lvl in cpu_levels():
        if lvl.variable == variable.upper() and lvl.value == value.strip().lower():
            return lvl
    return None
