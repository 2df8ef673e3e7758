"""The diagnosis engine: verdicts for (artifact, target) pairs and crash chains.

Inputs are facts (``ArtifactFacts`` from static inspection, ``Target`` from the knowledge base,
``RunResult``/``BuildResult`` from the container lab). The output is a ``Diagnosis``: verdicts
plus one crash chain per failure family, where each chain is the single recursive ``ChainNode``
structure every renderer walks. The failure families themselves — their messages, explanations
and fixes — are data in ``data/families.toml``. Logs are explained by ``explain``, which builds
its chains with ``build_chain`` here.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, cast

from goci_doctor import knowledge, platforms
from goci_doctor.diagnosis import loaderpredict
from goci_doctor.knowledge import version_tuple
from goci_doctor.model import (
    ArtifactFacts,
    BadInputError,
    BuildResult,
    ChainNode,
    Confidence,
    Diagnosis,
    Evidence,
    GociError,
    Outcome,
    RunResult,
    Target,
    Verdict,
    highest_glibc_line,
)
from goci_doctor.safety import linear

if TYPE_CHECKING:
    from goci_doctor.diagnosis.targetfiles import TargetFiles

# --------------------------------------------------------------------------------------------
# Failure families (data)


@dataclass(frozen=True)
class FixSpec:
    id: str
    title: str
    detail: str = ""
    commands: tuple[str, ...] = ()
    diff: tuple[str, ...] = ()
    variant: str = ""


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    severity: str
    symptom: str
    mechanism: str
    cause: str
    source: str
    patterns: tuple[re.Pattern[str], ...] = ()
    group: str = ""
    context: tuple[re.Pattern[str], ...] = ()
    generic: bool = False
    fixes: tuple[FixSpec, ...] = ()


_FAMILY_KEYS = {
    "id",
    "title",
    "severity",
    "patterns",
    "group",
    "context",
    "generic",
    "symptom",
    "mechanism",
    "cause",
    "source",
    "fix",
}
_FIX_KEYS = {"id", "title", "detail", "commands", "diff", "variant"}


def load_families(text: str, origin: str = "families.toml") -> dict[str, Family]:
    """Parse and validate a families file. A broken file raises GociError naming the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GociError(f"{origin}: {exc}") from None
    out: dict[str, Family] = {}
    for i, raw in enumerate(data.get("family", [])):
        where = f"{origin}: family #{i + 1} ({raw.get('id', '?')})"
        unknown = set(raw) - _FAMILY_KEYS
        if unknown:
            raise GociError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("id", "title", "symptom", "mechanism", "cause", "source"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise GociError(f"{where}: '{key}' must be a non-empty string")
        if raw["id"] in out:
            raise GociError(f"{where}: duplicate id")
        fixes = []
        for fx in raw.get("fix", []):
            bad = set(fx) - _FIX_KEYS
            if bad or "id" not in fx or "title" not in fx:
                raise GociError(f"{where}: fix {fx.get('id', '?')} is malformed (keys {sorted(fx)})")
            if fx.get("variant") and not knowledge.is_variant_name(fx["variant"]):
                # "Prove this fix" would build it: a name variants.toml does not define fails here, not there.
                raise GociError(
                    f"{where}: fix {fx['id']} names build variant {fx['variant']!r}, which "
                    "data/variants.toml does not define"
                )
            fixes.append(
                FixSpec(
                    id=fx["id"],
                    title=fx["title"],
                    detail=fx.get("detail", ""),
                    commands=tuple(fx.get("commands", ())),
                    diff=tuple(fx.get("diff", ())),
                    variant=fx.get("variant", ""),
                )
            )
        try:
            # Log lines are untrusted: family patterns run in linear time (RE2).
            patterns = tuple(linear.compile(p, re.IGNORECASE) for p in raw.get("patterns", ()))
            context = tuple(linear.compile(p, re.IGNORECASE) for p in raw.get("context", ()))
        except re.error as exc:
            raise GociError(f"{where}: bad regular expression: {exc}") from None
        out[raw["id"]] = Family(
            id=raw["id"],
            title=raw["title"],
            severity=raw.get("severity", "error"),
            symptom=raw["symptom"],
            mechanism=raw["mechanism"],
            cause=raw["cause"],
            source=raw["source"],
            patterns=patterns,
            group=raw.get("group", ""),
            context=context,
            generic=bool(raw.get("generic", False)),
            fixes=tuple(fixes),
        )
    return out


@functools.cache
def families() -> dict[str, Family]:
    """The failure families shipped in the package (loaded once)."""
    text = resources.files("goci_doctor").joinpath("data/families.toml").read_text(encoding="utf-8")
    return load_families(text)


@functools.cache
def native_wording() -> dict[str, Family]:
    """Families reworded for programs without Go build info (data/native_wording.toml): id -> Family."""
    text = resources.files("goci_doctor").joinpath("data/native_wording.toml").read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GociError(f"native_wording.toml: {exc}") from None
    out = {}
    fams = families()
    for fid, raw in doc.get("family", {}).items():
        if fid not in fams or set(raw) - {"cause", "mechanism", "fix"} or "cause" not in raw:
            raise GociError(f"native_wording.toml: family {fid} is unknown or malformed")
        fixes = tuple(
            FixSpec(id=fx["id"], title=fx["title"], detail=fx.get("detail", ""), commands=tuple(fx.get("commands", ())))
            for fx in raw.get("fix", ())
        )
        mechanism = raw.get("mechanism", fams[fid].mechanism)
        out[fid] = dataclasses.replace(fams[fid], cause=raw["cause"], mechanism=mechanism, fixes=fixes)
    return out


# --------------------------------------------------------------------------------------------
# Helpers

# The Linux architectures fixes and evidence name, each fact from the one table (platforms.py).
_LINUX_ARCHES = ("amd64", "arm64", "386", "arm", "riscv64", "ppc64le", "s390x")
_ARCH_TRIPLE = {a: platforms.BY_GOARCH[a].triple for a in _LINUX_ARCHES}
_CROSS_CC = {a: platforms.BY_GOARCH[a].cross_cc for a in _LINUX_ARCHES}
_RHEL_LIKE = ("centos", "rhel", "rocky", "alma", "amazonlinux", "ubi", "fedora", "oraclelinux")
# Libraries every glibc system has (they ship in the libc6 / glibc package itself).
_GLIBC_CORE = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libresolv.so.2",
    "libutil.so.1",
    "libnsl.so.1",
    "libanl.so.1",
    "libBrokenLocale.so.1",
    "libcrypt.so.1",
}
_FULL_DISTRO_EXTRA = {"libgcc_s.so.1", "libstdc++.so.6", "libz.so.1"}


