#!/usr/bin/env bash
# One prepared GPU check for training (ViT-B-16, random weights: the device has no hub access).
# Writes every figure to $OUT/bench_train_gpu.jsonl and a log; run from the repo root:
#   OUT=/tmp/out STEPS=1000 bash benchmarks/gpu_train.sh
# 1. throughput, real JPEG pipeline vs synthetic tensors: batch 256 eager/compiled, batch 32
#    eager/compiled/reduce-overhead (the H200 references: 1,893 / 2,776 pairs/s; 61 / 32 / 15.6 ms).
# 2. the paper recipe end to end on a synthetic archive (data loading and validation included),
#    STEPS steps (default 1000; the recipe's 20k extrapolate linearly after warm-up).
set -euo pipefail
OUT=${OUT:-/tmp/paperclip-gpu}
STEPS=${STEPS:-1000}
PY=${PY:-python}
mkdir -p "$OUT"
J="$OUT/bench_train_gpu.jsonl"
B="$PY benchmarks/bench_train.py --model ViT-B-16 --device cuda --previews synthetic --json $J"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
$B --batch 256 --steps 20 --warmup 3 --workers 12 2>&1 | tee -a "$OUT/log.txt"
$B --batch 256 --steps 20 --warmup 5 --workers 12 --compile 2>&1 | tee -a "$OUT/log.txt"
$B --batch 32 --steps 50 --warmup 5 --workers 8 2>&1 | tee -a "$OUT/log.txt"
$B --batch 32 --steps 50 --warmup 10 --workers 8 --compile 2>&1 | tee -a "$OUT/log.txt"
$B --batch 32 --steps 50 --warmup 10 --workers 8 --compile --compile-mode reduce-overhead 2>&1 | tee -a "$OUT/log.txt"

export PAPERCLIP_HOME="$OUT/home"
start=$(date +%s)
$PY -m paperclip synth "$OUT/synth" --proposals 150 --workers 12 >/dev/null 2>&1
$PY -m paperclip db upgrade
$PY -m paperclip import "$OUT/synth/manifest.jsonl" --collection SYNTH 2>&1 | tail -3
$PY -m paperclip caption 2>&1 | tail -2
prep=$(( $(date +%s) - start ))
start=$(date +%s)
$PY -m paperclip train --recipe paper --model ViT-B-16 --steps "$STEPS" --workers 12 --compile \
  --set val_every=500 2>&1 | tr '\r' '\n' | grep -v "step/s\|s/step" | tail -5 | tee -a "$OUT/log.txt"
train_s=$(( $(date +%s) - start ))
echo "{\"paper_recipe_steps\": $STEPS, \"train_wall_s\": $train_s, \"data_prep_s\": $prep}" | tee -a "$J"
cp "$PAPERCLIP_HOME/checkpoints/runs/paperclip-paper/log.jsonl" "$OUT/paper_log.jsonl"
