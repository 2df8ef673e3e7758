"""Which image a target runs in: the config's map, the knowledge base, a pull when allowed, and
a local stand-in (same libc) when the target's own image cannot be had.

Imports: knowledge (lazily), lab.dockerstate, lab.images (lazily).
"""

from __future__ import annotations

import threading
from typing import Any

from goci_doctor.lab.dockerstate import DockerRunnerBase


class _CellError(Exception):
    """A cell that cannot run for a reason worth one line in the table (not an engine crash)."""


class ImageResolution(DockerRunnerBase):
    """``DockerRunner``'s image lookups (thread-safe: one pull per reference at a time)."""

    def image_for(self, target: str) -> str:
        """The image reference a target runs in: the config's map wins, then the knowledge base.

        The map is consulted for the name as typed, then for the knowledge base's canonical name;
        a name the knowledge base does not know is taken as an image reference itself.
        """
        from goci_doctor import knowledge

        known = knowledge.find_target(target)
        default = known.image if known is not None and known.image else target
        mapper = getattr(self.config, "image_for", None)
        if callable(mapper):
            mapped = str(mapper(target, "") or "")
            if not mapped and known is not None:
                mapped = str(mapper(known.name, "") or "")
            return mapped or default
        images: dict[str, str] = dict(getattr(self.config, "images", None) or {})
        return images.get(target) or (images.get(known.name, "") if known else "") or default

    def _ensure_image(self, ref: str, platform: str | None) -> Any:
        """The local image for ``ref`` (for ``platform`` when given), pulled when the config allows.

        Raises _CellError with one line when it is neither here nor pullable.
        """
        import docker.errors

        with self._lock:
            lock = self._image_locks.setdefault(ref, threading.Lock())
        with lock:
            why = f"image {ref} not found locally"
            try:
                image = self.client.images.get(ref)
                have = f"{image.attrs.get('Os', 'linux')}/{image.attrs.get('Architecture', '')}"
                if not platform or have == platform:
                    return image
                why = f"image {ref} is {have} here, not {platform},"
            except docker.errors.ImageNotFound:
                pass
            if not self._run_setting("allow_pull", True):
                raise _CellError(
                    f"{why} and pulling is disabled in the config (goci-doctor images build makes local ones)"
                )
            try:
                return self.client.images.pull(ref, platform=platform)
            except docker.errors.DockerException as exc:
                detail = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:200]
                raise _CellError(f"{why} and cannot be pulled: {detail}{self._stand_in_hint(ref)}") from None

    def _image_or_stand_in(self, target: str, ref: str, platform: str | None) -> tuple[Any, str, str]:
        """(image, reference to run, name shown): the target's image, else its local stand-in.

        The stand-in (``images.stand_in_for``) is used only when the image cannot be had and the
        user did not ask for exact images (``[run] exact_images``); it is shown as
        "goci/debian:bookworm (stand-in for debian:12)".
        """
        try:
            return self._ensure_image(ref, platform), ref, ref
        except _CellError as exc:
            from goci_doctor.lab import images

            exact = bool(self._run_setting("exact_images", False))
            stand_in = "" if exact else images.stand_in_for(target)
            if stand_in == ref:
                raise  # the local image itself is what failed (missing, or another platform): say that
            if not stand_in:
                why = "exact images were asked for" if exact else "no local image holds its libc"
                raise _CellError(f"{exc}; {why}, so {target} is predicted only") from None
            try:
                image = self.client.images.get(stand_in)
            except Exception:
                raise _CellError(
                    f"image {ref} cannot be had here, nor its local stand-in {stand_in} "
                    "(goci-doctor images build makes it)"
                ) from None
            return image, stand_in, f"{stand_in} (stand-in for {ref})"

    def _stand_in_hint(self, ref: str) -> str:
        """Point an offline user at a local stand-in image when one exists for this target."""
        from goci_doctor import knowledge
        from goci_doctor.lab import images

        local = images.local_image_map()
        known = knowledge.find_target(ref)
        keys = [ref] + ([known.name, *known.aliases] if known is not None else [])
        stand_in = next((local[k] for k in keys if k in local), "")
        if not stand_in:
            return ""
        try:
            self.client.images.get(stand_in)
        except Exception:
            return " (goci-doctor images build makes a local stand-in; --write-config maps it)"
        return f" (local stand-in {stand_in} exists: `goci-doctor images build --write-config` maps it)"
