#!/usr/bin/env bash
# COCO on ../shared/data/coco_small (issue 34): the six methods, the same budget for each,
# then the coco_mobilenet_v2 presets.
#   1. the frozen-backbone protocol of benchmarks/voc2007.sh on this data
#      (benchmarks/coco_small_protocol.sh): the head on the frozen ImageNet MobileNetV2
#      (224 px, cached features), learning rate in {1e-3, 3e-4, 3e-3} at seed 0, at most 25
#      epochs, stopped after 5 without a better val mAP; seeds 1 and 2 at the chosen rate;
#      the presets on train + val (367 photos) with the chosen rate and best seed-0 epoch,
#      float16 heads on the shipped backbone (weights/coco_mobilenet_v2); the table;
#   2. the two-stage recipe measured on top of each chosen head (benchmarks/fine_tune.sh,
#      stage-2 rate in {3e-5, 1e-4}, at most 5 epochs at 224 px, the photos' shorter side
#      being at most 320 px) and its table (benchmarks/RESULTS.md, "COCO": at seed 0 it
#      lifts the attention heads by about 2 points, not binary-relevance or cnn-rnn).
# Run from the repository root with ../shared beside it: bash benchmarks/coco_small.sh [ROOT]
# Finished runs and presets are skipped, so an interrupted run of this script resumes.
set -euo pipefail
ROOT=${1:-runs/coco_small}
export PROTOCOL=$(dirname "$0")/coco_small_protocol.sh
export FEATURES=${FEATURES:-$ROOT/features}
PRESETS=1 PRESET_DIR=weights/coco_mobilenet_v2 bash "$(dirname "$0")/voc2007.sh" "$ROOT/frozen"

while read -r method lr epochs; do
  for rate in 3e-5 1e-4; do echo "$method 224 $rate 0 $lr"; done
done < "$ROOT/frozen/choices.txt" > "$ROOT/fine_tune_plan.txt"
bash "$(dirname "$0")/fine_tune.sh" "$ROOT/ft" < "$ROOT/fine_tune_plan.txt"
python "$(dirname "$0")/fine_tune_table.py" --dataset coco --root "$ROOT/ft" > "$ROOT/ft/table.md"
cat "$ROOT/ft/table.md"