def emulating_handlers(goarch: str, binfmt: Sequence[str]) -> list[str]:
    """The enabled binfmt_misc handlers (as hostenv lists them) that would run ``goarch`` code."""
    row = platforms.arch(goarch)
    name = f"qemu-{row.qemu if row is not None else goarch}"
    return [h for h in binfmt if h.split(" ", 1)[0] == name and "(enabled" in h]


def host_arch() -> str:
    """This machine's CPU architecture in Go naming."""
    return platforms.host_goarch()


class _Defaults(dict[str, str]):
    """Template values: unknown names stay visible as <name> rather than raising."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


_DEFAULTS = {
    "binary": "the program",
    "binary_name": "app",
    "binary_stem": "app",
    "have": "older",
    "target": "the target",
    "interpreter": "its dynamic loader",
    "goos": "linux",
    "goarch": "amd64",
    "target_arch": "amd64",
    "host_arch": "the host's",
    "arch": "another architecture",
    "module_note": "",
    "library": "a library",
    "go_version": "a newer Go",
    "requirement": "see the Go release notes",
    "level": "v2+",
    "first_line": "not shell code",
    "problem": "not a complete executable",
    "level_title": "a newer CPU level",
    "requires": "instructions older CPUs lack",
    "cpu_note": "",
    "vm_note": "",
}


def fill(template: str, facts: Mapping[str, str]) -> str:
    """Fill a family template with facts, deriving the handy names (binary_name, arch_triple, ...)."""
    values = _Defaults(_DEFAULTS)
    values.update({k: v for k, v in facts.items() if v})
    # Commands need a real argument, not prose: a placeholder the user replaces when none is known.
    values["target_arg"] = facts.get("target") or "TARGET"
    binary = values.get("binary", "app")
    name = PurePosixPath(binary.replace("\\", "/")).name if binary != "the program" else "app"
    name = name or "app"
    values.setdefault("binary_name", name)
    if facts.get("binary"):
        values["binary_name"] = name
    values["binary_stem"] = name[:-4] if name.lower().endswith(".exe") else name
    goarch = values["goarch"]
    values.setdefault("arch_triple", _ARCH_TRIPLE.get(values.get("arch", ""), "x86_64"))
    if values["arch_triple"] not in _ARCH_TRIPLE.values():
        values["arch_triple"] = "x86_64"
    goos = values["goos"]
    values.setdefault("cross_cc", "x86_64-w64-mingw32-gcc" if goos == "windows" else _CROSS_CC.get(goarch, "CC"))
    zig_os = "windows-gnu" if goos == "windows" else "linux-gnu"
    values.setdefault("zig_target", f"{_ARCH_TRIPLE.get(goarch, 'x86_64')}-{zig_os}")
    values.setdefault("cross_hint", "windows.h and Windows flags" if goos == "windows" else f"{goarch} assembly")
    try:
        return template.format_map(values)
    except (ValueError, IndexError):
        return template


# --------------------------------------------------------------------------------------------
# Static prediction


@dataclass
class _Case:
    """One failure of one family, with the facts its templates need."""

    family: str
    facts: dict[str, str]
    evidence: list[Evidence] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    message: str = ""


def _libc_path(target: Target, arch: str) -> str:
    if target.name.split(":")[0].split("/")[0] in _RHEL_LIKE or any(target.name.startswith(p) for p in _RHEL_LIKE):
        return "/lib64/libc.so.6"
    return f"/lib/{_ARCH_TRIPLE.get(arch, 'x86_64')}-linux-gnu/libc.so.6"


def _target_desc(target: Target) -> str:
    if target.os in _OS_TITLES and target.kernel:
        return f"{target.name} ({_OS_TITLES[target.os]} {target.kernel})"
    if target.libc == "none":
        return f"{target.name} (no libc)"
    ver = f" {target.libc_version}" if target.libc_version else ""
    return f"{target.name} ({target.libc}{ver})"


_OS_TITLES = {"darwin": "macOS", "freebsd": "FreeBSD"}


def _kb_evidence(target: Target, what: str, value: str) -> Evidence:
    if target.source.startswith("probed from image"):
        return Evidence(what, value, target.source)
    return Evidence(what, value, f"knowledge base: {target.name} ({target.source or 'targets.toml'})")


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
    arch = arch or host_arch()
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


def program_kind(facts: ArtifactFacts) -> str:
    """ "go" for a binary with Go build info, "native" for another ELF (C, C++, ...), "" otherwise.

    Families word their causes and fixes for Go builds; a native program gets its own wording
    (``data/native_wording.toml``), never Go advice.
    """
    if facts.go is not None:
        return "go"
    return "native" if facts.kind == "elf" else ""


# A 64-bit x86 kernel runs 32-bit x86 programs (CONFIG_IA32_EMULATION, on in every distribution kernel).
_COMPAT_ARCH = {"amd64": ("386",)}


def _runs_arch(binary_arch: str, machine_arch: str) -> bool:
    return binary_arch == machine_arch or binary_arch in _COMPAT_ARCH.get(machine_arch, ())


def at_least(have: str, need: str) -> bool:
    """``have`` ≥ ``need`` as versions, with missing parts as 0 ("13.0" ≥ "13", "11" < "11.2")."""
    h, n = version_tuple(have), version_tuple(need)
    width = max(len(h), len(n))
    return h + (0,) * (width - len(h)) >= n + (0,) * (width - len(n))


def _crash(
    facts: ArtifactFacts,
    target: Target,
    base: dict[str, str],
    family: str,
    message: str,
    confidence: Confidence,
    reason: str,
    evidence: Iterable[Evidence],
    **extra: str,
) -> tuple[Verdict, _Case]:
    case = _Case(family, {**base, **extra}, list(evidence), [target.name], message)
    return Verdict(facts.path, target.name, "crashes", message, confidence, family, reason), case


def _toolchain(release: knowledge.GoRelease) -> str:
    """The GOTOOLCHAIN name of a release's first version (go1.21.0 from Go 1.21 on, go1.20 before)."""
    return f"go{release.version}.0" if version_tuple(release.version) >= (1, 21) else f"go{release.version}"


