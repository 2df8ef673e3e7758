"""What files a target really has, for predictions: a local image's filesystem, or per-distribution lists.

``check`` predicts without running anything. When the image a target maps to (the config's
``[images]`` / ``$GOCI_DOCTOR_IMAGES``) is present in the local engine, its real filesystem is read
through a created, never started container (``imagefs.ContainerFS``): the libc it holds, its
shells and interpreters, the libraries a binary needs. Otherwise the knowledge base's
per-distribution lists (``data/base_files.toml``, each with its source) answer; a distribution
without a list answers "don't know", never "missing".

May import: model, imagefs, knowledge. The Docker SDK is imported lazily (only when an image is
mapped), so ``check`` without an engine stays fast and offline.
"""

from __future__ import annotations

import functools
import posixpath
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

from goci_doctor.model import ArtifactFacts, GociError, Target


@dataclass(frozen=True)
class BaseFiles:
    """The knowledge base's list of one distribution's base image."""

    interpreters: frozenset[str]
    libraries: frozenset[str]
    source: str


def load_base_files(text: str, origin: str = "base_files.toml") -> dict[str, BaseFiles]:
    """Parse the per-distribution lists: target name -> BaseFiles. A broken file raises GociError."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GociError(f"{origin}: {exc}") from None
    out: dict[str, BaseFiles] = {}
    for i, raw in enumerate(doc.get("base", [])):
        where = f"{origin}: base #{i + 1}"
        unknown = set(raw) - {"targets", "interpreters", "libraries", "source"}
        if unknown:
            raise GociError(f"{where}: unknown keys {sorted(unknown)}")
        if not raw.get("targets") or not isinstance(raw.get("source"), str) or not raw["source"]:
            raise GociError(f"{where}: 'targets' and 'source' are required")
        entry = BaseFiles(frozenset(raw.get("interpreters", ())), frozenset(raw.get("libraries", ())), raw["source"])
        if any(not p.startswith("/") for p in entry.interpreters) or any(not lib for lib in entry.libraries):
            raise GociError(f"{where}: interpreters must be absolute paths and libraries non-empty names")
        for name in raw["targets"]:
            if name in out:
                raise GociError(f"{where}: target {name} listed twice")
            out[name] = entry
    return out


@functools.cache
def base_files() -> dict[str, BaseFiles]:
    text = resources.files("goci_doctor").joinpath("data/base_files.toml").read_text(encoding="utf-8")
    return load_base_files(text)


class TargetFiles:
    """Answers "is this file there?" for one target. ``exists`` returns None when nobody knows."""

    source = ""
    image = ""

    def exists(self, path: str) -> bool | None:
        raise NotImplementedError

    def missing_libraries(self, facts: ArtifactFacts) -> tuple[str, ...] | None:
        """DT_NEEDED libraries (beyond libc) absent from the target, in DT_NEEDED order; None: unknown."""
        raise NotImplementedError


class ListedFiles(TargetFiles):
    """The knowledge base's list for a distribution."""

    def __init__(self, target: Target, listed: BaseFiles) -> None:
        self.target, self.listed = target, listed
        self.source = f"knowledge base: {target.name} base image ({listed.source})"

    def exists(self, path: str) -> bool | None:
        if path in self.listed.interpreters:
            return True
        # Only interpreters are listed: another path is known absent only on images with no userland.
        return False if not self.listed.interpreters or _is_shell_path(path) else None

    def missing_libraries(self, facts: ArtifactFacts) -> tuple[str, ...] | None:
        return tuple(lib for lib in facts.needed if not libc_own(lib, facts) and lib not in self.listed.libraries)


def _is_shell_path(path: str) -> bool:
    return posixpath.basename(path) in {"sh", "bash", "dash", "ash", "zsh", "ksh", "env", "busybox"}


def libc_own(lib: str, facts: ArtifactFacts) -> bool:
    """Libraries the C library itself ships (the loader and libc's parts): not "extra" libraries."""
    if lib.startswith(("ld-linux", "ld-musl", "libc.musl")):
        return True
    from goci_doctor.artifact.imagefs import MUSL_BUILTIN

    if "ld-musl" in facts.interpreter:
        return bool(MUSL_BUILTIN.match(lib))
    return lib in GLIBC_CORE


GLIBC_CORE = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libresolv.so.2",
        "libutil.so.1",
        "libnsl.so.1",
        "libanl.so.1",
        "libBrokenLocale.so.1",
        "libcrypt.so.1",
    }
)
"""Libraries of the libc6 / glibc package itself (libcrypt moved out, but every base image has it)."""


class ImageFiles(TargetFiles):
    """A local image's real filesystem (a created container that never starts)."""

    def __init__(self, client: Any, ref: str, cid: str, libc: str) -> None:
        from goci_doctor.artifact.imagefs import ContainerFS

        self.fs = ContainerFS(client, cid)
        self.image, self.libc = ref, libc
        self.source = f"filesystem of the local image {ref}"
        self._seen: dict[str, bool] = {}

    def exists(self, path: str) -> bool | None:
        if path not in self._seen:
            self._seen[path] = self.fs.exists(path)
        return self._seen[path]

    def missing_libraries(self, facts: ArtifactFacts) -> tuple[str, ...] | None:
        from goci_doctor.artifact.imagefs import find_missing

        return tuple(lib for lib in find_missing(self.fs, facts) if lib != facts.interpreter)


def as_probed(target: Target, files: ImageFiles) -> Target:
    """The target with the libc its local image really holds (the image is the truth it will run on)."""
    import dataclasses

    family, _, version = files.libc.partition(" ")
    if family not in ("glibc", "musl", "none"):
        return target
    version = "" if family == "none" or version.startswith("(") else version
    libc = cast(Literal["glibc", "musl", "none"], family)
    source = f"probed from image {files.image}; {target.source}"
    return dataclasses.replace(target, libc=libc, libc_version=version, image=files.image, source=source)


def listed_files(target: Target) -> ListedFiles | None:
    listed = base_files().get(target.name)
    return ListedFiles(target, listed) if listed is not None else None


def _image_map(config: object) -> dict[str, str]:
    out = dict(getattr(config, "images", None) or {})
    out.update(getattr(config, "env_images", None) or {})
    return out


@contextmanager
def open_images(targets: Sequence[Target], config: object) -> Iterator[dict[str, ImageFiles]]:
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
    from goci_doctor.artifact import imagefs

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
                labels={imagefs.LABEL: "1", imagefs.SESSION_LABEL: "probe"},
            )
            cids.append(res["Id"])
            fs = imagefs.ContainerFS(client, res["Id"])
            libc = imagefs.libc_cached(client, image, fs)
            opened[name] = ImageFiles(client, ref, res["Id"], libc)
        yield opened
    finally:
        for cid in cids:
            imagefs.remove_container(client, cid)
