"""``goci-doctor lint``: find Go build settings in CI configs that produce binaries which crash.

The readers in ``gate`` (``dockerfile``, ``ghaworkflow``, ``gitlab``, ``makefile``, ``goreleaser``,
``gomod``) read GitHub Actions workflows, GitLab CI, Dockerfiles
(multi-stage), Makefiles, ``.goreleaser.yaml`` and ``go.mod`` into facts: every ``go build``
as a :class:`~goci_doctor.gate.buildmodel.GoBuild` (its environment, flags, build image and platform)
and the images around it. This module walks the repository and runs the GOCI rules over those
builds and over the images they ship in; ``render.lint`` writes the findings (text, JSON, SARIF,
GitHub annotations, Markdown). Each finding carries the file and line, why it breaks and a
concrete fix. Imports: ``gate`` (the readers, imagefamily), ``knowledge``, ``model``, ``safety``;
never ``render`` or ``cli``.

Exit codes of ``lint``: 0 no error-level finding, 1 at least one error (or any policy
violation), 2 bad input (missing repository, unreadable policy).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from goci_doctor.gate.buildmodel import ConfigFacts, GoBuild, Stage, copy_matches, platform_arch, stage_builds
from goci_doctor.gate.dockerfile import final_image, read_dockerfile
from goci_doctor.gate.ghaworkflow import read_workflow as read_github
from goci_doctor.gate.gitlab import read_gitlab
from goci_doctor.gate.gomod import parse_go_mod_requires
from goci_doctor.gate.goreleaser import read_goreleaser
from goci_doctor.gate.imagefamily import base_is_toolchain, image_libc_info, moving_tag, strip_ref
from goci_doctor.gate.makefile import read_makefile
from goci_doctor.gate.shell import UNKNOWN, known
from goci_doctor.knowledge.cgo import cgo_modules
from goci_doctor.model import BadInputError, GociError
from goci_doctor.safety import safeio

if TYPE_CHECKING:
    from goci_doctor.gate.policyfile import PolicyEnv

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


# --------------------------------------------------------------------------------------------
# Checks shared by every kind of config


def _prefix_env(command: str, key: str, value: str) -> str:
    """``command`` (source text) with KEY=value in front of its go command, replacing KEY=... if set."""
    m = re.search(rf"(?<![A-Za-z0-9_]){key}=\S*", command)
    if m:
        return command[: m.start()] + f"{key}={value}" + command[m.end() :]
    m = re.search(r"(?:^|[\s;&|(])(go (?:build|install))\b", command)
    if m:
        return command[: m.start(1)] + f"{key}={value} " + command[m.start(1) :]
    return f"{key}={value} {command}"


def _exe_fix(b: GoBuild) -> str:
    # GitHub expressions (${{ matrix.goos }}) contain spaces: keep them whole.
    m = re.search(r"(?:^|\s)-o[= ]\s*((?:\$\{\{[^}]*\}\}|\S)+)", b.command)
    written = m.group(1) if m else b.output
    if "${{" in written:
        return f"-o {written}${{{{ matrix.goos == 'windows' && '.exe' || '' }}}}"
    if "$" in written:
        return f"-o {written}$EXT   (with EXT=.exe for GOOS=windows and empty otherwise)"
    return f"-o {written}.exe"


def _check_build(ctx: _Ctx, b: GoBuild) -> None:
    ctxt = f" ({b.context})" if b.context else ""
    goos, goarch = b.goos, b.goarch
    if (
        goos == "windows"
        and b.shipped is not False
        and b.output
        and known(b.output)
        and not b.output.endswith((".exe", "/"))
        and not b.output.endswith(UNKNOWN)
    ):
        ctx.add(
            "GOCI002",
            b.file,
            b.line,
            f"GOOS=windows build{ctxt} writes '{b.output}' without .exe; Windows will not run it by name",
            _exe_fix(b),
            [f"go {' '.join(b.args)}"],
            b.column,
        )
    if b.cgo_setting == "1" and b.is_cross and not b.cc:
        target = f"{goos}/{goarch}"
        cross_cc = {
            "arm64": "aarch64-linux-gnu-gcc",
            "arm": "arm-linux-gnueabihf-gcc",
            "amd64": "x86_64-linux-gnu-gcc",
            "386": "i686-linux-gnu-gcc",
        }.get(goarch, "")
        if goos == "windows":
            cross_cc = "x86_64-w64-mingw32-gcc" if goarch == "amd64" else "i686-w64-mingw32-gcc"
        suggestion = f"CC={cross_cc}" if cross_cc else f"CC='zig cc -target {goarch}-{goos}'"
        ctx.add(
            "GOCI005",
            b.file,
            b.line,
            f"CGO_ENABLED=1 cross build for {target}{ctxt} on a {b.host_os}/{b.host_arch} builder with no CC "
            "set: the host C compiler cannot produce code for the target",
            _prefix_env(b.command, "CC", suggestion.split("=", 1)[1]) if b.command else suggestion,
            [f"CGO_ENABLED=1, GOOS={goos}, GOARCH={goarch}, CC unset"],
            b.column,
        )
    elif (
        b.cgo_setting == "1"
        and not b.cc
        and "BUILDPLATFORM" in b.platform
        and any(t in b.env.get(k, "") for k in ("GOARCH", "GOOS") for t in ("TARGETARCH", "TARGETOS", "TARGETPLATFORM"))
    ):
        ctx.add(
            "GOCI005",
            b.file,
            b.line,
            f"CGO_ENABLED=1 with GOOS/GOARCH from the target platform{ctxt}, in a stage that runs on "
            f"--platform={b.platform}: every non-native platform is cross-compiled with the build "
            "platform's C compiler, which cannot produce it",
            "use tonistiigi/xx (COPY --from=tonistiigi/xx / /, xx-apk/xx-apt-get add gcc, xx-go build), "
            "or set CC to a cross compiler per TARGETARCH",
            [f"GOARCH={b.env.get('GOARCH', '')}, CGO_ENABLED=1, CC unset, FROM --platform={b.platform}"],
            b.column,
        )
    if b.static_link and b.cgo_on and b.goos == "linux" and not {"netgo", "osusergo"} <= _build_tags(b):
        libc = image_libc(b.image) if b.image else ("glibc", "")
        if libc is not None and libc[0] == "glibc":
            missing = sorted({"netgo", "osusergo"} - _build_tags(b))
            ctx.add(
                "GOCI013",
                b.file,
                b.line,
                f"static cgo link against glibc{ctxt} without -tags {','.join(missing)}: the linker warns "
                "\"Using 'getaddrinfo' in statically linked applications requires at runtime the shared "
                'libraries from the glibc version used for linking", and name lookups fail on other hosts',
                b.command.replace("go build", f"go build -tags {','.join(missing)}", 1)
                if "go build" in b.command and "-tags" not in b.command
                else f"-tags {','.join(missing)}",
                [f"-ldflags {b.ldflags}"],
                b.column,
            )
    _check_build_policy(ctx, b)


def _check_build_policy(ctx: _Ctx, b: GoBuild) -> None:
    pol = ctx.policy
    if pol is None:
        return
    ctxt = f" ({b.context})" if b.context else ""
    if pol.cgo_enabled is not None:
        on = b.cgo_on
        want = "1" if pol.cgo_enabled else "0"
        if on is not None and on != pol.cgo_enabled:
            state = f"CGO_ENABLED={b.cgo_setting}" if b.cgo_setting else "CGO_ENABLED unset (cgo on by default)"
            ctx.add(
                "GOCI101",
                b.file,
                b.line,
                f"policy {pol.name} requires CGO_ENABLED={want}; this build{ctxt} has {state}",
                _prefix_env(b.command, "CGO_ENABLED", want) if b.command else f"CGO_ENABLED={want}",
                [f"policy file: {pol.source}"],
                b.column,
            )
    if pol.goos and known(b.goos) and b.goos and b.goos not in pol.goos:
        ctx.add(
            "GOCI102",
            b.file,
            b.line,
            f"policy {pol.name} allows GOOS {', '.join(pol.goos)}; this build{ctxt} targets {b.goos}",
            f"GOOS={pol.goos[0]}",
            [f"policy file: {pol.source}"],
            b.column,
        )
    if pol.goarch and known(b.goarch) and b.goarch and b.goarch not in pol.goarch:
        ctx.add(
            "GOCI102",
            b.file,
            b.line,
            f"policy {pol.name} allows GOARCH {', '.join(pol.goarch)}; this build{ctxt} targets {b.goarch}",
            f"GOARCH={pol.goarch[0]}",
            [f"policy file: {pol.source}"],
            b.column,
        )
    if pol.require_trimpath and not b.trimpath:
        ctx.add(
            "GOCI008",
            b.file,
            b.line,
            f"policy {pol.name} requires -trimpath; this build{ctxt} lacks it",
            b.command.replace("go build", "go build -trimpath", 1) if "go build" in b.command else "flags: [-trimpath]",
            [],
            b.column,
        )
    if pol.require_empty_buildid and "-buildid=" not in b.ldflags:
        ctx.add(
            "GOCI009",
            b.file,
            b.line,
            f"policy {pol.name} requires -ldflags=-buildid=; this build{ctxt} does not set it",
            "-ldflags='-buildid='",
            [],
            b.column,
        )
    if pol.min_glibc_target and b.cgo_on and b.image:
        libc = image_libc(b.image)
        if libc and libc[0] == "glibc" and libc[1] and _vt(libc[1]) > _vt(pol.min_glibc_target):
            ctx.add(
                "GOCI104",
                b.file,
                b.line,
                f"cgo build{ctxt} links against glibc {libc[1]} of {b.image}; policy {pol.name} targets "
                f"glibc {pol.min_glibc_target}",
                f"CC='zig cc -target x86_64-linux-gnu.{pol.min_glibc_target}' or CGO_ENABLED=0",
                [f"{b.image}: glibc {libc[1]} (targets.toml)"],
                b.column,
            )


def _check_image_ref(ctx: _Ctx, file: str, line: int, ref: str, column: int = 1, role: str = "build") -> None:
    """GOCI007/GOCI012 for an image by its role: "build" (a Go toolchain runs in it), "runtime"
    (a dynamically linked Go binary runs in it) or "other" (only a policy's pinning rule applies)."""
    if not ref or not known(ref) or ref.lower() == "scratch":
        return
    why = _unpinned(ref)
    pinning_policy = bool(ctx.policy and ctx.policy.require_pinned_images)
    if why and (role == "build" or pinning_policy):
        repo_name = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
        level: Level | None = "error" if pinning_policy else None
        what = "build image" if role == "build" else "image"
        ctx.add(
            "GOCI007",
            file,
            line,
            f"{what} {ref} {why}: the Go version and libc it builds with change without notice",
            f"{repo_name}:<version>@sha256:<digest>",
            [],
            column,
            level,
        )
    elif why and role == "runtime":
        repo_name = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
        ctx.add(
            "GOCI012",
            file,
            line,
            f"runtime base {ref} {why}, and a dynamically linked Go binary runs in it: its libc can change",
            f"{repo_name}:<version>",
            [],
            column,
        )
    elif ctx.policy and ctx.policy.require_pinned_images and "@sha256:" not in ref:
        ctx.add(
            "GOCI007",
            file,
            line,
            f"policy {ctx.policy.name} requires images pinned by digest; {ref} has none",
            f"{ref}@sha256:<digest>  (docker buildx imagetools inspect {ref})",
            [],
            column,
            "error",
        )


# --------------------------------------------------------------------------------------------
# Dockerfile stages


def _chain(stage: Stage) -> list[Stage]:
    out: list[Stage] = []
    s: Stage | None = stage
    while s is not None:
        out.append(s)
        s = s.parent
    return out


def _check_stage_images(ctx: _Ctx, rel: str, stages: list[Stage], shipped: dict[int, list[GoBuild]]) -> None:
    """GOCI007 on images Go builds run in, GOCI012/GOCI011 on the runtime base of dynamic binaries."""
    for st in stages:
        if st.parent is not None:
            continue
        family = [s for s in stages if st in _chain(s)]
        builds = [b for s in family for b, _ in s.builds]
        if builds or any(s.opaque for s in family) or base_is_toolchain(strip_ref(st.root_image)[0]):
            _check_image_ref(ctx, rel, st.line, st.root_image, role="build")
            continue
        dyn = [b for s in family for b in shipped.get(s.index, []) if _dynamic(ctx, b)]
        # musl keeps its ABI: a newer alpine still runs a binary linked against an older musl.
        glibc_dyn = [b for b in dyn if (image_libc(b.image) or ("", ""))[0] != "musl"]
        _check_image_ref(ctx, rel, st.line, st.root_image, role="runtime" if glibc_dyn else "other")
        if dyn and image_libc(st.root_image) is None:
            ctx.add(
                "GOCI011",
                rel,
                st.line,
                f"a dynamically linked Go binary ({dyn[0].where()}) runs in {st.root_image}, whose C library "
                "goci-doctor does not know",
                f"goci-doctor check <binary> --target {st.root_image}",
            )


_NOT_BINARY = (
    ".sh",
    ".conf",
    ".json",
    ".yml",
    ".yaml",
    ".toml",
    ".txt",
    ".md",
    ".html",
    ".js",
    ".css",
    ".pem",
    ".crt",
    ".so",
    ".a",
    ".py",
    ".xml",
    ".ini",
    ".env",
    ".tmpl",
    ".sql",
    ".csv",
    ".png",
    ".svg",
)


def _may_be_binary(src: str) -> bool:
    """Whether a COPY source can be a Go binary (not a script, a config or a directory of them)."""
    name = posixpath.basename(src.rstrip("/"))
    return not src.endswith("/") and not name.lower().endswith(_NOT_BINARY) and name not in ("", ".", "*")


def _dynamic(ctx: _Ctx, b: GoBuild) -> bool:
    """Whether a build's binary links the C library dynamically (cgo on, no static link, cgo really used)."""
    if not b.cgo_on or b.static_link or (b.goos != "linux" and known(b.goos)):
        return False  # an unresolved GOOS ($TARGETOS) copied into a Linux image is a Linux build
    tags = _build_tags(b)
    if {"netgo", "osusergo"} <= tags and ctx.uses_cgo() is False:
        return False  # pure-Go resolver and user lookup, no import "C": the linker links statically
    return True


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


def _check_stages(ctx: _Ctx, rel: str, stages: list[Stage]) -> None:
    by_name = {s.name.lower(): s for s in stages if s.name}
    shipped: dict[int, list[GoBuild]] = {}
    for st in stages:
        run_libc = image_libc(st.root_image)
        run_os = _image_os(st.root_image)
        run_arch = platform_arch(st.platform)
        for copy_line, src_from, sources, dest in st.copies:
            src_stage = by_name.get(src_from.lower())
            if src_stage is None and src_from.isdigit() and int(src_from) < len(stages):
                src_stage = stages[int(src_from)]
            if src_stage is None:
                continue
            matched = False
            for b, output in stage_builds(src_stage):
                if not copy_matches(output, sources):
                    continue
                matched = True
                shipped.setdefault(st.index, []).append(b)
                _check_shipped(ctx, rel, b, st, copy_line, dest, run_libc, run_os, run_arch)
            if (
                not matched
                and run_libc is not None
                and run_libc[0] in ("musl", "none")
                and any(_may_be_binary(src) for src in sources)
            ):
                opaque = [what for s in _chain(src_stage) for _line, what in s.opaque]
                if opaque and src_stage.env.get("CGO_ENABLED") != "0":  # ENV CGO_ENABLED=0: static
                    ctx.add(
                        "GOCI010",
                        rel,
                        copy_line,
                        f"COPY puts {' '.join(sources)} from stage {src_from} into {st.root_image} "
                        f"({_libc_text(run_libc)}); {opaque[0]}: could not follow whether it is static",
                        f"goci-doctor check <the built binary> --target {st.root_image}",
                        opaque[:3],
                    )
        # A binary built in this same stage and executed here (RUN ./app).
        for b, output in stage_builds(st):
            if b.goos == "windows" and output and not output.endswith("/"):
                for run_line, prog in st.runs:
                    if (
                        prog
                        and (prog == output or posixpath.basename(prog) == posixpath.basename(output))
                        and run_os == "linux"
                    ):
                        ctx.add(
                            "GOCI003",
                            rel,
                            run_line,
                            f"RUN executes {prog}, a GOOS=windows build ({b.where()}), in a Linux stage: "
                            "exec format error",
                            "GOOS=linux for binaries run during the build",
                            [b.command],
                        )
    _check_stage_images(ctx, rel, stages, shipped)
    if stages:
        final = stages[-1]
        ctx.runtime_images.append((rel, final.line, final.root_image))


def _crash_text(run_libc: tuple[str, str], build_libc: tuple[str, str], dest: str, b: GoBuild) -> str:
    """What the container prints when it starts the binary."""
    exe = dest
    if dest.endswith("/") or dest in (".", "./") or not known(dest):
        # A directory destination: the file keeps the name the build gave it (if that is known).
        name = posixpath.basename(b.output) if b.output and known(b.output) and not b.output.endswith("/") else ""
        base = dest if known(dest) and dest not in (".", "./") else ""
        exe = posixpath.join(base or "./", name) if name else "<the binary>"
    if run_libc[0] == build_libc[0] == "glibc":
        needed = "2.34" if _vt(build_libc[1]) >= _GLIBC_START_MAIN > _vt(run_libc[1]) else build_libc[1]
        return f'"{exe}: ... version `GLIBC_{needed}\' not found"'
    return f'"exec {exe}: no such file or directory" (the dynamic loader is missing)'


def _check_shipped(
    ctx: _Ctx,
    rel: str,
    b: GoBuild,
    st: Stage,
    copy_line: int,
    dest: str,
    run_libc: tuple[str, str] | None,
    run_os: str,
    run_arch: str,
) -> None:
    """Checks for a build whose output is copied into stage ``st``."""
    image = st.root_image
    if b.goos == "windows" and run_os == "linux":
        ctx.add(
            "GOCI003",
            rel,
            copy_line,
            f"COPY puts a GOOS=windows binary (built at line {b.line}) into the Linux image {image}: "
            "the kernel cannot execute a PE file (exec format error)",
            _prefix_env(b.command, "GOOS", "linux"),
            [b.command, f"runtime stage: {image} (line {st.line})"],
        )
    if b.goos == "linux" and known(b.goarch) and b.goarch and run_arch and b.goarch != run_arch:
        ctx.add(
            "GOCI004",
            rel,
            copy_line,
            f"the binary is built for GOARCH={b.goarch} (line {b.line}) but the stage it is copied into "
            f"runs as {st.platform}: exec format error",
            "ARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build ...",
            [b.command, f"FROM --platform={st.platform} {st.image} (line {st.line})"],
        )
    if _dynamic(ctx, b) and run_libc is not None:
        build_libc = image_libc(b.image)
        if build_libc is None:
            if run_libc[0] in ("musl", "none") or b.image != image:
                ctx.add(
                    "GOCI011",
                    rel,
                    copy_line,
                    f"a cgo binary built in {b.image} ({b.context}), whose C library goci-doctor does not know, "
                    f"is copied into {image} ({_libc_text(run_libc)}): whether it runs cannot be told",
                    f"goci-doctor check <binary> --target {image}",
                    [b.command],
                )
            return
        problem, level = _libc_problem(build_libc, run_libc)
        if not problem:
            return
        state = "CGO_ENABLED=1" if b.cgo_setting == "1" else "CGO_ENABLED is not set (cgo defaults to on)"
        fix = _prefix_env(b.command, "CGO_ENABLED", "0")
        ctx.add(
            "GOCI001",
            b.file,
            b.line,
            f"{state} in {b.image} ({_libc_text(build_libc)}), and the binary is copied (line {copy_line}) "
            f"into {image}: {problem}. The container "
            f"{'fails' if level == 'error' else 'can fail'} with {_crash_text(run_libc, build_libc, dest, b)}",
            f"RUN {fix}" if ", via " not in b.context else f"{fix}   (in {b.context.split(', via ', 1)[1]})",
            [
                f"build: {b.command} in {b.image} ({_libc_text(build_libc)}; {b.context})",
                f"runtime: FROM {st.image} (line {st.line}) → {_libc_text(run_libc)}",
            ],
            level=level,
        )


# --------------------------------------------------------------------------------------------
# Applying the rules to what each config says


def _apply(
    ctx: _Ctx, facts: ConfigFacts, check: Callable[[_Ctx, GoBuild], None] | None = None, images: bool = True
) -> None:
    """GOCI000 for what could not be read, GOCI007 for the images builds run in, ``check`` for each build."""
    for line, message, fix in facts.problems:
        ctx.add("GOCI000", facts.file, line, message, fix)
    for line, image in facts.images if images else []:
        toolchain = base_is_toolchain(strip_ref(image)[0])
        role = "build" if toolchain or any(b.image == image for b in facts.builds) else "other"
        _check_image_ref(ctx, facts.file, line, image, role=role)
    ctx.builds.extend(facts.builds)
    for b in facts.builds:
        (check or _check_build)(ctx, b)


def _scan_dockerfile(ctx: _Ctx, path: Path) -> None:
    facts = read_dockerfile(path, ctx.rel(path))
    for b in facts.builds:
        root_libc = image_libc(b.image)
        if b.cc_available is None and root_libc and root_libc[0] == "musl":
            b.cc_available = False  # golang:*-alpine ships no gcc unless the Dockerfile installs one
    _apply(ctx, facts, images=False)
    _check_stages(ctx, facts.file, facts.stages)


def _scan_github(ctx: _Ctx, path: Path) -> None:
    facts = read_github(path, ctx.rel(path))
    ctx.release_envs += facts.release_envs
    _apply(ctx, facts)


def _scan_gitlab(ctx: _Ctx, path: Path) -> None:
    _apply(ctx, read_gitlab(path, ctx.rel(path)))


def _scan_makefile(ctx: _Ctx, path: Path) -> None:
    _apply(ctx, read_makefile(path, ctx.rel(path)))


def _scan_goreleaser(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    facts = read_goreleaser(path, rel)
    # goreleaser runs `go build` in the CI step's environment: CGO_ENABLED set there (e.g. a job
    # `env: CGO_ENABLED: 0`) applies to every build whose own env does not set it.
    inherited = {e.get("CGO_ENABLED") for e in ctx.release_envs}
    if inherited and inherited != {None}:
        value = inherited.pop() if len(inherited) == 1 else UNKNOWN
        for b in facts.builds:
            b.env.setdefault("CGO_ENABLED", value if value is not None else UNKNOWN)
    # goreleaser reports a missing cross compiler once per build entry, not once per target (GOCI005
    # below), so only the policy rules run per target.
    _apply(ctx, facts, _check_build_policy)
    shipped_linux: list[GoBuild] = []
    for entry in facts.entries:
        cross_no_cc = [f"{b.goos}/{b.goarch}" for b in entry.builds if b.cgo_setting == "1" and b.is_cross and not b.cc]
        shipped_linux += [b for b in entry.builds if b.goos == "linux" and b.goarch == "amd64"]
        if cross_no_cc:
            ctx.add(
                "GOCI005",
                rel,
                entry.line,
                f"build {entry.id} sets CGO_ENABLED=1 and cross-compiles {', '.join(cross_no_cc)} with no CC: "
                "goreleaser runs every target with the host C compiler, which cannot produce them",
                "overrides:\n  - goos: linux\n    goarch: arm64\n    env: [CC=aarch64-linux-gnu-gcc]\n"
                'or env: ["CC=zig cc -target {{ .Arch }}-{{ .Os }}"] (goreleaser-cross / zig)',
                [f"targets: {', '.join(f'{o}/{a}' for o, a in entry.targets)}"],
            )
    for line, dockerfile in facts.dockers:
        dpath = ctx.repo / dockerfile
        if not known(dockerfile) or not dpath.is_file():
            continue
        from_image, from_line = final_image(dpath)
        if not from_image:
            continue
        run_libc = image_libc(from_image)
        for b in shipped_linux:
            if b.cgo_on and not b.static_link and run_libc and run_libc[0] in ("musl", "none"):
                state = "CGO_ENABLED=1" if b.cgo_setting == "1" else "CGO_ENABLED unset (on for native linux/amd64)"
                ctx.add(
                    "GOCI001",
                    rel,
                    line,
                    f"goreleaser {b.context} has {state}, so the binary links the runner's glibc, and "
                    f"{dockerfile} ships it in {from_image} ({_libc_text(run_libc)}): the container fails "
                    "with 'exec /app: no such file or directory'",
                    "builds[].env: [CGO_ENABLED=0]",
                    [f"{dockerfile}:{from_line}: FROM {from_image}"],
                )
                break
    for line, ref in facts.ko_images:
        ctx.runtime_images.append((rel, line, ref))
        _check_image_ref(ctx, rel, line, ref, role="other")  # ko builds are CGO_ENABLED=0: static


# --------------------------------------------------------------------------------------------
# go.mod


def _check_go_mod(ctx: _Ctx, path: Path) -> None:
    rel = ctx.rel(path)
    try:
        requires = parse_go_mod_requires(safeio.read_text(path, errors="replace"))
    except safeio.UnsafeInput as exc:
        ctx.add("GOCI000", rel, 1, f"cannot read {rel}: {exc.reason}", "make the file a readable regular file")
        return
    mod_dir = path.parent.relative_to(ctx.repo).as_posix()
    builds = [b for b in ctx.builds if mod_dir in (".", "") or b.file.startswith(mod_dir + "/")]
    from goci_doctor.gate.cgouse import scan_source

    for module, version, line in requires:
        cm = next((m for m in cgo_modules() if m.matches(module)), None)
        if cm is None:
            continue
        source = scan_source(path.parent)  # only for a go.mod that names a cgo-only module (cached)
        if source.files and not source.imports_module(module):
            continue  # required (often `// indirect`) but imported by no package of this module
        alt = cm.alternatives[0] if cm.alternatives else ""
        fix = (
            f"go get {alt} && go mod tidy  # replace {module} (pure Go: {', '.join(cm.alternatives)})"
            if alt
            else f"keep cgo on for {module} and build per target with a matching C toolchain"
        )
        if builds and all(b.cgo_setting == "0" for b in builds):
            where = ", ".join(sorted({b.where() for b in builds})[:4])
            ctx.add(
                "GOCI006",
                rel,
                line,
                f"{module} {version} needs cgo ({cm.library}) but every build sets CGO_ENABLED=0 ({where}). {cm.note}",
                fix,
                [f"cgo_modules.toml: {cm.source}"],
            )
        elif ctx.policy is not None and ctx.policy.cgo_enabled is False:
            ctx.add(
                "GOCI101",
                rel,
                line,
                f"policy {ctx.policy.name} requires CGO_ENABLED=0 but {module} needs cgo ({cm.library}). {cm.note}",
                fix,
                [f"cgo_modules.toml: {cm.source}"],
            )


# --------------------------------------------------------------------------------------------
# Repository walk

_SKIP_DIRS = {".git", "vendor", "node_modules", "testdata", ".venv", "__pycache__", "third_party"}


def _walk(repo: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not (d.startswith(".") and d not in (".github", ".gitlab"))
        )
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _is_dockerfile(name: str) -> bool:
    low = name.lower()
    return low in ("dockerfile", "containerfile") or low.startswith("dockerfile.") or low.endswith(".dockerfile")


_SCANNERS: tuple[tuple[Callable[[str, str], bool], Callable[[_Ctx, Path], None]], ...] = (
    # (does this repository-relative path and file name hold the config, how to lint it); the
    # first match wins, and files are linted kind by kind in this order.
    (lambda rel, name: _is_dockerfile(name), _scan_dockerfile),
    (lambda rel, name: rel.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")), _scan_github),
    (lambda rel, name: name in (".gitlab-ci.yml", ".gitlab-ci.yaml"), _scan_gitlab),
    (lambda rel, name: name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"), _scan_makefile),
    (
        lambda rel, name: name in (".goreleaser.yaml", ".goreleaser.yml", "goreleaser.yaml", "goreleaser.yml"),
        _scan_goreleaser,
    ),
    (lambda rel, name: name == "go.mod", _check_go_mod),
)


def _scan_bounded(ctx: _Ctx, scan: Callable[[_Ctx, Path], None], path: Path) -> None:
    """Lint one file within its expansion budget; a refusal or a parser overflow becomes GOCI000."""
    rel = ctx.rel(path)
    try:
        with safeio.expansion_budget():
            scan(ctx, path)
    except safeio.UnsafeInput as exc:
        ctx.add(
            "GOCI000",
            rel,
            1,
            f"cannot read {rel}: {exc.reason}",
            "make the file a readable regular file of reasonable size",
        )
    except RecursionError:
        ctx.add("GOCI000", rel, 1, f"cannot read {rel}: nested too deeply to parse", "simplify the file")


def lint_repo(repo: Path | str, policy_env: PolicyEnv | None = None) -> LintReport:
    """Lint every CI config under ``repo``; with ``policy_env`` also apply that environment's rules.

    Raises BadInputError when ``repo`` is not a directory. Unparseable files become GOCI000
    findings, never exceptions.
    """
    root = Path(repo)
    if not root.is_dir():
        raise BadInputError(f"{repo}: no such directory")
    root = root.resolve()
    ctx = _Ctx(root, policy_env)
    found: list[list[Path]] = [[] for _ in _SCANNERS]
    for p in _walk(root):
        rel, name = p.relative_to(root).as_posix(), p.name
        kind = next((i for i, (matches, _) in enumerate(_SCANNERS) if matches(rel, name)), None)
        if kind is not None:
            found[kind].append(p)
    # Every config is read before go.mod, whose rule looks at all the builds.
    with safeio.confined(root):  # nothing a pull request symlinks out of the checkout is read
        for (_, scan), paths in zip(_SCANNERS, found, strict=True):
            for p in paths:
                ctx.files.append(ctx.rel(p))
                _scan_bounded(ctx, scan, p)
    if policy_env is not None and policy_env.allowed_images:
        for file, line, image in ctx.runtime_images:
            if known(image) and not policy_env.image_allowed(image):
                ctx.add(
                    "GOCI103",
                    file,
                    line,
                    f"runtime image {image} is not allowed by policy {policy_env.name} "
                    f"(allowed: {', '.join(policy_env.allowed_images)})",
                    f"FROM {policy_env.allowed_images[0].replace('*', '')}",
                    [f"policy file: {policy_env.source}"],
                )
    findings = sorted(ctx.findings.values(), key=lambda f: (f.file, f.line, f.rule_id, f.message))
    builds = tuple(f"{b.where()} ({b.context})" for b in ctx.builds)
    return LintReport(str(root), tuple(findings), tuple(ctx.files), policy_env.name if policy_env else "", builds)
