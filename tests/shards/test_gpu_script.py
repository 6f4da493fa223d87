"""The prepared GPU script's shards sections, run on the CPU at a toy size (TOY=1)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_script_shards_sections_run_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCLIP_")}
    env |= {"TOY": "1", "OUT": str(out), "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "shards"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stderr
    parts = re.findall(r"^== (\w+).*\nrc=(\d+)", done.stdout, re.M)
    assert parts == [
        (name, "0") for name in ("shards_data", "shards_embed", "shards_train", "shards_paper_step")
    ], done.stdout
    records = [json.loads(line) for line in (out / "shards.jsonl").read_text().splitlines()]
    by = {(r["bench"], r.get("recipe")): r for r in records}
    assert by["prepare", None]["shards_decoded"] == 48  # later sections reuse the same shards
    embed = by["embed", None]
    assert embed["images"] == 48 and embed["shards_img_per_s"] > 0 and embed["jpeg_img_per_s"] > 0
    for recipe in ("custom", "paper"):
        train = by["train", recipe]
        assert train["compile_mode"] == "default"  # CUDA graphs only on a GPU
        assert train["eager_pairs_per_s"] > 0 and train["compiled_pairs_per_s"] > 0
        assert train["compiled_model_only_pairs_per_s"] > 0
    assert by["train", "paper"]["batch"] == 8
