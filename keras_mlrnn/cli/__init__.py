"""The `keras-mlrnn` command: the parser (no Keras: `--help` answers at once) and each command.

May import: any subpackage. Nothing imports `cli`.
"""

from keras_mlrnn.cli.commands import main  # noqa: F401 (the console script)
