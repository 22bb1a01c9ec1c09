"""`run_model_test` for every method: the contract each model keeps (tests/helpers.py)."""

import pytest

import keras_mlrnn as km
from tests.helpers import run_model_test
from tests.models.tiny import HEAD_PARAMETERS, TINY

# The tiny backbone: four 3x3 convolutions (3 -> 32 -> 64 -> 128 -> 128, no
# bias) each followed by BatchNormalization's trainable gamma and beta.
BACKBONE_PARAMETERS = sum(9 * a * b + 2 * b for a, b in [(3, 32), (32, 64), (64, 128), (128, 128)])

# Two recurrent steps (the tiny configurations run 3 or 4): the second step
# reads the first one's state, which is all the contract needs, and every
# step is more program to trace and compile (JAX's XLA on a CPU most of all).
# The steps share their weights, so the parameter counts do not change.
# CNNRNN keeps its 4: its sequence ends with END, and at 2 the tiny batch's
# 3-label images are cut short (its loss then fell 9% in 15 steps, not 10%).
TWO_STEPS = {
    km.OrderFreeRNN: {"max_length": 2},
    km.MultiOrderRNN: {"steps": 2},
    km.CoarseToFineRNN: {"steps": 2},
    km.RegionAttentionRNN: {"num_regions": 2},
}


@pytest.mark.large
@pytest.mark.parametrize("cls", list(TINY), ids=lambda cls: cls.__name__)
def test_generic(cls, tiny_batch, tmp_path):
    images, targets = tiny_batch
    kwargs = {**TINY[cls], **TWO_STEPS.get(cls, {})}
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
