"""`python -m keras_mlrnn.cli`: the `keras-mlrnn` command."""

import sys

from keras_mlrnn.cli.commands import main

sys.exit(main())
