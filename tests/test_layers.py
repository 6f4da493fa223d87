"""The architecture the README states: the core imports no layer, a layer imports no other layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = {"app", "indexer", "training"}
ALLOWED = {
    "paperclip": set(),
    "app": {"paperclip"},
    "indexer": {"paperclip"},
    "training": {"paperclip"},
    "migrations": {"paperclip"},
    "paperclip_cli": {"paperclip", *LAYERS},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages a module imports, wherever the import statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_layering_allows(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    wrong = {
        str(f.relative_to(REPO)): sorted(imported_packages(f) - ALLOWED[package] - {package}) for f in files
    }
    assert not {f: w for f, w in wrong.items() if w}


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from training.train import train\n")
    assert imported_packages(bad) == {"training"}
