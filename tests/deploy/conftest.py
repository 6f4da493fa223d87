"""Helpers for the deployment tests: the repository, uv from the test venv, the locked sets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def uv() -> str:
    """uv from the venv running the tests (the `dev` extra installs it)."""
    path = Path(sys.executable).parent / "uv"
    found = str(path) if path.exists() else shutil.which("uv")
    assert found, "uv is not installed: it comes with the `dev` extra (make install)"
    return found


def locked(uv: str, *args: str) -> set[str]:
    """Names of the packages one install takes from uv.lock (`uv export` with these options)."""
    out = subprocess.run(
        [uv, "export", "--frozen", "--offline", "--no-hashes", "--no-header", "--no-emit-project", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {normalize(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9._-]+)==", out, re.M)}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
