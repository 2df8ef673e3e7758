"""Where goci-doctor's files are: the config file (``--config``, ``$GOCI_DOCTOR_CONFIG`` or the
user config directory's) and the saved sessions (``$GOCI_DOCTOR_DATA_DIR`` or the user data
directory).

Imports: nothing of goci_doctor (platformdirs only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "goci-doctor"
CONFIG_ENV = "GOCI_DOCTOR_CONFIG"
IMAGES_ENV = "GOCI_DOCTOR_IMAGES"
DATA_ENV = "GOCI_DOCTOR_DATA_DIR"


def config_path(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to use: ``path``, else ``$GOCI_DOCTOR_CONFIG``, else the user config dir's."""
    env = os.environ if environ is None else environ
    if path:
        return Path(path).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where saved sessions (history) live: ``$GOCI_DOCTOR_DATA_DIR`` or the user data dir.

    Not created here; writers create it when they first save.
    """
    env = os.environ if environ is None else environ
    if env.get(DATA_ENV):
        return Path(env[DATA_ENV]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))
