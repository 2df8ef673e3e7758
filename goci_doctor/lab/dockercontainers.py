"""One cell's container: created (sandboxed, labelled, the artifact mounted or copied in),
started and waited for under its deadline, its logs read and split, and whether it runs emulated.

The Docker SDK is imported lazily, inside methods.

Imports: artifact.imagefs, hostenv, lab.containerfs, lab.dockercopy, lab.dockerstate, lab.engine,
lab.sandbox, platforms.
"""

from __future__ import annotations

import re
import signal
from typing import Any

from goci_doctor import hostenv, platforms
from goci_doctor.artifact.imagefs import MOUNT_DIR
from goci_doctor.lab.containerfs import LABEL, SESSION_LABEL, remove_container
from goci_doctor.lab.dockercopy import _Cell
from goci_doctor.lab.dockerstate import DockerRunnerBase
from goci_doctor.lab.engine import _volume_mount
from goci_doctor.lab.sandbox import deadline_labels, read_logs, run_host_config

RUN_USER = "65534:65534"
"""nobody:nogroup by number: works on images without /etc/passwd (scratch, distroless)."""
_OUTPUT_LIMIT = 64 * 1024


def _signal_name(exit_code: int | None) -> str:
    if exit_code is None or exit_code <= 128:
        return ""
    try:
        return signal.Signals(exit_code - 128).name
    except ValueError:
        return ""


def _tail(data: bytes) -> str:
    return data[-_OUTPUT_LIMIT:].decode("utf-8", "replace")


def demux_logs(raw: bytes) -> tuple[bytes, bytes]:
    """Split the engine's multiplexed log stream into (stdout, stderr).

    Each frame is an 8-byte header (stream: 1 stdout, 2 stderr; 3 zero bytes; big-endian length)
    then the payload. A body that does not parse as frames (a TTY container) is all stdout.
    """
    out: list[bytes] = []
    err: list[bytes] = []
    pos = 0
    while pos < len(raw):
        header = raw[pos : pos + 8]
        if len(header) < 8 or header[0] not in (0, 1, 2) or header[1:4] != b"\0\0\0":
            return raw, b""
        size = int.from_bytes(header[4:8], "big")
        # A last frame cut short (the read is bounded) keeps what arrived.
        (err if header[0] == 2 else out).append(raw[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return b"".join(out), b"".join(err)


_START_EXEC = re.compile(r"exec[: ]+\"?(/[^\s\"]+)\"?: (exec format error|no such file or directory|permission denied)")


class CellContainers(DockerRunnerBase):
    """``DockerRunner``'s container of one cell, from creation to its logs."""

    def _create(self, image_ref: str, cell: _Cell, shared: bool = False) -> str:
        api = self.client.api
        mounts = [_volume_mount(cell.volume, read_only=True)] if shared else None
        # Without the shared volume (an engine that cannot fill one) the artifact is copied into
        # the container's own filesystem, which therefore cannot be read-only.
        host_config = run_host_config(api, self.run_settings(), cell.timeout, mounts, read_only=shared)
        res = api.create_container(
            image_ref,
            command=[f"{MOUNT_DIR}/{cell.name}", *cell.args],
            entrypoint=[],
            user=RUN_USER,
            working_dir="/",
            labels={LABEL: "1", SESSION_LABEL: self.session, **deadline_labels(cell.timeout)},
            host_config=host_config,
            network_disabled=True,
            platform=cell.platform,
        )
        cid = str(res["Id"])
        with self._lock:
            self._live.add(cid)
        if self._cancelled.is_set():
            remove_container(self.client, cid)
        return cid

    def _start_and_wait(self, cid: str, timeout: float) -> tuple[int | None, bool, str]:
        """(exit code, timed out, exec error reported at start)."""
        import docker.errors
        import requests

        api = self.client.api
        try:
            api.start(cid)
        except docker.errors.APIError as exc:
            m = _START_EXEC.search(str(exc.explanation or exc))
            if m:
                return None, False, f"exec {m.group(1)}: {m.group(2)}"
            raise
        try:
            status = api.wait(cid, timeout=timeout)
            return int(status.get("StatusCode", -1)), False, ""
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
            if self._cancelled.is_set():
                return None, False, ""
            state = api.inspect_container(cid)["State"]  # raises if the engine itself is gone
            if not state.get("Running"):
                if isinstance(exc, requests.exceptions.ReadTimeout):
                    return int(state.get("ExitCode", -1)), False, ""
                raise
            api.kill(cid)
            return None, True, ""

    def _logs(self, cid: str) -> tuple[str, str]:
        """(stdout, stderr) of a finished container, in one request.

        docker-py's ``logs`` inspects the container before every call (to learn whether it has a
        TTY) and needs one call per stream; lab containers never have a TTY, so the body is always
        the multiplexed stream and is split here.
        """
        out, err = demux_logs(read_logs(self.client.api, cid))
        return _tail(out), _tail(err)

    def _emulated(self, cell: _Cell, image: Any) -> bool:
        """True when the artifact runs under a qemu binfmt handler rather than natively.

        The kernel picks the handler from the artifact's own ELF header, whatever the image's
        platform: an arm64 binary in a local amd64 image is emulated with no --platform at all.
        The requested platform only stands in when the artifact's architecture is unknown.
        """
        platform_arch = cell.platform.split("/")[1] if cell.platform and "/" in cell.platform else ""
        arch = cell.facts.arch or platform_arch
        if not arch or arch == platforms.host_goarch():
            return False
        return hostenv.binfmt_handler(arch)
