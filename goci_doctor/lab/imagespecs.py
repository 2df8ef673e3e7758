"""How each local target image is made (debootstrap suites, musl+busybox, scratch, distroless-like,
the build image) and where the build image holds Go. Data for ``images`` and ``rootfs``.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEBIAN_MIRROR = "http://deb.debian.org/debian"
_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GO_DIR = "/usr/local/go"
"""Where the build image holds its Go toolchain (the official golang images' GOROOT)."""
GO_LABEL = "goci-doctor.go"
"""Image label carrying the version of the Go toolchain in the image ("go1.27.3"); absent when none."""


@dataclass(frozen=True)
class ImageSpec:
    """How one local image is made."""

    name: str
    ref: str
    kind: str
    """"debian" (debootstrap), "musl", "scratch" or "distroless"."""
    suite: str = ""
    include: tuple[str, ...] = ()
    expected_libc: str = ""
    """What the image should hold; ``list_images`` reports what it really holds."""
    description: str = ""
    go: bool = False
    """Holds the host's Go toolchain at ``GO_DIR`` (when the host has one at build time)."""


IMAGE_SPECS: tuple[ImageSpec, ...] = (
    ImageSpec(
        "debian-bullseye",
        "goci/debian:bullseye",
        "debian",
        "bullseye",
        (),
        "glibc 2.31",
        "Debian 11 minbase (debootstrap)",
    ),
    ImageSpec(
        "debian-bookworm",
        "goci/debian:bookworm",
        "debian",
        "bookworm",
        (),
        "glibc 2.36",
        "Debian 12 minbase (debootstrap)",
    ),
    ImageSpec(
        "debian-trixie", "goci/debian:trixie", "debian", "trixie", (), "glibc 2.41", "Debian 13 minbase (debootstrap)"
    ),
    ImageSpec(
        "musl",
        "goci/musl",
        "musl",
        "",
        (),
        "musl",
        "musl loader and libc with busybox-static; stands in for Alpine's musl userland",
    ),
    ImageSpec("scratch", "goci/scratch", "scratch", "", (), "none", "empty filesystem (FROM scratch)"),
    ImageSpec(
        "distroless-static",
        "goci/distroless-static",
        "distroless",
        "",
        (),
        "none",
        "passwd, group, /tmp and CA certificates (like distroless/static)",
    ),
    ImageSpec(
        "build-trixie",
        "goci/build:trixie",
        "debian",
        "trixie",
        ("gcc", "libc6-dev", "ca-certificates", "musl-tools"),
        "glibc 2.41",
        "Debian 13 with gcc, libc6-dev, musl-tools and the host's Go, for diagnostic builds",
        go=True,
    ),
)


def _rootfs_id(spec: ImageSpec) -> str:
    """Fingerprint of the root filesystem recipe: a changed one remakes the cached rootfs tarball."""
    recipe = repr((spec.kind, spec.suite, spec.include)).encode()
    return hashlib.sha256(recipe).hexdigest()[:12]
