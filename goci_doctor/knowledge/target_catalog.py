"""Deploy and build targets (data/targets.toml): the catalog, and resolving a name or an image
reference (tags, digests, registries) to a target.

Imports: model, knowledge.base.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from goci_doctor.knowledge.base import (
    GO_ARCHS,
    GO_OSES,
    LIBCS,
    _check_keys,
    _data_path,
    _entries,
    _read_toml,
    version_tuple,
)
from goci_doctor.model import BadInputError, GociError
from goci_doctor.records import Target

_TARGET_REQUIRED: dict[str, type] = {
    "name": str,
    "title": str,
    "os": str,
    "archs": list,
    "libc": str,
    "source": str,
}

_TARGET_OPTIONAL: dict[str, type] = {
    "aliases": list,
    "libc_version": str,
    "image": str,
    "kernel": str,
    "shell": str,
    "libraries": list,
    "gcompat": bool,
    "build_image": bool,
    "eol": str,
    "notes": str,
    # Knowledge-base only (not on model.Target): bare version tags of this image's repository
    # that point at this target, e.g. golang:bookworm has "1.20".."1.23" (golang:1.22 is bookworm).
    "version_tags": list,
}


def glibc_of(target: Target | str) -> tuple[int, ...] | None:
    """The glibc version of a target (or target name) as a tuple, or None when it has no glibc."""
    t = resolve_target(target) if isinstance(target, str) else target
    if t.libc != "glibc" or not t.libc_version:
        return None
    return version_tuple(t.libc_version)


# --------------------------------------------------------------------------------------------
# Loading and validation


@dataclass(frozen=True)
class TargetCatalog:
    """A validated set of targets plus the lookup tables built from it (see ``load_catalog``)."""

    path: Path
    targets: dict[str, Target]
    keys: dict[str, str]
    """Normalised name/alias/image → canonical name."""
    version_tags: dict[str, list[tuple[tuple[int, ...], str]]]
    """Image repository → [(bare version tag, canonical name)], e.g. "golang" → [((1, 22), ...)]."""
    any_tag: dict[str, str]
    """Image repository whose every tag is this target (aliases "repo:*"), e.g. "ubi9/ubi-minimal"."""

    def find(self, name: str) -> Target | None:
        """The target a name or image reference means in this catalog, or None."""
        return _find(self, name)

    def resolve(self, name: str) -> Target:
        """Like ``find`` but raises BadInputError with close suggestions when unknown."""
        return _resolve(self, name)


def load_targets(path: str | Path | None = None) -> dict[str, Target]:
    """Load and validate a targets file (default: the shipped targets.toml), keyed by canonical name.

    Raises GociError naming the file and the entry on unknown keys, a missing source, a bad
    libc value or arch, or a name/alias used twice.
    """
    return load_catalog(path).targets


def load_catalog(path: str | Path | None = None) -> TargetCatalog:
    """Load and validate a targets file into a catalog that can ``find`` and ``resolve`` names.

    ``None`` means the shipped targets.toml (use ``catalog()`` for the cached one).
    """
    path = Path(path) if path is not None else _data_path("targets.toml")
    doc = _read_toml(path)
    out: dict[str, Target] = {}
    keys: dict[str, str] = {}
    version_tags: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    any_tag: dict[str, str] = {}
    for i, e in enumerate(_entries(path, doc, "target")):
        label = f"target '{e.get('name', f'#{i + 1}')}'"
        _check_keys(path, label, e, _TARGET_REQUIRED, _TARGET_OPTIONAL)
        name = e["name"].strip().lower()
        if e["libc"] not in LIBCS:
            raise GociError(f"{path}: {label}: libc must be one of {LIBCS}, got {e['libc']!r}")
        if e["libc"] != "none" and not e.get("libc_version") and e["os"] == "linux":
            raise GociError(f"{path}: {label}: libc {e['libc']} needs a libc_version")
        if e["os"] not in GO_OSES:
            raise GociError(f"{path}: {label}: os must be one of {GO_OSES}, got {e['os']!r}")
        bad_archs = [a for a in e["archs"] if a not in GO_ARCHS]
        if bad_archs or not e["archs"]:
            raise GociError(f"{path}: {label}: archs must be Go GOARCH names, got {e['archs']!r}")
        t = Target(
            name=name,
            title=e["title"],
            aliases=tuple(a.strip().lower() for a in e.get("aliases", [])),
            os=e["os"],
            archs=tuple(e["archs"]),
            libc=e["libc"],
            libc_version=e.get("libc_version", ""),
            image=e.get("image", ""),
            kernel=e.get("kernel", ""),
            shell=e.get("shell", "/bin/sh"),
            libraries=tuple(e.get("libraries", [])),
            gcompat=e.get("gcompat", False),
            build_image=e.get("build_image", False),
            eol=e.get("eol", ""),
            source=e["source"],
            notes=e.get("notes", ""),
        )
        for key in (name, *t.aliases):
            # "repo:*": every tag of that repository (the repository name carries the release).
            wildcard = key.endswith(":*")
            nk = normalize_ref(key[:-2] if wildcard else key, keep_registry=True)
            if nk in keys and keys[nk] != name:
                raise GociError(f"{path}: {label}: name/alias '{key}' is already used by target '{keys[nk]}'")
            keys[nk] = name
            if wildcard:
                if any_tag.get(nk, name) != name:
                    raise GociError(f"{path}: {label}: alias '{key}' is already used by target '{any_tag[nk]}'")
                any_tag[nk] = name
        if name in out:
            raise GociError(f"{path}: {label}: duplicate target name")
        out[name] = t
        repo = normalize_ref(t.image or name).partition(":")[0]
        for vt in e.get("version_tags", []):
            version_tags.setdefault(repo, []).append((version_tuple(vt), name))
    # Each image reference is a key too, unless an entry claims it as a name or alias.
    for t in out.values():
        if t.image:
            keys.setdefault(normalize_ref(t.image, keep_registry=True), t.name)
            keys.setdefault(normalize_ref(t.image), t.name)
    return TargetCatalog(path, out, keys, version_tags, any_tag)


@functools.cache
def catalog() -> TargetCatalog:
    """The shipped targets catalog (validated once, cached)."""
    return load_catalog()


def targets() -> dict[str, Target]:
    """All shipped targets keyed by canonical name (validated once, cached)."""
    return catalog().targets


# --------------------------------------------------------------------------------------------
# Resolving names and image references

_REGISTRY_LIBRARY = re.compile(r"^(?:docker\.io/|index\.docker\.io/|registry-1\.docker\.io/)?library/")


def normalize_ref(ref: str, *, keep_registry: bool = False) -> str:
    """Canonical lookup form of a target name or image reference.

    Lower-cases, drops a digest (``@sha256:...``), a ``:latest`` tag, Docker Hub's registry
    prefix and ``library/``. Other registry hosts (``gcr.io/``, ``mcr.microsoft.com/``,
    ``registry.access.redhat.com/``) are dropped too unless ``keep_registry`` is set.
    """
    s = ref.strip().lower()
    s = s.split("@", 1)[0]
    s = _REGISTRY_LIBRARY.sub("", s)
    s = re.sub(r"^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/", "", s)
    first, sep, rest = s.partition("/")
    if not keep_registry and sep and ("." in first or ":" in first or first == "localhost"):
        s = _REGISTRY_LIBRARY.sub("", rest)
    if s.endswith(":latest"):
        s = s[: -len(":latest")]
    return s


def _has_registry(ref: str) -> bool:
    first, sep, _ = normalize_ref(ref, keep_registry=True).partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def find_target(name: str) -> Target | None:
    """The target a name or image reference means, or None when it is not one we know.

    Also maps image references whose exact tag is not listed: ``alpine:3.19.1`` → alpine:3.19,
    ``golang:1.22-bookworm`` → golang:bookworm, ``debian:bookworm-slim`` → debian:12,
    ``golang:1.22`` → the default variant for that Go version.
    """
    return catalog().find(name)


def resolve_target(name: str) -> Target:
    """The target for a canonical name, alias or image reference; BadInputError when unknown."""
    return catalog().resolve(name)


def _find(cat: TargetCatalog, name: str) -> Target | None:
    if not name or not name.strip():
        return None
    # A key spelled with its registry host wins: "gcr.io/distroless/base" (the deprecated
    # unversioned image, Debian 11) is not the "distroless/base" target (Debian 12).
    keys = [normalize_ref(name, keep_registry=True)] if _has_registry(name) else []
    keys += _candidates(normalize_ref(name), cat)
    for key in keys:
        canonical = cat.keys.get(key)
        if canonical is not None:
            return cat.targets[canonical]
    return None


def _resolve(cat: TargetCatalog, name: str) -> Target:
    t = _find(cat, name)
    if t is not None:
        return t
    wanted = normalize_ref(name)
    names: list[str] = []
    for c in difflib.get_close_matches(wanted, list(cat.keys), n=5, cutoff=0.5):
        if cat.keys[c] not in names:
            names.append(cat.keys[c])
    hint = f"did you mean {', '.join(names[:3])}? " if names else ""
    raise BadInputError(f"unknown target '{name}'; {hint}(goci-doctor targets lists them)")


_VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:rc\d*|beta\d*)?$")
_DATE = re.compile(r"^\d{8}(?:\.\d+)?$")
# Tag words that do not change the libc or the base: size/user variants of the same release,
# and per-architecture tags ("latest-amd64", "nonroot-arm64").
_NEUTRAL_WORDS = frozenset(
    ("slim", "nonroot", "minimal", "curl", "scm", "browsers", "latest", *GO_ARCHS, "arm32v7", "arm64v8")
)


def _candidates(ref: str, cat: TargetCatalog) -> list[str]:
    """Lookup keys to try for a normalised reference, most specific first."""
    out = [ref]
    repo, sep, tag = ref.partition(":")
    if not sep:
        return out
    words = [w for w in tag.split("-") if w]
    # "jammy-20240111", "bookworm-20240110-slim", "12-slim": drop dates and size variants.
    kept = [w for w in words if not _DATE.match(w) and w not in _NEUTRAL_WORDS]
    if kept != words and kept:
        out.append(f"{repo}:{'-'.join(kept)}")
    versions = [w for w in kept if _VERSION.match(w)]
    rest = [w for w in kept if not _VERSION.match(w)]
    if rest:
        # "1.22-bookworm" → golang:bookworm; "1.21-alpine3.19" → golang:alpine3.19, golang:alpine.
        variant = "-".join(rest)
        out.append(f"{repo}:{variant}")
        m = re.match(r"^([a-z]+)(\d+(?:\.\d+)*)$", variant)
        if m:
            out.append(f"{repo}:{m.group(1)}")
    elif versions:
        out.extend(_version_candidates(repo, versions[0], cat))
    else:
        out.append(repo)
    if repo in cat.any_tag:
        out.append(cat.any_tag[repo])
    return out


def _version_candidates(repo: str, version: str, cat: TargetCatalog) -> list[str]:
    """Keys for a bare version tag: "3.19.1" → alpine:3.19; "12.5" → debian:12; golang:1.22 → bookworm."""
    out: list[str] = []
    # Split the text, not version_tuple(): "22.04" must stay "22.04", not become "22.4".
    m = re.match(r"v?(\d+(?:\.\d+)*)", version)
    parts = m.group(1).split(".") if m else []
    # Repositories with version_tags (golang) say per version which target a tag is, instead.
    truncations = range(len(parts) - 1, 0, -1) if repo not in cat.version_tags else range(0)
    for n in truncations:
        prefix = f"{repo}:{'.'.join(parts[:n])}"
        # The data lists releases of this series (alpine:3.16, alpine:3.17, ...) but not this
        # one: it is a release we do not know, not the series' latest.
        if any(k.startswith(prefix + ".") for k in cat.keys):
            break
        if prefix in cat.keys:
            out.append(prefix)
            break
    vt = version_tuple(version)
    tags = sorted(cat.version_tags.get(repo, []), reverse=True)
    for prefix_tuple, canonical in tags:
        if vt[: len(prefix_tuple)] == prefix_tuple:
            out.append(canonical)
            break
    else:
        # A release newer than the table (golang:1.30) gets the newest listed variant.
        if tags and vt > tags[0][0]:
            out.append(tags[0][1])
    return out
