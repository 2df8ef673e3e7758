"""What the end-to-end Docker tests share (test_faults, test_sandbox_docker): the engine or a skip,
a config that runs only the local images, the lab's containers found by a unique name, waiting for
a condition, and ``goci-doctor`` started as a user would start it (signal dispositions reset).

Imports: goci_doctor.lab.engine, goci_doctor.lab.images, goci_doctor.model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ENV_ISOLATION = {"GOCI_DOCTOR_IMAGES": ""}
"""The user's $GOCI_DOCTOR_IMAGES must not reach the CLI under test."""


def engine_or_skip(*images: str) -> Any:
    """A client of the real engine, or a skip naming what is missing (the engine, or local images)."""
    from goci_doctor.lab import engine as lab_engine
    from goci_doctor.model import EngineUnavailableError

    try:
        client = lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    missing = [ref for ref in images if not client.images.list(name=ref)]
    if missing:
        pytest.skip(f"local images missing ({', '.join(missing)}): run `goci-doctor images build`")
    return client


def local_config_file(tmp_path: Path, extra: str = "") -> Path:
    """A config file mapping every target to its local image, with pulling off (``extra`` first)."""
    from goci_doctor.lab.images import local_image_map

    lines = ["[run]", "allow_pull = false", "", "[images]"]
    lines += [f'"{k}" = "{v}"' for k, v in local_image_map().items()]
    path = tmp_path / "config.toml"
    path.write_text(extra + "\n" + "\n".join(lines) + "\n")
    return path


def containers_for(engine: Any, needle: str | Path) -> list[dict]:
    """The lab's containers whose command or mounts name ``needle`` (an artifact: its file name)."""
    name = needle.name if isinstance(needle, Path) else needle
    return [
        c
        for c in engine.api.containers(all=True, filters={"label": ["goci-doctor=1"]})
        if name in c.get("Command", "") or name in json.dumps(c.get("Mounts", []))
    ]


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _reset_signals() -> None:
    # A background job of a non-interactive shell starts with SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: the child gets the defaults back, to see Ctrl-C as a user would.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m goci_doctor ARGS`` with pipes, the isolated environment and default signal handling."""
    return subprocess.Popen(
        [sys.executable, "-m", "goci_doctor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV_ISOLATION, **(env or {})},
        preexec_fn=_reset_signals,
    )