def older_go_facts(supported: Callable[[knowledge.GoRelease], bool], what: str) -> dict[str, str]:
    """Template facts naming the newest Go release for which ``supported`` holds (from go_releases.toml)."""
    best = None
    for r in knowledge.go_releases():
        if supported(r):
            best = r
    if best is None:
        return {}
    return {
        "older_go": f"Go {best.version} is the newest release that supports {what}",
        "older_go_version": best.version,
        "older_go_toolchain": _toolchain(best),
    }


def macos_minimum(facts: ArtifactFacts) -> tuple[str, list[Evidence]]:
    """The oldest macOS a Mach-O file runs on, and the evidence: the higher of its own LC_BUILD_VERSION
    minimum and the minimum of the Go release that built it ("" when neither is known)."""
    needs: list[tuple[str, Evidence]] = []
    if facts.min_os_version:
        needs.append(
            (
                facts.min_os_version,
                Evidence(
                    "minimum macOS (LC_BUILD_VERSION)", facts.min_os_version, f"Mach-O load commands of {facts.path}"
                ),
            )
        )
    release = knowledge.go_release(facts.go.go_version) if facts.go else None
    if release is not None and release.min_macos_version and facts.go is not None:
        needs.append(
            (
                release.min_macos_version,
                Evidence(
                    "minimum macOS of the Go release",
                    f"{release.min_macos} ({facts.go.go_version})",
                    f"knowledge base: go_releases.toml ({release.source})",
                ),
            )
        )
    if not needs:
        return "", []
    need = needs[0][0]
    for version, _ in needs[1:]:
        if not at_least(need, version):
            need = version
    return need, [e for _, e in needs]


