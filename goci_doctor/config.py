"""User settings: a small TOML file in the user config directory.

Where: ``--config FILE``, else ``$GOCI_DOCTOR_CONFIG``, else
``platformdirs.user_config_dir("goci-doctor")/config.toml``. A missing default file means
defaults; a file named explicitly must exist. Errors name the file and the key or line.

``$GOCI_DOCTOR_IMAGES`` ("target=image,target=image") maps targets to images for one run
(CI, air-gapped mirrors) without touching the file; it wins over the file's ``[images]``.

Imports: knowledge, model, safety.safeio.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from goci_doctor.model import BadInputError, no_such_file
from goci_doctor.safety import safeio

APP_NAME = "goci-doctor"
CONFIG_ENV = "GOCI_DOCTOR_CONFIG"
IMAGES_ENV = "GOCI_DOCTOR_IMAGES"
DATA_ENV = "GOCI_DOCTOR_DATA_DIR"

DEFAULT_TARGETS = ("ubuntu:22.04", "debian:bullseye", "alpine:3.20", "distroless/static")

# docker run --memory syntax: a number with an optional b/k/m/g unit.
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([bkmg]?)$", re.IGNORECASE)
_UNIT = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
MIN_MEMORY = 6 << 20
"""The engine refuses a memory limit below 6 MiB; "0" would remove the limit altogether."""
MAX_MEMORY = 1 << 40
MAX_PIDS = 1 << 22
"""The kernel's own ceiling for pid_max."""
MAX_TIMEOUT_S = 24 * 3600.0
"""Longer than any run or build; beyond it a "timeout" is no deadline at all."""


def memory_bytes(value: object) -> int:
    """Bytes of a ``docker run --memory`` size; ValueError saying what is wrong when it is no usable limit."""
    match = _MEMORY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'must be a size like "256m" or "1g", got {_describe(value)}')
    size = int(float(match.group(1)) * _UNIT[match.group(2).lower()])
    if size < MIN_MEMORY:
        raise ValueError(f"must be at least 6m (the engine's minimum; 0 would mean no limit), got {value!r}")
    if size > MAX_MEMORY:
        raise ValueError(f"must be at most 1024g, got {value!r}")
    return size


def check_pids(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PIDS:
        raise ValueError(f"must be an integer from 1 to {MAX_PIDS}, got {_describe(value)}")
    return value


def check_cpus(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and 0.01 <= value <= 1024)
    ):
        raise ValueError(f"must be a number of CPUs from 0.01 up, got {_describe(value)}")
    return float(value)


def check_timeout(value: object) -> float:
    """Seconds as a deadline: finite, above zero, at most a day. Strings (from the CLI) are parsed."""
    number: object = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {value!r}") from None
    if (
        isinstance(number, bool)
        or not isinstance(number, (int, float))
        or not (math.isfinite(number) and 0 < number <= MAX_TIMEOUT_S)
    ):
        raise ValueError(
            f"must be a positive number of seconds, at most {MAX_TIMEOUT_S:.0f}, got "
            f"{value if isinstance(value, str) else _describe(value)}"
        )
    return float(number)


def resolve_timeout(flag: object, configured: float, option: str = "--timeout") -> float:
    """The ``--timeout`` flag when given (validated, one clear line when bad), else the config's value."""
    if flag is None:
        return configured
    try:
        return check_timeout(flag)
    except ValueError as exc:
        raise BadInputError(f"{option} {exc}") from None


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class RunSettings:
    """Limits for each container run (the ``[run]`` table): the one home of the run defaults."""

    timeout: float = 20.0
    """Seconds an artifact may run before it is stopped."""
    memory: str = "256m"
    """Memory limit in ``docker run --memory`` syntax."""
    pids: int = 128
    """Maximum number of processes in the container (a fork bomb stops here)."""
    allow_pull: bool = True
    """Pull a missing image from its registry; False for air-gapped hosts."""
    exact_images: bool = False
    """Never run a local stand-in (goci/*) when a target's own image cannot be had."""


