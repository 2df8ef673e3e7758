"""Writing the settings file: every setting as TOML (keys and strings quoted as TOML wants),
replaced atomically so a reader never sees half a file.

Imports: config.paths, config.settings, model.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from goci_doctor.config.paths import config_path
from goci_doctor.config.settings import Config
from goci_doctor.model import BadInputError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def dumps(config: Config) -> str:
    """The TOML text ``save_config`` writes: every setting, ``[images]`` sorted by target."""
    lines = [
        "# goci-doctor settings (see `goci-doctor --help`)",
        f"default_targets = [{', '.join(_string(t) for t in config.default_targets)}]",
        f"theme = {_string(config.theme)}",
        f"build_image = {_string(config.build_image)}",
        "",
        "# logical target -> image reference actually run (local mirrors, air-gapped registries)",
        "[images]",
    ]
    lines += [f"{_key(t)} = {_string(i)}" for t, i in sorted(config.images.items())]
    run = config.run
    lines += [
        "",
        "[run]",
        f"timeout = {_number(run.timeout)}",
        f"memory = {_string(run.memory)}",
        f"pids = {run.pids}",
        f"allow_pull = {'true' if run.allow_pull else 'false'}",
        f"exact_images = {'true' if run.exact_images else 'false'}",
        "",
        "[build]",
        f"timeout = {_number(config.build.timeout)}",
        f"memory = {_string(config.build.memory)}",
        f"pids = {config.build.pids}",
        f"cpus = {_number(config.build.cpus)}",
    ]
    if config.engines:
        lines += ["", "# name -> Docker context or engine URL; run spreads its matrix over these", "[engines]"]
        lines += [f"{_key(n)} = {_string(u)}" for n, u in sorted(config.engines.items())]
    return "\n".join(lines) + "\n"


def save_config(config: Config, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``config`` as TOML (atomically: a reader never sees half a file) and return the path.

    ``env_images`` (from ``$GOCI_DOCTOR_IMAGES``) are not written.
    """
    file = config_path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(dumps(config))
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise BadInputError(f"cannot write config file {file}: {exc.strerror or exc}") from None
    return file
