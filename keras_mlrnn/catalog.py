"""The names the command line offers (methods, data sets, augmentations), importable without Keras.

`keras-mlrnn --help` and argument errors come back without importing Keras
or TensorFlow: the parser reads its choices here. `keras_mlrnn.models.MODELS`
maps the same method names to the classes, and `keras_mlrnn.data.splits`
loads the same data sets.

Example:
```python
from keras_mlrnn.catalog import METHODS
METHODS["order-free-rnn"]   # 'OrderFreeRNN'
```
"""

# CLI name -> class name in `keras_mlrnn.models`. A new method is registered
# by adding one line here and its import in `keras_mlrnn/models/__init__.py`.
METHODS = {
    "binary-relevance": "BinaryRelevance",
    "cnn-rnn": "CNNRNN",
    "coarse-to-fine-rnn": "CoarseToFineRNN",
    "multi-order-rnn": "MultiOrderRNN",
    "order-free-rnn": "OrderFreeRNN",
    "region-attention-rnn": "RegionAttentionRNN",
}

# The method `keras-mlrnn train` uses when --model is not given.
DEFAULT_METHOD = "binary-relevance"

# What `--dataset` accepts (`keras_mlrnn.data.splits.load_splits`).
DATASETS = (
    "scenes",
    "coco",
    "coco128",
    "voc2007",
    "nuswide",
    "csv",
    "tfds:voc/2007",
    "tfds:coco/2017",
)

# What `--augment` accepts besides "none" (`keras_mlrnn.data.augment`).
AUGMENTATIONS = ("flip", "randaugment", "mixup", "cutmix")
