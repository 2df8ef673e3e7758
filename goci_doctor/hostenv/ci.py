"""CI providers (detected from their environment variables) and the build-relevant environment.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

# --------------------------------------------------------------------------------------------
# CI providers

# (name, detect(env) -> bool, {detail: variable}) in detection order: specific before generic.
_CI: tuple[tuple[str, Callable[[Mapping[str, str]], bool], dict[str, str]], ...] = (
    (
        "GitHub Actions",
        lambda e: e.get("GITHUB_ACTIONS", "").lower() == "true",
        {
            "runner_os": "RUNNER_OS",
            "runner_arch": "RUNNER_ARCH",
            "image": "ImageOS",
            "image_version": "ImageVersion",
            "runner": "RUNNER_NAME",
            "runner_environment": "RUNNER_ENVIRONMENT",
            "job": "GITHUB_JOB",
            "workflow": "GITHUB_WORKFLOW",
            "repository": "GITHUB_REPOSITORY",
        },
    ),
    (
        "GitLab CI",
        lambda e: bool(e.get("GITLAB_CI")),
        {
            "image": "CI_JOB_IMAGE",
            "runner_arch": "CI_RUNNER_EXECUTABLE_ARCH",
            "runner": "CI_RUNNER_DESCRIPTION",
            "runner_tags": "CI_RUNNER_TAGS",
            "job": "CI_JOB_NAME",
            "repository": "CI_PROJECT_PATH",
            "server_version": "CI_SERVER_VERSION",
        },
    ),
    (
        "Woodpecker",
        lambda e: "woodpecker" in (e.get("CI", "").lower(), e.get("CI_SYSTEM_NAME", "")),
        {
            "runner_arch": "CI_SYSTEM_PLATFORM",
            "runner": "CI_MACHINE",
            "job": "CI_STEP_NAME",
            "workflow": "CI_WORKFLOW_NAME",
            "repository": "CI_REPO",
        },
    ),
    (
        "Jenkins",
        lambda e: bool(e.get("JENKINS_URL") or e.get("JENKINS_HOME")),
        {"runner": "NODE_NAME", "runner_tags": "NODE_LABELS", "job": "JOB_NAME", "build": "BUILD_NUMBER"},
    ),
    (
        "CircleCI",
        lambda e: e.get("CIRCLECI", "").lower() == "true",
        {"job": "CIRCLE_JOB", "repository": "CIRCLE_PROJECT_REPONAME", "build": "CIRCLE_BUILD_NUM"},
    ),
    (
        "Buildkite",
        lambda e: e.get("BUILDKITE", "").lower() == "true",
        {
            "runner": "BUILDKITE_AGENT_NAME",
            "job": "BUILDKITE_LABEL",
            "repository": "BUILDKITE_PIPELINE_SLUG",
            "build": "BUILDKITE_BUILD_NUMBER",
        },
    ),
    (
        "Travis CI",
        lambda e: e.get("TRAVIS", "").lower() == "true",
        {
            "runner_os": "TRAVIS_OS_NAME",
            "runner_arch": "TRAVIS_CPU_ARCH",
            "image": "TRAVIS_DIST",
            "job": "TRAVIS_JOB_NAME",
            "repository": "TRAVIS_REPO_SLUG",
        },
    ),
    (
        "Azure Pipelines",
        lambda e: e.get("TF_BUILD", "").lower() == "true",
        {
            "runner_os": "AGENT_OS",
            "runner_arch": "AGENT_OSARCHITECTURE",
            "image": "ImageOS",
            "image_version": "ImageVersion",
            "runner": "AGENT_NAME",
            "job": "SYSTEM_JOBDISPLAYNAME",
            "repository": "BUILD_REPOSITORY_NAME",
        },
    ),
    (
        "Bitbucket Pipelines",
        lambda e: bool(e.get("BITBUCKET_BUILD_NUMBER")),
        {"job": "BITBUCKET_STEP_UUID", "repository": "BITBUCKET_REPO_FULL_NAME", "build": "BITBUCKET_BUILD_NUMBER"},
    ),
    (
        "Drone",
        lambda e: e.get("DRONE", "").lower() == "true",
        {
            "runner_os": "DRONE_STAGE_OS",
            "runner_arch": "DRONE_STAGE_ARCH",
            "runner": "DRONE_RUNNER_HOSTNAME",
            "job": "DRONE_STEP_NAME",
            "workflow": "DRONE_STAGE_NAME",
            "repository": "DRONE_REPO",
        },
    ),
    (
        "TeamCity",
        lambda e: bool(e.get("TEAMCITY_VERSION")),
        {
            "job": "TEAMCITY_BUILDCONF_NAME",
            "repository": "TEAMCITY_PROJECT_NAME",
            "build": "BUILD_NUMBER",
            "server_version": "TEAMCITY_VERSION",
        },
    ),
    (
        "AppVeyor",
        lambda e: e.get("APPVEYOR", "").lower() == "true",
        {
            "image": "APPVEYOR_BUILD_WORKER_IMAGE",
            "runner_arch": "PLATFORM",
            "job": "APPVEYOR_JOB_NAME",
            "repository": "APPVEYOR_REPO_NAME",
        },
    ),
    ("CI (unknown provider)", lambda e: e.get("CI", "").lower() in ("true", "1", "yes"), {}),
)


def detect_ci(environ: Mapping[str, str]) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """(provider, details, variables read) from CI environment variables; ("", {}, ()) outside CI."""
    for name, detect, details in _CI:
        if detect(environ):
            found = {key: environ[var] for key, var in details.items() if environ.get(var)}
            return name, found, tuple(var for var in details.values() if var in environ)
    return "", {}, ()


# --------------------------------------------------------------------------------------------
# Environment variables

_ENV_EXACT = frozenset(
    {
        "CC",
        "CXX",
        "AR",
        "LD",
        "CFLAGS",
        "CPPFLAGS",
        "CXXFLAGS",
        "LDFLAGS",
        "LIBRARY_PATH",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "C_INCLUDE_PATH",
        "PATH",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_DEFAULT_PLATFORM",
        "DOCKER_BUILDKIT",
        "CI",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "ZIG_GLOBAL_CACHE_DIR",
    }
)


def _build_relevant(name: str) -> bool:
    # Go's own variables have no underscore (GOFLAGS, GO111MODULE); GOOGLE_* credentials are not Go's.
    return (
        name in _ENV_EXACT or name.startswith(("CGO_", "PKG_CONFIG")) or re.fullmatch(r"GO[A-Z0-9]+", name) is not None
    )
