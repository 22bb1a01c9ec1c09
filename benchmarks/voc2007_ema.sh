#!/usr/bin/env bash
# Weight averaging (--ema 0.99, Keras' default momentum) on VOC 2007, under the protocol
# of benchmarks/voc2007.sh: BinaryRelevance with BCE, the search (lr in {3e-4, 1e-3, 3e-3}
# at seed 0, at most 25 epochs, stopped after 5 without a better val mAP), then seeds 1
# and 2 at the rate of the best val mAP. The feature cache of benchmarks/voc2007.sh is reused.
# Run from the repository root with ../shared beside it: bash benchmarks/voc2007_ema.sh [ROOT]
set -euo pipefail
ROOT=${1:-runs/voc_ema}
source "$(dirname "$0")/voc2007_protocol.sh"  # DATA, COMMON, BUDGET, FEATURES
COMMON+=(--ema 0.99)

for lr in 1e-3 3e-4 3e-3; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate "$lr" --seeds 0 \
    --models binary-relevance --out "$ROOT/lr$lr"
done
python benchmarks/voc2007_table.py --root "$ROOT" --features "$FEATURES" --choices \
  > "$ROOT/choices.txt"
while read -r method lr epochs; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate "$lr" --seeds 0 1 2 \
    --models "${method/__/:}" --out "$ROOT/lr$lr"
done < "$ROOT/choices.txt"
python benchmarks/voc2007_table.py --root "$ROOT" --features "$FEATURES" > "$ROOT/table.md"
cat "$ROOT/table.md"
