"""The container lab: run an artifact in real target containers and report what really happens.

``DockerRunner`` implements ``runner.Runner`` on the Docker Engine API (Docker, or Podman's
docker-compatible socket). Each cell of a matrix gets one container, created but not started,
which serves first as a read-only view of the image's filesystem — to find the libc it really
holds and the loader or libraries the artifact will miss, lddtree-style, without executing
anything (``imagefs``) — and then as the sandbox the artifact runs in: no network, no capabilities, a numeric
non-root user, memory/pid/cpu limits. Every container is labelled and removed in every case.

The Docker SDK is imported lazily: importing this module stays cheap. Never imports ``render`` or
``cli``: the ``run`` and ``images`` commands live in ``cli.run`` and ``cli.images``.
"""

from __future__ import annotations

import os
import re
import signal
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from goci_doctor import hostenv, platforms
from goci_doctor.artifact.imagefs import MOUNT_DIR, find_missing
from goci_doctor.config import Config, RunSettings
from goci_doctor.lab.containerfs import LABEL, SESSION_LABEL, ContainerFS, libc_cached, remove_container
from goci_doctor.lab.engine import (
    _is_connection_error,
    _remove_volume,
    _volume_mount,
    connect,
    engine_host,
    sweep_stale_containers,
)
from goci_doctor.lab.runner import EventCallback, Phase, RunEvent
from goci_doctor.lab.sandbox import GRACE_S, deadline_labels, read_logs, run_host_config
from goci_doctor.model import ArtifactFacts, BadInputError
from goci_doctor.records import RunResult

RUN_USER = "65534:65534"
"""nobody:nogroup by number: works on images without /etc/passwd (scratch, distroless)."""
_OUTPUT_LIMIT = 64 * 1024


# --------------------------------------------------------------------------------------------
# The runner


def _signal_name(exit_code: int | None) -> str:
    if exit_code is None or exit_code <= 128:
        return ""
    try:
        return signal.Signals(exit_code - 128).name
    except ValueError:
        return ""


def _tail(data: bytes) -> str:
    return data[-_OUTPUT_LIMIT:].decode("utf-8", "replace")


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


