"""A second, private Docker engine for the tests: its own dockerd beside the machine's.

Own data root, exec root, pid file and socket, no bridge and no iptables rules, so it touches
nothing of the first engine; images are copied in from the first one (``docker save | load``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


class SecondEngine:
    """Start with ``SecondEngine.start()``; ``url`` is its ``unix://`` endpoint; ``stop`` removes everything."""

    def __init__(self, root: Path, proc: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.proc = proc
        self.url = f"unix://{root / 'docker.sock'}"

    @classmethod
    def start(cls, timeout: float = 60.0) -> SecondEngine:
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
        # A short path: containerd's shim sockets live under the exec root and unix paths are short.
        root = Path(tempfile.mkdtemp(prefix="gd2-", dir="/tmp"))
        log = open(root / "dockerd.log", "wb")  # the child keeps it open; closed with the process
        proc = subprocess.Popen(
            [
                dockerd,
                "--data-root",
                str(root / "data"),
                "--exec-root",
                str(root / "exec"),
                "--pidfile",
                str(root / "docker.pid"),
                "-H",
                f"unix://{root / 'docker.sock'}",
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        engine = cls(root, proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if (root / "docker.sock").exists() and engine._ping():
                return engine
            time.sleep(0.3)
        engine.stop()
        tail = (root / "dockerd.log").read_text(errors="replace")[-2000:] if root.exists() else ""
        raise RuntimeError(f"the second dockerd did not start: {tail}")

    def _ping(self) -> bool:
        import docker

        try:
            client = docker.DockerClient(base_url=self.url, timeout=5)
            ok = bool(client.ping())
            client.close()
            return ok
        except Exception:
            return False

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.url, timeout=60)

    def load_from(self, source: Any, *refs: str) -> None:
        """Copy images from another engine's client into this one."""
        dest = self.client()
        for ref in refs:
            dest.api.load_image(source.api.get_image(ref), quiet=True)
        dest.close()

    def kill(self) -> None:
        """The daemon dies at once (SIGKILL), as a crashed or unplugged engine would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        # Containers' overlay mounts under the data root must go before the tree can be removed.
        subprocess.run(
            ["sh", "-c", f"grep -o ' {self.root}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
