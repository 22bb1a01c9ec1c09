"""Same as `keras-mlrnn compare`: every method, one protocol, mean +- std over seeds.

python benchmarks/compare.py --seeds 0 1 2 --ablations --out runs/compare
"""

import sys

from keras_mlrnn.cli.commands import main

if __name__ == "__main__":
    sys.exit(main(["compare"] + sys.argv[1:]))
