"""Putting the artifact into the containers: one tar of it per matrix, copied once into a volume
every cell mounts read-only, or into each cell's own filesystem when the engine cannot fill one.

Imports: artifact.imagefs, lab.containerfs, lab.dockerstate, lab.engine, model.
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

from goci_doctor.artifact.imagefs import MOUNT_DIR
from goci_doctor.lab.containerfs import LABEL, SESSION_LABEL, ContainerFS, remove_container
from goci_doctor.lab.dockerstate import DockerRunnerBase
from goci_doctor.lab.engine import _remove_volume, _volume_mount
from goci_doctor.model import ArtifactFacts


def _artifact_tar(artifact: Path, name: str) -> Path:
    """A tar file holding /goci/<name>, read-only and executable (0555), owned by root.

    Written to a temporary file and streamed to the engine: a 1.5 GB artifact must not be held
    in memory. The caller deletes it."""
    fd, tmp = tempfile.mkstemp(prefix="goci-artifact-", suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w") as tar:
            d = tarfile.TarInfo(MOUNT_DIR.strip("/"))
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(d)
            with open(artifact, "rb") as f:
                info = tarfile.TarInfo(f"{MOUNT_DIR.strip('/')}/{name}")
                info.size, info.mode, info.mtime = os.fstat(f.fileno()).st_size, 0o555, int(time.time())
                tar.addfile(info, f)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def _safe_name(artifact: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", artifact.name) or "artifact"
    return name.lstrip(".") or "artifact"


class _Cell:
    """What every cell of one matrix shares."""

    def __init__(
        self,
        artifact: Path,
        facts: ArtifactFacts,
        args: tuple[str, ...],
        timeout: float,
        platform: str | None,
        variant: str,
    ) -> None:
        self.artifact = artifact
        self.facts = facts
        self.args = args
        self.timeout = timeout
        self.platform = platform
        self.variant = variant
        self.name = _safe_name(artifact)
        self._tar: Path | None = None
        self._tar_lock = threading.Lock()
        # Set by run_matrix for a matrix of several cells: the engine volume every cell mounts.
        self.volume = ""
        self.volume_labels: dict[str, str] = {}
        self.volume_lock = threading.Lock()
        self.volume_state: Literal["empty", "filled", "failed"] = "empty"

    def tar(self) -> Path:
        """The artifact as a tar file for put_archive, written once and shared by every cell."""
        with self._tar_lock:
            if self._tar is None:
                self._tar = _artifact_tar(self.artifact, self.name)
            return self._tar

    def discard(self) -> None:
        with self._tar_lock:
            if self._tar is not None:
                self._tar.unlink(missing_ok=True)
                self._tar = None


class ArtifactCopying(DockerRunnerBase):
    """``DockerRunner``'s copies of the artifact into the engine."""

    def _share_artifact(self, cell: _Cell, image_id: str) -> bool:
        """Fill the matrix's volume once (the first cell to get here does it); False to copy per cell.

        A helper container (created, never started) mounts the volume read-write and receives the
        tar; cells mount it read-only. Any engine refusal falls back to copying into each cell.
        """
        import docker.errors

        if not cell.volume:
            return False
        with cell.volume_lock:
            if cell.volume_state != "empty":
                return cell.volume_state == "filled"
            api = self.client.api
            helper = ""
            try:
                labels = {LABEL: "1", SESSION_LABEL: self.session, **cell.volume_labels}
                api.create_volume(cell.volume, labels=labels)
                res = api.create_container(
                    image_id,
                    command=["/goci-copy"],
                    labels=labels,
                    network_disabled=True,
                    host_config=api.create_host_config(mounts=[_volume_mount(cell.volume, read_only=False)]),
                )
                helper = str(res["Id"])
                with self._lock:
                    self._live.add(helper)
                self._put_archive(helper, cell.tar())
                # Podman 4 accepts the tar but does not write through a volume of a container that
                # was never started: check that the copy is really in the volume.
                st = ContainerFS(self.client, helper).stat(f"{MOUNT_DIR}/{cell.name}")
                size = cell.artifact.stat().st_size
                cell.volume_state = "filled" if st is not None and int(st.get("size", -1)) == size else "failed"
            except docker.errors.APIError:
                cell.volume_state = "failed"
            finally:
                if helper:
                    remove_container(self.client, helper)
                    with self._lock:
                        self._live.discard(helper)
            if cell.volume_state == "failed":
                _remove_volume(self.client, cell.volume)
            return cell.volume_state == "filled"

    def _put_archive(self, cid: str, data: Path) -> None:
        """Copy a tar into a created container, retrying the transient failure Podman 4 has.

        Podman's copier pipes the tar into a helper process; under parallel copies it sometimes
        answers 500 "passing bulk input to subprocess: write |1: broken pipe" with nothing written.
        """
        import docker.errors

        for attempt in range(3):
            try:
                with data.open("rb") as stream:  # streamed, with its length: never read into memory
                    self.client.api.put_archive(cid, "/", stream)
                return
            except docker.errors.APIError as exc:
                if attempt == 2 or "broken pipe" not in str(exc.explanation or exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
