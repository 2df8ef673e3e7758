"""What every check shares: template facts and filling, the per-failure case, target wording,
version comparison, macOS minimums.

Imports: model, platforms, knowledge, safety.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from goci_doctor import knowledge, platforms
from goci_doctor.knowledge import version_tuple
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.records import Confidence, Target, Verdict

if TYPE_CHECKING:
    pass


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
