"""``goci-doctor check``: predict whether artifacts run on targets, or check a CI policy (``--policy``).

Imports ``artifact``, ``diagnosis``, ``hostenv``, ``gate.policy`` and ``render`` only when it runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goci_doctor.cli.common import (
    add_format,
    default_targets,
    emit,
    goarch_arg,
    load_config,
    resolve_targets,
    target_arg,
)
from goci_doctor.model import BadInputError, ExitCode

if TYPE_CHECKING:
    from goci_doctor.records import EnvFacts


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="predict whether artifacts run on targets, or check a CI policy")
    p.add_argument("paths", nargs="*", metavar="PATH", help="artifacts to check")
    p.add_argument(
        "--target",
        "-t",
        action="append",
        default=[],
        metavar="T",
        type=target_arg,
        help="deploy target (e.g. centos:7, alpine:3.20, distroless/static); repeatable",
    )
    p.add_argument("--policy", metavar="ENV", help="check against environment ENV of the policy file")
    p.add_argument("--policy-file", metavar="FILE", help="policy file (default: .goci-policy.toml in REPO)")
    p.add_argument("--repo", metavar="DIR", default=".", help="repository whose configs the policy checks")
    p.add_argument("--env-from-ci", action="store_true", help="also check the live environment (CI variables)")
    p.add_argument(
        "--arch",
        metavar="GOARCH",
        type=goarch_arg,
        help="CPU architecture of the deploy machines (default: this one's)",
    )
    p.add_argument(
        "--cpu",
        metavar="LEVEL",
        help="CPU level of the deploy machines: x86-64-v1..v4, or armv5/armv6/armv7 (checks GOAMD64/GOARM)",
    )
    add_format(p)


def execute(args: argparse.Namespace) -> int:
    if args.policy:
        return policy_check(args)
    if not args.paths:
        raise BadInputError("check needs an artifact PATH (or --policy ENV to check a CI policy)")
    from goci_doctor import artifact, diagnosis, hostenv

    targets = resolve_targets(args.target or default_targets(args))
    paths = artifact.iter_artifacts(args.paths)
    if not paths:
        raise BadInputError("no files to check in " + ", ".join(args.paths))
    binfmt = hostenv.read_binfmt()
    cpu = getattr(args, "cpu", None)
    if cpu:
        diagnosis.parse_cpu(cpu)  # a bad level is bad input before anything is inspected
    arch = getattr(args, "arch", None) or None
    # Targets the config maps to a present local image are predicted from its real filesystem.
    config = load_config(args)
    from goci_doctor.lab.imagefiles import open_images

    with open_images(targets, config) as images:
        diags = [
            diagnosis.check_artifact(facts, targets, binfmt=binfmt, arch=arch, cpu=cpu, images=images)
            for facts in artifact.inspect_each(paths)
        ]
    result = diags[0] if len(diags) == 1 else diagnosis.merge(diags, kind="artifact")
    from goci_doctor.render import render
    from goci_doctor.render.chainsarif import render_sarif
    from goci_doctor.render.documents import dumps

    if args.format == "sarif" and len(diags) > 1:
        # One location per artifact, not one named "a, b, c".
        emit(dumps(render_sarif(result, parts=diags)), args)
    else:
        emit(render(result, args.format), args)
    # An artifact that could not be read was not checked: a problem for that file, never a pass.
    unread = any(a.description == "unreadable" for a in result.artifacts)
    return ExitCode.PROBLEM if result.has_problem or unread else ExitCode.OK


def policy_check(args: argparse.Namespace) -> int:
    """``goci-doctor check --policy ENV [PATH...] [--repo DIR] [--env-from-ci]``: the CI gate.

    Exit codes: 0 no violation, 1 a violation (any finding at error level), 2 bad input.
    """
    from goci_doctor.gate.policy import check_policy
    from goci_doctor.gate.policyfile import load_policy, policy_path
    from goci_doctor.render.lint import emit as emit_findings

    repo = Path(getattr(args, "repo", None) or ".")
    if not repo.is_dir():
        raise BadInputError(f"{repo}: no such directory")
    policy = load_policy(policy_path(repo, getattr(args, "policy_file", None)))
    env_name: str = args.policy
    policy.env(env_name)  # fail early (exit 2) on an unknown environment
    live: EnvFacts | None = None
    environ: Mapping[str, str] | None = None
    if getattr(args, "env_from_ci", False):
        from goci_doctor.hostenv import gather

        live = gather(docker=False)
        environ = os.environ
    findings = check_policy(policy, env_name, repo, list(getattr(args, "paths", None) or []), live, environ)
    fmt = getattr(args, "format", "text") or "text"
    emit_findings(findings, [], fmt, getattr(args, "output", None), "policy", policy=policy.path, policy_env=env_name)
    return int(ExitCode.PROBLEM if any(f.level == "error" for f in findings) else ExitCode.OK)
