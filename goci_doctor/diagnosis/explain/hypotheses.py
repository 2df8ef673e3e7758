"""Ranked hypotheses: which root cause a recognised symptom most likely has, and how sure we are.

Several families share one symptom: ``exec format error`` is a foreign CPU, a Windows or macOS
binary, a script without ``#!``, a downloaded HTML page...; ``no such file or directory`` for a file
that exists is a missing glibc or musl loader, a CRLF ``#!`` line, a missing interpreter. The
message alone rarely decides; the rest of the paste usually does (``file`` says ``ARM aarch64``
while ``uname -m`` says ``x86_64``; the last ``FROM`` is Alpine; the script was checked out on
Windows). ``rank`` scores every candidate of a symptom from the family patterns that matched and
the ``PasteFacts``, turns the scores into confidences that add up to one, and names the one
command that would tell the candidates apart. Facts weigh more than free-text cues; a family's own
specific wording (``Error relocating``, ``$'\\r': command not found``) weighs most.

May import: re2, goci_doctor.model, goci_doctor.diagnosis.explain.pastefacts (no I/O, no other goci_doctor modules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import re2

from goci_doctor.diagnosis.explain.pastefacts import PasteFacts
from goci_doctor.records import Finding, Hypothesis


@dataclass(frozen=True)
class Symptom:
    """Families that share one symptom: the ones whose patterns signal it, and the candidate causes."""

    id: str
    signals: tuple[str, ...]
    candidates: tuple[str, ...]
    generic: str
    """The member whose patterns match every wording of the symptom (its match is not evidence)."""
    decide: str


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "exec-format",
        (
            "wrong-arch",
            "pe-on-linux",
            "macho-on-linux",
            "elf-on-macos",
            "linux-on-freebsd",
            "not-a-binary",
            "empty-output",
        ),
        (
            "wrong-arch",
            "pe-on-linux",
            "macho-on-linux",
            "elf-on-macos",
            "elf-on-windows",
            "no-shebang",
            "not-a-binary",
            "non-main-package",
            "linux-on-freebsd",
        ),
        "wrong-arch",
        "goci-doctor inspect {file}   # its OS, CPU and format; compare: uname -m where it failed",
    ),
    Symptom(
        "loader",
        (
            "loader-missing",
            "glibc-on-musl",
            "dynamic-on-no-libc",
            "musl-on-glibc",
            "script-crlf",
            "script-interpreter-missing",
        ),
        (
            "loader-missing",
            "glibc-on-musl",
            "dynamic-on-no-libc",
            "musl-on-glibc",
            "script-crlf",
            "script-interpreter-missing",
        ),
        "loader-missing",
        "goci-doctor inspect {file}   # its interpreter (PT_INTERP or #! line, with any \\r)",
    ),
    Symptom(
        "windows-exe",
        ("elf-on-windows", "windows-386-mismatch", "non-main-package"),
        (
            "elf-on-windows",
            "windows-too-old",
            "windows-386-mismatch",
            "windows-dll-bitness",
            "windows-bad-pe",
            "non-main-package",
        ),
        "elf-on-windows",
        "goci-doctor inspect {file}   # PE or not, its CPU and minimum Windows version",
    ),
    Symptom(
        "mac-cpu",
        ("macos-bad-cpu",),
        ("macos-bad-cpu", "macos-no-rosetta"),
        "macos-bad-cpu",
        "uname -m   # x86_64: an Intel Mac needs a darwin/amd64 build; arm64: install Rosetta 2 or ship arm64",
    ),
    Symptom(
        "cgo-cc",
        ("cgo-no-compiler", "cgo-cross-no-cc"),
        ("cgo-no-compiler", "cgo-cross-no-cc"),
        "cgo-no-compiler",
        "go env CC GOOS GOARCH GOHOSTOS GOHOSTARCH",
    ),
)
# Symptoms that describe a consequence or a warning rank after the failures themselves.
_LATE = {"platform-mismatch", "cgo-required-disabled", "netgo-behaviour", "static-getaddrinfo"}
_SCRIPT_EXT = (".sh", ".bash", ".py", ".pl", ".rb", ".js", ".go", ".f90", ".c", ".ps1", ".post-install", ".pre-install")
SINGLE_CONFIDENCE = 0.95
# A cross compiler is named after its target triple (x86_64-w64-mingw32-gcc, aarch64-linux-gnu-gcc).
_TRIPLE = re2.compile(
    r"^(?:x86_64|i[3-6]86|aarch64|arm\w*|riscv64|powerpc64le|ppc64le|s390x|mips\w*|loongarch64)-\w+"
    r"|mingw32|-linux-(?:gnu|musl)|-apple-darwin|androideabi"
)


@dataclass
class _Case:
    """One symptom seen in the log: its findings and the candidates' running scores and reasons."""

    symptom: Symptom | None
    family: str
    findings: list[Finding] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)
    specific: set[str] = field(default_factory=set)
    scores: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)

    def add(self, family: str, weight: float, why: str) -> None:
        if family in self.scores:
            self.scores[family] += weight
            self.reasons.setdefault(family, []).append(f"{'+' if weight >= 0 else ''}{weight:g} {why}")

    def fact(self, key: str) -> str:
        for f in self.findings:
            value = f.fact(key)
            if value:
                return value
        return ""