def dyld_message(path: str, wanted: str, running: str) -> str:
    """What dyld prints when a binary built for macOS ``wanted`` misses a symbol on macOS ``running``.

    dyld 4 (macOS 12 and later) and the older dyld word the "Referenced from" line differently; the
    missing symbol itself depends on the binary, so it is left out.
    """
    if at_least(running, "12"):
        return (
            f"dyld[…]: Symbol not found: … Referenced from: {path} "
            f"(built for macOS {wanted} which is newer than running OS)"
        )
    return f"dyld: Symbol not found: … Referenced from: {path} (which was built for Mac OS X {wanted})"


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


@functools.cache
def _cgo_only_modules() -> dict[str, tuple[str, ...]]:
    """Module path -> pure-Go alternatives, from data/cgo_modules.toml (shared with `lint`)."""
    text = resources.files("goci_doctor").joinpath("data/cgo_modules.toml").read_text(encoding="utf-8")
    return {m["path"]: tuple(m.get("alternatives", ())) for m in tomllib.loads(text).get("module", [])}


def _cgo_stub_check(
    facts: ArtifactFacts, target: Target, path: str, base: dict[str, str]
) -> tuple[Verdict | None, _Case | None]:
    go = facts.go
    if go is None or go.cgo_enabled is not False:
        return None, None
    cgo_only = _cgo_only_modules()
    for mod, _ in go.deps:
        if any(mod == p or re.fullmatch(re.escape(p) + r"/v\d+", mod) for p in cgo_only):
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


# --------------------------------------------------------------------------------------------
# Crash chains


