"""Reading the settings file: bounded, parsed as TOML, every key and value validated, each error
one line naming the file and the key or line; ``$GOCI_DOCTOR_IMAGES`` parsed on top.

Imports: config.paths, config.saving (the key's spelling in messages), config.settings, model,
safety.safeio.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from goci_doctor.config.paths import CONFIG_ENV, IMAGES_ENV, config_path
from goci_doctor.config.saving import _key
from goci_doctor.config.settings import (
    BuildSettings,
    Config,
    RunSettings,
    _describe,
    check_cpus,
    check_pids,
    check_timeout,
    memory_bytes,
)
from goci_doctor.model import BadInputError, no_such_file
from goci_doctor.safety import safeio


def parse_images_env(value: str, name: str = IMAGES_ENV) -> dict[str, str]:
    """Parse "target=image,target=image" (commas or newlines) into a dict."""
    out: dict[str, str] = {}
    for item in re.split(r"[,\n]", value):
        item = item.strip()
        if not item:
            continue
        target, sep, image = item.partition("=")
        if not sep or not target.strip() or not image.strip():
            raise BadInputError(f"${name}: expected target=image, got {item!r}")
        out[target.strip()] = image.strip()
    return out


def load_config(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the settings file (see the module docstring for where); defaults when the default
    file does not exist. Raises BadInputError naming the file and the key or line on bad input."""
    env = os.environ if environ is None else environ
    explicit = bool(path) or bool(env.get(CONFIG_ENV))
    file = config_path(path, env)
    env_images = parse_images_env(env[IMAGES_ENV]) if env.get(IMAGES_ENV) else {}
    try:
        # Bounded: a config pointed at /dev/zero or a FIFO is refused, not read forever.
        text = safeio.read_text(file)
    except safeio.UnsafeInput as exc:
        if exc.missing:
            if explicit:
                raise no_such_file(file, "config file") from None
            return Config(env_images=env_images)
        raise BadInputError(f"cannot read config file {file}: {exc.reason}") from None
    try:
        doc = safeio.loads_toml(text, file)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line N, column M)".
        raise BadInputError(f"{file}: invalid TOML: {exc}") from None
    return _from_doc(doc, file, text, env_images)


def _from_doc(doc: dict[str, Any], file: Path, text: str, env_images: dict[str, str]) -> Config:
    def fail(key: str, message: str, table: str = "") -> BadInputError:
        line = _line_of(text, table, key)
        where = f"{file}, line {line}" if line else str(file)
        shown = f"{table}.{_key(key)}" if table else _key(key)
        return BadInputError(f"{where}: {shown} {message}")

    known = {"default_targets", "theme", "build_image", "images", "run", "build", "engines"}
    for key in doc:
        if key not in known:
            raise fail(key, f"is not a setting (known: {', '.join(sorted(known))})")

    def string(key: str, value: Any, table: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"must be a non-empty string, got {_describe(value)}", table)
        return value.strip()

    defaults = Config()
    targets = defaults.default_targets
    if "default_targets" in doc:
        value = doc["default_targets"]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail("default_targets", f"must be a list of target names, got {_describe(value)}")
        targets = tuple(v.strip() for v in value)
    theme = string("theme", doc["theme"]) if "theme" in doc else defaults.theme
    build_image = string("build_image", doc["build_image"]) if "build_image" in doc else defaults.build_image

    def string_table(name: str, shape: str) -> dict[str, str]:
        if name not in doc:
            return {}
        table = doc[name]
        if not isinstance(table, dict):
            raise fail(name, f"must be a table of {shape}, got {_describe(table)}")
        return {key: string(key, value, name) for key, value in table.items()}

    def settings_table(name: str, names: tuple[str, ...]) -> dict[str, Any]:
        table = doc[name]
        if not isinstance(table, dict):
            raise fail(name, f"must be a table, got {_describe(table)}")
        for key in table:
            if key not in names:
                raise fail(key, f"is not a setting (known: {', '.join(sorted(names))})", name)
        if isinstance(table.get("timeout"), str):  # the CLI parses strings; the file must hold a number
            raise fail("timeout", f"must be a positive number of seconds, got {_describe(table['timeout'])}", name)
        return table

    images = string_table("images", 'target = "image"')
    engines = string_table("engines", 'name = "context or URL"')

    run = defaults.run
    if "run" in doc:
        table = settings_table("run", ("timeout", "memory", "pids", "allow_pull", "exact_images"))
        limits = _limits(table, run, ("timeout", "memory", "pids"), "run", fail)
        allow_pull = table.get("allow_pull", run.allow_pull)
        if not isinstance(allow_pull, bool):
            raise fail("allow_pull", f"must be true or false, got {_describe(allow_pull)}", "run")
        exact = table.get("exact_images", run.exact_images)
        if not isinstance(exact, bool):
            raise fail("exact_images", f"must be true or false, got {_describe(exact)}", "run")
        run = RunSettings(allow_pull=allow_pull, exact_images=exact, **limits)

    build = defaults.build
    if "build" in doc:
        names = ("cpus", "memory", "pids", "timeout")
        build = BuildSettings(**_limits(settings_table("build", names), build, names, "build", fail))

    return Config(
        default_targets=targets,
        theme=theme,
        build_image=build_image,
        images=images,
        run=run,
        build=build,
        env_images=env_images,
        path=str(file),
        engines=engines,
    )


def _limits(table: dict[str, Any], defaults: Any, names: tuple[str, ...], where: str, fail: Any) -> dict[str, Any]:
    """The limit values of a ``[run]`` or ``[build]`` table, each validated (one line naming the key)."""
    checks = {
        "timeout": check_timeout,
        "pids": check_pids,
        "cpus": check_cpus,
        "memory": lambda v: (memory_bytes(v), v.strip())[1],
    }
    out: dict[str, Any] = {}
    for name in names:
        value = table.get(name, getattr(defaults, name))
        try:
            out[name] = checks[name](value)
        except ValueError as exc:
            raise fail(name, str(exc), where) from None
    return out


def _line_of(text: str, table: str, key: str) -> int:
    """Line number (1-based) where ``key`` is assigned inside ``[table]`` ("" = top level); 0 if not found.

    A light scan, enough to point at the line of a value that parsed but has the wrong type.
    """
    current = ""
    bare = key.strip('"')
    pattern = re.compile(rf"^\s*(?:{re.escape(bare)}|\"{re.escape(bare)}\"|'{re.escape(bare)}')\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$", line)
        if header:
            current = header.group(1).replace('"', "").replace("'", "").replace(" ", "")
            if not table and current == bare:
                return number
            continue
        if current == table.replace('"', "") and pattern.match(line):
            return number
    return 0
