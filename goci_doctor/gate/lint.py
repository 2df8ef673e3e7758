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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from goci_doctor.gate.buildmodel import ConfigFacts, GoBuild
from goci_doctor.gate.buildrules import _check_build, _check_build_policy, _check_image_ref
from goci_doctor.gate.dockerfile import final_image, read_dockerfile
from goci_doctor.gate.ghaworkflow import read_workflow as read_github
from goci_doctor.gate.gitlab import read_gitlab
from goci_doctor.gate.gomod import parse_go_mod_requires
from goci_doctor.gate.goreleaser import read_goreleaser
from goci_doctor.gate.imagefamily import base_is_toolchain, strip_ref
from goci_doctor.gate.lintctx import _Ctx, _libc_text, image_libc
from goci_doctor.gate.makefile import read_makefile
from goci_doctor.gate.rules import LintReport
from goci_doctor.gate.shell import UNKNOWN, known
from goci_doctor.gate.stagerules import _check_stages
from goci_doctor.knowledge.cgo import cgo_modules
from goci_doctor.model import BadInputError
from goci_doctor.safety import safeio

if TYPE_CHECKING:
    from goci_doctor.gate.policyfile import PolicyEnv


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
