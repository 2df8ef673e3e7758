"""Makefiles into facts: the go builds in every explicit target's recipe, with the environment make gives it.

The Makefile is read once, by :mod:`goci_doctor.gate.makeresolve` (conditionals, exports,
target-specific variables); each rule's own recipe lines are scanned by :mod:`goci_doctor.gate.shell`.

Imports goci_doctor.gate.{shell, buildmodel, makeresolve} and goci_doctor.safety.
"""

from __future__ import annotations

from pathlib import Path

from goci_doctor.gate.buildmodel import ConfigFacts, shell_builds
from goci_doctor.gate.makeresolve import parse_make, resolve
from goci_doctor.gate.shell import scan_shell
from goci_doctor.safety import safeio


def read_makefile(path: Path, rel: str) -> ConfigFacts:
    """The go builds in a Makefile's recipes, with its exported variables as their environment."""
    facts = ConfigFacts(rel)
    try:
        # Conditionals, target-specific variables and exports decide each recipe's environment;
        # immediate (:=) assignments are charged to the file's expansion budget as they are read,
        # so a self-doubling chain is refused like one in a Dockerfile.
        db = parse_make(safeio.read_text(path, errors="replace"), charged=True)
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {rel}: {exc.reason}", "make the file readable"))
        return facts
    lines, _missing = resolve(db, [t for t in db.rules if "%" not in t and not t.startswith(".")], prereqs=False)
    for rl in lines:
        scan = scan_shell(rl.text, dict(rl.env))
        for b in shell_builds(
            rel, rl.raw, rl.line, scan, host_os="linux", host_arch="amd64", context=f"target {rl.target}"
        ):
            if b.goos in ("darwin", "ios"):
                # A Makefile does not say where it runs; Apple targets are built on macOS hosts.
                b.host_os, b.host_arch = "darwin", ""
            facts.builds.append(b)
    if db.exhausted:
        facts.problems.append(
            (
                1,
                f"{rel}: variable expansion exceeded its budget (a value that keeps growing, or "
                "too many expansions); the recipes using it were not followed",
                "simplify the variables, or check the built artifact with `goci-doctor check`",
            )
        )
    return facts
