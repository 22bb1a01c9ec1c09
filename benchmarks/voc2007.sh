#!/usr/bin/env bash
# The VOC 2007 protocol behind benchmarks/RESULTS.md and weights/voc2007_mobilenet_v2/:
#   1. search: every method, seed 0, learning rate in {1e-3, 3e-4, 3e-3}; at most 25 epochs,
#      stopped after 5 without a better val mAP, the best epoch by val mAP kept (same budget
#      for every method); frozen ImageNet MobileNetV2 at 224 px, features cached once;
#   2. seeds 1 and 2 at each method's best learning rate (seed 0 is reused);
#   3. presets: train + val, the chosen learning rate, the best seed-0 epoch count,
#      float16 heads on the shipped backbone file;
#   4. the table (benchmarks/voc2007_table.py).
# Run from the repository root with ../shared beside it: bash benchmarks/voc2007.sh [ROOT]
# Finished runs are skipped, so an interrupted run of this script resumes.
set -euo pipefail
ROOT=${1:-runs/voc}
DATA=(--dataset voc2007 --data-dir ../shared/data/voc2007)
BACKBONE=weights/backbones/mobilenet_v2_1.0_224_imagenet_notop.weights.h5
COMMON=(--backbone mobilenet_v2 --backbone-weights "$BACKBONE" --image-size 224
        --cache-features "$ROOT/features" --model-arg backbone_trainable=false
        --batch-size 32 --clipnorm 1.0)
export TF_CPP_MIN_LOG_LEVEL=3

for lr in 1e-3 3e-4 3e-3; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" --epochs 25 --early-stopping 5 \
    --learning-rate "$lr" --seeds 0 --out "$ROOT/lr$lr"
done

python benchmarks/voc2007_table.py --root "$ROOT" --choices > "$ROOT/choices.txt"
while read -r method lr epochs; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" --epochs 25 --early-stopping 5 \
    --learning-rate "$lr" --models "$method" --seeds 0 1 2 --out "$ROOT/lr$lr"
done < "$ROOT/choices.txt"

while read -r method lr epochs; do
  preset=weights/voc2007_mobilenet_v2/$method
  [ -f "$preset/config.json" ] && continue
  keras-mlrnn train --model "$method" "${DATA[@]}" "${COMMON[@]}" --epochs "$epochs" \
    --learning-rate "$lr" --train-on-val --save-preset "$preset" --save-preset-dtype float16 \
    --save-preset-backbone "$BACKBONE" --run-dir "$ROOT/preset-$method" --overwrite
done < "$ROOT/choices.txt"

python benchmarks/voc2007_table.py --root "$ROOT" > "$ROOT/table.md"
cat "$ROOT/table.md"
