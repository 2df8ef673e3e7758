"""CI policy gate: ``goci-doctor check --policy ENV``.

A policy file (``.goci-policy.toml`` in the repository, or ``--policy-file``) declares
environments with the build settings their artifacts must have::

    [env.prod]
    cgo_enabled = false           # required CGO_ENABLED
    goos = ["linux"]
    goarch = ["amd64", "arm64"]
    min_glibc_target = "2.17"     # artifacts must not need a newer glibc
    allowed_images = ["gcr.io/distroless/static*", "alpine:3.*"]
    require_trimpath = true
    require_pinned_images = true
    require_empty_buildid = false

``check_policy`` applies it to the repository's configs (through ``lint``), to the live build
environment (``go env`` plus CI variables) and to built artifacts (static inspection). Any
violation makes the command exit 1; a bad policy file or an unknown environment exits 2.
The command itself is ``cli.check``; the file's format is ``gate.policyfile``.
Imports: ``gate.lint``, ``gate.policyfile``, ``model``, ``artifact`` and ``hostenv``
(lazily); never ``render`` or ``cli``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from goci_doctor.gate.lint import lint_repo
from goci_doctor.gate.policyfile import Policy, PolicyEnv
from goci_doctor.gate.rules import LintFinding
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import EnvFacts

# --------------------------------------------------------------------------------------------
# Checks


def _finding(rule: str, file: str, message: str, fix: str, evidence: Sequence[str] = ()) -> LintFinding:
    return LintFinding(rule, "error", file, 0, 0, message, fix, tuple(evidence))


def check_live_env(
    env: PolicyEnv, facts: EnvFacts | None, environ: Mapping[str, str] | None = None
) -> list[LintFinding]:
    """Compare CGO_ENABLED/GOOS/GOARCH of the live environment with the policy.

    ``facts.go`` (``go env``) gives what a plain ``go build`` would use here; ``environ``
    (the CI job's variables) overrides it, as it does for the go command.
    """
    values: dict[str, tuple[str, str]] = {}
    if facts is not None:
        for key in ("CGO_ENABLED", "GOOS", "GOARCH"):
            if facts.go.get(key):
                values[key] = (facts.go[key], "go env")
    for key in ("CGO_ENABLED", "GOOS", "GOARCH"):
        if environ and environ.get(key):
            values[key] = (environ[key], "environment variable")
    out: list[LintFinding] = []
    if env.cgo_enabled is not None and "CGO_ENABLED" in values:
        value, source = values["CGO_ENABLED"]
        want = "1" if env.cgo_enabled else "0"
        if value != want:
            out.append(
                _finding(
                    "GOCI105",
                    "",
                    f"policy {env.name} requires CGO_ENABLED={want}; the live "
                    f"environment has CGO_ENABLED={value} ({source})",
                    f"export CGO_ENABLED={want}",
                    [f"{source}: CGO_ENABLED={value}"],
                )
            )
    for key, allowed in (("GOOS", env.goos), ("GOARCH", env.goarch)):
        if allowed and key in values and values[key][0] not in allowed:
            value, source = values[key]
            out.append(
                _finding(
                    "GOCI105",
                    "",
                    f"policy {env.name} allows {key} {', '.join(allowed)}; the live "
                    f"environment has {key}={value} ({source})",
                    f"export {key}={allowed[0]}",
                    [f"{source}: {key}={value}"],
                )
            )
    return out


def check_artifact(env: PolicyEnv, facts: ArtifactFacts) -> list[LintFinding]:
    """Check one inspected artifact against the policy (cgo, GOOS/GOARCH, glibc floor)."""
    from goci_doctor.knowledge import version_tuple

    out: list[LintFinding] = []
    path = facts.path
    if not facts.is_executable_format:
        out.append(
            _finding(
                "GOCI102",
                path,
                f"{path} is not an executable ({facts.description})",
                "check the build output path",
                list(facts.problems),
            )
        )
        return out
    cgo = facts.go.cgo_enabled if facts.go is not None else None
    if cgo is None and facts.kind == "elf":
        # No build info (stripped by a packer): a dynamically linked glibc binary means cgo.
        cgo = facts.linkage == "dynamic"
    if env.cgo_enabled is not None and cgo is not None and cgo != env.cgo_enabled:
        want = "1" if env.cgo_enabled else "0"
        ev = [
            f"Go build info: CGO_ENABLED={facts.go.setting('CGO_ENABLED')}"
            if facts.go
            else f"linkage: {facts.linkage}",
            facts.description,
        ]
        out.append(
            _finding(
                "GOCI101",
                path,
                f"policy {env.name} requires CGO_ENABLED={want}; {path} was built "
                f"with CGO_ENABLED={'1' if cgo else '0'}",
                f"rebuild with CGO_ENABLED={want}",
                ev,
            )
        )
    if env.goos and facts.os and facts.os not in env.goos:
        out.append(
            _finding(
                "GOCI102",
                path,
                f"policy {env.name} allows GOOS {', '.join(env.goos)}; {path} is a {facts.os} binary",
                f"rebuild with GOOS={env.goos[0]}",
                [facts.description],
            )
        )
    if env.goarch and facts.arch and facts.arch not in env.goarch:
        out.append(
            _finding(
                "GOCI102",
                path,
                f"policy {env.name} allows GOARCH {', '.join(env.goarch)}; {path} is built for {facts.arch}",
                f"rebuild with GOARCH={env.goarch[0]}",
                [facts.description],
            )
        )
    if (
        env.min_glibc_target
        and facts.glibc_required
        and version_tuple(facts.glibc_required) > version_tuple(env.min_glibc_target)
    ):
        floor = ", ".join(facts.glibc_floor_symbols[:3])
        out.append(
            _finding(
                "GOCI104",
                path,
                f"{path} needs glibc {facts.glibc_required}"
                f"{f' ({floor})' if floor else ''}; policy {env.name} targets glibc "
                f"{env.min_glibc_target}: it fails with \"version `GLIBC_{facts.glibc_required}' "
                'not found" there',
                f"CC='zig cc -target x86_64-linux-gnu.{env.min_glibc_target}' go build ...  (or CGO_ENABLED=0)",
                [f"ELF .gnu.version_r: highest GLIBC_{facts.glibc_required}"],
            )
        )
    return out


def check_policy(
    policy: Policy,
    env_name: str,
    repo: Path | str | None,
    artifacts: Sequence[str | os.PathLike[str]] = (),
    live_env: EnvFacts | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[LintFinding]:
    """All policy violations of ``env_name``: configs in ``repo`` (None: skip), the live
    environment (``live_env`` and CI variables in ``environ``; None: skip) and ``artifacts``.

    Raises BadInputError for an unknown environment or a missing artifact.
    """
    env = policy.env(env_name)
    findings: list[LintFinding] = []
    if repo is not None:
        findings.extend(lint_repo(repo, env).findings)
    if live_env is not None or environ is not None:
        findings.extend(check_live_env(env, live_env, environ))
    if artifacts:
        from goci_doctor.artifact import inspect_path, iter_artifacts

        for path in iter_artifacts(list(artifacts)):
            findings.extend(check_artifact(env, inspect_path(path)))
    return findings
