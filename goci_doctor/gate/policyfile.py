"""The CI policy file (``.goci-policy.toml`` or ``--policy-file``): environments and the build
settings their artifacts must have, loaded and validated (unknown keys rejected, errors naming the
file and the key). ``gate.lint`` reads a ``PolicyEnv`` to hold builds to it; ``gate.policy`` checks.

Imports: model, safety.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor.model import BadInputError

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
