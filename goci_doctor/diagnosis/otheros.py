"""Verdicts for macOS and FreeBSD targets (dyld and the FreeBSD kernel, not a Linux loader).

Imports: model, knowledge, diagnosis.common.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goci_doctor import knowledge
from goci_doctor.diagnosis.common import (
    _Case,
    _crash,
    _kb_evidence,
    at_least,
    dyld_message,
    macos_minimum,
    older_go_facts,
)
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.records import Target, Verdict

if TYPE_CHECKING:
    pass


def _macos_verdict(
    facts: ArtifactFacts, target: Target, machine: str | None, base: dict[str, str], src: str, path: str
) -> tuple[Verdict, _Case | None]:
    """A file on a Mac: Mach-O only, for the Mac's CPU (or amd64 under Rosetta 2), new enough a macOS."""
    if facts.kind != "macho":
        what = "Windows PE" if facts.kind == "pe" else f"{facts.os or 'linux'} ELF"
        return _crash(
            facts,
            target,
            base,
            "elf-on-macos",
            f"zsh: exec format error: {path}",
            "certain",
            f"{what} executable; macOS runs only Mach-O",
            [Evidence("format", facts.description, src), _kb_evidence(target, "executable format", "Mach-O")],
        )
    binary_archs = [a for a in facts.arch.split(",") if a]
    note = ""
    if machine is not None:
        if machine == "arm64" and "arm64" not in binary_archs and "amd64" in binary_archs:
            note = "; amd64 code runs under Rosetta 2 on this Apple silicon Mac if Rosetta is installed"
        elif binary_archs and machine not in binary_archs:
            return _crash(
                facts,
                target,
                base,
                "macos-bad-cpu",
                f"zsh: bad CPU type in executable: {path}",
                "certain",
                f"{facts.arch} Mach-O on an {machine} Mac",
                [Evidence("Mach-O CPU type", facts.arch, src), Evidence("Mac CPU", machine, "given for this check")],
            )
    else:
        native = [a for a in binary_archs if a in target.archs]
        if binary_archs and not native:
            return _crash(
                facts,
                target,
                base,
                "macos-bad-cpu",
                f"zsh: bad CPU type in executable: {path}",
                "certain",
                f"{facts.arch} Mach-O; {target.name} runs on {', '.join(target.archs)} Macs only",
                [
                    Evidence("Mach-O CPU type", facts.arch, src),
                    _kb_evidence(target, "Mac CPUs", ", ".join(target.archs)),
                ],
            )
        if native == ["amd64"] and "arm64" in target.archs:
            note = "; on Apple silicon Macs it runs under Rosetta 2 if Rosetta is installed"
    need, evidence = macos_minimum(facts)
    if need and target.kernel and not at_least(target.kernel, need):
        go_version = facts.go.go_version if facts.go else "its Go release"
        release = knowledge.go_release(facts.go.go_version) if facts.go else None
        older = older_go_facts(
            lambda r: bool(r.min_macos_version) and at_least(target.kernel, r.min_macos_version),
            f"macOS {target.kernel}",
        )
        message = dyld_message(path, need, target.kernel)
        # "possible": dyld aborts only when the program binds a symbol the older macOS lacks.
        verdict, case = _crash(
            facts,
            target,
            base,
            "macos-too-old",
            message,
            "possible",
            f"this binary needs macOS ≥ {need}; {target.name} has {target.kernel}",
            [*evidence, _kb_evidence(target, "macOS version", target.kernel)],
            wanted=need,
            have=target.kernel,
            have_macos=f"macOS {target.kernel}",
            go_version=go_version,
            requirement=release.min_macos if release else f"macOS {need}",
            **older,
        )
        return verdict, case
    reason = f"Mach-O for {facts.arch or '?'}"
    if need:
        reason += f"; needs macOS ≥ {need}; {target.name} has {target.kernel or '?'}"
    return Verdict(facts.path, target.name, "runs", "", "likely", "", reason + note), None


def _freebsd_verdict(
    facts: ArtifactFacts, target: Target, machine: str | None, base: dict[str, str], src: str, path: str
) -> tuple[Verdict, _Case | None]:
    """A file on FreeBSD: a FreeBSD ELF for its CPU and release; Linux ELF only with Linux compatibility."""
    if facts.kind != "elf" or facts.os not in ("freebsd", "linux", ""):
        return _crash(
            facts,
            target,
            base,
            "foreign-on-freebsd",
            f"{path}: Exec format error. Binary file not executable.",
            "certain",
            f"{facts.os or facts.kind} executable; FreeBSD runs only ELF",
            [Evidence("format", facts.description, src)],
        )
    if facts.os != "freebsd":
        interp = facts.interpreter
        reason = (
            'Linux binary: FreeBSD runs it only with Linux binary compatibility (linux_enable="YES", off by default)'
        )
        if interp:
            reason += f" and a Linux userland providing {interp}"
        # "likely": the machine may have Linux compatibility turned on.
        return _crash(
            facts,
            target,
            base,
            "linux-on-freebsd",
            'ELF binary type "0" not known.',
            "likely",
            reason,
            [
                Evidence("ELF OS/ABI", "System V (0), Linux", src),
                Evidence("PT_INTERP", interp or "none (static)", src),
                _kb_evidence(target, "Linux binary compatibility", "off by default"),
            ],
        )
    wanted = machine or (facts.arch if facts.arch in target.archs else "")
    if facts.arch and facts.arch != wanted:
        return _crash(
            facts,
            target,
            base,
            "wrong-arch",
            f"{path}: Exec format error. Binary file not executable.",
            "likely",
            f"{facts.arch} binary; the machine runs {machine or ', '.join(target.archs)}",
            [
                Evidence("binary architecture", facts.arch, src),
                Evidence("machine architecture", machine, "given for this check")
                if machine
                else _kb_evidence(target, "architectures", ", ".join(target.archs)),
            ],
        )
    release = knowledge.go_release(facts.go.go_version) if facts.go else None
    minimum = release.min_freebsd if release else ""
    if (
        release is not None
        and facts.go is not None
        and minimum
        and target.kernel
        and not at_least(target.kernel, minimum)
    ):
        go_version = facts.go.go_version
        unsupported = f"this binary needs {minimum}; {target.name} has FreeBSD {target.kernel}"
        case = _Case(
            "freebsd-too-old",
            {**base, "go_version": go_version, "requirement": f"{minimum} or later"},
            [
                Evidence("Go version", go_version, f"Go build info of {facts.path}"),
                Evidence(
                    "minimum FreeBSD", minimum, f"knowledge base: go_releases.toml (Go {release.version} min_freebsd)"
                ),
                _kb_evidence(target, "FreeBSD release", target.kernel),
            ],
            [target.name],
            f"unsupported: {unsupported}",
        )
        # Unsupported, but no start-up failure is documented: say so, do not invent a message.
        return Verdict(
            facts.path,
            target.name,
            "unknown",
            "",
            "possible",
            "freebsd-too-old",
            unsupported + " (unsupported, may fail)",
        ), case
    reason = "FreeBSD binary"
    if minimum:
        reason += f"; needs {minimum}; {target.name} has FreeBSD {target.kernel or '?'}"
    return Verdict(facts.path, target.name, "runs", "", "likely", "", reason), None
