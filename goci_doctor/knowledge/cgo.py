"""Go modules that need cgo (data/cgo_modules.toml): the C library each binds, pure-Go alternatives,
a note and a source. Loaded once and validated (every key required, unknown keys rejected); ``lint``
(go.mod) and ``check`` (a CGO_ENABLED=0 binary that depends on one) read the same list.

Imports: model, knowledge.base.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor.knowledge.base import _check_keys, _data_path, _entries, _read_toml
from goci_doctor.model import GociError

_KEYS: dict[str, type] = {"path": str, "library": str, "alternatives": list, "note": str, "source": str}


@dataclass(frozen=True)
class CgoModule:
    """A module that needs cgo, from data/cgo_modules.toml."""

    path: str
    library: str
    alternatives: tuple[str, ...]
    note: str
    source: str

    def matches(self, module: str) -> bool:
        """The module itself or one of its major versions (path/v2, path/v3, ...)."""
        return module == self.path or (module.startswith(self.path + "/v") and module[len(self.path) + 2 :].isdigit())


def load_cgo_modules(doc: dict[str, Any], origin: str = "cgo_modules.toml") -> tuple[CgoModule, ...]:
    """Validate a parsed cgo_modules.toml; a malformed entry raises GociError naming it and the key."""
    path = Path(origin)
    out = []
    for i, entry in enumerate(_entries(path, doc, "module")):
        label = f"module #{i + 1}"
        _check_keys(path, label, entry, _KEYS, {})
        for key, kind in _KEYS.items():
            if kind is str and not entry[key]:
                raise GociError(f"{path}: {label}: '{key}' must be a non-empty str")
        if not all(entry["alternatives"]):
            raise GociError(f"{path}: {label}: 'alternatives' must be module paths")
        out.append(
            CgoModule(entry["path"], entry["library"], tuple(entry["alternatives"]), entry["note"], entry["source"])
        )
    return tuple(out)


@functools.cache
def cgo_modules() -> tuple[CgoModule, ...]:
    """The shipped list, validated once."""
    path = _data_path("cgo_modules.toml")
    return load_cgo_modules(_read_toml(path), str(path))
