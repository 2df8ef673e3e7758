"""The small checks predict() runs after the loader question: cgo-only modules built without cgo,
kernel minimums, Windows versions, CPU levels (GOAMD64/GOARM), build-machine paths.

Imports: model, platforms, knowledge, diagnosis.common.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from goci_doctor import knowledge
from goci_doctor.diagnosis.common import _Case, _kb_evidence
from goci_doctor.knowledge import version_tuple
from goci_doctor.knowledge.cgo import cgo_modules
from goci_doctor.model import ArtifactFacts, BadInputError, Evidence
from goci_doctor.records import Confidence, Target, Verdict

if TYPE_CHECKING:
    pass


def _cgo_stub_check(
    facts: ArtifactFacts, target: Target, path: str, base: dict[str, str]
) -> tuple[Verdict | None, _Case | None]:
    go = facts.go
    if go is None or go.cgo_enabled is not False:
        return None, None
    cgo_only = cgo_modules()
    for mod, _ in go.deps:
        if any(m.matches(mod) for m in cgo_only):
            msg = (
                "Binary was compiled with 'CGO_ENABLED=0', go-sqlite3 requires cgo to work. This is a stub"
                if "go-sqlite3" in mod
                else f"{mod} requires cgo"
            )
            case = _Case(
                "cgo-required-disabled",
                {**base, "module_note": f" ({mod})"},
                [
                    Evidence("build setting CGO_ENABLED", "0", f"Go build info of {facts.path}"),
                    Evidence("dependency", mod, f"Go build info of {facts.path}"),
                ],
                [target.name],
                msg,
            )
            return Verdict(
                facts.path,
                target.name,
                "crashes",
                msg,
                "likely",
                "cgo-required-disabled",
                f"{mod} is a cgo-only module and cgo was off",
            ), case
    return None, None


def _kernel_check(
    facts: ArtifactFacts, target: Target, path: str, base: dict[str, str]
) -> tuple[Verdict, _Case] | None:
    """A Linux target whose kernel is older than the minimum of the Go release that built the binary."""
    if facts.go is None or not target.kernel or target.os != "linux":
        return None
    release = knowledge.go_release(facts.go.go_version)
    minimum = release.min_linux_kernel if release else ""
    if not minimum or version_tuple(target.kernel) >= version_tuple(minimum):
        return None
    assert release is not None
    go_version = facts.go.go_version
    msg = f"{go_version} needs Linux kernel ≥ {minimum}; {target.name} has {target.kernel}"
    case = _Case(
        "kernel-too-old",
        {**base, "go_version": go_version, "requirement": f"Linux kernel ≥ {minimum} for Go {release.version}"},
        [
            Evidence("Go version", go_version, f"Go build info of {facts.path}"),
            Evidence("minimum Linux kernel", minimum, f"knowledge base: go_releases.toml ({release.source})"),
            _kb_evidence(target, "kernel", target.kernel),
        ],
        [target.name],
        msg,
    )
    # "possible": in a container the host's kernel runs the program, not the one the distribution ships.
    return (
        Verdict(
            facts.path,
            target.name,
            "crashes",
            msg,
            "possible",
            "kernel-too-old",
            f"needs kernel ≥ {minimum} (Go {release.version}); {target.name} ships {target.kernel} "
            "(in a container the host kernel decides)",
        ),
        case,
    )


# Go 1.21.5 is the first release whose binaries crash at start-up on Windows 7 / Server 2008 R2
# (golang/go#64622); 1.21.0–1.21.4 were unsupported there but still started.
_WIN7_CRASH_FROM = (1, 21, 5)
WIN7_CRASH_MESSAGE = "Exception 0xc0000005 0x8 0x0 0x0 PC=0x0 runtime.asmstdcall()"


def _windows_check(
    facts: ArtifactFacts, target: Target, base: dict[str, str], src: str
) -> tuple[Verdict, _Case] | None:
    """A Windows target older than the minimum Windows of the Go release that built the binary."""
    if facts.go is None or not target.kernel:
        return None
    release = knowledge.go_release(facts.go.go_version)
    minimum = release.min_windows_version if release else ""
    have = version_tuple(target.kernel)
    if release is None or not minimum or have >= version_tuple(minimum):
        return None
    go_version = facts.go.go_version
    evidence = [
        Evidence("Go version", go_version, f"Go build info of {facts.path}"),
        Evidence(
            "minimum Windows",
            f"{release.min_windows} (NT {minimum})",
            f"knowledge base: go_releases.toml ({release.source})",
        ),
        _kb_evidence(target, "Windows NT version", target.kernel),
    ]
    facts_ = {**base, "go_version": go_version, "requirement": f"{release.min_windows} or later"}
    unsupported = f"{go_version} requires {release.min_windows} (NT {minimum}); {target.name} is NT {target.kernel}"
    if have[:2] <= (6, 1) and version_tuple(go_version)[:3] >= _WIN7_CRASH_FROM:
        case = _Case("windows-too-old", facts_, evidence, [target.name], WIN7_CRASH_MESSAGE)
        return (
            Verdict(
                facts.path,
                target.name,
                "crashes",
                WIN7_CRASH_MESSAGE,
                "likely",
                "windows-too-old",
                unsupported + ": crashes at start-up",
            ),
            case,
        )
    # Unsupported, but no crash at start-up is documented for this pair: say so, do not invent one.
    case = _Case("windows-too-old", facts_, evidence, [target.name], f"unsupported: {unsupported}")
    return (
        Verdict(
            facts.path,
            target.name,
            "unknown",
            "",
            "possible",
            "windows-too-old",
            unsupported + ": unsupported, may fail",
        ),
        case,
    )


# uname -m of 32-bit ARM machines → their GOARM level.
_ARM_MACHINE_LEVEL = {"armv5l": "5", "armv5tel": "5", "armv5tejl": "5", "armv6l": "6", "armv7l": "7", "armv8l": "7"}


def parse_cpu(cpu: str) -> tuple[str, str]:
    """A machine's CPU level as a build setting.

    "x86-64-v3" or "v3" → ("GOAMD64", "v3"); "armv6l" or "armv6" → ("GOARM", "6").
    Raises BadInputError for anything else.
    """
    c = cpu.strip().lower()
    m = re.fullmatch(r"(?:x86[-_]64-|amd64-|goamd64=)?v([1-4])", c)
    if m:
        return "GOAMD64", f"v{m.group(1)}"
    m = re.fullmatch(r"(?:armv|goarm=)?([5-7])(?:l|tel|tejl)?", c)
    if m:
        return "GOARM", m.group(1)
    raise BadInputError(f"unknown CPU level {cpu!r}: use v1-v4 (x86-64-v1..v4) or armv5, armv6, armv7")


def cpu_requirement(facts: ArtifactFacts) -> tuple[str, str] | None:
    """The CPU level the binary was built for, from its Go build info: ("GOAMD64", "v3"), ("GOARM", "7")."""
    go = facts.go
    if go is None:
        return None
    if facts.arch == "amd64":
        return "GOAMD64", (go.setting("GOAMD64") or "v1").lower()
    if facts.arch == "arm":
        # Go 1.22+ may record "7,softfloat" / "6,hardfloat": the digit is the architecture level.
        m = re.match(r"\d", go.setting("GOARM"))
        return ("GOARM", m.group(0)) if m else None
    return None


def _level_number(value: str) -> int:
    m = re.search(r"\d", value)
    return int(m.group(0)) if m else 0


def level_facts(variable: str, value: str, name: str = "app") -> dict[str, str]:
    """Template facts for a CPU level, from cpu_levels.toml (``name``: the binary's file name)."""
    lvl = knowledge.cpu_level(variable, value)
    out = {"variable": variable, "level": value}
    if variable == "GOAMD64":
        out["level_title"] = lvl.title if lvl else f"x86-64-{value}"
        out["vm_note"] = " (or a virtual machine on QEMU's default qemu64/kvm64 CPU model)"
        out["baseline_command"] = f"GOAMD64=v1 go build -o {name} .   # or unset GOAMD64"
        out["cpu_check_command"] = (
            "/lib64/ld-linux-x86-64.so.2 --help | grep x86-64-v   "
            f"# on the deploy machine (glibc ≥ 2.33): x86-64-{value} must say 'supported'"
        )
    else:
        out["level_title"] = lvl.title if lvl else f"ARMv{value}"
        out["baseline_command"] = f"GOOS=linux GOARCH=arm GOARM=6 go build -o {name} ."
        out["cpu_check_command"] = "uname -m   # on the deploy machine: armv6l needs GOARM=6, armv7l runs GOARM=7"
    if lvl is not None:
        out["requires"] = ", ".join(lvl.requires)
        out["message"] = lvl.message
        out["level_source"] = lvl.source
    return out


def _cpu_check(
    facts: ArtifactFacts, target: Target, machine: tuple[str, str] | None, base: dict[str, str], src: str
) -> tuple[Verdict, _Case] | None:
    """The binary's GOAMD64/GOARM level against the machine's CPU level, when the caller knows it."""
    need = cpu_requirement(facts)
    if need is None or machine is None or machine[0] != need[0]:
        return None
    if _level_number(need[1]) <= _level_number(machine[1]):
        return None
    variable, value = need
    lf = level_facts(variable, value, PurePosixPath(facts.path).name or "app")
    have = f"{'x86-64-' if variable == 'GOAMD64' else 'ARMv'}{machine[1]}"
    lf["cpu_note"] = f" (the machine is {have})"
    ev = [
        Evidence(f"build setting {variable}", value, f"Go build info of {facts.path}"),
        Evidence("CPU features required", lf.get("requires", "?"), "knowledge base: cpu_levels.toml"),
        Evidence("machine CPU level", have, "given for this check"),
    ]
    if variable == "GOAMD64":
        # The Go runtime checks the CPU itself and prints exactly this (src/runtime/asm_amd64.s).
        msg, family, confidence = lf.get("message", ""), "cpu-level", "certain"
    else:
        msg, family, confidence = "Illegal instruction", "arm-level", "likely"
    confidence = cast(Confidence, confidence)
    case = _Case(family, {**base, **lf}, ev, [target.name], msg)
    reason = f"built with {variable}={value} ({lf['level_title']}); the machine is {have}"
    return Verdict(facts.path, target.name, "crashes", msg, confidence, family, reason), case


_BUILD_MACHINE_DIRS = (
    "/home/",
    "/root/",
    "/tmp/",
    "/build/",
    "/builds/",
    "/go/",
    "/Users/",
    "/github/workspace",
    "/__w/",
    "/runner/",
    "/var/lib/jenkins/",
    "/workspace/",
    "/src/",
    "/opt/hostedtoolcache/",
)


def build_machine_paths(facts: ArtifactFacts) -> list[tuple[str, str]]:
    """(DT_RPATH or DT_RUNPATH, directory) entries that point into a build machine (home, CI workspace, /tmp)."""
    out = []
    for tag, paths in (("DT_RUNPATH", facts.runpath), ("DT_RPATH", facts.rpath)):
        for p in paths:
            if "$ORIGIN" in p or "${ORIGIN}" in p:
                continue
            if any((p + "/").startswith(d) or p == d.rstrip("/") for d in _BUILD_MACHINE_DIRS):
                out.append((tag, p))
    return out
