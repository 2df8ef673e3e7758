"""What every part of ``DockerRunner`` shares: its config, its engine client (connected on first
use, stale containers swept), its session id, the containers it has live, and the ``[run]`` limits.

``lab.docker`` composes the runner from this base and the mixins over it (``dockerimages``,
``dockercopy``, ``dockercontainers``), each one concern.

Imports: config, lab.engine.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from goci_doctor.config import Config, RunSettings
from goci_doctor.lab.engine import connect, sweep_stale_containers


class DockerRunnerBase:
    """The state of one runner; the behaviour is in its mixins and ``lab.docker.DockerRunner``."""

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

    def run_settings(self) -> RunSettings:
        """The ``[run]`` limits (config.settings holds the one set of defaults)."""
        default = RunSettings()
        return RunSettings(
            timeout=float(self._run_setting("timeout", default.timeout)),
            memory=str(self._run_setting("memory", default.memory)),
            pids=int(self._run_setting("pids", default.pids)),
        )
