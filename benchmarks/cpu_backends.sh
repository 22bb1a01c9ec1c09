#!/usr/bin/env bash
# Which backend trains fastest on a CPU: `keras-mlrnn benchmark` for BinaryRelevance on
# MobileNetV2 at 224 px, batch 32, float32 (train / predict images per second), side by
# side in one run: TensorFlow as `fit` runs it (Keras' choice: no XLA on a CPU-only
# machine), TensorFlow with XLA forced, JAX (always XLA), PyTorch (Keras' default there:
# eager). Each measurement is a fresh process; the median of --repeats timed runs counts.
# Usage: bash benchmarks/cpu_backends.sh [OUT_DIR]   (default runs/cpu_backends)
set -euo pipefail
OUT=${1:-runs/cpu_backends}
mkdir -p "$OUT"
export TF_CPP_MIN_LOG_LEVEL=3
COMMON=(--methods binary-relevance --backbone mobilenet_v2 --image-size 224 --batch-sizes 32
        --precision float32 --num-classes 20 --steps 4 --warmup 1 --repeats 3)
run() {  # name, backend, extra options
  local name=$1 backend=$2; shift 2
  [ -f "$OUT/$name.json" ] && return
  KERAS_BACKEND=$backend keras-mlrnn benchmark "${COMMON[@]}" "$@" --json "$OUT/$name.json" \
    > "$OUT/$name.md"
}
run tensorflow tensorflow
run tensorflow_xla tensorflow --jit-compile true
run jax jax
run torch torch
python - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print("| backend | XLA | train img/s | predict img/s |")
print("|---|---|---|---|")
for name in ("tensorflow", "tensorflow_xla", "jax", "torch"):
    row = json.load(open(os.path.join(out, f"{name}.json")))["results"][0]
    xla = "yes" if row.get("xla") else "no"
    print(f"| {row['backend']} | {xla} | {row['train_images_per_s']:.1f} | "
          f"{row['infer_images_per_s']:.1f} |")
PY