def _safe_name(artifact: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", artifact.name) or "artifact"
    return name.lstrip(".") or "artifact"


_START_EXEC = re.compile(r"exec[: ]+\"?(/[^\s\"]+)\"?: (exec format error|no such file or directory|permission denied)")


class DockerRunner:
    """Runs artifacts in real containers through the Docker Engine API (thread-safe ``cancel``)."""

    def __init__(self, config: Config | None = None, client: Any = None, max_workers: int = 4) -> None:
        if config is None:
            from goci_doctor import config as config_module

            config = config_module.load_config()
        self.config = config
        self._client = client
        self.max_workers = max(1, max_workers)
        self.session = uuid.uuid4().hex[:12]
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._engine_dead = ""
        self._image_locks: dict[str, threading.Lock] = {}

    # -- configuration --------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The engine client, connected on first use."""
        if self._client is None:
            self._client = connect()
            # Containers left by a run whose engine connection died (or a killed process) are swept here.
            sweep_stale_containers(self._client)
        return self._client

    def _run_setting(self, name: str, default: Any) -> Any:
        run = getattr(self.config, "run", None)
        value = getattr(run, name, None) if run is not None else None
        if value in (None, ""):
            value = getattr(self.config, f"run_{name}", None)
        return default if value in (None, "") else value

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

    # -- the matrix -----------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the matrix: unstarted cells are skipped, running containers are removed."""
        self._cancelled.set()
        with self._lock:
            live = list(self._live)
        for cid in live:
            remove_container(self.client, cid)

    def run_matrix(
        self,
        artifact: Path,
        targets: Sequence[str],
        *,
        args: Sequence[str] = (),
        timeout: float | None = None,
        platform: str | None = None,
        variant: str = "",
        on_event: EventCallback | None = None,
        facts: ArtifactFacts | None = None,
    ) -> list[RunResult]:
        """Run ``artifact`` on every target in parallel; results in the order of ``targets``.

        ``timeout`` (seconds per run) defaults to the config's ``[run] timeout``."""
        if timeout is None:
            timeout = self.run_settings().timeout
        artifact = Path(artifact)
        if not artifact.is_file():
            raise BadInputError(f"{artifact} is not a file")
        if facts is None:
            from goci_doctor.artifact import inspect_path

            facts = inspect_path(artifact)
        self._cancelled.clear()
        self._engine_dead = ""
        emit = _safe_emit(on_event)
        _ = self.client  # connect (or raise EngineUnavailableError) before any cell starts
        for t in targets:
            emit(RunEvent(t, "queued", "queued", variant=variant))
        cell = _Cell(
            artifact=artifact, facts=facts, args=tuple(args), timeout=timeout, platform=platform, variant=variant
        )
        # One copy of the artifact for the whole matrix, in a volume every cell mounts read-only:
        # each put_archive costs the engine a mount and an untar process (Docker re-executes itself
        # for it), the largest cost of a cell after runc's start, and the engine refuses put_archive
        # into a read-only root filesystem. The volume lives until the last cell's deadline.
        cell.volume = f"goci-doctor-{self.session}-{uuid.uuid4().hex[:8]}"
        waves = -(-len(targets) // self.max_workers)
        cell.volume_labels = deadline_labels(waves * (timeout + GRACE_S))
        pool = ThreadPoolExecutor(
            max_workers=min(self.max_workers, max(1, len(targets))), thread_name_prefix="goci-lab"
        )
        try:
            futures = [pool.submit(self._run_cell, cell, t, emit) for t in targets]
            return [f.result() for f in futures]
        except BaseException:
            # Ctrl-C (or any failure in the caller's thread): stop and remove everything we started.
            self.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                leftover = list(self._live)
            for cid in leftover:
                remove_container(self.client, cid)
            if cell.volume:
                _remove_volume(self.client, cell.volume)
            cell.discard()

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

    def _run_cell(self, cell: _Cell, target: str, emit: EventCallback) -> RunResult:
        start = time.monotonic()
        image_ref = target
        libc = ""
        missing: tuple[str, ...] = ()

        def finish(phase: Phase, result: RunResult) -> RunResult:
            emit(RunEvent(target, phase, result.message or result.outcome, result, cell.variant))
            return result

        def failed(error: str) -> RunResult:
            res = RunResult(
                target,
                image_ref,
                libc,
                "error",
                error=error,
                variant=cell.variant,
                platform=cell.platform or "",
                duration_s=_since(start),
                missing=missing,
            )
            return finish("cancelled" if error == "cancelled" else "error", res)

        if self._cancelled.is_set():
            return failed("cancelled")
        if self._engine_dead:
            return failed(self._engine_dead)
        cid = ""
        try:
            image_ref = self.image_for(target)
            emit(RunEvent(target, "preparing", f"preparing {image_ref}", variant=cell.variant))
            image, run_ref, shown = self._image_or_stand_in(target, image_ref, cell.platform)
            shared = self._share_artifact(cell, image.id)
            if self._cancelled.is_set():
                return failed("cancelled")
            cid = self._create(run_ref, cell, shared)
            image_ref = shown  # every result names a stand-in as one
            if self._cancelled.is_set():
                return failed("cancelled")
            fs = ContainerFS(self.client, cid)
            libc = libc_cached(self.client, image, fs)
            if not shared:
                self._put_archive(cid, cell.tar())
            missing = find_missing(fs, cell.facts)
            emulated = self._emulated(cell, image)
            emit(RunEvent(target, "running", f"running in {image_ref} ({libc})", variant=cell.variant))
            exit_code, timed_out, start_error = self._start_and_wait(cid, cell.timeout)
            if self._cancelled.is_set():
                return failed("cancelled")
            if start_error:
                # Older runc reports a failed execve as an API error at start instead of in the logs.
                stdout, stderr, exit_code = "", start_error + "\n", 127 if "no such file" in start_error else 126
            else:
                stdout, stderr = self._logs(cid)
            # Still running at the deadline (a server, a long job) means it started: not a crash.
            outcome: Literal["runs", "crashes"] = "runs" if exit_code == 0 or timed_out else "crashes"
            result = RunResult(
                target,
                image_ref,
                libc,
                outcome,
                exit_code=exit_code,
                stdout=stdout,
                stderr=stderr,
                signal="" if timed_out else _signal_name(exit_code),
                timed_out=timed_out,
                emulated=emulated,
                platform=cell.platform or "",
                duration_s=_since(start),
                variant=cell.variant,
                missing=missing,
            )
            return finish("done", result)
        except _CellError as exc:
            return failed(str(exc))
        except Exception as exc:
            if self._cancelled.is_set():
                return failed("cancelled")
            if _is_connection_error(exc):
                base = getattr(self.client.api, "base_url", "") or engine_host()
                self._engine_dead = (
                    f"the Docker engine stopped answering during the run ({base}: "
                    f"{type(exc).__name__}); the remaining targets were not run"
                )
                return failed(self._engine_dead)
            why = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
            return failed(f"engine error: {str(why).splitlines()[0][:300]}")
        finally:
            if cid:
                remove_container(self.client, cid)
                with self._lock:
                    self._live.discard(cid)

    def run_settings(self) -> RunSettings:
        """The ``[run]`` limits (config.py holds the one set of defaults)."""
        default = RunSettings()
        return RunSettings(
            timeout=float(self._run_setting("timeout", default.timeout)),
            memory=str(self._run_setting("memory", default.memory)),
            pids=int(self._run_setting("pids", default.pids)),
        )

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


class _CellError(Exception):
    """A cell that cannot run for a reason worth one line in the table (not an engine crash)."""


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


def _since(start: float) -> float:
    return round(time.monotonic() - start, 3)


def _safe_emit(on_event: EventCallback | None) -> EventCallback:
    """Events come from worker threads; a failing callback must not kill a cell."""
    lock = threading.Lock()

    def emit(event: RunEvent) -> None:
        if on_event is None:
            return
        with lock:
            try:
                on_event(event)
            except Exception:  # a UI bug must not leave containers behind
                pass

    return emit
