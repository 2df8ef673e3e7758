"""Rules over Dockerfile stages: where a binary is built and where it is shipped, and whether the
runtime image can load it (libc, loader, shell, CA certificates).

Imports: model, knowledge, gate (build model, rules, lint context, build rules)."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from goci_doctor.gate.buildmodel import GoBuild, Stage, copy_matches, platform_arch, stage_builds
from goci_doctor.gate.buildrules import _check_image_ref, _prefix_env
from goci_doctor.gate.imagefamily import base_is_toolchain, strip_ref
from goci_doctor.gate.lintctx import (
    _GLIBC_START_MAIN,
    _build_tags,
    _Ctx,
    _image_os,
    _libc_problem,
    _libc_text,
    _vt,
    image_libc,
)
from goci_doctor.gate.shell import known

if TYPE_CHECKING:
    pass

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
