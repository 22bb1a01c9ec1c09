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


def test_the_module_paths_the_readme_gave_before_the_rearrangement_still_import():
    # The README of 1bb700e, written out: each name as it was imported then.
    from keras_mlrnn.cli_parser import optional_path
    from keras_mlrnn.decoding import beam_search
    from keras_mlrnn.distribute import data_parallel
    from keras_mlrnn.fine_tuning import whole_model
    from keras_mlrnn.images import read_image, read_images
    from keras_mlrnn.labelling import label_collection
    from keras_mlrnn.preset_configs import builtin_config
    from keras_mlrnn.runs import train
    from keras_mlrnn.serving import load_artifact
    from keras_mlrnn.visualize import save_explanations

    from keras_mlrnn.backbones import BACKBONE_NAMES
    from keras_mlrnn.metrics import format_report, multilabel_report

    found = [beam_search, data_parallel, whole_model, read_image, read_images, label_collection]
    found += [format_report, multilabel_report, builtin_config, train, load_artifact]
    found += [save_explanations, optional_path]
    assert all(callable(f) for f in found) and "tiny" in BACKBONE_NAMES
    assert train.__module__ == "keras_mlrnn.training.runs"  # the same function, moved
    assert km.runs is km.training.runs
