"""The ``paperclip`` command: a thin shell over the core and the three layers."""

from __future__ import annotations

import typer

from paperclip.config import get_settings

app = typer.Typer(help="PAPERCLIP: search the Hubble archive in plain language.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the schema (SQLite in the data home, or PAPERCLIP_DATABASE_URL)."""
    from paperclip.db import upgrade

    url = get_settings().db_url
    upgrade(url, revision)
    typer.echo(f"database at revision {revision}: {_redact(url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_layers() -> None:
    """Each layer owns its commands; importing them stays cheap (heavy imports live inside commands)."""
    from app.cli import register as register_app
    from indexer.cli import register as register_indexer
    from paperclip_cli.demo import register as register_demo
    from training.cli import register as register_training

    for register in (register_indexer, register_training, register_app, register_demo):
        register(app)


_register_layers()


def main() -> None:
    app()
