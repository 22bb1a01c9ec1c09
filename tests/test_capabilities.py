"""What each method can do is declared on its class, and the declarations are true."""

import inspect

import numpy as np
import pytest

from keras_mlrnn.models import MODELS
from keras_mlrnn.models.base import MultiLabelModel


@pytest.mark.parametrize("name", sorted(MODELS))
def test_declarations_match_the_class(name):
    cls = MODELS[name]
    takes_beam = "beam_size" in inspect.signature(cls.__init__).parameters
    assert cls.uses_beam_search == takes_beam
    overrides_explain = cls.explain_batch is not MultiLabelModel.explain_batch
    assert cls.can_explain == overrides_explain
    for head in (*cls.prior_heads, *cls.prior_bias_heads):  # each a per-class Dense layer
        model = cls(num_classes=3, backbone="tiny", image_size=32)
        assert getattr(model, head).units == 3
    # Its own paper setting, beside it: constructor arguments it takes.
    assert "paper_config" in vars(cls), f"{cls.__name__} declares no paper_config"
    parameters = set(inspect.signature(cls.__init__).parameters)
    parameters |= set(inspect.signature(MultiLabelModel.__init__).parameters)
    for config in [cls.paper_config, *cls.dataset_overrides.values()]:
        assert set(config) <= parameters, set(config) - parameters


def test_the_papers_step_counts():
    # BinaryRelevance has no recurrence; the others report the steps they run.
    images = np.zeros((1, 32, 32, 3), "uint8")
    expected = {
        "binary-relevance": None,
        "cnn-rnn": 4,  # max_length
        "order-free-rnn": 4,
        "coarse-to-fine-rnn": 3,  # steps
        "multi-order-rnn": 3,
        "region-attention-rnn": 2,  # num_regions
    }
    args = {
        "cnn-rnn": {"max_length": 4},
        "order-free-rnn": {"max_length": 4},
        "coarse-to-fine-rnn": {"steps": 3},
        "multi-order-rnn": {"steps": 3},
        "region-attention-rnn": {"num_regions": 2},
    }
    for name, steps in expected.items():
        model = MODELS[name](num_classes=5, backbone="tiny", image_size=32, **args.get(name, {}))
        assert model.num_steps == steps, name
    with pytest.raises(NotImplementedError, match="no recurrent steps"):
        MODELS["binary-relevance"](num_classes=5, backbone="tiny", image_size=32).explain_batch(
            images
        )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_constructor_argument_is_saved(name):
    # A method's own arguments (not num_classes, not the base class's
    # **kwargs) must all be in config_fields, or a saved model forgets them.
    cls = MODELS[name]
    own = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "num_classes")
    ]
    assert sorted(cls.config_fields) == sorted(own)
    model = cls(num_classes=3, backbone="tiny", image_size=32)
    config = model.get_config()
    for argument in own:
        assert argument in config, argument
    assert cls.from_config(config).get_config() == config
