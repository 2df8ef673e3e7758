"""An image's filesystem, read without running anything in it.

A container is created from the image but never started; its filesystem is then read through
the engine's archive API (``ContainerFS``). From it we learn the libc the image really holds
(``probe_libc``, ``probe_image_libc``, cached per image id) and, lddtree-style, the loader or
DT_NEEDED libraries an artifact will miss there (``find_missing``). The lab's container labels
and mount point live here because the probe containers created here carry them too.

The Docker SDK is imported lazily: importing this module stays cheap.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import re
import tarfile
import threading
import time
from collections.abc import Sequence
from typing import Any

from goci_doctor import platforms
from goci_doctor.model import ArtifactFacts

LABEL = "goci-doctor"
"""Every container the lab creates carries ``goci-doctor=1``."""
SESSION_LABEL = "goci-doctor.session"
MOUNT_DIR = "/goci"
"""Where the lab puts the artifact in every container (so ``$ORIGIN`` resolves there)."""

# Go GOARCH → (multiarch triple, ELF machine name used by musl's loader, qemu binfmt name): the
# architectures an image's libc is looked for under, each row from the one table (platforms.py).
_ARCH = {
    a: (platforms.BY_GOARCH[a].multiarch, platforms.BY_GOARCH[a].musl, platforms.BY_GOARCH[a].qemu)
    for a in ("amd64", "arm64", "386", "arm", "riscv64", "ppc64le", "s390x")
}


class ContainerFS:
    """Read-only access to a created container's filesystem through the archive API."""

    def __init__(self, client: Any, container_id: str) -> None:
        self.client = client
        self.cid = container_id

    def stat(self, path: str) -> dict[str, Any] | None:
        """The engine's lstat of ``path`` (name, size, mode, linkTarget), or None when absent."""
        import docker.errors

        api = self.client.api
        try:
            # HEAD /containers/{id}/archive answers with the stat header only: no tar is sent.
            res = api.head(api._url("/containers/{0}/archive", self.cid), params={"path": path})
        except docker.errors.DockerException:
            return None
        if res.status_code != 200:
            return None
        header = res.headers.get("X-Docker-Container-Path-Stat", "")
        try:
            return dict(json.loads(base64.b64decode(header)))
        except (ValueError, TypeError):
            return None

    def exists(self, path: str) -> bool:
        """True when ``path`` exists after following symlinks (a dangling link does not count)."""
        return self.resolve(path) is not None

    def resolve(self, path: str, depth: int = 0) -> str | None:
        """The real path ``path`` leads to inside the image, or None when it leads nowhere."""
        if depth > 16:
            return None
        st = self.stat(path)
        if st is None:
            return None
        mode = int(st.get("mode", 0))
        is_link = bool(mode & (1 << 27))  # Go's os.ModeSymlink
        if not is_link:
            return path
        target = str(st.get("linkTarget") or "")
        if not target:
            return None
        if not target.startswith("/"):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        return self.resolve(target, depth + 1)

    def read(self, path: str, limit: int = 16 * 1024 * 1024) -> bytes | None:
        """The bytes of the regular file ``path`` leads to (symlinks followed), or None."""
        import docker.errors

        real = self.resolve(path)
        if real is None:
            return None
        st = self.stat(real)
        if st is None or int(st.get("size", 0)) > limit or int(st.get("mode", 0)) & (1 << 31):
            return None  # too large, or a directory
        try:
            stream, _ = self.client.api.get_archive(self.cid, real)
            raw = b"".join(stream)
        except docker.errors.DockerException:
            return None
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar:
                if member.isfile():
                    f = tar.extractfile(member)
                    return f.read() if f else None
        return None


_GLIBC_BANNER = re.compile(rb"GNU C Library[^\n\x00]*?version (\d+\.\d+(?:\.\d+)?)")
_GLIBC_SYMVER = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\x00")
_MUSL_VERSION = re.compile(rb"\x00(1\.\d+\.\d+)\x00")
_APK_MUSL = re.compile(r"^P:musl\nV:([^\n]+)", re.M)


def glibc_version_from_bytes(data: bytes) -> str:
    """The glibc release of a libc.so.6 image ("2.31"), from its banner or its symbol versions."""
    m = _GLIBC_BANNER.search(data)
    if m:
        return m.group(1).decode()
    versions = [tuple(int(x or 0) for x in v) for v in _GLIBC_SYMVER.findall(data)]
    if versions:
        best = max(versions)
        return ".".join(str(x) for x in (best if best[2] else best[:2]))
    return ""


def musl_version_from_bytes(data: bytes) -> str:
    """musl's version string (musl embeds it for ``ldd --version``), or ""."""
    m = _MUSL_VERSION.search(data)
    return m.group(1).decode() if m else ""


def _arch_order(preferred: str) -> list[str]:
    return [preferred] + [a for a in _ARCH if a != preferred]


