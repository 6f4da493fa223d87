"""The prepared GPU benchmark of the paper path runs end to end on CPU at its toy size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_paper_benchmark_runs_at_toy_size(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCLIP_")}
    cmd = [sys.executable, "-m", "benchmarks.bench_paper", "--preset", "toy", "--work", str(tmp_path / "w")]
    done = subprocess.run(
        [*cmd, "--out", str(out)],
        cwd=REPO,
        env={**env, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "bench_paper.json").read_text())
    assert result["prep"]["previews"] == 160 and result["model"] == "tiny"
    fp32, bf16 = result["fp32"], result["bf16"]
    assert (fp32["precision"], fp32["steps"], bf16["precision"], bf16["steps"]) == ("fp32", 6, "bf16", 4)
    assert [s for s, _ in fp32["loss_curve"]] == list(range(1, 7))
    assert fp32["val"] and "val_fig2_t2i_top10_of_100" in fp32["val"][-1]
    assert result["curves"]["steps_compared"] == 4 and result["curves"]["max_abs_diff"] < 0.5
    assert fp32["wall_s"] > 0 and fp32["projected_s_for_20k_steps"] > fp32["wall_s"]
    assert result["target_met"] is False  # 6 steps are not the paper's 20k
    assert (out / "loss_curves.png").stat().st_size > 0
    assert "against the target of 480 s" in done.stdout
