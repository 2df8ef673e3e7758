"""Which C library an image reference gives a binary: the knowledge base first, then the family.

``knowledge.find_target`` knows exact distributions (alpine:3.20, debian:12, golang:bookworm...).
Real Dockerfiles name many more: ``alpine:3.15``, ``alpine:edge``, ``docker.io/alpine:3.24``,
``gcr.io/distroless/static-debian12:debug``, ``cgr.dev/chainguard/static``, ``node:24-alpine``,
``golang:${GO_VERSION}-alpine``. This module classifies those by family: any alpine is musl,
distroless static / chainguard static / scratch have no libc, ``*-alpine`` tags are musl,
``*-bookworm``-style tags carry that Debian's glibc. Also: whether a tag moves (``latest``,
``edge``, ``golang:1``, ``golang:alpine``) and whether an image is a Go toolchain image.

Imports goci_doctor.knowledge and google-re2 only (references come from untrusted files).
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

from goci_doctor import knowledge
from goci_doctor.model import GociError


@dataclass(frozen=True)
class ImageLibc:
    """The C library of an image and how that is known."""

    libc: str
    """"glibc", "musl", "none" (no C library, no loader)."""
    version: str
    how: str
    """"knowledge" (targets.toml), "family" (by name pattern)."""

    def pair(self) -> tuple[str, str]:
        return self.libc, self.version


# Debian/Ubuntu release codenames as tag suffixes → glibc version (Debian/Ubuntu package pages).
_CODENAME_GLIBC = {
    "stretch": "2.24",
    "buster": "2.28",
    "bullseye": "2.31",
    "bookworm": "2.36",
    "trixie": "2.41",
    "focal": "2.31",
    "jammy": "2.35",
    "noble": "2.39",
}
_VAR = re2.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?:[:?+=-][^}]*)?\}?")


def strip_ref(ref: str) -> tuple[str, str]:
    """(repository path without registry, tag) in lower case; tag "" when none is written."""
    s = ref.strip().lower().split("@", 1)[0]
    first, sep, rest = s.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        s = rest
    s = s.removeprefix("library/")
    name, _, tag = s.rpartition(":") if ":" in s.rsplit("/", 1)[-1] else (s, "", "")
    return name, tag


def _family(ref: str) -> ImageLibc | None:
    name, tag = strip_ref(_VAR.sub("", ref) if "$" in ref else ref)
    base = name.rsplit("/", 1)[-1]
    if name == "scratch":
        return ImageLibc("none", "", "family")
    if "distroless/static" in name or name.endswith("chainguard/static") or (base == "static" and "chainguard" in name):
        return ImageLibc("none", "", "family")
    if "distroless/base" in name or "distroless/cc" in name or "chainguard/glibc-dynamic" in name:
        return ImageLibc("glibc", "", "family")
    if base == "busybox" or base.startswith("busybox-"):
        if "musl" in tag or "uclibc" in tag:
            return ImageLibc("none", "", "family")  # statically linked busybox, no loader
        return ImageLibc("glibc", "", "family")
    if base == "alpine" or tag.startswith("alpine") or "-alpine" in tag or base.endswith("-alpine"):
        return ImageLibc("musl", "", "family")
    for codename, version in _CODENAME_GLIBC.items():
        if codename in tag:
            return ImageLibc("glibc", version, "family")
    if (
        base in ("debian", "ubuntu", "fedora", "centos", "rockylinux", "almalinux", "amazonlinux")
        or ("ubi" in base and "redhat" in name)
        or base.startswith("ubi")
    ):
        return ImageLibc("glibc", "", "family")
    return None


def image_libc_info(ref: str) -> ImageLibc | None:
    """The C library of ``ref``; None when neither the knowledge base nor a family knows it."""
    if not ref:
        return None
    if "$" not in ref:
        try:
            t = knowledge.find_target(ref)
        except GociError:
            t = None
        if t is not None:
            return ImageLibc(str(t.libc), str(t.libc_version), "knowledge")
    return _family(ref)


def moving_tag(ref: str) -> str:
    """Why ``ref`` moves under you ("" when pinned by a version tag or digest, or unresolved)."""
    if "@" in ref or "$" in ref or not ref:
        return ""
    name, tag = strip_ref(ref)
    if name == "scratch":
        return ""
    if not tag:
        return "has no tag (means :latest)"
    if tag == "latest":
        return "uses the moving :latest tag"
    if tag in ("edge", "rolling", "nightly", "testing", "unstable", "sid") or tag.startswith(("sid-", "edge-")):
        return f"uses the moving :{tag} tag"
    if base_is_toolchain(name) and (
        tag in ("alpine", "bookworm", "trixie", "bullseye", "buster") or re2.fullmatch(r"[0-9]+(-[a-z0-9.]+)?", tag)
    ):
        return f"uses :{tag}, which follows every new Go release"
    return ""


def base_is_toolchain(name: str) -> bool:
    """Whether a repository path (from strip_ref) is a Go toolchain image."""
    base = name.rsplit("/", 1)[-1]
    return (
        base in ("golang", "go")
        or "golang-builder" in base
        or "goreleaser" in name
        or base.startswith("golang-")
        or name.endswith("/go")
    )
