"""``paperclip demo``: the whole pipeline, offline, on a synthetic archive, in one command.

synth -> import -> captions -> train (lite) -> evaluate (base vs trained) -> index -> serve.
Every step calls the public entry point a real run uses (the archive goes in through
``import_manifest``, not a side door). Finished steps are recorded in ``demo.json`` in the
demo home, so a rerun skips them; the steps themselves resume inside too (import ledger,
caption cache, training states).

The demo lives in its own data home, ``<PAPERCLIP_HOME>/demo`` by default, and refuses to
touch a folder without its marker or a database holding anything but synthetic data.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from paperclip.config import get_settings

STATE_FILE = "demo.json"  # also the marker that a folder is a demo home
COLLECTION = "SYNTH"
CHECKPOINT = "demo-lite"
SEED = 0


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Scale:
    proposals: int
    images_per_proposal: tuple[int, int]
    val_fraction: float  # larger than the paper's 0.1 so every class has held-out proposals
    train: dict[str, Any] = field(default_factory=dict)  # overrides of the lite recipe


FULL = Scale(150, (5, 15), 0.2)
QUICK = Scale(48, (3, 3), 0.34, {"steps": 150, "batch_size": 32, "feature_views": 1, "val_every": 75})


@dataclass
class State:
    """``demo.json``: which steps are done (and what they reported), for which database."""

    path: Path
    data: dict[str, Any]

    @classmethod
    def open(cls, home: Path, db: str, quick: bool) -> State:
        path = home / STATE_FILE
        text = path.read_text() if path.is_file() else ""
        data = json.loads(text) if text.strip() else {}
        if data and data.get("quick") != quick:
            kind = "quick" if data.get("quick") else "full"
            raise DemoError(f"{home} holds a {kind} demo: rerun the same way, or pass --fresh to start over")
        if data.get("db") != db:  # another database: only the generated archive carries over
            data = {
                "db": db,
                "quick": quick,
                "steps": {k: v for k, v in data.get("steps", {}).items() if k == "synth"},
            }
        return cls(path, data)

    def done(self, step: str) -> dict[str, Any] | None:
        return self.data["steps"].get(step)

    def record(self, step: str, result: dict[str, Any]) -> None:
        from paperclip.storage import atomic_write

        self.data["steps"][step] = result
        atomic_write(self.path, json.dumps(self.data, indent=2).encode())


def prepare_home(home: Path, fresh: bool) -> None:
    """Make ``home`` the data home of this process; only ever wipe a folder that is a demo home."""
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()) and not (home / STATE_FILE).is_file():
        raise DemoError(
            f"{home} is not empty and is not a demo home ({STATE_FILE} missing): choose another --home"
        )
    if fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / STATE_FILE).touch()
    os.environ["PAPERCLIP_HOME"] = str(home)
    get_settings.cache_clear()


def check_database(url: str, external: bool, fresh: bool) -> None:
    """Migrate, and refuse a database that holds anything but the demo's synthetic archive."""
    from sqlalchemy import func, select

    from paperclip.db import session_scope, upgrade
    from paperclip.schema import Proposal

    upgrade(url)
    with session_scope(url) as session:
        collections = dict(
            session.execute(select(Proposal.collection, func.count()).group_by(Proposal.collection)).all()
        )
    foreign = {c: n for c, n in collections.items() if c != COLLECTION}
    if foreign:
        raise DemoError(
            f"the database holds non-demo proposals {foreign}: point PAPERCLIP_DATABASE_URL at an empty "
            "database (or unset it to use SQLite in the demo home)"
        )
    if fresh and external and collections:
        raise DemoError("--fresh cannot empty an external database: drop and recreate it, then rerun")


def step_synth(home: Path, scale: Scale) -> dict[str, Any]:
    from indexer.synth import generate

    manifest = generate(home / "archive", scale.proposals, SEED, scale.images_per_proposal)
    return {"manifest": str(manifest), "images": sum(1 for _ in manifest.open())}


def step_import(state: State) -> dict[str, Any]:
    from indexer.harvest.importer import import_manifest

    summary = import_manifest(Path(state.done("synth")["manifest"]), collection=COLLECTION)
    if summary.failed:
        raise DemoError(f"{summary.failed} synthetic images failed to import: {dict(summary.failures)}")
    return {"imported": summary.imported, "skipped": summary.skipped, "failed": summary.failed}


def step_captions() -> dict[str, Any]:
    from training.captions import run_captions

    summary = run_captions("extract")
    if not summary.ok:
        raise DemoError(f"no captions were written: {dict(summary.errors)}")
    return {"proposals": summary.proposals, "summaries": summary.ok, "failed": summary.failed}


def step_train(scale: Scale, resume: bool) -> dict[str, Any]:
    from training.config import TrainConfig
    from training.train import train

    config = TrainConfig.from_recipe(
        "lite",
        name=CHECKPOINT,
        split_seed=SEED,
        val_fraction=scale.val_fraction,
        resume=resume,
        **scale.train,
    )
    return {"checkpoint": str(train(config)), "steps": config.steps}


