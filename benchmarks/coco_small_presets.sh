#!/usr/bin/env bash
# The four fine-tuned coco_mobilenet_v2 presets (issue 34), each the two-stage recipe on
# all 367 train2017 photos of ../shared/data/coco_small (train + val) with what its seed-0
# runs chose on val (benchmarks/RESULTS.md, "COCO"): the head's epochs and learning rate
# from the frozen search (benchmarks/coco_small.sh), the stage-2 rate and epochs from the
# fine-tuned grid (benchmarks/fine_tune.sh with PROTOCOL=benchmarks/coco_small_protocol.sh).
# coarse-to-fine-rnn and region-attention-rnn stay frozen heads: val chose them.
# Usage, from the repository root with ../shared beside it: bash benchmarks/coco_small_presets.sh
# Each replaces weights/coco_mobilenet_v2/METHOD whole once its run has finished.
set -euo pipefail
source "$(dirname "$0")/coco_small_protocol.sh"  # DATA, COMMON (FEATURES)
while read -r method head_epochs head_lr epochs lr; do
  keras-mlrnn train --model "$method" "${DATA[@]}" "${COMMON[@]}" --epochs "$head_epochs" \
    --learning-rate "$head_lr" --train-on-val --fine-tune-epochs "$epochs" \
    --fine-tune-learning-rate "$lr" --fine-tune-image-size 224 \
    --save-preset "weights/coco_mobilenet_v2/$method" --save-preset-dtype float16 \
    --run-dir "runs/coco_small/ft/presets/$method" --overwrite </dev/null
done <<PLAN
order-free-rnn 12 3e-4 5 1e-4
multi-order-rnn 9 3e-3 2 3e-5
binary-relevance 8 1e-3 5 1e-4
cnn-rnn 10 3e-3 1 1e-4
PLAN
