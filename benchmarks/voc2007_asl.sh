#!/usr/bin/env bash
# ASL (AsymmetricLoss) next to BCE on VOC 2007, under the protocol of benchmarks/voc2007.sh:
#   1. a gamma grid for BinaryRelevance + ASL at seed 0, lr 1e-3 (BinaryRelevance's chosen rate);
#   2. the search (lr in {3e-4, 1e-3, 3e-3} at seed 0, at most 25 epochs, stopped after 5
#      without a better val mAP) for BinaryRelevance and CoarseToFineRNN (the best recurrent
#      method of the plain table), each with the ASL paper's setting (gamma_neg 4, gamma_pos 0,
#      clip 0.05), then seeds 1 and 2 at the chosen rate;
#   3. the same two methods with BCE at their chosen rates of the plain table, seeds 0-2,
#      with today's defaults (the per-class heads start at the label prior), side by side;
#   4. the table (benchmarks/voc2007_table.py on ROOT).
# The feature cache of benchmarks/voc2007.sh is reused (built here if missing).
# Run from the repository root with ../shared beside it: bash benchmarks/voc2007_asl.sh [ROOT]
set -euo pipefail
ROOT=${1:-runs/voc_asl}
source "$(dirname "$0")/voc2007_protocol.sh"  # DATA, COMMON, BUDGET, FEATURES
BR_ASL="binary-relevance:classification_loss=asl"
CTF_ASL="coarse-to-fine-rnn:classification_loss=asl"

for grid in '{"gamma_neg":2,"gamma_pos":0,"clip":0.05}' '{"gamma_neg":1,"gamma_pos":0,"clip":0}' \
            '{"gamma_neg":4,"gamma_pos":1,"clip":0.05}' '{"gamma_neg":4,"gamma_pos":0,"clip":0}'; do
  name=$(echo "$grid" | tr -d '{}"' | tr ',:' '_-')
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate 1e-3 --seeds 0 \
    --models "$BR_ASL" --model-arg "asl=$grid" --out "$ROOT/grid/$name"
done

for lr in 1e-3 3e-4 3e-3; do
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate "$lr" --seeds 0 \
    --models "$BR_ASL" "$CTF_ASL" --out "$ROOT/lr$lr"
done
python benchmarks/voc2007_table.py --root "$ROOT" --features "$FEATURES" --choices \
  > "$ROOT/choices.txt"
while read -r method lr epochs; do
  spec=${method/__/:}; spec=${spec/classification_loss-asl/classification_loss=asl}
  keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate "$lr" --seeds 0 1 2 \
    --models "$spec" --out "$ROOT/lr$lr"
done < "$ROOT/choices.txt"

keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate 1e-3 --seeds 0 1 2 \
  --models binary-relevance --out "$ROOT/lr1e-3"
keras-mlrnn compare "${DATA[@]}" "${COMMON[@]}" "${BUDGET[@]}" --learning-rate 3e-3 --seeds 0 1 2 \
  --models coarse-to-fine-rnn --out "$ROOT/lr3e-3"

python benchmarks/voc2007_table.py --root "$ROOT" --features "$FEATURES" > "$ROOT/table.md"
cat "$ROOT/table.md"
