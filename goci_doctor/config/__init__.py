"""User settings: a small TOML file in the user config directory.

Where: ``--config FILE``, else ``$GOCI_DOCTOR_CONFIG``, else
``platformdirs.user_config_dir("goci-doctor")/config.toml``. A missing default file means
defaults; a file named explicitly must exist. Errors name the file and the key or line.

``$GOCI_DOCTOR_IMAGES`` ("target=image,target=image") maps targets to images for one run
(CI, air-gapped mirrors) without touching the file; it wins over the file's ``[images]``.

The package's names are imported from here (``from goci_doctor.config import Config``); they live
in ``settings`` (the schema, its defaults and the value checks), ``paths`` (where the file and the
saved sessions are), ``loading`` (reading and validating a file) and ``saving`` (writing one).

Imports: config.loading, config.paths, config.saving, config.settings.
"""

from __future__ import annotations

from goci_doctor.config.loading import load_config, parse_images_env
from goci_doctor.config.paths import APP_NAME, CONFIG_ENV, DATA_ENV, IMAGES_ENV, config_path, data_dir
from goci_doctor.config.saving import dumps, save_config
from goci_doctor.config.settings import (
    DEFAULT_TARGETS,
    MAX_MEMORY,
    MAX_PIDS,
    MAX_TIMEOUT_S,
    MIN_MEMORY,
    BuildSettings,
    Config,
    RunSettings,
    check_cpus,
    check_pids,
    check_timeout,
    memory_bytes,
    resolve_timeout,
)

__all__ = [
    "APP_NAME",
    "CONFIG_ENV",
    "DATA_ENV",
    "DEFAULT_TARGETS",
    "IMAGES_ENV",
    "MAX_MEMORY",
    "MAX_PIDS",
    "MAX_TIMEOUT_S",
    "MIN_MEMORY",
    "BuildSettings",
    "Config",
    "RunSettings",
    "check_cpus",
    "check_pids",
    "check_timeout",
    "config_path",
    "data_dir",
    "dumps",
    "load_config",
    "memory_bytes",
    "parse_images_env",
    "resolve_timeout",
    "save_config",
]