@dataclass(frozen=True)
class Ranked:
    """A symptom's hypotheses (best first) and the findings that showed it."""

    symptom: str
    hypotheses: tuple[Hypothesis, ...]
    findings: tuple[Finding, ...]

    @property
    def leading(self) -> Hypothesis:
        return self.hypotheses[0]


def _cases(findings: Iterable[Finding]) -> list[_Case]:
    """Group the findings of each log line into symptoms (a line matching a shared wording is one case)."""
    by_line: dict[int, list[Finding]] = {}
    for f in findings:
        by_line.setdefault(f.line_no, []).append(f)
    cases: dict[str, _Case] = {}
    for _no, items in sorted(by_line.items()):
        fams = {f.family for f in items}
        symptom = next((s for s in SYMPTOMS if fams & set(s.signals)), None)
        if symptom is None:
            for f in items:
                case = cases.setdefault(f.family, _Case(None, f.family))
                case.findings.append(f)
                case.matched.add(f.family)
            continue
        case = cases.setdefault(symptom.id, _Case(symptom, symptom.id))
        case.findings.extend(items)
        case.matched |= fams
        # A wording only this family prints is evidence; the generic member matches every shared one.
        if symptom.generic not in fams:
            case.specific |= fams
    return list(cases.values())


def _binary(case: _Case) -> str:
    return case.fact("binary") or ""


def _is_script(path: str, pf: PasteFacts) -> bool:
    low = path.lower().rstrip("'\"")
    name = low.rsplit("/", 1)[-1]
    return (
        low.endswith(_SCRIPT_EXT)
        or "entrypoint" in name
        or pf.binary_format in ("script", "text")
        or (name == "run" and "s6" in pf.cues)
    )


def _arch_evidence(case: _Case, pf: PasteFacts) -> None:
    """Architecture facts for the foreign-CPU candidate."""
    if pf.host_arch and pf.binary_arch:
        if pf.host_arch != pf.binary_arch:
            case.add(
                "wrong-arch",
                7,
                f"the binary is {pf.binary_arch} ({pf.binary_arch_from}), the machine "
                f"{pf.host_arch} ({pf.host_arch_from})",
            )
        else:
            case.add("wrong-arch", -2.5, f"binary and machine are both {pf.host_arch}")
    elif pf.host_arch and pf.host_arch != "amd64":
        case.add(
            "wrong-arch", 3, f"the machine is {pf.host_arch} ({pf.host_arch_from}); most images and releases are amd64"
        )
    elif pf.host_arch == "amd64" and pf.binary_arch == "":
        case.add("wrong-arch", 0.5, "the machine is amd64")
    if "arm-host" in pf.cues and not pf.host_arch:
        case.add("wrong-arch", 2.5, "the paste mentions an ARM machine")
    if "x86-32-host" in pf.cues:
        case.add("wrong-arch", 2.5, "the machine is 32-bit x86")
    if "platform-warning" in pf.cues:
        case.add("wrong-arch", 3, "Docker warned that the image's platform differs from the host's")


