"""Go modules that need cgo (data/cgo_modules.toml): the C library each binds, pure-Go alternatives,
a note and a source. Loaded once and validated (every key required, unknown keys rejected); ``lint``
(go.mod) and ``check`` (a CGO_ENABLED=0 binary that depends on one) read the same list.

Imports: model, knowledge.base.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from goci_doctor.knowledge.base import _data_path, _read_toml
from goci_doctor.model import GociError

_KEYS = {"path": str, "library": str, "alternatives": list, "note": str, "source": str}


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


def load_cgo_modules(doc: dict[str, object], origin: str = "cgo_modules.toml") -> tuple[CgoModule, ...]:
    """Validate a parsed cgo_modules.toml; a malformed entry raises GociError naming it and the key."""
    entries = doc.get("module", [])
    if not isinstance(entries, list):
        raise GociError(f"{origin}: 'module' must be an array of tables")
    out = []
    for i, entry in enumerate(entries):
        where = f"{origin}: module #{i + 1}"
        if not isinstance(entry, dict):
            raise GociError(f"{where}: not a table")
        unknown = sorted(set(entry) - set(_KEYS))
        if unknown:
            raise GociError(f"{where}: unknown keys {unknown}")
        for key, kind in _KEYS.items():
            if key not in entry:
                raise GociError(f"{where}: missing key '{key}'")
            if not isinstance(entry[key], kind) or (kind is str and not entry[key]):
                raise GociError(f"{where}: '{key}' must be a non-empty {kind.__name__}")
        if not all(isinstance(a, str) and a for a in entry["alternatives"]):
            raise GociError(f"{where}: 'alternatives' must be module paths")
        out.append(
            CgoModule(entry["path"], entry["library"], tuple(entry["alternatives"]), entry["note"], entry["source"])
        )
    return tuple(out)


@functools.cache
def cgo_modules() -> tuple[CgoModule, ...]:
    """The shipped list, validated once."""
    path = _data_path("cgo_modules.toml")
    return load_cgo_modules(_read_toml(path), str(path))