def build_chain(
    family_id: str,
    facts: Mapping[str, str],
    evidence: Sequence[Evidence] = (),
    *,
    symptom_text: str = "",
    targets: Sequence[str] = (),
    proof: Sequence[RunResult] = (),
    proof_targets: Sequence[str] = (),
) -> ChainNode:
    """symptom ← mechanism ← cause, with fixes under the cause; fixes marked with the proof runs.

    ``targets`` are display labels of where the symptom was seen; ``proof_targets`` the target names
    whose variant runs count as proof (all of ``proof`` when empty).
    """
    fam = families()[family_id]
    if facts.get("program") == "native":
        fam = native_wording().get(family_id, fam)
    fixes = []
    for fx in fam.fixes:
        proven, failed = _proof_for(fx.variant, proof, proof_targets)
        commands = tuple(fill(c, facts) for c in fx.commands) + tuple(fx.diff)
        fixes.append(
            ChainNode(
                id=f"{fam.id}/fix/{fx.id}",
                kind="fix",
                title=fill(fx.title, facts),
                detail=fill(fx.detail, facts),
                commands=commands,
                proven_in=proven,
                failed_in=failed,
                variant=fx.variant,
            )
        )
    # Proven fixes first: they are the ones a user should reach for.
    fixes.sort(key=lambda n: (not n.proven_in, bool(n.failed_in)))
    cause = ChainNode(
        id=f"{fam.id}/cause",
        kind="cause",
        title=fill(fam.cause, facts),
        detail=f"Source: {fam.source}",
        children=tuple(fixes),
    )
    mech_ev = tuple(e for e in evidence if e.fact != "log line")
    mechanism = ChainNode(
        id=f"{fam.id}/mechanism",
        kind="mechanism",
        title=fam.title,
        detail=fill(fam.mechanism, facts),
        evidence=mech_ev,
        children=(cause,),
    )
    title = symptom_text or fill(fam.symptom, facts)
    detail = ""
    if targets:
        detail = "Seen on: " + ", ".join(targets)
    severity = cast(
        Literal["error", "warning", "note"], fam.severity if fam.severity in ("error", "warning", "note") else "error"
    )
    return ChainNode(
        id=f"{fam.id}/symptom",
        kind="symptom",
        title=title,
        detail=detail,
        evidence=tuple(e for e in evidence if e.fact == "log line"),
        children=(mechanism,),
        severity=severity,
    )