def _score_exec_format(case: _Case, pf: PasteFacts, context: set[str]) -> None:
    b = _binary(case)
    for fam, w in (
        ("wrong-arch", 3),
        ("pe-on-linux", 0.4),
        ("macho-on-linux", 0.4),
        ("elf-on-macos", 0.3),
        ("elf-on-windows", 0.2),
        ("no-shebang", 0.5),
        ("not-a-binary", 0.5),
        ("non-main-package", 0.1),
        ("linux-on-freebsd", 0.1),
    ):
        case.add(fam, w, "prior: how often each cause is behind this symptom in public reports")
    _arch_evidence(case, pf)
    fmt = pf.binary_format
    formats = (("pe", "pe-on-linux"), ("macho", "macho-on-linux"), ("html", "not-a-binary"), ("ar", "non-main-package"))
    for f, fam in formats:
        if fmt == f:
            case.add(fam, 8, f"`file` says the program is {f}")
    if fmt in ("script", "text"):
        case.add("no-shebang", 6, "`file` says it is text, not a binary")
    if fmt == "elf":
        for fam in ("no-shebang", "not-a-binary", "pe-on-linux", "macho-on-linux"):
            case.add(fam, -3, "`file` says it is an ELF binary")
    if b.lower().endswith(".exe") or pf.goos == "windows":
        case.add("pe-on-linux", 5, "a Windows build (.exe or GOOS=windows)")
    arch_hint = bool(pf.host_arch and pf.host_arch != "amd64") or bool({"arm-host", "x86-32-host"} & pf.cues)
    if b and _is_script(b, pf):
        case.add("no-shebang", 1.5 if arch_hint else 4.5, f"{b} is a script or source file by its name")
    if "html" in pf.cues:
        case.add("not-a-binary", 6, "the paste shows HTML where a program was expected")
    mac = pf.host_os == "darwin" or pf.gohostos == "darwin" or "mac" in pf.cues
    container = "container" in pf.cues
    if mac and container:
        case.add("macho-on-linux", 2 if pf.goos == "linux" else 5, "built on a Mac, run in a Linux container")
    elif mac:
        case.add("elf-on-macos", 7 if pf.goos == "linux" else 5, "the program was run on macOS")
    if pf.goos == "darwin" and container:
        case.add("macho-on-linux", 4, "GOOS=darwin")
    name = b.lower().rsplit("/", 1)[-1]
    if any(w in name.replace("_", "-").split("-") for w in ("darwin", "macos", "osx")) and not mac:
        case.add("macho-on-linux", 5, f"{b} is named as a macOS build")
    if "windows" in pf.cues and not container:
        case.add("elf-on-windows", 1.5, "the paste mentions Windows")
    for fam in context & set(case.scores):
        case.add(fam, 2, "a context line of this family (families.toml)")


def _score_loader(case: _Case, pf: PasteFacts, context: set[str]) -> None:
    b = _binary(case)
    for fam, w in (
        ("loader-missing", 2),
        ("glibc-on-musl", 1),
        ("dynamic-on-no-libc", 0.6),
        ("musl-on-glibc", 0.4),
        ("script-crlf", 0.8),
        ("script-interpreter-missing", 0.4),
    ):
        case.add(fam, w, "prior: how often each cause is behind this symptom in public reports")
    if pf.libc == "musl":
        case.add("glibc-on-musl", 6, "the image that runs it is Alpine (musl)")
    elif "alpine" in pf.cues:
        case.add("glibc-on-musl", 4, "the paste mentions Alpine/musl")
    if pf.libc == "none" or ("no-libc-image" in pf.cues and pf.libc != "musl"):
        case.add("dynamic-on-no-libc", 6, "the image that runs it has no C library (scratch/distroless)")
    if pf.interpreter.startswith("/lib/ld-musl") and pf.libc != "musl" and "alpine" not in pf.cues:
        case.add("musl-on-glibc", 7, f"the binary's loader is {pf.interpreter}")
    elif pf.interpreter.startswith("/lib/ld-musl"):
        case.add("musl-on-glibc", 4, f"the binary's loader is {pf.interpreter}")
    if b and _is_script(b, pf):
        case.add("script-crlf", 4, f"{b} is a script: the missing file is its #! interpreter")
        case.add("script-interpreter-missing", 1.5, f"{b} is a script")
        small_image = {"glibc-on-musl", "dynamic-on-no-libc"} & context  # a musl or no-libc image in the paste
        if pf.libc in ("musl", "none") or {"alpine", "no-libc-image"} & pf.cues or small_image:
            # Alpine and busybox have only /bin/sh, scratch and distroless no shell at all: a #!/bin/bash
            # script is the common case there; CRLF needs carriage returns to show (cue below).
            case.add("script-interpreter-missing", 4, "the image has no bash (Alpine/busybox) or no shell at all")
        for fam in ("glibc-on-musl", "dynamic-on-no-libc", "loader-missing"):
            case.add(fam, -1.5, f"{b} is a script, not a dynamically linked binary")
    if "crlf" in pf.cues:
        case.add("script-crlf", 6, "the paste shows carriage returns / CRLF line endings")
    if "windows" in pf.cues:
        case.add("script-crlf", 3, "the files come from a Windows machine")
    for fam in context & set(case.scores):
        case.add(fam, 2, "a context line of this family (families.toml)")


