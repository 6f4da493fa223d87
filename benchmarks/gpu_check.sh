#!/usr/bin/env bash
# The one prepared GPU run (a lent H100/H200 with no network): wheels for what its image lacks
# travel in .whl/; every part has its own time limit so one failure does not sink the rest.
# Figures land in $OUT (JSON/JSONL + logs); benchmarks/README.md quotes them.
#
#   OUT=/tmp/out bash benchmarks/gpu_check.sh                  # every section, in order
#   OUT=/tmp/out bash benchmarks/gpu_check.sh shards           # a group: shards_data .. shards_paper_step
#   OUT=/tmp/out bash benchmarks/gpu_check.sh shards_train     # one section
#   TOY=1 OUT=/tmp/out bash benchmarks/gpu_check.sh shards     # the same code on the CPU, toy sizes (a test)
#
# Sections and their limits (seconds): search 190 | shards_data 75, shards_embed 80, shards_train 170,
# shards_paper_step 140 (shards: under 8 min with the setup, ~5 expected) | paper_recipe 600.
set -uo pipefail
OUT=${OUT:-/tmp/paperclip-gpu}
mkdir -p "$OUT"
TOY=${TOY:-0}
if [ "$TOY" = 1 ]; then
  PY=${PYTHON:-python}
  export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
  $PY -c "import torch; print('toy run on the CPU, torch', torch.__version__)" | tee "$OUT/gpu.txt"
else
  PY=python3
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TQDM_MININTERVAL=5
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  $PY -c "import torch, open_clip, faiss; print('torch', torch.__version__, 'open_clip', open_clip.__version__, 'faiss', faiss.__version__)" | tee -a "$OUT/gpu.txt"
fi
# part LIMIT NAME CMD...: run with a time limit (x4 on the CPU), log to $OUT/NAME.log, show the tail
part() {
  local limit=$1 name=$2; shift 2
  [ "$TOY" = 1 ] && limit=$((limit * 4))
  echo "== $name (limit ${limit}s)"; timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; echo "rc=$?"; tail -8 "$OUT/$name.log"
}

# -- search: server-side text query over 1M vectors (embed + search), eager then CUDA graphs ----------
section_search() {
  part 90 search_eager $PY -m benchmarks.bench_search --server-side --models ViT-B-16 --sizes 1000000 --queries 300
  part 100 search_compiled $PY -m benchmarks.bench_search --server-side --models ViT-B-16 --sizes 1000000 --queries 300 --compile
  cp artifacts/bench/search-server-*.json "$OUT/" 2>/dev/null
}

# -- shards (issue 17): preview shards feeding embedding and training --------------------------------
# One data home for all shards sections: previews, rows and shards made once by shards_data.
if [ "$TOY" = 1 ]; then
  SH_MODEL=tiny SH_DEVICE=cpu SH_IMAGES=48 SH_BATCH=8 SH_SMALL=8 SH_STEPS=2 SH_WARMUP=1 SH_WORKERS=1 SH_PASSES=1
else
  SH_MODEL=ViT-B-16 SH_DEVICE=cuda SH_IMAGES=8192 SH_BATCH=256 SH_SMALL=32 SH_STEPS=20 SH_WARMUP=5 SH_WORKERS=14 SH_PASSES=3
fi
SH="$PY benchmarks/bench_loader.py --data $OUT/shards-data --images $SH_IMAGES --model $SH_MODEL --device $SH_DEVICE --json $OUT/shards.jsonl"
section_shards_data() {  # previews, rows and shards (the builder's own rate is in shards.jsonl)
  part 75 shards_data $SH prepare
}
section_shards_embed() {  # target >= 6,000 img/s (ViT-B-16 bf16, one H200); model alone and nvJPEG beside it
  part 80 shards_embed $SH embed --batch $SH_BATCH --workers $SH_WORKERS --passes $SH_PASSES
}
section_shards_train() {  # batch 256 from shards, eager and compiled; target >= 2,700 pairs/s compiled
  part 170 shards_train $SH train --batch $SH_BATCH --steps $SH_STEPS --warmup $SH_WARMUP --workers $SH_WORKERS
}
section_shards_paper_step() {  # the paper recipe's step at batch 32, compiled (CUDA graphs) beside eager
  part 140 shards_paper_step $SH train --recipe paper --batch $SH_SMALL --steps $((SH_STEPS * 3)) --warmup $((SH_WARMUP * 2)) --workers $((SH_WORKERS / 2))
}

# -- paper_recipe: the paper recipe end to end on a synthetic archive (data loading and validation) ---
section_paper_recipe() {
  export PAPERCLIP_HOME="$OUT/home"
  part 120 paper_prep sh -c "$PY -m paperclip_cli synth $OUT/synth --proposals 150 && $PY -m paperclip_cli db upgrade && \
    $PY -m paperclip_cli import $OUT/synth/manifest.jsonl --collection SYNTH && $PY -m paperclip_cli caption && \
    $PY -m paperclip_cli shards build"
  part 480 paper_recipe $PY -m paperclip_cli train --recipe paper --model ViT-B-16 --steps "${STEPS:-20000}" --workers 12
}

declare -A SECTION_GROUPS=([shards]="shards_data shards_embed shards_train shards_paper_step")
ALL="search shards paper_recipe"
for name in ${@:-$ALL}; do
  for section in ${SECTION_GROUPS[$name]:-$name}; do
    if declare -F "section_$section" > /dev/null; then "section_$section"; else echo "unknown section: $section" >&2; fi
  done
done
ls -la "$OUT"
