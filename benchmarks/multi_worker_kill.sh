#!/usr/bin/env bash
# How fast a multi-worker run stops when a worker dies (issue 36; benchmarks/RESULTS.md,
# "Training across processes"): two `keras-mlrnn train --distribute multi-worker`
# processes on localhost, the non-chief SIGKILLed once the chief's checkpoint says epoch 1;
# prints the chief's exit status, the seconds from the kill to its exit, and its last line.
# Usage, from the repository root: bash benchmarks/multi_worker_kill.sh BACKEND PORT
# (BACKEND tensorflow or jax; PORT and PORT+1 free). Files go to a new temporary folder.
set -uo pipefail
backend=$1 port=$2
dir=$(mktemp -d) && mkdir -p "$dir/t0" "$dir/t1"
export TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=$backend JAX_PLATFORMS=cpu
args=(train --train-size 256 --val-size 32 --test-size 32 --image-size 32 --batch-size 16
      --augment none --distribute multi-worker --epochs 40 --run-dir "$dir/run")
worker_env() {  # the environment variables that place worker $1
  if [ "$backend" = jax ]; then
    echo "KERAS_DISTRIBUTION_JOB_ADDRESSES=localhost:$port KERAS_DISTRIBUTION_NUM_PROCESSES=2" \
         "KERAS_DISTRIBUTION_PROCESS_ID=$1"
  else
    echo "TF_CONFIG={\"cluster\":{\"worker\":[\"localhost:$port\",\"localhost:$((port + 1))\"]},\"task\":{\"type\":\"worker\",\"index\":$1}}"
  fi
}
# shellcheck disable=SC2046 (each variable one word)
env TMPDIR="$dir/t1" $(worker_env 1) keras-mlrnn "${args[@]}" > "$dir/w1.log" 2>&1 &
other=$!
# shellcheck disable=SC2046
env TMPDIR="$dir/t0" $(worker_env 0) keras-mlrnn "${args[@]}" > "$dir/w0.log" 2>&1 &
chief=$!
for _ in $(seq 1 1500); do
  grep -qs '"epoch": [1-9]' "$dir/run/checkpoints/training_metadata.json" && break
  sleep 0.2
done
kill -9 "$other"
killed=$(date +%s.%N)
wait "$chief"
status=$?
ended=$(date +%s.%N)
echo "$backend: chief exit status $status, $(python -c "print(round($ended - $killed, 1))") s after the kill"
tail -1 "$dir/w0.log"
