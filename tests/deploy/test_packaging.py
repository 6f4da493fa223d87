"""Installs: every import declared, the lock in step with pyproject.toml and its exports, and a
serve-only install that runs the service without the training and harvest dependencies."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib

from tests.deploy.conftest import REPO, locked, normalize

PACKAGES = ("paperclip", "paperclip_cli", "app", "indexer", "training", "migrations", "benchmarks", "tests")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


def declared(*extras: str) -> set[str]:
    reqs = PYPROJECT["project"]["dependencies"] + [r for e in extras for r in EXTRAS[e]]
    return {normalize(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in reqs}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files importing it, over every package of the repository."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES and top != "__future__":
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_import_is_declared():
    owners = importlib.metadata.packages_distributions()
    everything = declared(*EXTRAS)
    missing = {
        module: sorted(files)
        for module, files in third_party_imports().items()
        if not any(normalize(d) in everything for d in owners.get(module, []))
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_lock_matches_pyproject(uv):
    check = subprocess.run([uv, "lock", "--check", "--offline"], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, f"uv.lock is out of date: run `make lock`\n{check.stderr}"


def test_exported_requirements_match_the_lock(uv, tmp_path):
    subprocess.run(["make", "-s", "requirements", f"UV={uv}", f"REQ={tmp_path}"], cwd=REPO, check=True)
    committed = sorted(p.name for p in (REPO / "requirements").glob("*.txt"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.txt"))
    for name in committed:
        assert (tmp_path / name).read_text() == (REPO / "requirements" / name).read_text(), (
            f"requirements/{name} differs from uv.lock: run `make lock`"
        )


def test_extras_split_the_service_from_training_and_harvest(uv):
    serve = locked(uv, "--extra", "serve", "--extra", "cpu")
    for heavy in ("peft", "tensorboard", "matplotlib", "astroquery", "requests", "pytest", "schemathesis"):
        assert heavy not in serve, heavy
    assert {"fastapi", "uvicorn", "faiss-cpu", "torch", "open-clip-torch"} <= serve
    gpu = locked(uv, "--extra", "serve", "--extra", "index", "--extra", "gpu")
    assert "faiss-gpu-cu12" in gpu and "faiss-cpu" not in gpu  # swapped, not added beside
    assert "faiss-cpu" not in declared() and "faiss-gpu-cu12" not in declared()


SERVE_ONLY = """
import importlib, importlib.abc, importlib.util, json, pkgutil, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in a serve-only install)", name=name)

BLOCKED = set(json.loads(sys.argv[1]))
sys.meta_path.insert(0, Absent())
probe = importlib.util.find_spec  # a probe for an optional module finds nothing, as when it is absent
importlib.util.find_spec = lambda name, package=None: None if name.split(".")[0] in BLOCKED else probe(name, package)
import app, paperclip
for package in (app, paperclip):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
from app.main import create_app
from paperclip_cli.main import app as cli  # registers every layer's commands
from typer.testing import CliRunner
result = CliRunner().invoke(cli, ["serve", "--help"])
assert result.exit_code == 0, result.output
print("ok")
"""


def test_the_service_imports_without_the_other_extras(uv):
    """app/, the core and the `paperclip` command import with only what `.[serve,cpu]` installs."""
    installed = locked(uv, "--extra", "serve", "--extra", "cpu")
    everything = locked(uv, "--extra", "serve", "--extra", "index", "--extra", "harvest", "--extra", "train")
    everything |= locked(uv, "--extra", "dev", "--extra", "cpu")
    modules = importlib.metadata.packages_distributions()
    blocked = sorted(
        module
        for module, dists in modules.items()
        if {normalize(d) for d in dists} & (everything - installed)
        and not {normalize(d) for d in dists} & installed
    )
    assert {"matplotlib", "peft", "astroquery", "requests"} <= set(blocked)
    out = subprocess.run(
        [sys.executable, "-c", SERVE_ONLY, json.dumps(blocked)], cwd=REPO, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_dockerfile_installs_the_locked_dependencies_before_the_source():
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())  # join continued lines
    steps = [
        line.strip() for line in text.splitlines() if line.split(" ", 1)[0] in ("COPY", "RUN", "CMD", "ARG")
    ]
    first_source = next(i for i, s in enumerate(steps) if s.startswith("COPY paperclip "))
    install = next(i for i, s in enumerate(steps) if "--require-hashes -r requirements.txt" in s)
    lock_copy = next(i for i, s in enumerate(steps) if s.startswith("COPY requirements/"))
    assert lock_copy < install < first_source
    copied = {s.split()[1] for s in steps if s.startswith("COPY ")}
    for package in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        top = package.split(".")[0].rstrip("*")
        assert top in copied, f"{top} is a package of the project but not copied into the image"
    cmd = next(s for s in steps if s.startswith("CMD "))
    assert json.loads(cmd[4:])[:2] == ["paperclip", "serve"]  # exec form: the server is PID 1
    versions = {
        s.split()[1].split("=")[0]: s.split("=", 1)[1] for s in steps if s.startswith("ARG ") and "=" in s
    }
    lock = {p["name"]: p["version"] for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    assert (
        versions["TORCH_VERSION"] == lock["torch"] and versions["TORCHVISION_VERSION"] == lock["torchvision"]
    )
    image = {name: (REPO / "requirements" / f"image-{name}.txt").read_text() for name in ("cpu", "gpu")}
    assert "\ntorch==" not in image["cpu"] and "\nfaiss-cpu==" in image["cpu"]
    assert (
        "\ntorch==" in image["gpu"]
        and "\nfaiss-gpu-cu12==" in image["gpu"]
        and "faiss-cpu" not in image["gpu"]
    )
