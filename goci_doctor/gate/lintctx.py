"""What the rules share while a repository is read: the collection context (findings, images,
shipped builds, the policy), image knowledge (libc of an image reference) and libc comparison.

Imports: model, knowledge, gate (build model, image families, rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goci_doctor.gate.buildmodel import GoBuild
from goci_doctor.gate.imagefamily import image_libc_info, moving_tag
from goci_doctor.gate.rules import RULES, Level, LintFinding
from goci_doctor.knowledge.cgo import cgo_modules
from goci_doctor.model import GociError

if TYPE_CHECKING:
    from goci_doctor.gate.policyfile import PolicyEnv

# --------------------------------------------------------------------------------------------
# Image knowledge (adapter over goci_doctor.knowledge)


def image_libc(ref: str) -> tuple[str, str] | None:
    """(libc, version) of an image reference, e.g. ("glibc", "2.36"), ("musl", "1.2.5"), ("none", "").

    The knowledge base first (tags, digests, registry prefixes), then the image's family
    (:mod:`goci_doctor.gate.imagefamily`: any alpine is musl, distroless static has none...; the
    version is "" when only the family is known). None when neither knows it.
    """
    info = image_libc_info(ref)
    return info.pair() if info is not None else None


def _image_target(ref: str) -> Any:
    if not ref or "$" in ref:
        return None
    from goci_doctor import knowledge

    try:
        return knowledge.find_target(ref)
    except GociError:
        return None


def _image_os(ref: str) -> str:
    t = _image_target(ref)
    if t is not None:
        return str(t.os)
    low = ref.lower()
    if any(w in low for w in ("windows", "nanoserver", "servercore")):
        return "windows"
    return "" if "$" in ref else "linux"


def _vt(version: str) -> tuple[int, ...]:
    from goci_doctor.knowledge import version_tuple

    return version_tuple(version)


def _unpinned(ref: str) -> str:
    """Why an image reference moves under you ("" when pinned to a version or digest)."""
    return moving_tag(ref)


# --------------------------------------------------------------------------------------------
# Collection context


@dataclass
class _Ctx:
    repo: Path
    policy: PolicyEnv | None
    findings: dict[tuple[str, str, int, str], LintFinding] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    builds: list[GoBuild] = field(default_factory=list)
    release_envs: list[dict[str, str]] = field(default_factory=list)
    """Environment of the CI steps that run goreleaser (read before the goreleaser config)."""
    runtime_images: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, line, image) of every image artifacts run in (final stages, ko base images)."""

    def add(
        self,
        rule_id: str,
        file: str,
        line: int,
        message: str,
        fix: str,
        evidence: Sequence[str] = (),
        column: int = 1,
        level: Level | None = None,
    ) -> None:
        rule = RULES[rule_id]
        lvl: Level = level or rule.level
        if lvl == "note" and _fixture_path(file):
            return  # notes on test fixtures and examples are noise: nothing ships from there
        key = (rule_id, file, line, message)
        if key not in self.findings:
            self.findings[key] = LintFinding(rule_id, lvl, file, line, max(column, 1), message, fix, tuple(evidence))

    def rel(self, path: Path) -> str:
        return path.relative_to(self.repo).as_posix()

    def uses_cgo(self) -> bool | None:
        """Whether the repository's Go code imports "C" or a cgo-only module; None without Go files."""
        from goci_doctor.gate.cgouse import scan_source

        src = scan_source(self.repo)
        if src.cgo_files or any(src.imports_module(m.path) for m in cgo_modules()):
            return True
        return False if src.files else None


_FIXTURE_DIRS = {"test", "tests", "testdata", "example", "examples", "_example", "_examples", "e2e", "fixtures"}


def _fixture_path(file: str) -> bool:
    return any(part.lower() in _FIXTURE_DIRS for part in file.split("/")[:-1])


def _libc_text(libc: tuple[str, str]) -> str:
    name, version = libc
    if name == "none":
        return "no C library"
    return f"{name} {version}".strip()


# glibc 2.34 moved __libc_start_main (and libpthread) to new symbol versions: every cgo binary
# linked against glibc >= 2.34 needs GLIBC_2.34 (seen in the cgo-host test fixture).
_GLIBC_START_MAIN = (2, 34)


def _libc_problem(build_libc: tuple[str, str], run_libc: tuple[str, str]) -> tuple[str, Level]:
    """Why a dynamically linked cgo binary from one libc does not run on another, and how sure that is.

    ("", "note") when it runs. A newer build glibc is an error when the runtime is below 2.34 and
    the builder at or above it (certain), a warning otherwise (depends on the symbols used).
    """
    b, r = build_libc, run_libc
    if r[0] == "none":
        return "the runtime image has no C library and no dynamic loader", "error"
    if b[0] != r[0]:
        return f"it is linked against {_libc_text(b)} but the runtime image has {_libc_text(r)}", "error"
    if b[0] == "glibc" and b[1] and r[1] and _vt(b[1]) > _vt(r[1]):
        if _vt(b[1]) >= _GLIBC_START_MAIN:
            # What a cgo Go binary linked on glibc >= 2.34 needs is GLIBC_2.34, not the builder's version.
            if _vt(r[1]) >= _GLIBC_START_MAIN:
                return "", "note"
            return (f"it needs at least GLIBC_2.34 (__libc_start_main) but the runtime image has glibc {r[1]}", "error")
        return f"it may need symbols up to GLIBC_{b[1]} but the runtime image has glibc {r[1]}", "warning"
    return "", "note"


def _build_tags(b: GoBuild) -> set[str]:
    tags: set[str] = set()
    args = list(b.args)
    for i, a in enumerate(args):
        value = ""
        if a in ("-tags", "--tags") and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(("-tags=", "--tags=")):
            value = a.split("=", 1)[1]
        tags.update(t for t in value.replace(",", " ").split() if t)
    return tags
