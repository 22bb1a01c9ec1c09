#!/usr/bin/env bash
# Issue 12's measurement on a lent GPU machine (the `device` tool), one part per call.
#
# The GPU image has JAX and Pillow but no Keras. Here, once per session:
#   mkdir -p .git/info && echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#     --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 namex optree
# Then one device `run` per part, each carrying ".whl" (and "runs/gpu", see
# below), with timeout_s 600:
#   bash benchmarks/gpu_run.sh throughput 64
#   bash benchmarks/gpu_run.sh throughput 128
#   bash benchmarks/gpu_run.sh cost 64
#   bash benchmarks/gpu_run.sh profile 64 --methods order-free-rnn   # where a method's time goes
# Results (JSON, log, device description) land in $OUT. The benchmark
# stops by itself before the call's 10 minutes are up (--time-limit,
# TIME_LIMIT seconds, default 520) and exits with status 3 if methods are
# left; its JSON keeps every finished method. To measure the rest, copy
# the returned JSON here to runs/gpu/PART-BATCH.json, carry "runs/gpu" and
# run the same part again: it resumes from that file.
# Arguments after the batch size go to `keras_mlrnn.benchmarking.benchmark` and override
# the defaults below (e.g. `--methods region-attention-rnn`).
set -euo pipefail
cd "$(dirname "$0")/.."
part=${1:?"usage: gpu_run.sh throughput|cost|profile BATCH [benchmark arguments]"}
batch=${2:?"usage: gpu_run.sh throughput|cost|profile BATCH [benchmark arguments]"}
shift 2
out=${OUT:-runs/gpu}
mkdir -p "$out"
python=${PYTHON:-python3}

if [ -d .whl ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null ||
    echo "no nvidia-smi"
  "$python" -c "import jax, keras; print(jax.__version__, keras.__version__, jax.devices())"
} | tee "$out/device-$part-$batch.txt"

common=(--backbone resnet50 --image-size 224 --batch-sizes "$batch" --precision mixed_bfloat16)
common+=(--time-limit "${TIME_LIMIT:-520}")
case "$part" in
  throughput) extra=() ;;
  cost) extra=(--cost-analysis) ;;
  profile) extra=(--profile /tmp/profile-traces) ;;  # traces stay there; tables in the log
  *) echo "unknown part '$part': throughput, cost or profile" >&2; exit 2 ;;
esac
json="$out/$part-$batch.json"
earlier="runs/gpu/$part-$batch.json"  # a carried JSON of an earlier, stopped call
if [ -f "$earlier" ] && [ "$earlier" != "$json" ]; then
  cp "$earlier" "$json"
fi
[ -f "$json" ] && extra+=(--resume)
set -o pipefail
"$python" -m keras_mlrnn.benchmarking.benchmark "${common[@]}" "${extra[@]}" "$@" \
  --json "$json" 2>&1 | tee -a "$out/$part-$batch.log"
