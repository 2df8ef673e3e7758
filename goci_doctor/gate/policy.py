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
The command itself is ``cli.check``. Imports: ``gate.lint``, ``model``, ``artifact`` and ``hostenv``
(lazily); never ``render`` or ``cli``.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor.gate.lint import LintFinding, lint_repo
from goci_doctor.model import ArtifactFacts, BadInputError, EnvFacts

POLICY_FILE = ".goci-policy.toml"

_KEYS: dict[str, tuple[type, ...]] = {
    "cgo_enabled": (bool,),
    "goos": (list,),
    "goarch": (list,),
    "min_glibc_target": (str,),
    "allowed_images": (list,),
    "require_trimpath": (bool,),
    "require_pinned_images": (bool,),
    "require_empty_buildid": (bool,),
    "description": (str,),
}


@dataclass(frozen=True)
class PolicyEnv:
    """The rules of one environment (dev, staging, prod...)."""

    name: str
    source: str
    """The policy file it was read from."""
    cgo_enabled: bool | None = None
    goos: tuple[str, ...] = ()
    goarch: tuple[str, ...] = ()
    min_glibc_target: str = ""
    allowed_images: tuple[str, ...] = ()
    require_trimpath: bool = False
    require_pinned_images: bool = False
    require_empty_buildid: bool = False
    description: str = ""

    def image_allowed(self, ref: str) -> bool:
        """Whether an image reference matches one of allowed_images (shell globs)."""
        if not self.allowed_images:
            return True
        bare = ref.split("@", 1)[0]
        candidates = {ref, bare}
        for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
            if bare.startswith(prefix):
                candidates.add(bare[len(prefix) :])
        return any(fnmatch.fnmatchcase(c, pat) for c in candidates for pat in self.allowed_images)


@dataclass(frozen=True)
class Policy:
    """A parsed policy file."""

    path: str
    envs: dict[str, PolicyEnv]

    def env(self, name: str) -> PolicyEnv:
        """The named environment; BadInputError listing the defined ones when unknown."""
        if name not in self.envs:
            defined = ", ".join(sorted(self.envs)) or "none"
            raise BadInputError(f"{self.path}: no environment '{name}' (defined: {defined})")
        return self.envs[name]


def policy_path(repo: Path | str, policy_file: str | None = None) -> Path:
    """The policy file to use: ``policy_file`` if given, else REPO/.goci-policy.toml."""
    return Path(policy_file) if policy_file else Path(repo) / POLICY_FILE


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file. Errors (BadInputError) name the file and the key."""
    p = Path(path)
    from goci_doctor.safety import safeio

    try:
        text = safeio.read_text(p)
    except safeio.UnsafeInput as exc:
        if exc.missing:
            raise BadInputError(f"{p}: policy file not found (create {POLICY_FILE} or pass --policy-file)") from None
        raise BadInputError(f"{p}: cannot read policy file: {exc.reason}") from None
    try:
        doc = safeio.loads_toml(text, p)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{p}: invalid TOML: {exc}") from exc
    unknown_top = [k for k in doc if k != "env"]
    if unknown_top:
        raise BadInputError(f"{p}: unknown top-level key '{unknown_top[0]}' (expected [env.NAME] tables)")
    envs_raw = doc.get("env", {})
    if not isinstance(envs_raw, dict) or not envs_raw:
        raise BadInputError(f"{p}: no environments defined (add an [env.prod] table)")
    envs: dict[str, PolicyEnv] = {}
    for name, raw in envs_raw.items():
        if not isinstance(raw, dict):
            raise BadInputError(f"{p}: env.{name}: must be a table")
        envs[name] = _parse_env(p, name, raw)
    return Policy(str(p), envs)


def _parse_env(p: Path, name: str, raw: Mapping[str, Any]) -> PolicyEnv:
    from goci_doctor.knowledge import version_tuple

    for key, value in raw.items():
        if key not in _KEYS:
            raise BadInputError(f"{p}: env.{name}.{key}: unknown key (known: {', '.join(_KEYS)})")
        if not isinstance(value, _KEYS[key]):
            want = _KEYS[key][0].__name__
            raise BadInputError(f"{p}: env.{name}.{key}: expected {want}, got {type(value).__name__}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise BadInputError(f"{p}: env.{name}.{key}: expected a list of strings")
    glibc = raw.get("min_glibc_target", "")
    if glibc and len(version_tuple(glibc)) < 2:
        raise BadInputError(f"{p}: env.{name}.min_glibc_target: '{glibc}' is not a glibc version like \"2.17\"")
    return PolicyEnv(
        name=name,
        source=str(p),
        cgo_enabled=raw.get("cgo_enabled"),
        goos=tuple(raw.get("goos", ())),
        goarch=tuple(raw.get("goarch", ())),
        min_glibc_target=glibc,
        allowed_images=tuple(raw.get("allowed_images", ())),
        require_trimpath=raw.get("require_trimpath", False),
        require_pinned_images=raw.get("require_pinned_images", False),
        require_empty_buildid=raw.get("require_empty_buildid", False),
        description=raw.get("description", ""),
    )


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
