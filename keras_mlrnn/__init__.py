"""keras_mlrnn: recurrent multi-label image classification for Keras 3.

Example:
```python
import keras_mlrnn as km
model = km.BinaryRelevance(num_classes=20, backbone="tiny", image_size=64)
```
"""

from keras_mlrnn import backbones, layers, losses, metrics, presets
from keras_mlrnn.models import (
    CNNRNN,
    BinaryRelevance,
    CoarseToFineRNN,
    MultiLabelModel,
    MultiOrderRNN,
    OrderFreeRNN,
    RegionAttentionRNN,
)

__version__ = "0.1.0"
