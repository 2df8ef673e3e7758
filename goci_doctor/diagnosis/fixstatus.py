"""How far each fix of a crash chain was tried, and the session's best fix.

A fix is in one of four states: proven (its rebuilt variant ran on the targets), build failed
(the variant could not be built, e.g. a cgo program with ``CGO_ENABLED=0``), still crashes, or
not tried. The TUI's tree, its detail pane and the exports all word the state through here, so
they never disagree. Imports: ``goci_doctor.model`` and ``goci_doctor.records``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from goci_doctor.model import first_line
from goci_doctor.records import BuildResult, ChainNode, Diagnosis

State = Literal["proven", "build-failed", "still-crashes", "not-tried"]


@dataclass(frozen=True)
class FixStatus:
    """One fix's state, where it was tried, and why its build failed (if it did)."""

    state: State
    where: tuple[str, ...] = ()
    reason: str = ""

    @property
    def mark(self) -> str:
        """The short mark shown next to the fix: ✔ proven, ✖ build failed, ✖ still crashes, not tried."""
        return {
            "proven": "✔ proven",
            "build-failed": "✖ build failed",
            "still-crashes": "✖ still crashes",
            "not-tried": "not tried",
        }[self.state]

    @property
    def label(self) -> str:
        """The mark with where it holds, e.g. "✔ proven (debian:11 (glibc 2.31))"."""
        if self.where:
            return f"{self.mark} ({', '.join(self.where)})"
        return self.mark


def fix_status(node: ChainNode, builds: Iterable[BuildResult] = ()) -> FixStatus:
    """The state of one fix node (``builds``: the session's diagnostic builds, to see failed ones)."""
    if node.proven_in:
        return FixStatus("proven", node.proven_in)
    if node.variant:
        for b in builds:
            if b.variant == node.variant and not b.ok and not b.reason.startswith("skipped:"):
                return FixStatus("build-failed", reason=first_line(b.reason))
    if node.failed_in:
        return FixStatus("still-crashes", node.failed_in)
    return FixStatus("not-tried")


def first_command(node: ChainNode) -> str:
    """The fix's one command to run: its ``go build`` line if it has one, else its first command, or ""."""
    lines = [c for c in node.commands if c.strip() and not c.lstrip().startswith("#")]
    return next((c for c in lines if "go build" in c), lines[0] if lines else "")


@dataclass(frozen=True)
class BestFix:
    """A fix merged across chains: the node shown, its state, and how many chains offer it."""

    node: ChainNode
    status: FixStatus
    chains: int


_RANK = {"proven": 0, "not-tried": 1, "still-crashes": 2, "build-failed": 3}


def merged_fixes(diagnosis: Diagnosis | None, builds: Sequence[BuildResult] = ()) -> list[BestFix]:
    """Every fix of the diagnosis once (merged by variant, else by title), best first.

    Best means proven on the most places, then not tried, then still crashing, then not buildable;
    among equals, the fix offered by more chains comes first.
    """
    if diagnosis is None:
        return []
    found: dict[str, list[ChainNode]] = {}
    for chain in diagnosis.chains:
        seen: set[str] = set()
        for node in chain.walk():
            if node.kind != "fix":
                continue
            key = node.variant or node.title
            if key in seen:
                continue
            seen.add(key)
            found.setdefault(key, []).append(node)
    merged: list[BestFix] = []
    for nodes in found.values():
        # The most-proven copy speaks for all (chains can mark the same variant differently).
        node = max(nodes, key=lambda n: (len(n.proven_in), -len(n.failed_in)))
        merged.append(BestFix(node, fix_status(node, builds), len(nodes)))
    merged.sort(key=lambda f: (_RANK[f.status.state], -len(f.status.where), -f.chains))
    return merged


def summary_line(diagnosis: Diagnosis | None, builds: Sequence[BuildResult] = ()) -> str:
    """Plain text for the session's best fix ("" when there is no fix): a line, then its command, e.g.

    "Best fix: Build without cgo — ✔ proven (debian:12)" and "$ CGO_ENABLED=0 go build ./...".
    """
    fixes = merged_fixes(diagnosis, builds)
    if not fixes:
        return ""
    best = fixes[0]
    head = "Best fix" if best.status.state == "proven" else "Suggested fix"
    line = f"{head}: {best.node.title} — {best.status.label}"
    if best.chains > 1:
        line += f" (offered by {best.chains} chains)"
    cmd = first_command(best.node)
    return f"{line}\n$ {cmd}" if cmd else line
