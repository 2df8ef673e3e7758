"""The target knowledge base: deploy/build targets, Go release minimums and CPU levels, as data.

Facts live in TOML files under ``goci_doctor/data/`` (targets.toml, go_releases.toml,
cpu_levels.toml), each entry with the source it was taken from. This module only loads them,
validates them once (cached) and looks things up. Adding a distribution is a data change:
a new ``[[target]]`` entry plus a test, never a new code path.

A broken shipped data file is a bug: validation raises ``GociError`` naming the file and the
entry, and the test suite loads every file.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from goci_doctor.model import BadInputError, GociError, Target

__all__ = [
    "CpuLevel",
    "GoRelease",
    "TargetCatalog",
    "catalog",
    "cpu_level",
    "cpu_levels",
    "find_target",
    "glibc_of",
    "go_release",
    "go_releases",
    "load_catalog",
    "load_cpu_levels",
    "load_go_releases",
    "load_targets",
    "normalize_ref",
    "resolve_target",
    "targets",
    "version_tuple",
]

LIBCS = ("glibc", "musl", "none")
GO_ARCHS = ("amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "loong64")
GO_OSES = ("linux", "windows", "darwin", "freebsd")


# --------------------------------------------------------------------------------------------
# Data classes owned by the knowledge base (Target itself lives in model.py)


@dataclass(frozen=True)
class GoRelease:
    """Minimum platform versions one Go release needs (from the Go release notes)."""

    version: str
    """Go minor release, e.g. "1.21"."""
    min_linux_kernel: str
    """e.g. "2.6.32"; a binary built by this Go refuses to start on older kernels."""
    min_windows: str
    """e.g. "Windows 10 / Windows Server 2016"."""
    min_macos: str
    """e.g. "macOS 10.15 Catalina"."""
    min_freebsd: str
    notes: str = ""
    source: str = ""
    min_windows_version: str = ""
    """Machine-comparable NT version for min_windows, e.g. "10.0" (Windows 7 is "6.1")."""
    min_macos_version: str = ""
    """Machine-comparable form of min_macos, e.g. "10.15"."""


@dataclass(frozen=True)
class CpuLevel:
    """One CPU feature level a Go binary can be built for (GOAMD64, GOARM, GO386, GOARCH on Windows)."""

    variable: str
    """The build setting that selects it: "GOAMD64", "GOARM", "GOARCH"."""
    value: str
    """e.g. "v3", "7", "386"."""
    arch: str
    """Go GOARCH the level belongs to: amd64, arm, 386."""
    title: str
    requires: tuple[str, ...] = ()
    """Instruction-set features the CPU must have, e.g. ("AVX", "AVX2", "BMI1", ...)."""
    message: str = ""
    """What the user sees when the CPU (or OS) lacks them, verbatim."""
    examples: tuple[str, ...] = ()
    """Hardware that is (or is not) at this level, e.g. "Raspberry Pi Zero / 1 (ARMv6)"."""
    notes: str = ""
    source: str = ""


# --------------------------------------------------------------------------------------------
# Versions


def version_tuple(s: str) -> tuple[int, ...]:
    """Parse the leading dotted number of ``s`` into a tuple: "2.31" → (2, 31), "go1.21.5" → (1, 21, 5).

    Leading text (``go``, ``GLIBC_``, ``v``) and trailing text (``-r0``, ``rc1``, ``_git``) are
    ignored. Returns ``()`` when there is no number at all.
    """
    m = re.search(r"\d+(?:\.\d+)*", s or "")
    if not m:
        return ()
    return tuple(int(p) for p in m.group(0).split("."))


def glibc_of(target: Target | str) -> tuple[int, ...] | None:
    """The glibc version of a target (or target name) as a tuple, or None when it has no glibc."""
    t = resolve_target(target) if isinstance(target, str) else target
    if t.libc != "glibc" or not t.libc_version:
        return None
    return version_tuple(t.libc_version)


# --------------------------------------------------------------------------------------------
# Loading and validation


def _data_path(name: str) -> Path:
    return Path(str(resources.files("goci_doctor") / "data" / name))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise GociError(f"{path}: knowledge file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise GociError(f"{path}: invalid TOML: {e}") from None


def _entries(path: Path, doc: dict[str, Any], table: str) -> list[dict[str, Any]]:
    unknown_top = set(doc) - {table, "meta"}
    if unknown_top:
        raise GociError(f"{path}: unknown top-level key(s) {sorted(unknown_top)} (expected [[{table}]])")
    entries = doc.get(table)
    if not isinstance(entries, list) or not entries:
        raise GociError(f"{path}: no [[{table}]] entries")
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise GociError(f"{path}: [[{table}]] #{i + 1} is not a table")
    return entries


def _check_keys(
    path: Path,
    label: str,
    entry: Mapping[str, Any],
    required: Mapping[str, type],
    optional: Mapping[str, type],
) -> None:
    unknown = set(entry) - set(required) - set(optional)
    if unknown:
        raise GociError(f"{path}: {label}: unknown key(s) {sorted(unknown)}")
    for key in required:
        if key not in entry:
            raise GociError(f"{path}: {label}: missing required key '{key}'")
    for key, typ in {**required, **optional}.items():
        if key in entry and not isinstance(entry[key], typ):
            raise GociError(f"{path}: {label}: '{key}' must be {typ.__name__}, got {entry[key]!r}")
        if typ is list and key in entry and not all(isinstance(x, str) for x in entry[key]):
            raise GociError(f"{path}: {label}: '{key}' must be a list of strings")
    if "source" in required and not str(entry.get("source", "")).strip():
        raise GociError(f"{path}: {label}: 'source' is empty (every fact needs its source)")


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


# --------------------------------------------------------------------------------------------
# Go releases

_GO_REQUIRED: dict[str, type] = {
    "version": str,
    "min_linux_kernel": str,
    "min_windows": str,
    "min_macos": str,
    "min_freebsd": str,
    "source": str,
}
_GO_OPTIONAL: dict[str, type] = {"notes": str, "min_windows_version": str, "min_macos_version": str}


def load_go_releases(path: str | Path | None = None) -> tuple[GoRelease, ...]:
    """Load and validate a Go releases file (default: the shipped go_releases.toml), oldest first."""
    p = Path(path) if path is not None else _data_path("go_releases.toml")
    doc = _read_toml(p)
    out: dict[tuple[int, ...], GoRelease] = {}
    for i, e in enumerate(_entries(p, doc, "release")):
        label = f"release '{e.get('version', f'#{i + 1}')}'"
        _check_keys(p, label, e, _GO_REQUIRED, _GO_OPTIONAL)
        v = version_tuple(e["version"])
        if len(v) != 2:
            raise GociError(f"{p}: {label}: version must be a Go minor release like '1.21'")
        if v in out:
            raise GociError(f"{p}: {label}: duplicate release")
        out[v] = GoRelease(**e)
    return tuple(out[k] for k in sorted(out))


@functools.cache
def go_releases() -> tuple[GoRelease, ...]:
    """All shipped Go release entries, oldest first (validated once, cached)."""
    return load_go_releases()


def go_release(go_version: str) -> GoRelease | None:
    """Platform minimums for a Go version ("go1.21.5", "1.22", "go1.23rc1").

    A version newer than the table inherits the newest entry; older than the table, or not a
    Go version at all, gives None.
    """
    v = version_tuple(go_version)[:2]
    if len(v) < 2:
        return None
    best: GoRelease | None = None
    for r in go_releases():
        if version_tuple(r.version) <= v:
            best = r
    return best


# --------------------------------------------------------------------------------------------
# CPU levels

_CPU_REQUIRED: dict[str, type] = {"variable": str, "value": str, "arch": str, "title": str, "source": str}
_CPU_OPTIONAL: dict[str, type] = {"requires": list, "message": str, "examples": list, "notes": str}


def load_cpu_levels(path: str | Path | None = None) -> tuple[CpuLevel, ...]:
    """Load and validate a CPU levels file (default: the shipped cpu_levels.toml)."""
    p = Path(path) if path is not None else _data_path("cpu_levels.toml")
    doc = _read_toml(p)
    out: list[CpuLevel] = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(_entries(p, doc, "level")):
        label = f"level '{e.get('variable', '?')}={e.get('value', f'#{i + 1}')}'"
        _check_keys(p, label, e, _CPU_REQUIRED, _CPU_OPTIONAL)
        if e["arch"] not in GO_ARCHS:
            raise GociError(f"{p}: {label}: arch must be a Go GOARCH name, got {e['arch']!r}")
        key = (e["variable"], e["value"])
        if key in seen:
            raise GociError(f"{p}: {label}: duplicate level")
        seen.add(key)
        out.append(
            CpuLevel(
                variable=e["variable"],
                value=e["value"],
                arch=e["arch"],
                title=e["title"],
                requires=tuple(e.get("requires", [])),
                message=e.get("message", ""),
                examples=tuple(e.get("examples", [])),
                notes=e.get("notes", ""),
                source=e["source"],
            )
        )
    return tuple(out)


@functools.cache
def cpu_levels() -> tuple[CpuLevel, ...]:
    """All shipped CPU levels (GOAMD64 v1–v4, GOARM 5–7, GOARCH 386 vs amd64 on Windows)."""
    return load_cpu_levels()


def cpu_level(variable: str, value: str) -> CpuLevel | None:
    """The level for a build setting, e.g. cpu_level("GOAMD64", "v3"); None when unknown."""
    for lvl in cpu_levels():
        if lvl.variable == variable.upper() and lvl.value == value.strip().lower():
            return lvl
    return None


# --------------------------------------------------------------------------------------------
# Diagnostic build variants (data/variants.toml)


@dataclass(frozen=True)
class Variant:
    """One way of rebuilding a project, and what a successful run of its binary proves."""

    name: str
    title: str
    env: tuple[tuple[str, str], ...] = ()
    """Environment set on top of GOOS/GOARCH; "{zigcc}" in a value names the zig CC wrapper."""
    flags: tuple[str, ...] = ()
    """Extra ``go build`` flags."""
    cc: Literal["", "gcc", "zig", "musl-gcc"] = ""
    """The C compiler the variant needs in the build container ("" = none, or the toolchain default)."""
    proves: str = ""
    goos: str = ""
    """Only for cross variants: the GOOS/GOARCH built for instead of the requested arch."""
    goarch: str = ""
    default: bool = True
    """Built when the user names no variant (the CPU-level variants only on request, or to prove a fix)."""


_VARIANT_REQUIRED: dict[str, type] = {"name": str, "title": str, "proves": str}
_VARIANT_OPTIONAL: dict[str, type] = {
    "env": dict,
    "flags": list,
    "cc": str,
    "goos": str,
    "goarch": str,
    "default": bool,
}
_CCS = ("", "gcc", "zig", "musl-gcc")


def load_variants(path: str | Path | None = None) -> tuple[Variant, ...]:
    """Parse and validate variants.toml; GociError naming the entry when it is malformed."""
    p = Path(path) if path else _data_path("variants.toml")
    doc = _read_toml(p)
    out: list[Variant] = []
    for i, e in enumerate(_entries(p, doc, "variant")):
        label = f"variant #{i + 1} ({e.get('name', '?')})"
        _check_keys(p, label, e, _VARIANT_REQUIRED, _VARIANT_OPTIONAL)
        env = e.get("env", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise GociError(f"{p}: {label}: 'env' must map variable names to strings")
        if e.get("cc", "") not in _CCS:
            raise GociError(f"{p}: {label}: 'cc' must be one of {', '.join(repr(c) for c in _CCS)}")
        if e["name"] in {v.name for v in out} or e["name"].startswith("cross"):
            raise GociError(f"{p}: {label}: duplicate or reserved name")
        out.append(
            Variant(
                name=e["name"],
                title=e["title"],
                env=tuple(env.items()),
                flags=tuple(e.get("flags", ())),
                cc=e.get("cc", ""),
                proves=e["proves"],
                goos=e.get("goos", ""),
                goarch=e.get("goarch", ""),
                default=e.get("default", True),
            )
        )
    return tuple(out)


@functools.cache
def variants() -> tuple[Variant, ...]:
    """The shipped diagnostic build variants, loaded and validated once."""
    return load_variants()


def is_variant_name(name: str) -> bool:
    """True for a variant in variants.toml, or ``cross`` / ``cross:<goos>/<goarch>`` (built on request)."""
    return name in {v.name for v in variants()} or name == "cross" or name.startswith("cross:")
