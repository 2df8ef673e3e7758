"""``goci-doctor lint [REPO]``: lint CI configs (Dockerfile, workflows, Makefile, goreleaser, go.mod).

Exit codes: 0 no error-level finding, 1 error findings or a policy violation, 2 bad input.
The rules are ``gate.lint``, the output ``render.lint``; both are imported when it runs.

Imports: cli.common, gate.lint, gate.policyfile, model, render.lint.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from goci_doctor.cli.common import add_format, output_format
from goci_doctor.model import BadInputError, ExitCode


def configure_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("lint", help="lint CI configs (Dockerfile, workflows, Makefile, goreleaser, go.mod)")
    p.add_argument("repo", nargs="?", default=".", metavar="REPO")
    p.add_argument("--policy", metavar="ENV", help="also apply the rules of policy environment ENV")
    p.add_argument("--policy-file", metavar="FILE")
    add_format(p, ("text", "json", "sarif", "github"))


def execute(args: argparse.Namespace) -> int:
    from goci_doctor.gate.lint import lint_repo
    from goci_doctor.render.lint import emit

    repo = Path(getattr(args, "repo", ".") or ".")
    if not repo.is_dir():
        raise BadInputError(f"{repo}: no such directory")
    policy_env = None
    if getattr(args, "policy", None) or getattr(args, "policy_file", None):
        from goci_doctor.gate import policyfile as policy_mod

        pol = policy_mod.load_policy(policy_mod.policy_path(repo, getattr(args, "policy_file", None)))
        if getattr(args, "policy", None):
            policy_env = pol.env(args.policy)
    report = lint_repo(repo, policy_env)
    emit(
        report.findings,
        report.files,
        output_format(args),
        getattr(args, "output", None),
        "lint",
        repo=report.repo,
        policy_env=report.policy_env,
    )
    return int(ExitCode.PROBLEM if report.has_error else ExitCode.OK)
