"""Failure families as data: data/families.toml (and native_wording.toml for non-Go programs),
loaded once and validated (unknown keys rejected).

Imports: model only.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from goci_doctor.knowledge import build_variants as knowledge_variants
from goci_doctor.model import (
    GociError,
)
from goci_doctor.safety import linear

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------
# Failure families (data)


@dataclass(frozen=True)
class FixSpec:
    id: str
    title: str
    detail: str = ""
    commands: tuple[str, ...] = ()
    diff: tuple[str, ...] = ()
    variant: str = ""


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    severity: str
    symptom: str
    mechanism: str
    cause: str
    source: str
    patterns: tuple[re.Pattern[str], ...] = ()
    group: str = ""
    context: tuple[re.Pattern[str], ...] = ()
    generic: bool = False
    fixes: tuple[FixSpec, ...] = ()


_FAMILY_KEYS = {
    "id",
    "title",
    "severity",
    "patterns",
    "group",
    "context",
    "generic",
    "symptom",
    "mechanism",
    "cause",
    "source",
    "fix",
}
_FIX_KEYS = {"id", "title", "detail", "commands", "diff", "variant"}


def load_families(text: str, origin: str = "families.toml") -> dict[str, Family]:
    """Parse and validate a families file. A broken file raises GociError naming the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GociError(f"{origin}: {exc}") from None
    out: dict[str, Family] = {}
    for i, raw in enumerate(data.get("family", [])):
        where = f"{origin}: family #{i + 1} ({raw.get('id', '?')})"
        unknown = set(raw) - _FAMILY_KEYS
        if unknown:
            raise GociError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("id", "title", "symptom", "mechanism", "cause", "source"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise GociError(f"{where}: '{key}' must be a non-empty string")
        if raw["id"] in out:
            raise GociError(f"{where}: duplicate id")
        fixes = []
        for fx in raw.get("fix", []):
            bad = set(fx) - _FIX_KEYS
            if bad or "id" not in fx or "title" not in fx:
                raise GociError(f"{where}: fix {fx.get('id', '?')} is malformed (keys {sorted(fx)})")
            if fx.get("variant") and not knowledge_variants.is_variant_name(fx["variant"]):
                # "Prove this fix" would build it: a name variants.toml does not define fails here, not there.
                raise GociError(
                    f"{where}: fix {fx['id']} names build variant {fx['variant']!r}, which "
                    "data/variants.toml does not define"
                )
            fixes.append(
                FixSpec(
                    id=fx["id"],
                    title=fx["title"],
                    detail=fx.get("detail", ""),
                    commands=tuple(fx.get("commands", ())),
                    diff=tuple(fx.get("diff", ())),
                    variant=fx.get("variant", ""),
                )
            )
        try:
            # Log lines are untrusted: family patterns run in linear time (RE2).
            patterns = tuple(linear.compile(p, re.IGNORECASE) for p in raw.get("patterns", ()))
            context = tuple(linear.compile(p, re.IGNORECASE) for p in raw.get("context", ()))
        except re.error as exc:
            raise GociError(f"{where}: bad regular expression: {exc}") from None
        out[raw["id"]] = Family(
            id=raw["id"],
            title=raw["title"],
            severity=raw.get("severity", "error"),
            symptom=raw["symptom"],
            mechanism=raw["mechanism"],
            cause=raw["cause"],
            source=raw["source"],
            patterns=patterns,
            group=raw.get("group", ""),
            context=context,
            generic=bool(raw.get("generic", False)),
            fixes=tuple(fixes),
        )
    return out


@functools.cache
def families() -> dict[str, Family]:
    """The failure families shipped in the package (loaded once)."""
    text = resources.files("goci_doctor").joinpath("data/families.toml").read_text(encoding="utf-8")
    return load_families(text)


@functools.cache
def native_wording() -> dict[str, Family]:
    """Families reworded for programs without Go build info (data/native_wording.toml): id -> Family."""
    text = resources.files("goci_doctor").joinpath("data/native_wording.toml").read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GociError(f"native_wording.toml: {exc}") from None
    out = {}
    fams = families()
    for fid, raw in doc.get("family", {}).items():
        if fid not in fams or set(raw) - {"cause", "mechanism", "fix"} or "cause" not in raw:
            raise GociError(f"native_wording.toml: family {fid} is unknown or malformed")
        fixes = tuple(
            FixSpec(id=fx["id"], title=fx["title"], detail=fx.get("detail", ""), commands=tuple(fx.get("commands", ())))
            for fx in raw.get("fix", ())
        )
        mechanism = raw.get("mechanism", fams[fid].mechanism)
        out[fid] = dataclasses.replace(fams[fid], cause=raw["cause"], mechanism=mechanism, fixes=fixes)
    return out
