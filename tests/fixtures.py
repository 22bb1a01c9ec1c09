"""What the tests share: small runs on the scenes data and photos written to disk.

- `scenes_run(train, ...)`: the `keras-mlrnn train` arguments of a small run on
  the built-in scenes (split sizes and image side), plus any other options;
- `noise_photos(folder, count, ...)`: uniform-noise photos written as files,
  for tests that need files to read, not content to learn.

Each method's tiny configuration is `tests/models/tiny.py::TINY`.
"""

import os

import numpy as np


def scenes_run(train, val=32, test=32, side=32, **options):
    """`keras-mlrnn train` arguments of a small scenes run: split sizes, side, then `options`.

    `scenes_run(64, epochs=2, cache_features=True)` is `["--train-size", "64",
    "--val-size", "32", "--test-size", "32", "--image-size", "32", "--epochs", "2",
    "--cache-features"]` (True: the flag alone).
    """
    arguments = ["--train-size", str(train), "--val-size", str(val), "--test-size", str(test)]
    arguments += ["--image-size", str(side)]
    for name, value in options.items():
        arguments.append("--" + name.replace("_", "-"))
        if value is not True:
            arguments.append(str(value))
    return arguments


def noise_photos(folder, count, shape=(16, 16), suffix=".png", seed=0):
    """Writes `count` uniform-noise RGB photos `0<suffix>`, `1<suffix>`, ... to `folder`.

    Returns:
        list of str, the paths, in order.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        paths.append(os.path.join(folder, f"{i}{suffix}"))
        Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(paths[-1])
    return paths
