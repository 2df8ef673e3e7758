"""Diagnostic build variants and what building them produced: the variants (data/variants.toml,
through the knowledge base), build events, the variant x target matrix, and its verdict.

Imports: model, records, knowledge, lab.proof (the verdict judges the runs like ``run`` does).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

from goci_doctor import knowledge
from goci_doctor.knowledge import Variant
from goci_doctor.model import BadInputError, ExitCode
from goci_doctor.records import BuildResult, Diagnosis, RunResult

# --------------------------------------------------------------------------------------------
# Variants


# The variants are data (data/variants.toml), loaded and validated by the knowledge base.
VARIANTS: tuple[Variant, ...] = knowledge.variants()
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
DEFAULT_VARIANTS = tuple(v.name for v in VARIANTS if v.default)
"""Built when the user names none. Cross and CPU-level variants are built only on request."""


def variant(name: str, arch: str = "amd64") -> Variant:
    """The variant called ``name``: one of ``VARIANT_NAMES``, or ``cross:<goos>/<goarch>``.

    ``cross`` alone means the other common Linux arch (arm64 from amd64, amd64 otherwise).
    """
    for v in VARIANTS:
        if v.name == name:
            return v
    if name == "cross" or name.startswith("cross:"):
        spec = name.partition(":")[2] or ("linux/arm64" if arch == "amd64" else "linux/amd64")
        goos, _, goarch = spec.partition("/")
        if not goos or not goarch or not re.fullmatch(r"[a-z0-9]+", goos + goarch):
            raise BadInputError(f"bad cross variant {name!r}: write cross:<goos>/<goarch>")
        return Variant(
            f"cross:{goos}/{goarch}",
            f"GOOS={goos} GOARCH={goarch} with CGO_ENABLED=0",
            env=(("CGO_ENABLED", "0"),),
            proves=f"a pure-Go build for {goos}/{goarch} is the binary a {goos}/{goarch} target can execute",
            goos=goos,
            goarch=goarch,
        )
    raise BadInputError(
        f"unknown build variant {name!r}; choose from {', '.join(VARIANT_NAMES)} or cross:<goos>/<goarch>"
    )


def is_skipped(build: BuildResult) -> bool:
    """True when the variant was not attempted because its compiler is missing from the build image."""
    return not build.ok and build.reason.startswith("skipped:")


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class BuildEvent:
    """Progress of one variant's build, for a live view."""

    variant: str
    phase: Literal["start", "done"]
    message: str
    result: BuildResult | None = None


@dataclass
class BuildMatrix:
    """Every variant's build, and every run of a built variant on a target."""

    builds: list[BuildResult]
    runs: list[RunResult]
    targets: list[str] = field(default_factory=list)
    project: str = ""
    build_image: str = ""
    not_run: dict[str, str] = field(default_factory=dict)
    """Built variants whose binary cannot run in these containers, and why (a windows PE, no qemu)."""

    def build(self, variant_name: str) -> BuildResult | None:
        """The build of ``variant_name``, if it was attempted."""
        return next((b for b in self.builds if b.variant == variant_name), None)

    def run(self, variant_name: str, target: str) -> RunResult | None:
        """The run of ``variant_name``'s binary on ``target``, if there was one."""
        return next((r for r in self.runs if r.variant == variant_name and r.target == target), None)

    def works_on(self, variant_name: str) -> list[str]:
        """Targets on which the variant's binary really ran."""
        return [r.target for r in self.runs if r.variant == variant_name and r.outcome == "runs"]

    def fails_on(self, variant_name: str) -> list[str]:
        """Targets on which the variant's binary really crashed."""
        return [r.target for r in self.runs if r.variant == variant_name and r.outcome == "crashes"]

    def proven_in(self, variant_name: str) -> list[str]:
        """Where the variant ran, in the words a fix shows: "debian:bullseye (glibc 2.31)"."""
        return [where_ran(r) for r in self.runs if r.variant == variant_name and r.outcome == "runs"]

    def failed_in(self, variant_name: str) -> list[str]:
        """Where the variant was tried and still crashed, same wording as ``proven_in``."""
        return [where_ran(r) for r in self.runs if r.variant == variant_name and r.outcome == "crashes"]

    def _subject_runs(self) -> list[RunResult]:
        """The user's own build (as-configured) when it was built, else every variant."""
        if self.build("as-configured") is None:
            return list(self.runs)
        return [r for r in self.runs if r.variant == "as-configured"]

    @property
    def crash_observed(self) -> bool:
        """A real crash of the user's own build (as-configured), or of any variant when that was not built."""
        return any(r.outcome == "crashes" for r in self._subject_runs())

    @property
    def unrun(self) -> list[RunResult]:
        """Runs of the subject the engine could not carry out (image missing and not pullable...)."""
        return [r for r in self._subject_runs() if r.outcome == "error"]


def where_ran(run: RunResult) -> str:
    """Where a run happened, as a fix shows it: "debian:bullseye (glibc 2.31)"."""
    return f"{run.target} ({run.libc})" if run.libc else run.target


# --------------------------------------------------------------------------------------------
# Verdict


def matrix_diagnosis(matrix: BuildMatrix) -> Diagnosis | None:
    """The crash chain of the project's own build, with each fix marked by the variants that proved it.

    None when the as-configured build produced nothing to judge (it failed or was not built).
    """
    from goci_doctor.lab.proof import run_diagnosis

    own = matrix.build("as-configured")
    if own is None or own.facts is None:
        return None
    own_runs = [dataclasses.replace(r, variant="") for r in matrix.runs if r.variant == "as-configured"]
    if not own_runs:
        return None
    proof = [r for r in matrix.runs if r.variant and r.variant != "as-configured"]
    return run_diagnosis(own.facts, own_runs, proof, matrix.builds)


def exit_code(matrix: BuildMatrix) -> int:
    """1 when the user's own build fails or a crash was observed (even if a variant fixes it);
    2 when runs could not happen, so nothing was proven; 0 when the build runs everywhere."""
    own = matrix.build("as-configured")
    if (own is not None and not own.ok) or matrix.crash_observed:
        return int(ExitCode.PROBLEM)
    if matrix.unrun:
        return int(ExitCode.BAD_INPUT)
    return int(ExitCode.OK)
