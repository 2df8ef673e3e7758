"""What files a target really has, from its local image: the image-backed ``TargetFiles``.

When the image a target maps to (the config's ``[images]`` / ``$GOCI_DOCTOR_IMAGES``) is present in
the local engine, its real filesystem is read through a created, never started container: the libc
it holds, its shells and interpreters, the libraries a binary needs. ``check`` opens them here and
hands them to ``diagnosis.check_artifact``.

Imports: model, artifact.imagefs, diagnosis.targetfiles, lab.containerfs. The Docker SDK is
imported lazily (only when an image is mapped), so ``check`` without an engine stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from goci_doctor.artifact.imagefs import find_missing
from goci_doctor.config import Config
from goci_doctor.diagnosis.targetfiles import TargetFiles
from goci_doctor.lab import containerfs
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import Target


class ImageFiles(TargetFiles):
    """A local image's real filesystem (a created container that never starts)."""

    def __init__(self, client: Any, ref: str, cid: str, libc: str) -> None:
        self.fs = containerfs.ContainerFS(client, cid)
        self.image, self.libc = ref, libc
        self.source = f"filesystem of the local image {ref}"
        self._seen: dict[str, bool] = {}

    def exists(self, path: str) -> bool | None:
        if path not in self._seen:
            self._seen[path] = self.fs.exists(path)
        return self._seen[path]

    def missing_libraries(self, facts: ArtifactFacts) -> tuple[str, ...] | None:
        return tuple(lib for lib in find_missing(self.fs, facts) if lib != facts.interpreter)


def _image_map(config: Config | None) -> dict[str, str]:
    out = dict(getattr(config, "images", None) or {})
    out.update(getattr(config, "env_images", None) or {})
    return out


@contextmanager
def open_images(targets: Sequence[Target], config: Config | None) -> Iterator[dict[str, ImageFiles]]:
    """Target name -> the filesystem of its mapped local image, for targets whose image is present.

    Nothing is pulled and nothing started; the probe containers are removed on exit. Without an
    engine, or without a mapping, the answer is empty (predictions fall back to the lists).
    """
    mapping = _image_map(config)
    wanted = {}
    for t in targets:
        ref = mapping.get(t.name) or next((mapping[a] for a in (*t.aliases, t.image) if a in mapping), "")
        if ref:
            wanted[t.name] = ref
    if not wanted:
        yield {}
        return
    try:
        import docker
        import docker.errors

        client = docker.from_env(timeout=20)
        client.ping()
    except Exception:  # no SDK, no engine: predictions use the knowledge base
        yield {}
        return
    opened: dict[str, ImageFiles] = {}
    cids: list[str] = []
    try:
        for name, ref in wanted.items():
            try:
                image = client.images.get(ref)
            except docker.errors.DockerException:
                continue
            res = client.api.create_container(
                image.id,
                command=["/goci-probe"],
                network_disabled=True,
                labels={containerfs.LABEL: "1", containerfs.SESSION_LABEL: "probe"},
            )
            cids.append(res["Id"])
            fs = containerfs.ContainerFS(client, res["Id"])
            libc = containerfs.libc_cached(client, image, fs)
            opened[name] = ImageFiles(client, ref, res["Id"], libc)
        yield opened
    finally:
        for cid in cids:
            containerfs.remove_container(client, cid)
