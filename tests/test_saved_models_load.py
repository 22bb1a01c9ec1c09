"""`.keras` files saved before the package was rearranged (issue 38) still load and score the same.

`tests/data/saved_by_1bb700e/` holds each method's tiny model (tests/models/tiny.py)
saved by commit 1bb700e, two fixed uint8 images, and the scores that commit's
model gave them. A moved or renamed class, layer or serialisation name breaks the
load or changes the scores.
"""

import json
import os

import keras
import numpy as np
import pytest

import keras_mlrnn as km

SAVED = os.path.join(os.path.dirname(__file__), "data", "saved_by_1bb700e")
with open(os.path.join(SAVED, "scores.json")) as f:
    SCORES = json.load(f)


@pytest.mark.parametrize("name", sorted(SCORES))
def test_a_model_saved_before_the_rearrangement_loads_with_its_scores(name):
    model = keras.saving.load_model(os.path.join(SAVED, f"{name}.keras"))
    assert type(model) is getattr(km, name)
    images = np.load(os.path.join(SAVED, "images.npy"))
    scores = keras.ops.convert_to_numpy(model(images, training=False))
    np.testing.assert_allclose(scores, np.array(SCORES[name]), atol=1e-5)
