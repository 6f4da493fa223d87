"""The console script itself, in a subprocess, on both databases."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import inspect

from paperclip.db import get_engine


def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paperclip_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=600,
    )


def test_help_lists_commands():
    out = run_cli("--help").stdout
    assert "db" in out


def test_db_upgrade_creates_schema(env, db_url):
    # start from an empty database: drop what the fixture migrated
    from alembic import command

    from paperclip.db import alembic_config

    command.downgrade(alembic_config(db_url), "base")
    assert "observations" not in inspect(get_engine(db_url)).get_table_names()
    result = run_cli("db", "upgrade", env=env)
    assert "head" in result.stdout
    get_engine(db_url).dispose()
    assert {"proposals", "observations", "captions", "index_versions"} <= set(
        inspect(get_engine(db_url)).get_table_names()
    )
    run_cli("db", "upgrade", env=env)  # twice is fine
