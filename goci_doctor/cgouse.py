"""Whether a repository's Go program really uses cgo, read from its source.

With cgo on, a program whose packages never ``import "C"`` (only the standard library's
``net``/``os/user``, which fall back to pure Go) still links dynamically — unless it is built
with ``-tags netgo,osusergo`` or none of those packages are used. What matters for the lint
rules is the strong case: its own packages or a cgo-only module it imports (data/cgo_modules.toml)
use cgo. This module scans ``.go`` files (not tests, vendor, testdata) for ``import "C"`` and
collects every import path, so GOCI006 fires only for a cgo-only module a program imports.

Imports only the standard library and google-re2; files are read with a size cap.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import re2

_SKIP = {".git", "vendor", "node_modules", "testdata", "third_party", ".venv"}
_MAX_FILES = 20000
_HEAD = 16 * 1024  # imports sit at the top of a file
_IMPORT_LINE = re2.compile(r'(?m)^\s*import\s+(?:[A-Za-z_.]+\s+)?"([^"]+)"')
_IMPORT_BLOCK = re2.compile(r"(?s)import\s*\((.*?)\)")
_QUOTED = re2.compile(r'"([^"\n]+)"')


@dataclass(frozen=True)
class SourceFacts:
    """What the Go source of a repository imports."""

    files: int
    cgo_files: tuple[str, ...]
    """Repository-relative paths of files that import "C"."""
    imports: frozenset[str]

    def imports_module(self, module: str) -> bool:
        return any(i == module or i.startswith(module + "/") for i in self.imports)


def _imports(head: str) -> set[str]:
    out = {m.group(1) for m in _IMPORT_LINE.finditer(head)}
    for block in _IMPORT_BLOCK.finditer(head):
        out.update(q.group(1) for q in _QUOTED.finditer(block.group(1)))
    return out


@functools.lru_cache(maxsize=64)
def scan_source(repo: Path) -> SourceFacts:
    """Scan the non-test ``.go`` files of ``repo`` (cached per path for one process)."""
    count = 0
    cgo: list[str] = []
    imports: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.startswith((".", "_")))
        for name in filenames:
            if not name.endswith(".go") or name.endswith("_test.go"):
                continue
            count += 1
            if count > _MAX_FILES:
                break
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                with path.open("rb") as fh:
                    head = fh.read(_HEAD).decode("utf-8", errors="replace")
            except OSError:
                continue
            found = _imports(head)
            if "C" in found:
                cgo.append(path.relative_to(repo).as_posix())
            imports |= found
    return SourceFacts(count, tuple(sorted(cgo)), frozenset(imports))
