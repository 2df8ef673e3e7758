"""go.mod: the modules a repository requires, with their lines (for the cgo-module rule).

Imports nothing from goci_doctor.
"""

from __future__ import annotations


def parse_go_mod_requires(text: str) -> list[tuple[str, str, int]]:
    """(module path, version, 1-based line) of every require in a go.mod file."""
    out: list[tuple[str, str, int]] = []
    in_block = False
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if in_block:
            if line.startswith(")"):
                in_block = False
                continue
            words = line.split()
        elif line.startswith("require"):
            rest = line[len("require") :].strip()
            if rest.startswith("("):
                in_block = True
                continue
            words = rest.split()
        else:
            continue
        if len(words) >= 2:
            out.append((words[0].strip('"'), words[1], n))
    return out