def probe_libc(fs: ContainerFS, arch: str = "amd64") -> str:
    """The libc an image really holds: "glibc 2.31", "musl 1.2.3", "musl (version unknown)" or "none"."""
    glibc_paths: list[str] = []
    for a in _arch_order(arch):
        triple = _ARCH[a][0]
        glibc_paths += [f"/lib/{triple}/libc.so.6", f"/usr/lib/{triple}/libc.so.6"]
    glibc_paths += ["/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"]
    for path in glibc_paths:
        if fs.exists(path):
            data = fs.read(path) or b""
            version = glibc_version_from_bytes(data)
            return f"glibc {version}" if version else "glibc (version unknown)"
    for a in _arch_order(arch):
        machine = _ARCH[a][1]
        for path in (f"/lib/ld-musl-{machine}.so.1", f"/lib/libc.musl-{machine}.so.1"):
            if fs.exists(path):
                version = musl_version_from_bytes(fs.read(path) or b"")
                if not version:
                    apk = (fs.read("/lib/apk/db/installed") or b"").decode("utf-8", "replace")
                    m = _APK_MUSL.search(apk)
                    version = m.group(1).split("-r")[0] if m else ""
                return f"musl {version}" if version else "musl (version unknown)"
    return "none"


def _search_dirs(facts: ArtifactFacts, fs: ContainerFS) -> list[str]:
    """Where the loader looks for DT_NEEDED libraries, in order (ld.so.cache is not consulted)."""
    origin = MOUNT_DIR

    def expand(paths: Sequence[str]) -> list[str]:
        out = []
        for p in paths:
            for part in p.split(":"):
                if part:
                    out.append(part.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))
        return out

    dirs = [] if facts.runpath else expand(facts.rpath)
    dirs += expand(facts.runpath)
    triple, machine, _ = _ARCH.get(facts.arch, _ARCH["amd64"])
    if "ld-musl" in facts.interpreter:
        path_file = fs.read(f"/etc/ld-musl-{machine}.path") or b""
        listed = [p for p in re.split(r"[:\n]", path_file.decode("utf-8", "replace")) if p.strip()]
        dirs += listed or ["/lib", "/usr/local/lib", "/usr/lib"]
    else:
        dirs += [f"/lib/{triple}", f"/usr/lib/{triple}"]
        if facts.bits == 64:
            dirs += ["/lib64", "/usr/lib64"]
        dirs += ["/lib", "/usr/lib"]
    return dirs


# musl's loader answers for these itself (dynlink.c refuses to load another copy of libc).
MUSL_BUILTIN = re.compile(r"^lib(c|pthread|rt|m|dl|util|xnet)\.so(\.\d+)*$")


def find_missing(fs: ContainerFS, facts: ArtifactFacts) -> tuple[str, ...]:
    """The loader or DT_NEEDED libraries the artifact will not find in the image, without running it.

    Only direct dependencies are resolved; when the loader itself is missing, that is the whole
    answer (the kernel fails before any library is looked up).
    """
    if facts.kind != "elf" or not facts.interpreter:
        return ()
    if not fs.exists(facts.interpreter):
        return (facts.interpreter,)
    musl = "ld-musl" in facts.interpreter
    dirs = _search_dirs(facts, fs)
    missing = []
    for lib in facts.needed:
        if musl and MUSL_BUILTIN.match(lib):
            continue
        if "/" in lib:
            found = fs.exists(lib)
        else:
            found = any(fs.exists(posixpath.join(d, lib)) for d in dirs)
        if not found:
            missing.append(lib)
    return tuple(missing)


_LIBC_CACHE: dict[str, str] = {}
_LIBC_LOCK = threading.Lock()


def _image_arch(image: Any) -> str:
    return str(image.attrs.get("Architecture", "") or "amd64")


def libc_cached(client: Any, image: Any, fs: ContainerFS) -> str:
    """Probe the image's libc once per image id (the cache is per process)."""
    with _LIBC_LOCK:
        known = _LIBC_CACHE.get(image.id)
    if known is not None:
        return known
    libc = probe_libc(fs, _image_arch(image))
    with _LIBC_LOCK:
        _LIBC_CACHE[image.id] = libc
    return libc


def probe_image_libc(client: Any, ref: str) -> str:
    """The libc image ``ref`` really holds (cached per image id); nothing in the image is run."""
    image = client.images.get(ref)
    with _LIBC_LOCK:
        known = _LIBC_CACHE.get(image.id)
    if known is not None:
        return known
    with _created(client, image.id, labels={LABEL: "1", SESSION_LABEL: "probe"}) as cid:
        return libc_cached(client, image, ContainerFS(client, cid))


class _created:
    """Context manager: a created, never started container, removed on exit."""

    def __init__(self, client: Any, image: str, labels: dict[str, str]) -> None:
        self.client, self.image, self.labels = client, image, labels
        self.cid = ""

    def __enter__(self) -> str:
        # No CMD on scratch-like images: give one; it never starts.
        res = self.client.api.create_container(
            self.image, command=["/goci-probe"], labels=self.labels, network_disabled=True
        )
        self.cid = res["Id"]
        return self.cid

    def __exit__(self, *exc: object) -> None:
        remove_container(self.client, self.cid)


def remove_container(client: Any, cid: str) -> None:
    """Force-remove a container; returns once it is really gone (or the engine stops answering)."""
    if not cid:
        return
    import docker.errors

    try:
        client.api.remove_container(cid, force=True, v=True)
        return
    except docker.errors.NotFound:
        return
    except Exception:  # e.g. 409 "removal already in progress": cancel() got there first
        pass
    # Someone else is removing it: wait for that to finish, so "returned" means "no leftovers".
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            client.api.inspect_container(cid)
        except docker.errors.NotFound:
            return
        except Exception:  # the engine died: cleanup_containers sweeps later
            return
        time.sleep(0.1)
