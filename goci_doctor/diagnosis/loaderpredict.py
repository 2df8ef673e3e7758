"""Predictions that follow the real loader: scripts, truncated ELF files, libraries and version lines.

``diagnosis.predict`` calls these for the cases where the kernel and the dynamic loader decide
from the target's files: which interpreter a ``#!`` line names and whether the target has it, what
a truncated ELF does once the kernel has mapped it, which DT_NEEDED libraries are absent (checked
before symbol versions, as ld.so maps every library before it checks versions), and the
``version `GLIBC_x' not found`` lines in ``.gnu.version_r`` order, as ld.so prints them.

The target's files come from ``targetfiles`` (a present local image, else the knowledge base's
per-distribution lists). Each function returns a plain ``Prediction`` that ``diagnosis`` turns into
its verdict and crash case. May import: model, knowledge, targetfiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goci_doctor.diagnosis.targetfiles import TargetFiles
from goci_doctor.knowledge import version_tuple
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.records import Confidence, Target

FULL_DISTRO_USUAL = frozenset({"libgcc_s.so.1", "libstdc++.so.6", "libz.so.1"})

PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
"""The PATH Docker gives a container without an ENV PATH (and Debian's default)."""


@dataclass
class Prediction:
    outcome: str
    """"runs", "crashes" or "unknown"."""
    message: str = ""
    confidence: Confidence = "likely"
    family: str = ""
    reason: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


def shebang_parts(shebang: str) -> tuple[str, str]:
    """(interpreter path, program looked up by env or ""), from a ``#!`` line."""
    words = shebang.removeprefix("#!").split()
    if not words:
        return "", ""
    interp = words[0]
    if interp.rsplit("/", 1)[-1] == "env":
        prog = next((w for w in words[1:] if not w.startswith("-") and "=" not in w), "")
        return interp, prog
    return interp, ""


def _exists(files: TargetFiles | None, target: Target, path: str) -> tuple[bool | None, str]:
    """Whether ``path`` is on the target, and the source that says so."""
    if files is not None:
        found = files.exists(path)
        if found is not None:
            return found, files.source
    if target.libc == "none" and not target.shell:
        return False, f"knowledge base: {target.name} has no shell and no libc"
    if target.shell and path == target.shell:
        return True, f"knowledge base: {target.name} (shell {target.shell})"
    return None, ""


def script(facts: ArtifactFacts, target: Target, files: TargetFiles | None, path: str) -> Prediction:
    """A ``#!`` script on a Linux target: the kernel runs the interpreter it names, if the target has it."""
    src = f"inspection of {facts.path}"
    interp, prog = shebang_parts(facts.shebang)
    if not interp:
        return Prediction("unknown", reason="a script without a #! line: the calling shell decides")
    found, where = _exists(files, target, interp)
    ev = [Evidence("#! line", facts.shebang, src)]
    if found is False:
        return Prediction(
            "crashes",
            f"exec {path}: no such file or directory",
            "certain" if files is not None and files.image else "likely",
            "script-interpreter-missing",
            f"its interpreter {interp} does not exist on {target.name}",
            [*ev, Evidence(f"{interp} on {target.name}", "absent", where)],
            {"interpreter": interp, "shebang": facts.shebang},
        )
    if found is None:
        return Prediction("unknown", reason=f"a script run by {interp}; whether {target.name} has it is not known")
    if not prog:
        return Prediction(
            "runs",
            confidence="likely",
            reason=f"a script; {interp} exists on {target.name}",
            evidence=[*ev, Evidence(f"{interp} on {target.name}", "present", where)],
        )
    # #!/usr/bin/env PROG: env searches PATH; a missing PROG is env's own message.
    hits = [_exists(files, target, f"{d}/{prog}") for d in PATH_DIRS]
    if any(h[0] for h in hits):
        return Prediction("runs", confidence="likely", reason=f"a script; {prog} is on {target.name}'s PATH")
    if all(h[0] is False for h in hits):
        return Prediction(
            "crashes",
            f"{interp}: '{prog}': No such file or directory",
            "likely",
            "script-interpreter-missing",
            f"{prog} is not on {target.name}'s PATH",
            [*ev, Evidence(f"{prog} on PATH of {target.name}", "absent", hits[0][1])],
            {"interpreter": prog, "shebang": facts.shebang},
        )
    return Prediction("unknown", reason=f"a script run by {prog}; whether {target.name} has it is not known")


def loader_present(facts: ArtifactFacts, target: Target, files: TargetFiles | None) -> tuple[bool | None, str]:
    """Whether the binary's PT_INTERP exists on the target."""
    if files is not None:
        found = files.exists(facts.interpreter)
        if found is not None:
            return found, files.source
    if target.libc == "none":
        return False, f"knowledge base: {target.name} has no libc"
    if facts.libc and target.libc:
        return facts.libc == target.libc, f"knowledge base: {target.name} uses {target.libc}"
    return None, ""


def truncated_elf(facts: ArtifactFacts, target: Target, files: TargetFiles | None, path: str) -> Prediction | None:
    """A cut-off dynamic ELF whose headers survived: the kernel maps it and starts its loader.

    Without the loader the exec fails with ENOENT like any dynamic binary; with it, the loader maps
    segments that end past the end of the file and the process dies from SIGSEGV before main,
    printing nothing (observed with glibc's ld.so on Debian 11–13).
    """
    if facts.kind != "elf" or not facts.is_corrupt or not facts.interpreter:
        return None
    problem = facts.problems[0] if facts.problems else "truncated"
    ev = [
        Evidence("artifact", problem, f"inspection of {facts.path}"),
        Evidence("PT_INTERP", facts.interpreter, f"inspection of {facts.path}"),
    ]
    present, where = loader_present(facts, target, files)
    if present is None:
        return None
    if not present:
        return Prediction(
            "crashes",
            f"exec {path}: no such file or directory",
            "likely",
            "empty-output",
            f"{problem}; and {target.name} has no {facts.interpreter}",
            [*ev, Evidence(facts.interpreter, "absent", where)],
            {"problem": problem},
        )
    return Prediction(
        "crashes",
        "killed by SIGSEGV",
        "likely",
        "empty-output",
        f"{problem}: its loader maps segments past the end of the file",
        ev,
        {"problem": problem},
    )


def missing_libraries(facts: ArtifactFacts, target: Target, files: TargetFiles | None, path: str) -> Prediction | None:
    """The first DT_NEEDED library the target lacks, decided from its files (never guessed).

    Returns None when every library is there, and an "unknown" prediction when the target is a full
    distribution nobody listed: without evidence, no library is claimed missing.
    """
    extra = [lib for lib in facts.needed if lib != "libc.so.6"]
    if not extra:
        return None
    missing = files.missing_libraries(facts) if files is not None else None
    if missing is None:
        if "*" in target.libraries:
            from goci_doctor.diagnosis.targetfiles import libc_own

            # Every glibc distribution's base image has these: apt, dnf and their tools link them.
            usual = FULL_DISTRO_USUAL if target.libc == "glibc" else frozenset()
            unknown = [lib for lib in extra if not libc_own(lib, facts) and lib not in usual]
            if unknown:
                return Prediction(
                    "unknown",
                    reason=(
                        f"needs {', '.join(unknown)}; which libraries the {target.name} image holds is not listed "
                        "(map the target to a local image, or run it)"
                    ),
                )
            return None
        present = set(target.libraries)
        from goci_doctor.diagnosis.targetfiles import libc_own

        missing = tuple(lib for lib in extra if not libc_own(lib, facts) and lib not in present)
        where = f"knowledge base: {target.name} ({target.source or 'targets.toml'})"
    else:
        where = files.source if files is not None else ""
    if not missing:
        return None
    lib = missing[0]
    return Prediction(
        "crashes",
        f"{path}: error while loading shared libraries: {lib}: cannot open shared object file: No such file or "
        "directory",
        "certain" if files is not None and files.image else "likely",
        "missing-shared-lib",
        f"{lib} is not in the {target.name} image",
        [
            Evidence("DT_NEEDED", ", ".join(facts.needed), f"ELF dynamic section of {facts.path}"),
            Evidence(f"{lib} on {target.name}", "absent", where),
        ],
        {"library": lib},
    )


def glibc_version_lines(facts: ArtifactFacts, have: str, path: str, libc_path: str) -> list[str]:
    """ld.so's lines for the GLIBC versions ``have`` lacks, in ``.gnu.version_r`` order (as it prints them)."""
    have_t = version_tuple(have)
    lines = []
    for vn in facts.version_needs:
        if vn.library != "libc.so.6":
            continue
        for v in vn.versions:
            if v.startswith("GLIBC_2") and version_tuple(v.removeprefix("GLIBC_")) > have_t:
                lines.append(f"{path}: {libc_path}: version `{v}' not found (required by {path})")
    return lines