def _proof_for(
    variant: str, proof: Sequence[RunResult], targets: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not variant:
        return (), ()
    proven: list[str] = []
    failed: list[str] = []
    for r in proof:
        if not r.variant or not (r.variant == variant or r.variant.startswith(variant + ":")):
            continue
        if targets and r.target not in targets:
            continue
        where = f"{r.target} [{r.image}, {r.libc}]" if r.image and r.image != r.target else f"{r.target} ({r.libc})"
        if r.outcome == "runs":
            proven.append(where)
        elif r.outcome == "crashes":
            failed.append(f"{where}: {r.message}")
    return tuple(dict.fromkeys(proven)), tuple(dict.fromkeys(failed))


def _artifact_notes(facts: ArtifactFacts, cpu_known: bool = False) -> list[ChainNode]:
    """Chains that follow from the artifact alone, whatever the target.

    ``cpu_known``: the deploy CPU level was given, so CPU levels are verdicts, not warnings.
    """
    out = []
    src = f"inspection of {facts.path}"
    base = {"binary": facts.path, "goarch": facts.arch, "goos": facts.os}
    need = cpu_requirement(facts)
    if need and need[0] == "GOAMD64" and _level_number(need[1]) >= 2 and not cpu_known:
        lf = level_facts(*need, PurePosixPath(facts.path).name or "app")
        out.append(
            build_chain(
                "cpu-baseline",
                {**base, **lf},
                [
                    Evidence("build setting GOAMD64", need[1], f"Go build info of {facts.path}"),
                    Evidence("CPU features required", lf.get("requires", "?"), "knowledge base: cpu_levels.toml"),
                    Evidence(
                        "runtime message on older CPUs",
                        lf.get("message", ""),
                        lf.get("level_source", "cpu_levels.toml"),
                    ),
                ],
            )
        )
    bad_paths = build_machine_paths(facts)
    if bad_paths:
        out.append(
            build_chain(
                "rpath-build-machine",
                {**base, "rpath": ", ".join(p for _, p in bad_paths)},
                [Evidence(tag, p, f"ELF dynamic section of {facts.path}") for tag, p in bad_paths],
            )
        )
    if facts.kind == "pe" and facts.pe_subsystem == "gui":
        out.append(
            build_chain(
                "gui-subsystem", base, [Evidence("PE subsystem", "GUI (2)", f"PE optional header of {facts.path}")]
            )
        )
    if facts.kind == "empty" or (facts.is_corrupt and facts.kind in ("elf", "pe", "macho")):
        problem = facts.problems[0] if facts.problems else "empty"
        out.append(build_chain("empty-output", {**base, "problem": problem}, [Evidence("artifact", problem, src)]))
    return out


def check_artifact(
    facts: ArtifactFacts,
    targets: Sequence[Target],
    runs: Sequence[RunResult] = (),
    builds: Sequence[BuildResult] = (),
    *,
    arch: str | None = None,
    binfmt: Sequence[str] = (),
    cpu: str | None = None,
    image_config: object = None,
) -> Diagnosis:
    """Verdicts for one artifact on each target, confirmed or corrected by real runs, and the chains.

    ``runs`` may hold runs of the artifact itself (variant "") and of rebuilt variants; the latter
    prove (or disprove) the fixes of each chain. ``cpu`` is the deploy machines' CPU level when
    known (see ``predict``); without it, a GOAMD64 level above v1 is a warning chain.
    ``image_config`` (a Config): targets it maps to a local image that is present are predicted
    from that image's real filesystem and libc (nothing is run or pulled).
    """
    from goci_doctor.diagnosis import targetfiles

    with targetfiles.open_images(targets if image_config is not None else (), image_config) as images:
        return _check_artifact(facts, targets, runs, builds, arch=arch, binfmt=binfmt, cpu=cpu, images=images)


def _check_artifact(
    facts: ArtifactFacts,
    targets: Sequence[Target],
    runs: Sequence[RunResult],
    builds: Sequence[BuildResult],
    *,
    arch: str | None,
    binfmt: Sequence[str],
    cpu: str | None,
    images: Mapping[str, TargetFiles],
) -> Diagnosis:
    from goci_doctor.diagnosis import targetfiles

    own_runs = {r.target: r for r in runs if not r.variant}
    proof = [r for r in runs if r.variant]
    verdicts: list[Verdict] = []
    cases: dict[str, _Case] = {}
    for target in targets:
        files = images.get(target.name)
        if isinstance(files, targetfiles.ImageFiles):
            target = targetfiles.as_probed(target, files)
        else:
            files = targetfiles.listed_files(target)
        verdict, case = predict(facts, target, arch=arch, binfmt=binfmt, cpu=cpu, files=files)
        observed = own_runs.get(target.name)
        if observed is not None and observed.outcome in ("runs", "crashes"):
            if observed.outcome == "crashes" and (verdict.outcome != "crashes" or not case):
                from goci_doctor.diagnosis.explain import classify_message

                fam = classify_message(observed.message, facts) or "loader-missing"
                case = _Case(
                    fam,
                    {
                        "binary": facts.path,
                        "target": target.name,
                        "goarch": facts.arch,
                        "goos": facts.os,
                        "arch": facts.arch,
                    },
                    [],
                    [target.name],
                    observed.message,
                )
                verdict = Verdict(
                    facts.path,
                    target.name,
                    "crashes",
                    observed.message,
                    "certain",
                    fam,
                    "observed in a container (not predicted)",
                    observed,
                )
            elif observed.outcome == "runs" and verdict.outcome == "crashes":
                verdict = Verdict(
                    facts.path,
                    target.name,
                    "runs",
                    "",
                    "certain",
                    "",
                    f"observed running (predicted: {verdict.message})",
                    observed,
                )
                case = None
            else:
                verdict = Verdict(
                    verdict.artifact,
                    verdict.target,
                    verdict.outcome,
                    observed.message if observed.outcome == "crashes" else verdict.message,
                    "certain",
                    verdict.family,
                    verdict.reason + " — confirmed by a real run",
                    observed,
                )
        verdicts.append(verdict)
        if case is not None:
            key = case.family
            if key in cases:
                cases[key].targets.append(target.name)
                cases[key].evidence.extend(e for e in case.evidence if e not in cases[key].evidence)
            else:
                cases[key] = case
    cpu_known = bool(cpu) or (arch or "").lower() in _ARM_MACHINE_LEVEL
    chains = _artifact_notes(facts, cpu_known)
    chain_ids = {c.id for c in chains}
    for case in cases.values():
        if f"{case.family}/symptom" in chain_ids:
            continue
        tdesc = []
        by_name = {t.name: t for t in targets}
        for name in case.targets:
            t = by_name.get(name)
            obs = own_runs.get(name)
            label = _target_desc(t) if t else name
            if obs is not None and obs.outcome != "error":
                label += f" — observed in {obs.image} ({obs.libc})"
            tdesc.append(label)
        ev = list(case.evidence)
        for name in case.targets:
            obs = own_runs.get(name)
            if obs is not None and obs.outcome == "crashes":
                ev.append(Evidence(f"real run on {name}", obs.message, f"container {obs.image} ({obs.libc})"))
        chains.append(
            build_chain(
                case.family,
                case.facts,
                ev,
                symptom_text=case.message,
                targets=tdesc,
                proof=proof,
                proof_targets=case.targets,
            )
        )
    notes = []
    if facts.go is None and facts.kind == "elf":
        notes.append("no Go build info found: not a Go binary, or built with an unusual linker")
    need = cpu_requirement(facts)
    if need and need[0] == "GOARM" and _level_number(need[1]) >= 7 and not cpu_known:
        # GOARM=7 is the cross-compile default: a note, not a problem, unless the board is known.
        notes.append(
            f"built with GOARM={need[1]}: needs an ARMv7 CPU; on ARMv6 boards (Raspberry Pi Zero, Zero W, 1) "
            "it dies with 'Illegal instruction' (build with GOARM=6 for those)"
        )
    for b in builds:
        if not b.ok:
            notes.append(f"variant {b.variant} did not build: {b.output.strip().splitlines()[-1] if b.output else '?'}")
    return Diagnosis(
        subject=facts.path,
        kind="artifact",
        chains=tuple(chains),
        verdicts=tuple(verdicts),
        artifacts=(facts,),
        runs=tuple(runs),
        builds=tuple(builds),
        notes=tuple(notes),
    )


def merge(diagnoses: Sequence[Diagnosis], subject: str = "", kind: str = "session") -> Diagnosis:
    """Combine several diagnoses (several artifacts, or an artifact plus a log) into one."""
    seen: set[str] = set()
    chains = []
    for d in diagnoses:
        for c in d.chains:
            key = c.id + c.title
            if key not in seen:
                seen.add(key)
                chains.append(c)
    return Diagnosis(
        subject=subject or ", ".join(d.subject for d in diagnoses),
        kind=kind,  # type: ignore[arg-type]
        chains=tuple(chains),
        verdicts=tuple(v for d in diagnoses for v in d.verdicts),
        findings=tuple(f for d in diagnoses for f in d.findings),
        artifacts=tuple(a for d in diagnoses for a in d.artifacts),
        runs=tuple(r for d in diagnoses for r in d.runs),
        builds=tuple(b for d in diagnoses for b in d.builds),
        notes=tuple(n for d in diagnoses for n in d.notes),
    )


def outcome_counts(verdicts: Sequence[Verdict]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {"runs": 0, "crashes": 0, "unknown": 0}
    for v in verdicts:
        counts[v.outcome] += 1
    return counts
