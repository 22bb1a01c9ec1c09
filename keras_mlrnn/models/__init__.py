"""The methods: the `MultiLabelModel` contract, one module per method, and their registry.

Owns: each method's layers wired into a model, its decision rule, staged training,
the backbone copied from a trained model, and `MODELS` (CLI name -> class).
May import: `backbones`, `layers`, `losses`, `metrics`, `data`, `presets`, `export`, `catalog`.
"""

from keras_mlrnn.models.base import MultiLabelModel
from keras_mlrnn.models.binary_relevance import BinaryRelevance
from keras_mlrnn.models.cnn_rnn import CNNRNN
from keras_mlrnn.models.coarse_to_fine_rnn import CoarseToFineRNN
from keras_mlrnn.models.multi_order_rnn import MultiOrderRNN
from keras_mlrnn.models.order_free_rnn import OrderFreeRNN
from keras_mlrnn.models.region_attention_rnn import RegionAttentionRNN

# CLI name -> class: each method declares its `cli_name` (`keras_mlrnn.catalog.METHODS`
# repeats the names for `--help` without Keras; a test holds the two equal).
MODELS = {
    cls.cli_name: cls
    for cls in (
        BinaryRelevance,
        CNNRNN,
        CoarseToFineRNN,
        MultiOrderRNN,
        OrderFreeRNN,
        RegionAttentionRNN,
    )
}


def get_model_class(name):
    """Returns the model class registered under a CLI name (e.g. "binary-relevance")."""
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; expected one of {sorted(MODELS)}.")
    return MODELS[name]
