"""Diagnostic build variants (data/variants.toml): how each rebuild of a project is made.

Imports: model, knowledge.base.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from goci_doctor.knowledge.base import _check_keys, _data_path, _entries, _read_toml
from goci_doctor.model import GociError

# --------------------------------------------------------------------------------------------
# Diagnostic build variants (data/variants.toml)


@dataclass(frozen=True)
class Variant:
    """One way of rebuilding a project, and what a successful run of its binary proves."""

    name: str
    title: str
    env: tuple[tuple[str, str], ...] = ()
    """Environment set on top of GOOS/GOARCH; "{zigcc}" in a value names the zig CC wrapper."""
    flags: tuple[str, ...] = ()
    """Extra ``go build`` flags."""
    cc: Literal["", "gcc", "zig", "musl-gcc"] = ""
    """The C compiler the variant needs in the build container ("" = none, or the toolchain default)."""
    proves: str = ""
    goos: str = ""
    """Only for cross variants: the GOOS/GOARCH built for instead of the requested arch."""
    goarch: str = ""
    default: bool = True
    """Built when the user names no variant (the CPU-level variants only on request, or to prove a fix)."""


_VARIANT_REQUIRED: dict[str, type] = {"name": str, "title": str, "proves": str}
_VARIANT_OPTIONAL: dict[str, type] = {
    "env": dict,
    "flags": list,
    "cc": str,
    "goos": str,
    "goarch": str,
    "default": bool,
}
_CCS = ("", "gcc", "zig", "musl-gcc")


def load_variants(path: str | Path | None = None) -> tuple[Variant, ...]:
    """Parse and validate variants.toml; GociError naming the entry when it is malformed."""
    p = Path(path) if path else _data_path("variants.toml")
    doc = _read_toml(p)
    out: list[Variant] = []
    for i, e in enumerate(_entries(p, doc, "variant")):
        label = f"variant #{i + 1} ({e.get('name', '?')})"
        _check_keys(p, label, e, _VARIANT_REQUIRED, _VARIANT_OPTIONAL)
        env = e.get("env", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise GociError(f"{p}: {label}: 'env' must map variable names to strings")
        if e.get("cc", "") not in _CCS:
            raise GociError(f"{p}: {label}: 'cc' must be one of {', '.join(repr(c) for c in _CCS)}")
        if e["name"] in {v.name for v in out} or e["name"].startswith("cross"):
            raise GociError(f"{p}: {label}: duplicate or reserved name")
        out.append(
            Variant(
                name=e["name"],
                title=e["title"],
                env=tuple(env.items()),
                flags=tuple(e.get("flags", ())),
                cc=e.get("cc", ""),
                proves=e["proves"],
                goos=e.get("goos", ""),
                goarch=e.get("goarch", ""),
                default=e.get("default", True),
            )
        )
    return tuple(out)


@functools.cache
def variants() -> tuple[Variant, ...]:
    """The shipped diagnostic build variants, loaded and validated once."""
    return load_variants()


def is_variant_name(name: str) -> bool:
    """True for a variant in variants.toml, or ``cross`` / ``cross:<goos>/<goarch>`` (built on request)."""
    return name in {v.name for v in variants()} or name == "cross" or name.startswith("cross:")
