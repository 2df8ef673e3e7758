"""Whether a repository's Go program really uses cgo, read from its source.

With cgo on, a program whose packages never ``import "C"`` (only the standard library's
``net``/``os/user``, which fall back to pure Go) still links dynamically — unless it is built
with ``-tags netgo,osusergo`` or none of those packages are used. What matters for the lint
rules is the strong case: its own packages or a cgo-only module it imports (data/cgo_modules.toml)
use cgo. This module scans ``.go`` files (not tests, vendor, testdata) for ``import "C"`` and
collects every import path, so GOCI006 fires only for a cgo-only module a program imports.
When a Go toolchain is found and the module's dependencies are already local, ``go list -deps
-json`` answers instead (it sees cgo in dependencies too); it runs offline (GOPROXY=off,
GOTOOLCHAIN=local, -mod=readonly), compiles and executes nothing, and has a deadline.

Imports goci_doctor.hostenv (to find go), the standard library and google-re2; files are read
with a size cap.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
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
    how: str = "source scan"
    """"go list" or "source scan"."""

    def imports_module(self, module: str) -> bool:
        return any(i == module or i.startswith(module + "/") for i in self.imports)


def _imports(head: str) -> set[str]:
    out = {m.group(1) for m in _IMPORT_LINE.finditer(head)}
    for block in _IMPORT_BLOCK.finditer(head):
        out.update(q.group(1) for q in _QUOTED.finditer(block.group(1)))
    return out


_GO_LIST_TIMEOUT = 60.0


def go_list(repo: Path) -> SourceFacts | None:
    """``go list -deps`` of every package of the module at ``repo``; None when it cannot run offline."""
    from goci_doctor.hostenv import find_go

    go = find_go(os.environ)
    if go is None or not (repo / "go.mod").is_file():
        return None
    env = {**os.environ, "CGO_ENABLED": "1", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly",
           "GOWORK": "off", "GONOSUMDB": "*"}  # fmt: skip
    try:
        proc = subprocess.run(
            [go, "list", "-deps", "-json=ImportPath,CgoFiles,Standard,Dir", "./..."],
            cwd=repo, env=env, capture_output=True, timeout=_GO_LIST_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or len(proc.stdout) > 64 * 1024 * 1024:
        return None
    decoder = json.JSONDecoder()
    text = proc.stdout.decode("utf-8", errors="replace")
    i, count = 0, 0
    cgo: list[str] = []
    imports: set[str] = set()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            pkg, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        count += 1
        path = str(pkg.get("ImportPath", ""))
        imports.add(path)
        if pkg.get("CgoFiles") and not pkg.get("Standard"):
            cgo.append(path)
    return SourceFacts(count, tuple(sorted(cgo)), frozenset(imports), "go list")


@functools.lru_cache(maxsize=64)
def scan_source(repo: Path) -> SourceFacts:
    """What ``repo``'s Go code imports: ``go list`` when possible, else a source scan (cached)."""
    listed = go_list(repo)
    if listed is not None:
        return listed
    return _scan_files(repo)


def _scan_files(repo: Path) -> SourceFacts:
    """Scan the non-test ``.go`` files of ``repo``."""
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
