"""Local stand-in images: a target whose image cannot be had runs on a goci/* image with its libc,
named as a stand-in in the result, unless exact images were asked for.

Runs are real (the local Docker engine and images from ``goci-doctor images build``); pulling is
disabled so no registry is ever asked.
"""

from __future__ import annotations

import pytest

from goci_doctor.config import Config, RunSettings, load_config
from goci_doctor.lab import docker as lab
from goci_doctor.lab import engine as lab_engine
from goci_doctor.lab import images


def test_stand_in_only_where_the_libc_is_the_targets():
    assert images.stand_in_for("debian:12") == "goci/debian:bookworm"
    assert images.stand_in_for("debian:bullseye") == "goci/debian:bullseye"
    assert images.stand_in_for("scratch") == "goci/scratch"
    # No local image holds glibc 2.35 or 2.17: those stay predicted only.
    assert images.stand_in_for("ubuntu:22.04") == ""
    assert images.stand_in_for("centos:7") == ""


def test_exact_images_is_a_config_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[run]\nexact_images = true\n")
    assert load_config(path).run.exact_images is True
    path.write_text('[run]\nexact_images = "yes"\n')
    with pytest.raises(Exception, match="exact_images"):
        load_config(path)


@pytest.fixture(scope="module")
def engine():
    try:
        client = lab_engine.connect()
        client.images.get("goci/debian:bookworm")
    except Exception as exc:
        pytest.skip(f"no Docker engine or no local goci/debian:bookworm (goci-doctor images build): {exc}")
    return client


def _run(bin_path, exact: bool, target: str = "debian:12"):
    cfg = Config(images={}, run=RunSettings(allow_pull=False, exact_images=exact))
    runner = lab.DockerRunner(config=cfg)
    return runner.run_matrix(bin_path("cgo-host"), [target])[0]


def test_unpullable_target_runs_on_its_stand_in(engine, bin_path):
    result = _run(bin_path, exact=False)
    assert result.image == "goci/debian:bookworm (stand-in for debian:bookworm)"
    assert result.libc == "glibc 2.36" and result.outcome == "runs"


def test_exact_images_refuses_the_stand_in(engine, bin_path):
    result = _run(bin_path, exact=True)
    assert result.outcome == "error" and "exact images were asked for" in result.error
    assert "predicted only" in result.error
    # A target with no stand-in at all says so too.
    other = _run(bin_path, exact=False, target="ubuntu:22.04")
    assert other.outcome == "error" and "no local image holds its libc" in other.error
