#!/usr/bin/env bash
# The VOC 2007 frozen-backbone protocol behind benchmarks/RESULTS.md (and, until
# 2026-12-06, the frozen weights/voc2007_mobilenet_v2 presets, now fine-tuned ones made
# from the runs of benchmarks/fine_tune.sh: weights/README.md):
#   1. search: every method, seed 0, learning rate in {1e-3, 3e-4, 3e-3}; at most 25 epochs,
#      stopped after 5 without a better val mAP, the best epoch by val mAP kept (same budget
#      for every method); frozen ImageNet MobileNetV2 at 224 px, features cached once
#      (the options: benchmarks/voc2007_protocol.sh);
#   2. seeds 1 and 2 at each method's best learning rate (seed 0 is reused);
#   3. frozen presets, with PRESETS=1 (into PRESET_DIR, default runs/voc_frozen_presets):
#      train + val, the chosen learning rate, the best seed-0 epoch count, float16 heads
#      on the shipped backbone file;
#   4. the table (benchmarks/voc2007_table.py).
# Run from the repository root with ../shared beside it: bash benchmarks/voc2007.sh [ROOT]
# METHODS="binary-relevance order-free-rnn" limits it to those methods (default: all six).
# FEATURES=DIR reuses another root's feature cache (default ROOT/features).
# PROTOCOL=benchmarks/coco_small_protocol.sh runs the same protocol on COCO (coco_small.sh).
# OPTIONS="--ema 0.99" (or "--augment randaugment", ...) adds train options to every run:
# the recipe rows of RESULTS.md are this protocol with OPTIONS.
# Finished runs are skipped, so an interrupted run of this script resumes.
set -euo pipefail
ROOT=${1:-runs/voc}
FEATURES=${FEATURES:-$ROOT/features}
source "${PROTOCOL:-$(dirname "$0")/voc2007_protocol.sh}"  # DATASET, DATA, COMMON, BUDGET, ...
read -r -a EXTRA <<< "${OPTIONS:-}"
COMMON+=("${EXTRA[@]}")
MODELS=()
[ -n "${METHODS:-}" ] && MODELS=(--models $METHODS)

for lr in 1e-3 3e-4 3e-3; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" "${MODELS[@]}" \
    --learning-rate "$lr" --seeds 0 --out "$ROOT/lr$lr"
done

python benchmarks/voc2007_table.py --dataset "$DATASET" --root "$ROOT" --features "$FEATURES" --choices \
  > "$ROOT/choices.txt"
while read -r method lr epochs; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate "$lr" \
    --models "${method/__/:}" --seeds 0 1 2 --out "$ROOT/lr$lr"
done < "$ROOT/choices.txt"

if [ "${PRESETS:-0}" != 0 ]; then
  while read -r method lr epochs; do
    preset=${PRESET_DIR:-runs/voc_frozen_presets}/$method
    [ -f "$preset/config.json" ] && continue
    keras-mlrnn train --model "$method" "${DATA[@]}" "${COMMON[@]}" --epochs "$epochs" \
      --learning-rate "$lr" --train-on-val --save-preset "$preset" --save-preset-dtype float16 \
      --save-preset-backbone "$BACKBONE" --run-dir "$ROOT/preset-$method" --overwrite
  done < "$ROOT/choices.txt"
fi

python benchmarks/voc2007_table.py --dataset "$DATASET" --root "$ROOT" --features "$FEATURES" \
  > "$ROOT/table.md"
cat "$ROOT/table.md"
