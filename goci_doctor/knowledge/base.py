"""The ground of the knowledge base: version parsing, reading and validating TOML data files
(unknown keys rejected, every error naming the file and the key), the names every file shares.

Imports: model only.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from goci_doctor.model import GociError

LIBCS = ("glibc", "musl", "none")
GO_ARCHS = ("amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "loong64")
GO_OSES = ("linux", "windows", "darwin", "freebsd")


# --------------------------------------------------------------------------------------------
# Versions


def version_tuple(s: str) -> tuple[int, ...]:
    """Parse the leading dotted number of ``s`` into a tuple: "2.31" → (2, 31), "go1.21.5" → (1, 21, 5).

    Leading text (``go``, ``GLIBC_``, ``v``) and trailing text (``-r0``, ``rc1``, ``_git``) are
    ignored. Returns ``()`` when there is no number at all.
    """
    m = re.search(r"\d+(?:\.\d+)*", s or "")
    if not m:
        return ()
    return tuple(int(p) for p in m.group(0).split("."))


def _data_path(name: str) -> Path:
    return Path(str(resources.files("goci_doctor") / "data" / name))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise GociError(f"{path}: knowledge file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise GociError(f"{path}: invalid TOML: {e}") from None


def _entries(path: Path, doc: dict[str, Any], table: str) -> list[dict[str, Any]]:
    unknown_top = set(doc) - {table, "meta"}
    if unknown_top:
        raise GociError(f"{path}: unknown top-level key(s) {sorted(unknown_top)} (expected [[{table}]])")
    entries = doc.get(table)
    if not isinstance(entries, list) or not entries:
        raise GociError(f"{path}: no [[{table}]] entries")
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise GociError(f"{path}: [[{table}]] #{i + 1} is not a table")
    return entries


def _check_keys(
    path: Path,
    label: str,
    entry: Mapping[str, Any],
    required: Mapping[str, type],
    optional: Mapping[str, type],
) -> None:
    unknown = set(entry) - set(required) - set(optional)
    if unknown:
        raise GociError(f"{path}: {label}: unknown key(s) {sorted(unknown)}")
    for key in required:
        if key not in entry:
            raise GociError(f"{path}: {label}: missing required key '{key}'")
    for key, typ in {**required, **optional}.items():
        if key in entry and not isinstance(entry[key], typ):
            raise GociError(f"{path}: {label}: '{key}' must be {typ.__name__}, got {entry[key]!r}")
        if typ is list and key in entry and not all(isinstance(x, str) for x in entry[key]):
            raise GociError(f"{path}: {label}: '{key}' must be a list of strings")
    if "source" in required and not str(entry.get("source", "")).strip():
        raise GociError(f"{path}: {label}: 'source' is empty (every fact needs its source)")
