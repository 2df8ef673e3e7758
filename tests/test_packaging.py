"""Shipping: the built wheel holds every data file and works in a fresh venv; shell completion scripts.

The wheel test builds with ``python -m build``, installs the wheel in a new virtual environment (pip
resolves the dependencies from the package index) and runs the installed ``goci-doctor`` there, from
a directory outside the source tree so nothing is imported from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import goci_doctor
from goci_doctor.cli import build_parser
from goci_doctor.cli.shellcomplete import SHELLS, completion_script

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "goci_doctor"


def _source_data_files() -> set[str]:
    """Every file the package needs at run time besides its modules: data/** and the TUI styles."""
    files = {p for p in (PKG / "data").rglob("*") if p.is_file()} | set((PKG / "tui").glob("*.tcss"))
    return {p.relative_to(ROOT).as_posix() for p in files if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (whl,) = dist.glob("goci_doctor-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """The bin/ directory of a fresh venv with the wheel installed."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if pip.returncode != 0 and "No matching distribution" in pip.stderr:
        pytest.skip(f"dependencies not reachable on the package index: {pip.stderr.strip().splitlines()[-1]}")
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


def _run(bindir: Path, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(bindir / "goci-doctor"), *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_package_data_globs_match_the_tree() -> None:
    # Without building: every data file must be matched by a package-data glob of pyproject.toml.
    import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["goci_doctor"]
    for rel in _source_data_files():
        inner = rel.removeprefix("goci_doctor/")
        assert any(fnmatch.fnmatchcase(inner, g) and inner.count("/") == g.count("/") for g in globs), (
            f"{rel} is not covered by [tool.setuptools.package-data] in pyproject.toml"
        )


@pytest.mark.slow
def test_wheel_holds_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _source_data_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert {
        "goci_doctor/cli/__init__.py",
        "goci_doctor/__main__.py",
        "goci_doctor/cli/completion.py",
        "goci_doctor/lab/builds.py",
    } <= names
    assert not [n for n in names if n.startswith("tests/")], "tests leaked into the wheel"


@pytest.mark.slow
def test_sdist_holds_docs_and_data(dist: Path) -> None:
    import tarfile

    (sdist,) = dist.glob("goci_doctor-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert _source_data_files() <= names
    assert {"README.md", "pyproject.toml"} <= names


@pytest.mark.slow
def test_installed_wheel_runs(installed: Path, tmp_path: Path) -> None:
    version = _run(installed, tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"goci-doctor {goci_doctor.__version__}"

    targets = _run(installed, tmp_path, "targets", "--json")
    assert targets.returncode == 0, targets.stderr
    assert '"centos:7"' in targets.stdout

    demo = _run(installed, tmp_path, "demo", "--list")
    assert demo.returncode == 0, demo.stderr
    recordings = sorted((PKG / "data" / "demo").glob("*.json"))
    assert len(demo.stdout.strip().splitlines()) == len(recordings)

    explain = _run(
        installed,
        tmp_path,
        "explain",
        "-",
        stdin="./app: /lib64/libc.so.6: version `GLIBC_2.34' not found (required by ./app)\n",
    )
    assert explain.returncode == 1, explain.stderr
    assert "GLIBC_2.34" in explain.stdout

    completion = _run(installed, tmp_path, "completion", "bash")
    assert completion.returncode == 0, completion.stderr
    assert "complete" in completion.stdout


@pytest.mark.slow
def test_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    # The installed tool reads its data from site-packages: prove it is not importing the source tree.
    python = installed / "python"
    code = "import goci_doctor, pathlib; print(pathlib.Path(goci_doctor.__file__).resolve())"
    out = subprocess.run(
        [str(python), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert out.returncode == 0, out.stderr
    assert "site-packages" in out.stdout and str(ROOT) not in out.stdout


# --------------------------------------------------------------------------------------------
# Shell completion


def test_completion_is_not_imported_by_the_cli() -> None:
    code = (
        "import sys, goci_doctor.cli; goci_doctor.cli.build_parser(); "
        "sys.exit('shtab' in sys.modules or 'goci_doctor.cli.shellcomplete' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_completion_bad_shell() -> None:
    from goci_doctor.model import BadInputError

    with pytest.raises(BadInputError, match="tcsh"):
        completion_script("tcsh")
    from goci_doctor.cli import UsageError

    # The parser reports a bad choice as one usage line (UsageError), never argparse's exit.
    with pytest.raises(UsageError, match="powershell"):
        build_parser().parse_args(["completion", "powershell"])


def _bash_complete(script: Path, words: list[str]) -> list[str]:
    """Source the script in a real bash and run its completion function on ``words``."""
    driver = f"""
source {script}
spec=$(complete -p goci-doctor) || exit 3
fn=$(sed -E 's/.* -F ([^ ]+) .*/\\1/' <<< "$spec")
COMP_WORDS=({" ".join(f"'{w}'" for w in words)})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
"$fn" goci-doctor "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [ln for ln in out.stdout.splitlines() if ln]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    path = tmp_path_factory.mktemp("completion") / "goci-doctor.bash"
    path.write_text(completion_script("bash"), encoding="utf-8")
    return path


def test_bash_completion_syntax_and_registration(bash_script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(bash_script)], timeout=60).returncode == 0
    out = subprocess.run(
        ["bash", "--norc", "-c", f"source {bash_script} && complete -p goci-doctor"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(" goci-doctor")


def test_bash_completes_commands_options_and_targets(bash_script: Path) -> None:
    commands = {a.dest for a in build_parser()._subparsers._group_actions[0]._choices_actions}  # type: ignore[union-attr]
    assert set(_bash_complete(bash_script, ["goci-doctor", ""])) >= commands
    assert _bash_complete(bash_script, ["goci-doctor", "check", "--pol"]) == ["--policy", "--policy-file"]
    assert _bash_complete(bash_script, ["goci-doctor", "check", "-f", "s"]) == ["sarif"]
    assert _bash_complete(bash_script, ["goci-doctor", "completion", ""]) == list(SHELLS)
    # Target names come from the knowledge base when the script is generated.
    from goci_doctor import knowledge

    centos = sorted(n for n in knowledge.targets() if n.startswith("centos"))
    assert _bash_complete(bash_script, ["goci-doctor", "run", "x", "--target", "cent"]) == centos


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell: str, tmp_path: Path) -> None:
    text = completion_script(shell)
    assert "_goci_doctor_targets" in text and "--policy-file" in text
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed here, so its script is only generated, not syntax-checked")
    path = tmp_path / f"goci-doctor.{shell}"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([exe, "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if not exe.exists():
        pytest.skip(f"{name} is not installed (pip install {name}; the test extra lists it)")
    return str(exe)


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pipx", "uv"])
def test_tool_installers_install_the_wheel(installer: str, wheel: Path, tmp_path: Path) -> None:
    """`pipx install` and `uv tool install` give a working goci-doctor from the built wheel."""
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "UV_TOOL_DIR": str(tmp_path / "uv-tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    env.pop("VIRTUAL_ENV", None)
    if installer == "pipx":
        cmd = [_tool("pipx"), "install", "--python", sys.executable, str(wheel)]
    else:
        cmd = [_tool("uv"), "tool", "install", "--python", sys.executable, str(wheel)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    exe = tmp_path / "bin" / "goci-doctor"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert version.stdout.strip() == f"goci-doctor {goci_doctor.__version__}", version.stderr
    demo = subprocess.run(
        [str(exe), "demo", "--text", "--scenario", "glibc-centos7"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert demo.returncode == 0 and "GLIBC_2.34" in demo.stdout, demo.stderr
