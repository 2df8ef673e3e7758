"""Shared fixtures: real Go binaries built at test time (cached), and the files broken builds leave."""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

import build as fixture_build


def pytest_configure(config) -> None:
    """Isolate the suite from the user's own config and history (subprocesses inherit this)."""
    import os
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="goci-test-home-"))
    (home / "config.toml").write_text("# goci-doctor test config: defaults\n")
    os.environ["GOCI_DOCTOR_CONFIG"] = str(home / "config.toml")
    os.environ["GOCI_DOCTOR_DATA_DIR"] = str(home / "data")
    os.environ.pop("GOCI_DOCTOR_IMAGES", None)


@pytest.fixture(scope="session")
def fixture_bins() -> dict[str, fixture_build.Built]:
    """name -> Built for every fixture in tests/fixtures/build.py (SPECS)."""
    return fixture_build.build_all()


@pytest.fixture(scope="session")
def bin_path(fixture_bins):
    """bin_path("cgo-host") -> Path, or a skip that names the missing toolchain."""

    def get(name: str) -> Path:
        built = fixture_bins[name]
        if built.path is None:
            pytest.skip(f"fixture {name} unavailable: {built.reason}")
        return built.path

    return get


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    """empty, random, truncated, truncated-half, truncated-pe, script, html, lfs."""
    return fixture_build.make_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="session")
def facts_of(bin_path):
    """facts_of("cgo-host") -> ArtifactFacts of that fixture, inspected once per session."""
    from goci_doctor import artifact

    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = artifact.inspect_path(bin_path(name))
        return cache[name]

    return get


@pytest.fixture
def sleeper(bin_path, tmp_path) -> Path:
    """The sleeper fixture under a name no other test uses: the lab's containers are found by it."""
    path = tmp_path / f"sleeper-{uuid.uuid4().hex[:10]}"
    shutil.copy2(bin_path("sleeper"), path)
    return path
