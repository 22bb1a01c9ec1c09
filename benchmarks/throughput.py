"""Training and inference throughput of every method next to BinaryRelevance.

The same program as `keras-mlrnn benchmark` (keras_mlrnn/benchmark.py); see
its docstring for the arguments.

    KERAS_BACKEND=jax python benchmarks/throughput.py --backbone resnet50 \\
        --image-size 224 --batch-sizes 64 128 256 --precision mixed_bfloat16 --json out.json
"""

import sys

from keras_mlrnn.benchmarking.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
