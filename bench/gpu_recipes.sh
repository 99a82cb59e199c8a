#!/usr/bin/env bash
# Recipe sweep on a GPU machine (repo root): each "name|texture|train.py arguments" line of RECIPES runs as its
# own bench_recipes.py process (training on the GPU, evaluation on CPU threads), all at once; each writes
# $OUT/<name>.log with its table and JSON rows. STEPS, SEEDS, THREADS from the environment. The device image
# lacks soundfile and jsonargparse: carry their cp312 wheels (see ../.library/device/README.md) and install
# them first. Results of a sweep: bench/RESULTS.md.
#   RECIPES=$'base|wind|\nch192|wind|--model.generator.channels 192' STEPS=500 SEEDS=8 bash bench/gpu_recipes.sh
set -uo pipefail
OUT=${OUT:-/tmp/texnet_gpu_recipes}
STEPS=${STEPS:-500}; SEEDS=${SEEDS:-8}; THREADS=${THREADS:-2}; SECONDS_OUT=${SECONDS_OUT:-10}
mkdir -p "$OUT" /tmp/gpu_recipes
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
while IFS='|' read -r name tex extra; do
    [ -z "$name" ] && continue
    ( ${PY:-python3} bench/bench_recipes.py --textures "$tex" --recipe "$name=$extra" --steps "$STEPS" --seeds "$SEEDS" \
        --seconds "$SECONDS_OUT" --threads "$THREADS" --out "/tmp/gpu_recipes/$name" > "$OUT/$name.log" 2>&1
      rc=$?
      [ $rc -ne 0 ] && tail -40 /tmp/gpu_recipes/$name/*/train.log >> "$OUT/$name.log" 2>/dev/null
      cat "/tmp/gpu_recipes/$name/recipes.json" >> "$OUT/$name.log" 2>/dev/null
      echo "rc $rc" >> "$OUT/$name.log" ) &
done <<< "$RECIPES"
wait
grep -h -E "ratio .* objective" "$OUT"/*.log
