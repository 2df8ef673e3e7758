"""Job matrices: the combinations of a GitHub ``strategy.matrix`` or a GitLab ``parallel:matrix`` entry.

Imports nothing from goci_doctor.
"""

from __future__ import annotations

from typing import Any


def expand_matrix(matrix: Any, limit: int = 256) -> list[dict[str, Any]]:
    """The job combinations of a GitHub Actions strategy.matrix (include/exclude applied)."""
    if not isinstance(matrix, dict):
        return [{}]
    keys = [k for k in matrix if k not in ("include", "exclude")]
    combos: list[dict[str, Any]] = [{}]
    for k in keys:
        values = matrix[k] if isinstance(matrix[k], list) else [matrix[k]]
        combos = [{**c, k: v} for c in combos for v in values][:limit]
    excludes = matrix.get("exclude") or []
    if isinstance(excludes, list):
        combos = [
            c
            for c in combos
            if not any(isinstance(e, dict) and all(c.get(k) == v for k, v in e.items()) for e in excludes)
        ]
    includes = matrix.get("include") or []
    if keys == [] and includes:
        combos = []
    for inc in includes if isinstance(includes, list) else []:
        if not isinstance(inc, dict):
            continue
        matched = False
        for c in combos:
            # An include extends every combination whose original values it does not overwrite.
            if all(c.get(k) == v for k, v in inc.items() if k in keys):
                if any(k in keys for k in inc):
                    c.update({k: v for k, v in inc.items() if k not in keys})
                    matched = True
        if not matched:
            combos.append(dict(inc))
    return combos[:limit] or [{}]
