"""Reading go's output after a failed build: the module an offline build lacked, and one line
saying why the build failed (the log explainer's wording for the classic cgo failures, else go's
first error).

Go's output quotes the project (untrusted): every pattern here is linear-time (RE2).

Imports: diagnosis.explain (optional, through importlib), lab.buildplan, model, safety.linear.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from goci_doctor.lab.buildplan import C_GOMODCACHE
from goci_doctor.model import GociError
from goci_doctor.safety import linear

_LOOKUP_DISABLED = linear.compile(r"(?:(\S+@\S+): )?module lookup disabled by GOPROXY=off")
_DOWNLOADING = linear.compile(r"^go: downloading (\S+) (v\S+)$", re.M)
_RO_MODCACHE = linear.compile(rf"{C_GOMODCACHE}/\S*: read-only file system")
_MISSING_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        linear.compile(r"missing go\.sum entry for module providing package (\S+)"),
        "no go.sum entry for the module providing package {0}",
    ),
    (
        linear.compile(r"missing go\.sum entry for go\.mod file; to add it:\s+go mod download (\S+)"),
        "no go.sum entry for module {0}",
    ),
    (linear.compile(r"cannot find module providing package (\S+)"), "no module provides package {0}"),
    (linear.compile(r"no required module provides package (\S+)"), "no required module provides package {0}"),
)


def missing_module(output: str) -> str:
    """What an offline build lacked, from go's output ("module x@v1 is not in the module cache"), or ""."""
    lookup = _LOOKUP_DISABLED.search(output)
    if lookup and lookup.group(1):
        return f"module {lookup.group(1)} is not in the module cache"
    # "go: downloading" names the module go looked for. Offline it then fails with "module lookup
    # disabled", or, with the module cache mounted read-only, earlier, taking its download lock.
    downloading = _DOWNLOADING.findall(output)
    if downloading and (lookup or _RO_MODCACHE.search(output)):
        names = ", ".join(f"module {path}@{version}" for path, version in downloading)
        return f"{names} {'is' if len(downloading) == 1 else 'are'} not in the module cache"
    for pattern, template in _MISSING_PATTERNS:
        m = pattern.search(output)
        if m:
            return template.format(m.group(1).rstrip(":;,"))
    return ""


def _failure_reason(output: str, allow_network: bool) -> str:
    """One line saying why a build failed: a missing module, the log diagnosis, or go's first error."""
    missing = missing_module(output)
    if missing:
        if allow_network:
            return missing
        return f"{missing} and the build is offline (GOPROXY=off); rerun with --allow-network or run `go mod download`"
    if "read-only file system" in output and ("go.sum" in output or "go.mod" in output):
        return "go wanted to update go.mod/go.sum: run `go mod tidy` in the project first"
    try:
        # Optional: the log explainer knows the classic cgo failures and words them best.
        explain: Any = importlib.import_module("goci_doctor.diagnosis.explain")
    except ImportError:
        explain = None
    if explain is not None and hasattr(explain, "explain_text"):
        try:
            explained = explain.explain_text(output)
        except GociError:
            explained = None
        if explained is not None and explained.chains:
            chain = explained.chains[0]
            nodes = chain.walk()
            why = next((n.title for n in nodes if n.kind == "mechanism"), "")
            return f"{why}: {chain.title}" if why else chain.title
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("#")]
    for ln in lines:
        if "error" in ln.lower() or "not found" in ln or "cannot" in ln:
            return ln
    return lines[-1] if lines else "build failed without output"
