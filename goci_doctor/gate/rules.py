"""The GOCI rules (ids, titles, levels, help) and the findings and reports ``lint`` produces.

Imports: model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    pass

Level = Literal["error", "warning", "note"]


# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    """One lint rule: stable id, name, default level and the texts SARIF shows."""

    id: str
    name: str
    level: Level
    short: str
    full: str
    help: str

    @property
    def title(self) -> str:
        return f"{self.id} {self.name}"


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "GOCI000",
            "parse-error",
            "error",
            "A CI config could not be parsed",
            "The file is not valid YAML/Dockerfile/go.mod syntax, so neither CI nor goci-doctor can read it.",
            "Fix the syntax error at the reported line.",
        ),
        Rule(
            "GOCI001",
            "cgo-libc-mismatch",
            "error",
            "A cgo binary is shipped into an image with a different or older C library",
            "With cgo on (CGO_ENABLED unset on a native build, or =1) the Go binary is dynamically linked "
            "against the build image's libc. An alpine (musl), scratch or distroless/static (no libc) "
            "runtime image has no matching loader, and an older glibc lacks the symbol versions: the "
            "container dies with 'exec ...: no such file or directory' or \"GLIBC_2.xx not found\".",
            "Set CGO_ENABLED=0 on the go build (pure-Go binary, runs anywhere), or build in an image "
            "with the runtime's libc (golang:<ver>-alpine for alpine, an older glibc for older distros).",
        ),
        Rule(
            "GOCI002",
            "windows-without-exe",
            "warning",
            "A GOOS=windows build writes an output without the .exe suffix",
            "Windows finds programs by extension (PATHEXT): a file named 'app' is not runnable from cmd, "
            "PowerShell or Explorer, and release downloads look broken.",
            "Add .exe to the -o output for windows builds.",
        ),
        Rule(
            "GOCI003",
            "windows-binary-in-linux",
            "error",
            "A GOOS=windows binary is copied into or run in a Linux image",
            "A PE (.exe) file cannot be executed by the Linux kernel: 'exec format error'.",
            "Build with GOOS=linux for Linux images, or ship the Windows build only in Windows images.",
        ),
        Rule(
            "GOCI004",
            "arch-platform-mismatch",
            "error",
            "GOARCH of the build differs from the platform of the image it runs in",
            "An amd64 binary in an arm64 image (or the reverse) fails with 'exec format error' unless "
            "qemu emulation happens to be installed.",
            "Use GOARCH=$TARGETARCH (with ARG TARGETARCH) or make GOARCH match the runtime stage --platform.",
        ),
        Rule(
            "GOCI005",
            "cgo-cross-without-cc",
            "error",
            "A CGO_ENABLED=1 cross build has no cross C compiler",
            "Cross-compiling cgo code needs a C compiler for the target (CC=aarch64-linux-gnu-gcc, "
            "zig cc -target ..., x86_64-w64-mingw32-gcc). With the host gcc the build fails "
            "('gcc: error: unrecognized command-line option -m64' / 'cannot find -lc').",
            "Set CC (and CXX) to a cross compiler for the target, e.g. CC='zig cc -target aarch64-linux-gnu', "
            "or set CGO_ENABLED=0 if the code does not need cgo.",
        ),
        Rule(
            "GOCI006",
            "cgo-module-without-cgo",
            "error",
            "go.mod requires a cgo-only module while every build sets CGO_ENABLED=0",
            "Modules such as mattn/go-sqlite3 wrap a C library. Built with CGO_ENABLED=0 they compile to "
            "a stub (or not at all), and the program fails at run time.",
            "Switch to the pure-Go alternative named in the finding, or build with cgo on and a libc "
            "that matches the runtime image.",
        ),
        Rule(
            "GOCI007",
            "unpinned-build-image",
            "warning",
            "A Go build image uses a moving tag (latest / no tag / edge / golang:1, golang:alpine), or no "
            "digest where a policy requires one",
            "golang:latest changes Go version and libc under you: a build that ran yesterday can "
            "produce a binary that needs a newer glibc today.",
            "Pin a version tag (golang:1.22-bookworm), and a digest (@sha256:...) where the policy asks.",
        ),
        Rule(
            "GOCI008",
            "missing-trimpath",
            "error",
            "The policy requires -trimpath and this go build does not use it",
            "Without -trimpath the binary embeds the builder's file system paths: it is not reproducible.",
            "Add -trimpath to the go build flags (or GOFLAGS=-trimpath).",
        ),
        Rule(
            "GOCI009",
            "missing-empty-buildid",
            "error",
            "The policy requires -ldflags=-buildid= and this go build does not set it",
            "A build id that depends on the build environment makes the binary not byte-for-byte reproducible.",
            "Add -buildid= to -ldflags.",
        ),
        Rule(
            "GOCI010",
            "build-not-followed",
            "note",
            "A binary lands in a musl or no-libc image and goci-doctor cannot see how it is built",
            "The go build happens in a program or file goci-doctor does not follow (go run build.go, mage, "
            "a Makefile target or script it cannot resolve): whether it is static cannot be told from the config.",
            "Check the built artifact: goci-doctor check <binary> --target <runtime image>.",
        ),
        Rule(
            "GOCI011",
            "unknown-image",
            "note",
            "The C library of an image that builds or runs a cgo binary is not known",
            "goci-doctor knows distributions and image families (alpine, debian, distroless...); for other "
            "images it cannot tell whether a dynamically linked binary finds its libc.",
            "Check the artifact in the image: goci-doctor check <binary> --target <image>.",
        ),
        Rule(
            "GOCI012",
            "unpinned-runtime-base",
            "note",
            "The runtime base of a dynamically linked Go binary uses a moving tag",
            "A cgo binary needs the libc of its runtime image; a moving tag can change that libc.",
            "Pin a version tag (alpine:3.20, debian:12-slim), or build with CGO_ENABLED=0.",
        ),
        Rule(
            "GOCI013",
            "static-glibc-nss",
            "warning",
            "A static glibc link without -tags netgo,osusergo",
            "glibc cannot link its name service (getaddrinfo, getpwnam) statically; the linker warns "
            "\"Using 'getaddrinfo' in statically linked applications requires at runtime the shared libraries "
            'from the glibc version used for linking" and DNS/user lookups break on other hosts.',
            "Add -tags netgo,osusergo (pure-Go resolver and user lookup) to the static build.",
        ),
        Rule(
            "GOCI101",
            "policy-cgo",
            "error",
            "CGO_ENABLED differs from what the policy environment requires",
            "The policy pins cgo on or off for this environment so the artifacts match its images.",
            "Set CGO_ENABLED as the policy requires.",
        ),
        Rule(
            "GOCI102",
            "policy-platform",
            "error",
            "GOOS/GOARCH not allowed by the policy environment",
            "The environment only runs the operating systems and architectures its policy lists.",
            "Build only the GOOS/GOARCH pairs the policy allows.",
        ),
        Rule(
            "GOCI103",
            "policy-image",
            "error",
            "Runtime image not in the policy's allowed_images",
            "The environment only allows these base images (known libc, patched, approved).",
            "Use one of the allowed images.",
        ),
        Rule(
            "GOCI104",
            "policy-glibc",
            "error",
            "The artifact needs (or the build image gives it) a newer glibc than the policy's minimum target",
            "A cgo binary needs the glibc symbol versions of the image it was linked in; hosts with an older "
            "glibc refuse to start it ('GLIBC_2.xx not found').",
            "Build in an image with the minimum glibc (e.g. centos:7 for 2.17), link with "
            "zig cc -target x86_64-linux-gnu.2.17, or turn cgo off.",
        ),
        Rule(
            "GOCI105",
            "policy-live-env",
            "error",
            "The live build environment differs from the policy",
            "CGO_ENABLED/GOOS/GOARCH in this environment would produce artifacts the policy forbids.",
            "Export the values the policy requires in the CI job (env: CGO_ENABLED: '0', ...).",
        ),
    )
}


# --------------------------------------------------------------------------------------------
# Findings and reports


@dataclass(frozen=True)
class LintFinding:
    """One problem in a config, with where it is, why it breaks and how to fix it."""

    rule_id: str
    """Stable id from RULES, e.g. "GOCI001"."""
    level: Level
    file: str
    """Repository-relative path ("" for the live environment)."""
    line: int
    column: int
    message: str
    """Why it breaks."""
    fix: str
    """A concrete change: a diff-like line or a command."""
    evidence: tuple[str, ...] = ()

    @property
    def rule_name(self) -> str:
        rule = RULES.get(self.rule_id)
        return rule.name if rule else ""

    @property
    def location(self) -> str:
        if not self.file:
            return "<environment>"
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class LintReport:
    """All findings for one repository, and which files were read."""

    repo: str
    findings: tuple[LintFinding, ...]
    files: tuple[str, ...]
    policy_env: str = ""
    builds: tuple[str, ...] = ()
    """Every go build read, as "file:line (context)" (what the rules looked at)."""

    @property
    def has_error(self) -> bool:
        return any(f.level == "error" for f in self.findings)
