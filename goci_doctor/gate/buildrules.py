"""Rules over one ``go build`` wherever it was found: cgo and cross builds, build flags, the
policy's settings, image references.

Imports: model, knowledge, gate (build model, rules, lint context)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from goci_doctor.gate.buildmodel import GoBuild
from goci_doctor.gate.lintctx import _build_tags, _Ctx, _unpinned, _vt, image_libc
from goci_doctor.gate.rules import Level
from goci_doctor.gate.shell import UNKNOWN, known

if TYPE_CHECKING:
    pass

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
