"""The shape of the package: no private name crosses a module boundary, one architecture table.

The import-linter contracts in pyproject.toml (run by scripts/test) keep Textual and the Docker SDK
out of the core; these tests check what a contract cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "goci_doctor"


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }


def _package_of(module: str) -> str:
    """What owns a module's private names: the module itself at the top level, else its subpackage
    (goci_doctor.trace's modules share theirs)."""
    parent = module.rsplit(".", 1)[0]
    return module if parent == "goci_doctor" else parent


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_crosses_a_module_boundary():
    modules = _modules()
    offences = []
    for name, path in sorted(modules.items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("goci_doctor"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in modules:  # `from goci_doctor import lab`
                        imported_modules[alias.asname or alias.name] = target
                    elif _private(alias.name) and _package_of(node.module) != _package_of(name):
                        offences.append(f"{name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        imported_modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = imported_modules.get(node.value.id)
                if target and target != name and _package_of(target) != _package_of(name):
                    offences.append(f"{name}: {node.value.id}.{node.attr}")
    assert offences == [], "private names used across modules (make them public or move them):\n" + "\n".join(offences)


def test_one_architecture_table():
    # Spellings like "aarch64" -> "arm64" live in platforms.py only; everything else asks it.
    literal = ('"aarch64": "arm64"', "'aarch64': 'arm64'", '"x86_64": "amd64"')
    holders = sorted(
        name for name, path in _modules().items() if any(w in path.read_text(encoding="utf-8") for w in literal)
    )
    assert holders == [], holders
