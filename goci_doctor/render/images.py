"""``images list``: the local target images as a table, or the ``images`` JSON document.

Imports: ``lab.images`` (its ``ImageInfo``, for types only), ``render.runs`` (the table layout) and
``render.documents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from goci_doctor.render.documents import document
from goci_doctor.render.runs import table

if TYPE_CHECKING:
    from goci_doctor.lab.images import ImageInfo


def images_text(infos: Sequence[ImageInfo]) -> str:
    """One row per image: its libc, size, whether it is present, what it is for."""
    rows = [["image", "libc", "size", "present", "what"]]
    for info in infos:
        rows.append(
            [
                info.ref,
                info.libc or "-",
                f"{info.size / 1e6:.0f} MB" if info.present else "-",
                "yes" if info.present else "no",
                info.description,
            ]
        )
    return "\n".join(table(rows)) + "\n"


def images_document(infos: Sequence[ImageInfo]) -> dict[str, Any]:
    """The ``images`` JSON document (``images list --json``)."""
    return document("images", images=list(infos))
