"""A created, never started container as a read-only filesystem (the engine's archive API), the
lab's labels and mount point, and the per-image libc cache.

Imports: model, platforms, artifact.imagefs. The Docker SDK is imported lazily.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import tarfile
import threading
import time
from typing import Any

from goci_doctor.artifact.imagefs import probe_libc

LABEL = "goci-doctor"
"""Every container the lab creates carries ``goci-doctor=1``."""
SESSION_LABEL = "goci-doctor.session"
"""One matrix's (or probe's) containers: the value is the session id."""


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
