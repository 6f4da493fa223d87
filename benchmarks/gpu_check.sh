#!/usr/bin/env bash
# The one prepared GPU run (a lent H100/H200 with no network): wheels for what its image lacks
# travel in .whl/; every part has its own time limit so one failure does not sink the rest.
# Figures land in $OUT (JSON/JSONL + logs); benchmarks/README.md quotes them.
set -uo pipefail
OUT=${OUT:-/tmp/paperclip-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TQDM_MININTERVAL=5
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, open_clip, faiss; print('torch', torch.__version__, 'open_clip', open_clip.__version__, 'faiss', faiss.__version__)" | tee -a "$OUT/gpu.txt"
part() { local limit=$1 name=$2; shift 2; echo "== $name"; timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; echo "rc=$?"; tail -6 "$OUT/$name.log"; }

# 1. server-side text query over 1M vectors (embed + search), eager then CUDA graphs
part 90 search_eager python3 -m benchmarks.bench_search --server-side --models ViT-B-16 --sizes 1000000 --queries 300
part 100 search_compiled python3 -m benchmarks.bench_search --server-side --models ViT-B-16 --sizes 1000000 --queries 300 --compile
cp artifacts/bench/search-server-*.json "$OUT/" 2>/dev/null
# 2. embedding throughput from JPEG files: pipeline vs naive loop vs model alone
part 100 embed python3 benchmarks/bench_index.py embed --model ViT-B-16 --images 8000 --naive-images 300 --batch 256 --workers 14 --out "$OUT/embed"
# 3. training throughput, real JPEG pipeline vs synthetic tensors (each run renders its own previews first)
J="$OUT/bench_train_gpu.jsonl"
B="python3 benchmarks/bench_train.py --model ViT-B-16 --device cuda --previews synthetic --json $J"
part 140 train_b256_eager $B --batch 256 --steps 10 --warmup 3 --workers 14
part 100 train_b32_eager $B --batch 32 --steps 30 --warmup 5 --workers 8
part 200 train_b256_compiled $B --batch 256 --steps 10 --warmup 5 --workers 14 --compile
part 200 train_b32_graphs $B --batch 32 --steps 30 --warmup 10 --workers 8 --compile --compile-mode reduce-overhead
# 4. the paper recipe end to end on a synthetic archive (data loading and validation included)
export PAPERCLIP_HOME="$OUT/home"
part 120 paper_prep sh -c "python3 -m paperclip_cli synth $OUT/synth --proposals 150 && python3 -m paperclip_cli db upgrade && \
  python3 -m paperclip_cli import $OUT/synth/manifest.jsonl --collection SYNTH && python3 -m paperclip_cli caption"
part 480 paper_recipe python3 -m paperclip_cli train --recipe paper --model ViT-B-16 --steps "${STEPS:-20000}" --workers 12 --compile
ls -la "$OUT"
