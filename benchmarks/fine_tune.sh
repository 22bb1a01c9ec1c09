#!/usr/bin/env bash
# The zoo's data sets with the CNN fine-tuned (issue 33): keras-mlrnn train --fine-tune-epochs.
# Each run: stage 1, the head as in benchmarks/voc2007.sh (frozen ImageNet MobileNetV2 at
# 224 px on cached features, the method's learning rate chosen there, at most 25 epochs,
# stopped after 5 without a better val mAP); stage 2, the whole model from the head's
# best weights (batch norm frozen, flip + random resized crop, Adam at LR with clipnorm 1,
# at most FT_EPOCHS epochs, stopped after 2 without a better val mAP) at SIZE px.
# Usage, from the repository root with ../shared beside it:
#   bash benchmarks/fine_tune.sh ROOT < plan.txt
# plan.txt: one run a line, "METHOD SIZE LR SEED [HEAD_LR]" (e.g. "coarse-to-fine-rnn 448
# 3e-5 0"); HEAD_LR defaults to the VOC 2007 search's choice for the method (below).
# PROTOCOL=benchmarks/coco_small_protocol.sh runs COCO (default: voc2007_protocol.sh).
# A run goes to ROOT/<METHOD>/size<SIZE>_lr<LR>/seed<SEED>; its head is trained once per
# method and seed and reused by the method's other runs (benchmarks/reuse_head.py).
# Finished runs are skipped and unfinished ones resumed, so the script can be rerun.
set -euo pipefail
ROOT=${1:-runs/voc_ft}
source "${PROTOCOL:-$(dirname "$0")/voc2007_protocol.sh}"  # DATA, COMMON (FEATURES), BACKBONE
FT_EPOCHS=${FT_EPOCHS:-5}
declare -A HEAD_LR=([binary-relevance]=3e-4 [cnn-rnn]=1e-3 [coarse-to-fine-rnn]=1e-3
                    [multi-order-rnn]=1e-3 [order-free-rnn]=3e-4 [region-attention-rnn]=3e-4)
while read -r method size lr seed head_lr; do
  [ -z "$method" ] && continue
  run=$ROOT/$method/size${size}_lr${lr}/seed$seed
  [ -f "$run/metrics.json" ] && grep -q '"finished": true' "$run/metrics.json" && continue
  if [ -f "$run/run_config.json" ]; then
    keras-mlrnn train --resume "$run" </dev/null
    continue
  fi
  head=$(ls -d "$ROOT/$method"/*/seed"$seed"/head 2>/dev/null | while read -r h; do
           grep -q '"finished": true' "$h/metrics.json" 2>/dev/null && echo "$h"; done | head -1 || true)
  if [ -n "$head" ]; then
    python "$(dirname "$0")/reuse_head.py" "$(dirname "$head")" "$run" \
      fine_tune_image_size="$size" fine_tune_learning_rate="$lr" fine_tune_epochs="$FT_EPOCHS"
    keras-mlrnn train --resume "$run" </dev/null
  else
    keras-mlrnn train --model "$method" "${DATA[@]}" "${COMMON[@]}" --epochs 25 \
      --early-stopping 5 --learning-rate "${head_lr:-${HEAD_LR[$method]}}" --seed "$seed" \
      --fine-tune-epochs "$FT_EPOCHS" --fine-tune-learning-rate "$lr" \
      --fine-tune-image-size "$size" --run-dir "$run" </dev/null
  fi
done
