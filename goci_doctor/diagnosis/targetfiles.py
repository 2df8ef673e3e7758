"""What files a target really has, for predictions: a local image's filesystem, or per-distribution lists.

``check`` predicts without running anything. When the image a target maps to (the config's
``[images]`` / ``$GOCI_DOCTOR_IMAGES``) is present in the local engine, its real filesystem is read
through a created, never started container (``lab.imagefiles``): the libc it holds, its
shells and interpreters, the libraries a binary needs. Otherwise the knowledge base's
per-distribution lists (``data/base_files.toml``, each with its source) answer; a distribution
without a list answers "don't know", never "missing".

Imports: model, knowledge, artifact.imagefs. The image-backed answers (``ImageFiles``, opened
through the engine) live in ``lab.imagefiles``; ``check`` passes them in, so this module never
talks to an engine.
"""

from __future__ import annotations

import functools
import posixpath
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

from goci_doctor.model import ArtifactFacts, GociError
from goci_doctor.records import Target


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
    """Answers "is this file there?" for one target. ``exists`` returns None when nobody knows.

    ``image`` and ``libc`` are set when the answers come from a real local image
    (``lab.imagefiles``): the libc it really holds, e.g. "glibc 2.36"."""

    source = ""
    image = ""
    libc = ""

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


def as_probed(target: Target, files: TargetFiles) -> Target:
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
