"""What each method can do is declared on its class, and the declarations are true."""

import inspect

import numpy as np
import pytest

from keras_mlrnn import catalog
from keras_mlrnn.models import MODELS

# What each paper's method does (METHODS.md): a beam search over label paths
# (CNN-RNN, Order-Free RNN), steps that can be explained (every recurrent
# method), training in stages (Order-Free RNN, Multi-order RNN), ablations.
PAPERS = {
    "binary-relevance": dict(beam=False, explain=False, stages=False, ablations=0),
    "cnn-rnn": dict(beam=True, explain=False, stages=False, ablations=2),
    "coarse-to-fine-rnn": dict(beam=False, explain=True, stages=False, ablations=1),
    "multi-order-rnn": dict(beam=False, explain=True, stages=True, ablations=0),
    "order-free-rnn": dict(beam=True, explain=True, stages=True, ablations=1),
    "region-attention-rnn": dict(beam=False, explain=True, stages=False, ablations=1),
}


def test_the_catalog_names_the_classes_the_models_declare():
    # The catalog repeats the CLI names for `--help` without Keras.
    assert catalog.METHODS == {name: cls.__name__ for name, cls in MODELS.items()}
    assert sorted(MODELS) == sorted(PAPERS)
    assert catalog.DEFAULT_METHOD in MODELS


@pytest.mark.parametrize("name", sorted(PAPERS))
def test_each_class_declares_what_its_paper_does_and_does_it(name):
    cls, paper = MODELS[name], PAPERS[name]
    assert cls.cli_name == name
    assert (cls.uses_beam_search, cls.can_explain, cls.trains_in_stages) == (
        paper["beam"],
        paper["explain"],
        paper["stages"],
    )
    model = cls(num_classes=3, backbone="tiny", image_size=32)
    images = np.zeros((1, 32, 32, 3), "uint8")
    if cls.can_explain:
        labels = model.explain(images)["labels"]  # one row of steps per image
        assert labels.ndim == 2 and labels.shape[0] == 1 and labels.shape[1] >= model.num_steps
    else:
        with pytest.raises(ValueError, match="no recurrent steps"):
            model.explain(images)
    if cls.trains_in_stages:
        model.set_stage("features")
        assert model.stage == "features"
    assert len(cls.ablations) == paper["ablations"]
    for arguments in cls.ablations:  # each builds, and is saved with its change
        ablated = cls(num_classes=3, backbone="tiny", image_size=32, **arguments)
        config = ablated.get_config()
        assert {k: config[k] for k in arguments} == arguments
    for head in (*cls.prior_heads, *cls.prior_bias_heads):  # each a per-class Dense layer
        assert getattr(model, head).units == 3
    # Its own paper setting, beside it: constructor arguments it takes.
    assert "paper_config" in vars(cls), f"{cls.__name__} declares no paper_config"
    for config in [cls.paper_config, *cls.dataset_overrides.values()]:
        assert set(config) <= set(cls.constructor_arguments())


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