def step_evaluate(home: Path) -> dict[str, Any]:
    from training.evaluate import evaluate
    from training.evaluate.queries import DEMO_FREEFORM

    out_dir = home / "reports" / "demo"
    freeform = DEMO_FREEFORM if DEMO_FREEFORM.is_file() else None  # only in a source checkout
    metrics = evaluate(
        ["base", CHECKPOINT], out_dir, variant="summary", seed=SEED, judge=False, freeform=freeform
    )
    return {"report": str(out_dir / "report.html"), "figures": headline(metrics)}


def step_index() -> dict[str, Any]:
    from indexer.index.versions import build_index

    return {"index_version": build_index(CHECKPOINT, activate=True)}


def headline(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The figures the README quotes, per model: class-query and free-form P@10, the paper's top-10%."""
    return {
        name: {
            "class_precision_at_10": m["class_precision_at_10"],
            "freeform_precision_at_10": (m.get("freeform") or {}).get("precision_at_10"),
            "image_to_text_top10pct": m["image_to_text"]["top_k_accuracy"]["10"],
            "text_to_image_top10pct": m["text_to_image"]["top_k_accuracy"]["10"],
            "image_to_text_auc": m["image_to_text"]["auc"],
        }
        for name, m in metrics["models"].items()
    }


def format_figures(figures: dict[str, dict[str, float]]) -> list[str]:
    cols = (
        ("class P@10", "class_precision_at_10"),
        ("free-form P@10", "freeform_precision_at_10"),
        ("top-10% i->t", "image_to_text_top10pct"),
        ("top-10% t->i", "text_to_image_top10pct"),
        ("AUC i->t", "image_to_text_auc"),
    )
    lines = [f"{'model':>12}" + "".join(f"{title:>16}" for title, _ in cols)]
    for name, f in figures.items():
        lines.append(
            f"{name:>12}"
            + "".join(f"{'-':>16}" if f.get(key) is None else f"{f[key]:>16.3f}" for _, key in cols)
        )
    return lines


def run_demo(home: Path, quick: bool, fresh: bool, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Every step not done yet; returns ``demo.json``'s content."""
    external = bool(os.environ.get("PAPERCLIP_DATABASE_URL"))
    prepare_home(home, fresh)
    settings = get_settings()
    check_database(settings.db_url, external, fresh)
    home = settings.home_dir
    scale = QUICK if quick else FULL
    state = State.open(home, _redact(settings.db_url), quick)
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("synth", lambda: step_synth(home, scale)),
        ("import", lambda: step_import(state)),
        ("captions", step_captions),
        ("train", lambda: step_train(scale, resume=True)),
        ("evaluate", lambda: step_evaluate(home)),
        ("index", step_index),
    ]
    echo(f"demo home {home}, database {_redact(settings.db_url)}" + (" (quick)" if quick else ""))
    for n, (name, step) in enumerate(steps, start=1):
        if state.done(name) is not None:
            echo(f"[{n}/{len(steps)}] {name}: done earlier, skipped")
            continue
        echo(f"[{n}/{len(steps)}] {name} ...")
        started = time.perf_counter()
        result = {**step(), "seconds": round(time.perf_counter() - started, 1)}
        state.record(name, result)
        echo(
            f"[{n}/{len(steps)}] {name}: "
            + ", ".join(f"{k}={v}" for k, v in result.items() if k != "figures")
        )
    figures = state.done("evaluate")["figures"]
    echo("held-out synthetic proposals, base (untrained) vs trained:")
    for line in format_figures(figures):
        echo(line)
    echo(f"report: {state.done('evaluate')['report']}")
    return state.data


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def serve(host: str, port: int, echo: Callable[[str], None] = print) -> None:
    """Serve the UI on a socket bound here, so the printed URL has the real port even for port 0."""
    import socket

    import uvicorn

    from app.main import create_app

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    url = f"http://{host}:{sock.getsockname()[1]}/"
    echo(f"serving the synthetic demo archive at {url}  (Ctrl-C to stop)")
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    server.run(sockets=[sock])


def demo_command(
    quick: bool = typer.Option(False, "--quick", help="A tiny archive and a short training run (for tests)"),
    no_serve: bool = typer.Option(False, "--no-serve", help="Stop after the report"),
    fresh: bool = typer.Option(False, "--fresh", help="Wipe the demo home and start over"),
    home: Path | None = typer.Option(None, help="Demo data home (default: <PAPERCLIP_HOME>/demo)"),
    host: str = typer.Option("127.0.0.1", help="Interface to serve on"),
    port: int = typer.Option(8000, help="Port to serve on (0 picks a free one)"),
) -> None:
    """Run the whole pipeline offline on a synthetic HST-like archive, then serve the search UI."""
    try:
        run_demo(home or get_settings().home_dir / "demo", quick, fresh, echo=typer.echo)
    except DemoError as e:
        typer.echo(f"demo: {e}", err=True)
        raise typer.Exit(2) from None
    if not no_serve:
        serve(host, port, echo=typer.echo)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
