"""config: defaults, TOML round trip, error messages that name the file and key, image overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs
import pytest

from goci_doctor import config as cfg
from goci_doctor.model import BadInputError

EXAMPLE = """\
default_targets = ["ubuntu:22.04", "debian:bullseye", "alpine:3.20", "distroless/static"]
theme = "textual-light"
build_image = "goci/build:trixie"

[images]               # logical target -> image reference actually run
"centos:7" = "registry.local/centos:7"
"alpine:3.20" = "goci/musl:local"

[run]
timeout = 20
memory = "256m"
pids = 128
allow_pull = false
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    conf = cfg.load_config(environ={})
    assert conf == cfg.Config()
    assert conf.default_targets == ("ubuntu:22.04", "debian:bullseye", "alpine:3.20", "distroless/static")
    assert (conf.theme, conf.build_image) == ("textual-dark", "goci/build:trixie")
    assert conf.run == cfg.RunSettings(timeout=20.0, memory="256m", pids=128, allow_pull=True)
    assert conf.images == {} and conf.path == ""


def test_default_path_is_the_user_config_dir() -> None:
    expected = Path(platformdirs.user_config_dir("goci-doctor")) / "config.toml"
    assert cfg.config_path(environ={}) == expected
    assert cfg.config_path("x.toml", environ={"GOCI_DOCTOR_CONFIG": "/y.toml"}) == Path("x.toml")
    assert cfg.config_path(environ={"GOCI_DOCTOR_CONFIG": "/y.toml"}) == Path("/y.toml")


def test_data_dir() -> None:
    assert cfg.data_dir(environ={}) == Path(platformdirs.user_data_dir("goci-doctor"))
    assert cfg.data_dir(environ={"GOCI_DOCTOR_DATA_DIR": "/tmp/gd"}) == Path("/tmp/gd")


def test_example_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    conf = cfg.load_config(path, environ={})
    assert conf.theme == "textual-light"
    assert conf.images == {"centos:7": "registry.local/centos:7", "alpine:3.20": "goci/musl:local"}
    assert conf.run.allow_pull is False and conf.run.timeout == 20.0
    assert conf.path == str(path)


def test_env_var_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "monokai"\n', "elsewhere.toml")
    assert cfg.load_config(environ={"GOCI_DOCTOR_CONFIG": str(path)}).theme == "monokai"


def test_round_trip(tmp_path: Path) -> None:
    original = cfg.Config(
        default_targets=("centos:7", "alpine:3.20"),
        theme="nord",
        build_image="registry.local/goci/build:1",
        images={"centos:7": "registry.local/centos:7", 'we"ird\\target': "img:tag", "plain_key": "x"},
        run=cfg.RunSettings(timeout=7.5, memory="1g", pids=64, allow_pull=False),
    )
    path = cfg.save_config(original, tmp_path / "sub" / "config.toml")
    assert path == tmp_path / "sub" / "config.toml"
    loaded = cfg.load_config(path, environ={})
    assert loaded == cfg.Config(**{**original.__dict__, "path": str(path)})
    # The writer produces TOML that an independent reader agrees with.
    doc = tomllib.loads(path.read_text())
    assert doc["images"]['we"ird\\target'] == "img:tag"
    assert doc["run"] == {"timeout": 7.5, "memory": "1g", "pids": 64, "allow_pull": False, "exact_images": False}


def test_defaults_round_trip(tmp_path: Path) -> None:
    path = cfg.save_config(cfg.Config(), tmp_path / "config.toml")
    assert cfg.load_config(path, environ={}) == cfg.Config(path=str(path))


def test_env_images_are_not_saved(tmp_path: Path) -> None:
    conf = cfg.Config(images={"a": "b"}, env_images={"centos:7": "mirror/centos:7"})
    path = cfg.save_config(conf, tmp_path / "config.toml")
    assert "mirror/centos:7" not in path.read_text()
    assert cfg.load_config(path, environ={}).images == {"a": "b"}


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "dark"\n\n[run]\ntimeout = = 3\n')
    with pytest.raises(BadInputError) as err:
        cfg.load_config(path, environ={})
    message = str(err.value)
    assert str(path) in message
    assert "line 4" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "key", "line", "detail"),
    [
        ("theme = 3\n", "theme", 1, "must be a non-empty string, got integer 3"),
        ('theme = "x"\ndefault_targets = "centos:7"\n', "default_targets", 2, "list of target names"),
        ('[run]\ntimeout = "20"\n', "run.timeout", 2, "got string '20'"),
        ("[run]\ntimeout = -1\n", "run.timeout", 2, "positive number"),
        ("[run]\npids = true\n", "run.pids", 2, "got boolean true"),
        ('[run]\nmemory = "lots"\n', "run.memory", 2, '"256m"'),
        ('[run]\nallow_pull = "yes"\n', "run.allow_pull", 2, "true or false"),
        ("[run]\ntimeout = 5\ntimout = 6\n", "run.timout", 3, "is not a setting"),
        ('[images]\n"centos:7" = 7\n', 'images."centos:7"', 2, "non-empty string"),
        ('[images]\n"ubuntu:22.04" = ""\n', 'images."ubuntu:22.04"', 2, "non-empty string"),
        ('images = ["x"]\n', "images", 1, "must be a table"),
        ('theme = "x"\ndefault_target = ["a"]\n', "default_target", 2, "is not a setting"),
        ('[colors]\nbg = "red"\n', "colors", 1, "is not a setting"),
    ],
)
def test_wrong_type_names_file_key_and_line(tmp_path: Path, text: str, key: str, line: int, detail: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BadInputError) as err:
        cfg.load_config(path, environ={})
    assert str(err.value).startswith(f"{path}, line {line}: {key} ")
    assert detail in str(err.value)


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(BadInputError, match=r"nope\.toml: no such file \(config file\)"):
        cfg.load_config(missing, environ={})
    with pytest.raises(BadInputError, match="no such file"):
        cfg.load_config(environ={"GOCI_DOCTOR_CONFIG": str(missing)})


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="is a directory"):
        cfg.load_config(tmp_path, environ={})
    path = tmp_path / "bin.toml"
    path.write_bytes(b'theme = "\xff\xfe"\n')
    with pytest.raises(BadInputError, match="not UTF-8"):
        cfg.load_config(path, environ={})


