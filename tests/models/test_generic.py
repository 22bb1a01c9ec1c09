"""`run_model_test` for every method: the contract each model keeps (tests/helpers.py)."""

import pytest

import keras_mlrnn as km
from tests.helpers import run_model_test
from tests.models.tiny import HEAD_PARAMETERS, TINY

# The tiny backbone: four 3x3 convolutions (3 -> 32 -> 64 -> 128 -> 128, no
# bias) each followed by BatchNormalization's trainable gamma and beta.
BACKBONE_PARAMETERS = sum(9 * a * b + 2 * b for a, b in [(3, 32), (32, 64), (64, 128), (128, 128)])


@pytest.mark.large
@pytest.mark.parametrize("cls", list(TINY), ids=lambda cls: cls.__name__)
def test_generic(cls, tiny_batch, tmp_path):
    images, targets = tiny_batch
    kwargs = dict(TINY[cls])
    if cls is km.CNNRNN:  # its label order needs the training frequencies
        kwargs["label_frequencies"] = targets.mean(0).tolist()
    run_model_test(
        cls,
        kwargs,
        images,
        targets,
        tmp_path,
        trainable_parameters=BACKBONE_PARAMETERS + HEAD_PARAMETERS[cls],
    )
