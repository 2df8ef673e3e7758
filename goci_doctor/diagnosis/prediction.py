"""Static prediction: does this artifact run on this target? One verdict and one case per pair,
from the artifact's facts and the target's, without running anything.

Imports: model, platforms, knowledge, diagnosis.common, checks, otheros, loaderpredict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from goci_doctor import platforms
from goci_doctor.diagnosis import loaderpredict
from goci_doctor.diagnosis.checks import (
    _ARM_MACHINE_LEVEL,
    _cgo_stub_check,
    _cpu_check,
    _kernel_check,
    _windows_check,
    parse_cpu,
)
from goci_doctor.diagnosis.common import (
    _Case,
    _kb_evidence,
    _libc_path,
    _runs_arch,
    emulating_handlers,
    program_kind,
)
from goci_doctor.diagnosis.otheros import _freebsd_verdict, _macos_verdict
from goci_doctor.knowledge import version_tuple
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.records import Confidence, Outcome, Target, Verdict, highest_glibc_line

if TYPE_CHECKING:
    from goci_doctor.diagnosis.targetfiles import TargetFiles


def predict(
    facts: ArtifactFacts,
    target: Target,
    *,
    arch: str | None = None,
    binfmt: Sequence[str] = (),
    run_path: str | None = None,
    cpu: str | None = None,
    files: TargetFiles | None = None,
) -> tuple[Verdict, _Case | None]:
    """Predict whether ``facts`` runs on ``target`` (a machine of CPU ``arch``), without running it.

    ``cpu`` is the machine's CPU level when known ("v2", "x86-64-v3", "armv6", "armv6l"); an ARM
    ``arch`` spelled as uname prints it ("armv6l") gives it too. Returns the verdict and, when it
    crashes (or may), the case a crash chain is built from. ``files`` answers which files the target
    holds (a local image's filesystem, or the knowledge base's lists; see ``targetfiles``).
    """
    # Only a machine the caller named counts on macOS: the Mac's CPU is not this host's.
    machine_given = arch is not None
    arch = arch or platforms.host_goarch()
    if arch.lower() in _ARM_MACHINE_LEVEL:
        cpu = cpu or f"armv{_ARM_MACHINE_LEVEL[arch.lower()]}"
        arch = "arm"
    machine_cpu = parse_cpu(cpu) if cpu else None
    path = run_path or f"./{PurePosixPath(facts.path).name or 'app'}"
    src = f"inspection of {facts.path}"
    base = {
        "binary": path,
        "target": target.name,
        "goarch": facts.arch or "amd64",
        "goos": facts.os or "linux",
        "arch": facts.arch,
        "target_arch": arch,
        "host_arch": arch,
        "interpreter": facts.interpreter,
        "program": program_kind(facts),
    }

    def crash(
        family: str, message: str, confidence: Confidence, reason: str, evidence: Iterable[Evidence], **extra: str
    ) -> tuple[Verdict, _Case]:
        case = _Case(family, {**base, **extra}, list(evidence), [target.name], message)
        return Verdict(facts.path, target.name, "crashes", message, confidence, family, reason), case

    def runs(reason: str, confidence: Confidence = "likely") -> tuple[Verdict, None]:
        return Verdict(facts.path, target.name, "runs", "", confidence, "", reason), None

    def decided(p: loaderpredict.Prediction) -> tuple[Verdict, _Case | None]:
        if p.outcome == "crashes":
            return crash(p.family, p.message, p.confidence, p.reason, p.evidence, **p.facts)
        outcome = cast(Outcome, p.outcome)
        return Verdict(facts.path, target.name, outcome, "", p.confidence, "", p.reason), None

    linux = target.os not in ("windows", "darwin", "freebsd")
    if linux and (not facts.arch or _runs_arch(facts.arch, arch)):
        truncated = loaderpredict.truncated_elf(facts, target, files, path)
        if truncated is not None:
            return decided(truncated)

    if facts.description == "unreadable" and facts.problems and facts.problems[0].startswith("unreadable: "):
        # Nothing was read (a permission problem in a folder of artifacts): nothing can be predicted.
        return Verdict(
            facts.path,
            target.name,
            "unknown",
            "",
            "possible",
            "",
            f"the file could not be read ({facts.problems[0].removeprefix('unreadable: ')})",
        ), None
    if facts.kind == "empty" or (facts.is_corrupt and facts.kind in ("elf", "pe", "macho", "unknown")):
        problem = facts.problems[0] if facts.problems else "not an executable"
        msg = (
            f"{path} is not a valid Win32 application"
            if target.os == "windows"
            else f"zsh: exec format error: {path}"
            if target.os == "darwin"
            else f"exec {path}: exec format error"
        )
        return crash("empty-output", msg, "certain", problem, [Evidence("artifact", problem, src)], problem=problem)
    if facts.kind in ("html", "lfs-pointer", "text", "script", "archive"):
        if facts.kind == "script":
            if linux:
                return decided(loaderpredict.script(facts, target, files, path))
            return Verdict(
                facts.path,
                target.name,
                "unknown",
                "",
                "possible",
                "",
                f"a script ({facts.shebang or 'no shebang'}); its interpreter decides",
            ), None
        first = facts.problems[0] if facts.problems else facts.description
        # What bash prints when it falls back to running the file as a script (bash 5.2, reproduced).
        msg = (
            f"{path}: line 1: version: command not found"
            if facts.kind == "lfs-pointer"
            else f"{path}: line 1: syntax error near unexpected token `newline'"
        )
        return crash(
            "not-a-binary",
            msg,
            "likely",
            first,
            [Evidence("artifact", facts.description, src), *(Evidence("problem", p, src) for p in facts.problems)],
            first_line=facts.description,
            problem=first,
        )
    if facts.kind == "unknown":
        return crash(
            "empty-output",
            f"exec {path}: exec format error",
            "certain",
            "unrecognised format",
            [Evidence("artifact", facts.description, src)],
            problem="unrecognised file format",
        )

    if target.os == "darwin":
        return _macos_verdict(facts, target, arch if machine_given else None, base, src, path)
    if target.os == "freebsd":
        return _freebsd_verdict(facts, target, arch if machine_given else None, base, src, path)

    # Windows targets
    if target.os == "windows":
        if facts.kind != "pe":
            return crash(
                "elf-on-windows",
                f"{path} is not a valid Win32 application",
                "certain",
                f"{facts.kind.upper()} file on Windows",
                [Evidence("format", facts.description, src)],
            )
        if facts.arch not in target.archs:
            return crash(
                "windows-386-mismatch",
                f"This version of {path} is not compatible with the version of Windows you're running",
                "certain" if target.kernel else "likely",
                f"{facts.arch} executable; {target.name} runs {', '.join(target.archs)} executables",
                [
                    Evidence("PE machine", facts.pe_machine, src),
                    _kb_evidence(target, "executable architectures", ", ".join(target.archs)),
                ],
            )
        cpu_case = _cpu_check(facts, target, machine_cpu, base, src)
        if cpu_case is not None:
            return cpu_case
        windows_case = _windows_check(facts, target, base, src)
        if windows_case is not None:
            return windows_case
        return runs("PE executable for Windows", "likely")

    # Linux targets from here on
    if facts.kind == "pe":
        return crash(
            "pe-on-linux",
            f"exec {path}: exec format error",
            "certain",
            "Windows PE executable on Linux",
            [Evidence("format", facts.description, src), Evidence("PE subsystem", facts.pe_subsystem or "?", src)],
        )
    if facts.kind == "macho":
        return crash(
            "macho-on-linux",
            f"exec {path}: exec format error",
            "certain",
            "Mach-O executable on Linux",
            [Evidence("format", facts.description, src)],
        )
    if facts.kind == "elf" and facts.os == "freebsd" and (not facts.arch or facts.arch == arch):
        # Linux ignores the OS/ABI byte: a static FreeBSD binary starts, then its FreeBSD system calls fail.
        ev = [Evidence("ELF OS/ABI", "FreeBSD", src), Evidence("PT_INTERP", facts.interpreter or "none (static)", src)]
        if facts.interpreter:
            return crash(
                "freebsd-on-linux",
                f"exec {path}: no such file or directory",
                "certain",
                f"FreeBSD binary; Linux has no {facts.interpreter}",
                ev,
            )
        return crash(
            "freebsd-on-linux",
            "Segmentation fault",
            "likely",
            "static FreeBSD binary: Linux starts it, its FreeBSD system calls make it die with SIGSEGV",
            ev,
        )
    if facts.os not in ("linux", "") and facts.kind == "elf":
        return crash(
            "wrong-arch",
            f"exec {path}: exec format error",
            "likely",
            f"ELF for {facts.os}",
            [Evidence("ELF OS/ABI", facts.os, src)],
        )
    if facts.arch and not _runs_arch(facts.arch, arch):
        handlers = emulating_handlers(facts.arch, binfmt)
        emulated = bool(handlers)
        ev = [Evidence("binary architecture", facts.arch, src), Evidence("machine architecture", arch, "host")]
        if emulated:
            ev.append(Evidence("binfmt_misc", ", ".join(handlers), "/proc/sys/fs/binfmt_misc"))
        return crash(
            "wrong-arch",
            f"exec {path}: exec format error",
            "certain",
            f"{facts.arch} binary on an {arch} machine"
            + (" (runs here only under qemu emulation)" if emulated else ""),
            ev,
        )
    if facts.arch and target.archs and not any(_runs_arch(facts.arch, a) for a in target.archs):
        return crash(
            "wrong-arch",
            f"exec {path}: exec format error",
            "likely",
            f"{target.name} is not published for {facts.arch}",
            [
                Evidence("binary architecture", facts.arch, src),
                _kb_evidence(target, "architectures", ", ".join(target.archs)),
            ],
        )

    cpu_case = _cpu_check(facts, target, machine_cpu, base, src)
    if cpu_case is not None:
        return cpu_case
    # Kernel minimum of the Go release that built it
    kernel_case = _kernel_check(facts, target, path, base)
    if kernel_case is not None:
        return kernel_case

    if facts.linkage in ("static", "static-pie") or not facts.interpreter:
        verdict, case = _cgo_stub_check(facts, target, path, base)
        if verdict is not None:
            return verdict, case
        return runs(f"{facts.linkage or 'static'} binary: needs no libc", "certain")

    # Dynamic binary: loader first, then symbol versions, then libraries.
    interp_ev = Evidence("PT_INTERP", facts.interpreter, src)
    if files is not None and files.image:
        # A present image's files decide, not its main libc: musl-tools puts /lib/ld-musl-*.so.1 on Debian.
        loader_there = files.exists(facts.interpreter)
        if loader_there and facts.libc and facts.libc != target.libc:
            lib_case = loaderpredict.missing_libraries(facts, target, files, path)
            if lib_case is not None:
                return decided(lib_case)
            return runs(f"{files.image} holds {facts.interpreter} beside its {target.libc}", "likely")
        if loader_there is False and facts.libc == target.libc:
            return crash(
                "loader-missing",
                f"exec {path}: no such file or directory",
                "certain",
                f"{files.image} has no {facts.interpreter}",
                [interp_ev, Evidence(facts.interpreter, "absent", files.source)],
            )
    go = facts.go
    if (
        go is not None
        and go.cgo_enabled is False
        and not facts.needed
        and (target.libc == "none" or (facts.libc == "glibc" and target.libc == "musl"))
    ):
        # A cgo-free -buildmode=pie binary: nothing to load but the loader itself.
        return crash(
            "pie-needs-loader",
            f"exec {path}: no such file or directory",
            "certain",
            f"CGO_ENABLED=0 -buildmode={go.setting('-buildmode') or '?'} still names {facts.interpreter}; "
            f"{target.name} has no such loader",
            [
                interp_ev,
                Evidence("DT_NEEDED", "none", src),
                Evidence(
                    "build settings",
                    f"CGO_ENABLED=0 -buildmode={go.setting('-buildmode')}",
                    f"Go build info of {facts.path}",
                ),
                _kb_evidence(target, "libc", f"{target.libc} {target.libc_version}".strip()),
            ],
        )
    if target.libc == "none":
        return crash(
            "dynamic-on-no-libc",
            f"exec {path}: no such file or directory",
            "certain",
            f"{target.name} has no libc and no {facts.interpreter}",
            [interp_ev, _kb_evidence(target, "libc", "none")],
        )
    if facts.libc == "glibc" and target.libc == "musl":
        return crash(
            "glibc-on-musl",
            f"exec {path}: no such file or directory",
            "certain",
            f"{target.name} uses musl; {facts.interpreter} does not exist there",
            [interp_ev, _kb_evidence(target, "libc", f"musl {target.libc_version}")],
        )
    if facts.libc == "musl" and target.libc == "glibc":
        return crash(
            "musl-on-glibc",
            f"exec {path}: no such file or directory",
            "certain",
            f"{target.name} uses glibc; {facts.interpreter} does not exist there",
            [interp_ev, _kb_evidence(target, "libc", f"glibc {target.libc_version}")],
        )

    # ld.so maps every DT_NEEDED library first and checks symbol versions after: a missing library wins.
    lib_case = loaderpredict.missing_libraries(facts, target, files, path)
    if lib_case is not None:
        return decided(lib_case)
    if facts.libc == "glibc" and target.libc == "glibc" and facts.glibc_required and target.libc_version:
        need = version_tuple(facts.glibc_required)
        have = version_tuple(target.libc_version)
        if need > have:
            libc = _libc_path(target, facts.arch)
            # ld.so prints one line per missing version, in the binary's .gnu.version_r order.
            lines = loaderpredict.glibc_version_lines(facts, target.libc_version, path, libc) or [
                f"{path}: {libc}: version `GLIBC_{facts.glibc_required}' not found (required by {path})"
            ]
            floor = ", ".join(facts.glibc_floor_symbols[:4]) or f"GLIBC_{facts.glibc_required}"
            return crash(
                "glibc-too-new",
                highest_glibc_line(lines),
                "certain",
                f"needs glibc {facts.glibc_required}, {target.name} has {target.libc_version}",
                [
                    Evidence(
                        "highest GLIBC version required",
                        f"{facts.glibc_required} ({floor})",
                        f"ELF .gnu.version_r of {facts.path}",
                    ),
                    _kb_evidence(target, "glibc version", target.libc_version),
                    # ld.so prints in .gnu.version_r order, not sorted: when that puts another version
                    # first (containerd on Debian 11: 2.34, then 2.32), show the lines as it prints them.
                    *(
                        Evidence(f"ld.so line {n}", ln, f"predicted from .gnu.version_r of {facts.path}")
                        for n, ln in enumerate(lines, 1)
                        if lines[-1] != highest_glibc_line(lines)
                    ),
                ],
                wanted=facts.glibc_required,
                have=target.libc_version,
                all_lines="\n".join(lines),
            )
    verdict, case = _cgo_stub_check(facts, target, path, base)
    if verdict is not None:
        return verdict, case
    have_txt = f"{target.libc} {target.libc_version}".strip()
    need_txt = f"glibc ≥ {facts.glibc_required}" if facts.glibc_required else facts.libc
    return runs(f"needs {need_txt}; {target.name} has {have_txt}", "certain" if facts.glibc_required else "likely")