def test_image_for_precedence(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    conf = cfg.load_config(path, environ={})
    assert conf.image_for("centos:7", "centos:7") == "registry.local/centos:7"
    assert conf.image_for("debian:bullseye", "debian:bullseye-slim") == "debian:bullseye-slim"
    env = {"GOCI_DOCTOR_IMAGES": "centos:7=ci.mirror/centos:7 , debian:bullseye=ci.mirror/debian:11"}
    conf = cfg.load_config(path, environ=env)
    assert conf.image_for("centos:7", "centos:7") == "ci.mirror/centos:7"
    assert conf.image_for("debian:bullseye", "debian:bullseye-slim") == "ci.mirror/debian:11"
    assert conf.image_for("alpine:3.20", "alpine:3.20") == "goci/musl:local"
    assert conf.images["centos:7"] == "registry.local/centos:7"  # the file's value is kept for saving


def test_env_override_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    conf = cfg.load_config(environ={"GOCI_DOCTOR_IMAGES": "alpine:3.20=local/alpine\nscratch=local/scratch"})
    assert conf.env_images == {"alpine:3.20": "local/alpine", "scratch": "local/scratch"}


@pytest.mark.parametrize("value", ["centos:7", "=img", "centos:7=", "a=b,,c"])
def test_bad_env_override_is_named(value: str) -> None:
    with pytest.raises(BadInputError, match=r"^\$GOCI_DOCTOR_IMAGES: expected target=image"):
        cfg.parse_images_env(value)


@pytest.mark.parametrize(
    ("text", "key", "detail"),
    [
        ('[run]\nmemory = "0"\n', "run.memory", "at least 6m"),
        ('[run]\nmemory = "1b"\n', "run.memory", "at least 6m"),
        ('[run]\nmemory = "5000g"\n', "run.memory", "at most 1024g"),
        ("[run]\npids = 100000000000000000000\n", "run.pids", "from 1 to"),
        ("[run]\npids = 1e20\n", "run.pids", "got number 1e+20"),
        ("[run]\ntimeout = 1e308\n", "run.timeout", "at most 86400"),
        ("[run]\ntimeout = nan\n", "run.timeout", "positive number"),
        ("[run]\ntimeout = inf\n", "run.timeout", "positive number"),
        ("[run]\ntimeout = 0\n", "run.timeout", "positive number"),
        ('[build]\nmemory = "0"\n', "build.memory", "at least 6m"),
        ("[build]\ncpus = 0\n", "build.cpus", "from 0.01"),
        ("[build]\npids = -1\n", "build.pids", "from 1 to"),
        ('[build]\nmemroy = "1g"\n', "build.memroy", "is not a setting"),
    ],
)
def test_limits_that_would_remove_or_break_a_limit_are_refused(
    tmp_path: Path, text: str, key: str, detail: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BadInputError) as err:
        cfg.load_config(path, environ={})
    message = str(err.value)
    assert message.startswith(f"{path}, line 2: {key} ") and detail in message, message
    assert "\n" not in message


def test_build_limits_default_and_round_trip(tmp_path: Path) -> None:
    conf = cfg.load_config(
        write(tmp_path, '[build]\nmemory = "2g"\npids = 512\ncpus = 1.5\ntimeout = 300\n'), environ={}
    )
    assert conf.build == cfg.BuildSettings(timeout=300.0, memory="2g", pids=512, cpus=1.5)
    again = cfg.load_config(write(tmp_path, cfg.dumps(conf)), environ={})
    assert again.build == conf.build and again.run == conf.run
    assert cfg.Config().build.memory == "4g"


@pytest.mark.parametrize("flag", ["0", "-1", "nan", "inf", "1e308", "soon"])
def test_cli_timeout_values_are_refused_before_any_container(flag: str) -> None:
    with pytest.raises(BadInputError, match=r"^--timeout must be"):
        cfg.resolve_timeout(flag, 20.0)
    assert cfg.resolve_timeout(None, 7.0) == 7.0 and cfg.resolve_timeout("2.5", 7.0) == 2.5
