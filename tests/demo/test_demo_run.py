"""``paperclip demo --quick --no-serve`` end to end, its resume, and what it refuses to touch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paperclip_cli.demo import CHECKPOINT, STATE_FILE, DemoError, run_demo

STEPS = ("synth", "import", "captions", "train", "evaluate", "index")


def demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paperclip_cli", "demo", "--quick", "--no-serve", *args],
        env={**env, "TQDM_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # Postgres: same code path, checked by hand
def test_quick_demo_trains_a_model_that_beats_the_untrained_one(env, home):
    first = demo(env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    root = home / "demo"
    state = json.loads((root / STATE_FILE).read_text())
    assert set(state["steps"]) == set(STEPS)
    assert state["steps"]["import"]["failed"] == 0 and state["steps"]["import"]["imported"] > 100

    metrics = json.loads((root / "reports" / "demo" / "metrics.json").read_text())
    base, trained = metrics["models"]["base"], metrics["models"][CHECKPOINT]
    assert metrics["n_labelled"] > 30 and len(metrics["class_queries"]) >= 8
    assert trained["class_precision_at_10"] > base["class_precision_at_10"] + 0.05
    assert trained["freeform"]["n_queries"] >= 6 * 8  # the repo's free-form set, beside the class queries
    assert 0 <= trained["freeform"]["precision_at_10"] <= 1
    for direction in ("image_to_text", "text_to_image"):
        assert trained[direction]["top_k_accuracy"]["10"] > base[direction]["top_k_accuracy"]["10"] + 0.1
    assert (root / "reports" / "demo" / "report.html").is_file()
    assert "class P@10" in first.stdout and "free-form P@10" in first.stdout and CHECKPOINT in first.stdout

    again = demo(env)  # every step recorded: a rerun redoes nothing
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("done earlier, skipped") == len(STEPS)


def test_demo_refuses_a_folder_that_is_not_a_demo_home(home, tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not a demo home"):
        run_demo(precious, quick=True, fresh=True, echo=lambda _: None)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_demo_refuses_a_database_with_real_data(env, home):
    from paperclip.db import session_scope
    from paperclip.schema import Proposal

    with session_scope() as session:
        session.add(Proposal(collection="HST", proposal_id="12345", abstract="real"))
    with pytest.raises(DemoError, match="non-demo proposals"):
        run_demo(home / "demo", quick=True, fresh=False, echo=lambda _: None)
    assert not (home / "demo" / "archive").exists()