def _score_windows(case: _Case, pf: PasteFacts, context: set[str]) -> None:
    for fam, w in (
        ("elf-on-windows", 2),
        ("windows-too-old", 1),
        ("windows-386-mismatch", 0.6),
        ("windows-dll-bitness", 0.3),
        ("windows-bad-pe", 0.3),
        ("non-main-package", 0.2),
    ):
        case.add(fam, w, "prior: how often each cause is behind this symptom in public reports")
    if "old-windows" in pf.cues:
        case.add("windows-too-old", 6, "an old Windows release (XP to 8.1) is mentioned")
    if "wants-32bit" in pf.cues:
        case.add("windows-386-mismatch", 3.5, "a 32-bit system or build is mentioned")
    if "dll" in pf.cues:
        case.add("windows-dll-bitness", 7, "a DLL is being loaded")
    if "go-build" in pf.cues and "cgo" in pf.cues:
        case.add("windows-bad-pe", 5, "built just now by go build with cgo or debug flags")
    elif "go-build" in pf.cues:
        case.add("windows-bad-pe", 1.5, "built just now by go build")
    if "sixteen-bit" in pf.cues:
        case.add("non-main-package", 5, "Windows took the file for a 16-bit program (no PE header)")
    if ".a.out" in _binary(case).lower() or "library" in pf.cues:
        case.add("non-main-package", 2, "a library package was built")
    if pf.binary_format == "elf" or pf.goos == "linux":
        case.add("elf-on-windows", 6, "the file is a Linux (ELF) build")
    elif "go-build" in pf.cues and "windows" in pf.cues:
        case.add("elf-on-windows", -1.5, "go build ran on Windows without GOOS=linux: the output is a PE")
        case.add("windows-bad-pe", 1.5, "go build ran on Windows without GOOS=linux: the output is a PE")
    if pf.binary_format == "ar":
        case.add("non-main-package", 8, "`file` says ar archive")
    for fam in context & set(case.scores):
        case.add(fam, 2, "a context line of this family (families.toml)")


def _score_mac_cpu(case: _Case, pf: PasteFacts, context: set[str]) -> None:
    case.add("macos-bad-cpu", 2, "prior")
    case.add("macos-no-rosetta", 1, "prior")
    if pf.host_arch == "amd64" or "intel-mac" in pf.cues:
        case.add("macos-bad-cpu", 5, "the Mac is an Intel (x86_64) one")
    if pf.host_arch == "arm64" or "apple-silicon" in pf.cues:
        case.add("macos-no-rosetta", 5, "the Mac has Apple silicon")


def _score_cgo_cc(case: _Case, pf: PasteFacts, context: set[str]) -> None:
    case.add("cgo-no-compiler", 2, "prior")
    case.add("cgo-cross-no-cc", 1, "prior")
    cc = case.fact("cc")
    if _TRIPLE.search(cc.rsplit("/", 1)[-1]):
        case.add("cgo-cross-no-cc", 6, f"{cc} is a cross compiler (a target triple in its name)")
    if pf.goos and pf.gohostos and pf.goos != pf.gohostos:
        case.add("cgo-cross-no-cc", 2, f"GOOS={pf.goos} on a {pf.gohostos} host")


_SCORERS = {
    "exec-format": _score_exec_format,
    "loader": _score_loader,
    "windows-exe": _score_windows,
    "mac-cpu": _score_mac_cpu,
    "cgo-cc": _score_cgo_cc,
}


def _keep_single(case: _Case, pf: PasteFacts) -> float:
    """Confidence of a family recognised on its own (0: drop it as too weak to report)."""
    if (
        case.family == "cgo-required-disabled"
        and case.specific == set()
        and all("undefined:" in f.line for f in case.findings)
    ):
        # "undefined: pkg.Name" is any compile error unless the build was cross (cgo off by default).
        cross = pf.goos or pf.cgo == "0"
        return 0.7 if cross else 0.0
    return SINGLE_CONFIDENCE


def rank(findings: Sequence[Finding], pf: PasteFacts, context: set[str] | None = None) -> list[Ranked]:
    """Ranked hypotheses for every symptom in the findings, the leading symptom first."""
    context = context or set()
    out: list[tuple[tuple[int, int], Ranked]] = []
    for case in _cases(findings):
        first = min(f.line_no for f in case.findings)
        if case.symptom is None:
            conf = _keep_single(case, pf)
            if conf <= 0:
                continue
            hyp = Hypothesis(case.family, conf, case.family, ("the message names this failure",), "")
            out.append(((case.family in _LATE, first), Ranked(case.family, (hyp,), tuple(case.findings))))
            continue
        case.scores = dict.fromkeys(case.symptom.candidates, 0.0)
        for fam in sorted(case.specific & set(case.scores)):
            case.add(fam, 6, "the message uses this cause's own wording")
        _SCORERS[case.symptom.id](case, pf, context)
        total = sum(max(v, 0.05) for v in case.scores.values())
        file_arg = _binary(case) or "FILE"
        decide = case.symptom.decide.format(file=file_arg)
        hyps = sorted(
            (
                Hypothesis(
                    fam, round(max(v, 0.05) / total, 3), case.symptom.id, tuple(case.reasons.get(fam, ())), decide
                )
                for fam, v in case.scores.items()
            ),
            key=lambda h: -h.confidence,
        )
        out.append(
            (
                (False, first),
                Ranked(case.symptom.id, tuple(h for h in hyps if h.confidence >= 0.02), tuple(case.findings)),
            )
        )
    out.sort(key=lambda item: item[0])
    return [r for _key, r in out]