@dataclass(frozen=True)
class BuildSettings:
    """Limits for each diagnostic build container (the ``[build]`` table), sized for a Go build."""

    timeout: float = 900.0
    """Seconds a build may take: a cold cgo build through zig compiles its libc first."""
    memory: str = "4g"
    """The go command, compile and link of a large module, or cgo with a big C header, fit in 4 GiB."""
    pids: int = 2048
    """Processes and threads: go build runs one compile per CPU, each with its runtime threads."""
    cpus: float = 2.0
    """At most this many CPUs (capped at the host's)."""


@dataclass(frozen=True)
class Config:
    """The user's settings, with defaults for everything left out."""

    default_targets: tuple[str, ...] = DEFAULT_TARGETS
    """Targets checked when the user names none."""
    theme: str = "textual-dark"
    build_image: str = "goci/build:trixie"
    """Image diagnostic builds run in."""
    images: dict[str, str] = field(default_factory=dict)
    """Logical target name → image reference actually run (local mirrors), from ``[images]``."""
    run: RunSettings = field(default_factory=RunSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    env_images: dict[str, str] = field(default_factory=dict)
    """Overrides from ``$GOCI_DOCTOR_IMAGES``: used, never saved."""
    path: str = ""
    """The file these settings were read from ("" for defaults)."""
    engines: dict[str, str] = field(default_factory=dict)
    """``[engines]``: name → Docker context or endpoint URL; ``run`` spreads its matrix over them."""

    def image_for(self, target_name: str, default_image: str) -> str:
        """The image to run for a target: ``$GOCI_DOCTOR_IMAGES``, then ``[images]``, then the
        knowledge base's ``default_image``."""
        for table in (self.env_images, self.images):
            if target_name in table:
                return table[target_name]
            # Keys may be written as any alias of the target ("debian:bullseye" for "debian:11").
            for key, image in table.items():
                if _same_target(key, target_name):
                    return image
        return default_image


def _same_target(key: str, target_name: str) -> bool:
    from goci_doctor import knowledge

    found = knowledge.find_target(key)
    return found is not None and found.name == target_name


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

    images: dict[str, str] = {}
    if "images" in doc:
        table = doc["images"]
        if not isinstance(table, dict):
            raise fail("images", f'must be a table of target = "image", got {_describe(table)}')
        for target, image in table.items():
            images[target] = string(target, image, "images")

    engines: dict[str, str] = {}
    if "engines" in doc:
        table = doc["engines"]
        if not isinstance(table, dict):
            raise fail("engines", f'must be a table of name = "context or URL", got {_describe(table)}')
        for name, where in table.items():
            engines[name] = string(name, where, "engines")

    run = defaults.run
    if "run" in doc:
        table = doc["run"]
        if not isinstance(table, dict):
            raise fail("run", f"must be a table, got {_describe(table)}")
        for key in table:
            if key not in ("timeout", "memory", "pids", "allow_pull", "exact_images"):
                raise fail(key, "is not a setting (known: allow_pull, exact_images, memory, pids, timeout)", "run")
        timeout = table.get("timeout", run.timeout)
        if isinstance(timeout, str):  # the CLI parses strings; the file must hold a number
            raise fail("timeout", f"must be a positive number of seconds, got {_describe(timeout)}", "run")
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
        table = doc["build"]
        if not isinstance(table, dict):
            raise fail("build", f"must be a table, got {_describe(table)}")
        names = ("cpus", "memory", "pids", "timeout")
        for key in table:
            if key not in names:
                raise fail(key, f"is not a setting (known: {', '.join(names)})", "build")
        if isinstance(table.get("timeout"), str):
            raise fail("timeout", f"must be a positive number of seconds, got {_describe(table['timeout'])}", "build")
        build = BuildSettings(**_limits(table, build, names, "build", fail))

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


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    name = kind.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return name
    return f"{name} {value!r}" if not isinstance(value, bool) else f"{name} {str(value).lower()}"


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


# --------------------------------------------------------------------------------------------
# Writing


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
