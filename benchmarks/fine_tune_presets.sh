#!/usr/bin/env bash
# Fine-tuned presets (issue 33; weights/$PRESET, default voc2007_mobilenet_v2): for each
# method, the two-stage recipe of benchmarks/fine_tune.sh repeated on train + val (VOC:
# 3,000 photos) with what seed 0 chose on val (`fine_tune_table.py --choices`): the side
# (224 or 448 px), the head's learning rate and best epoch, the stage-2 learning rate and
# best epoch (median over seeds: seed 0's was not kept). Each preset keeps its own
# fine-tuned backbone, in float16. The recipes come from the committed record
# (benchmarks/scores/<dataset>_fine_tune.jsonl), not from run folders.
# Usage, from the repository root with ../shared beside it:
#   bash benchmarks/fine_tune_presets.sh [ROOT]   (ROOT: where the runs go, runs/voc_ft)
# PROTOCOL=benchmarks/coco_small_protocol.sh PRESET=coco_mobilenet_v2: the COCO ones.
# METHODS="binary-relevance cnn-rnn" limits it to those methods. A preset whose metadata
# already records a train + val two-stage command is skipped; an interrupted run is resumed; the
# preset it replaces is kept until the new one is written whole (save_to_preset).
set -euo pipefail
ROOT=${1:-runs/voc_ft}
source "${PROTOCOL:-$(dirname "$0")/voc2007_protocol.sh}"  # DATA, COMMON (FEATURES), BACKBONE
PRESET=${PRESET:-voc2007_mobilenet_v2}
mkdir -p "$ROOT"
python "$(dirname "$0")/fine_tune_table.py" --dataset "$DATASET" --choices \
  > "$ROOT/preset_choices.txt"
cat "$ROOT/preset_choices.txt"
while read -r method side head_lr head_epochs lr epochs; do
  if [ -n "${METHODS:-}" ] && [[ " $METHODS " != *" $method "* ]]; then continue; fi
  preset=weights/$PRESET/$method
  grep -q -- "--train-on-val" "$preset/metadata.json" 2>/dev/null && continue
  run=$ROOT/presets/$method
  if [ -f "$run/run_config.json" ]; then
    keras-mlrnn train --resume "$run" --overwrite </dev/null
    continue
  fi
  keras-mlrnn train --model "$method" "${DATA[@]}" "${COMMON[@]}" --epochs "$head_epochs" \
    --learning-rate "$head_lr" --train-on-val --fine-tune-epochs "$epochs" \
    --fine-tune-learning-rate "$lr" --fine-tune-image-size "$side" --save-preset "$preset" \
    --save-preset-dtype float16 --run-dir "$run" --overwrite </dev/null
done < "$ROOT/preset_choices.txt"
python -c "from keras_mlrnn.presets.saving import preset_table; print(preset_table('weights', '$PRESET'))"
