"""Each named data set's class list, in label order: what a built-in preset names.

Example:
```python
from keras_mlrnn.data.class_lists import DATASET_CLASSES
len(DATASET_CLASSES["voc2007"])   # 20
```
"""

from keras_mlrnn.data.coco import COCO_CLASSES
from keras_mlrnn.data.nuswide import NUSWIDE_CONCEPTS
from keras_mlrnn.data.scenes import SCENE_CLASS_NAMES
from keras_mlrnn.data.voc import VOC_CLASSES

DATASET_CLASSES = {
    "coco": COCO_CLASSES,
    "voc2007": VOC_CLASSES,
    "nuswide": NUSWIDE_CONCEPTS,
    "scenes": SCENE_CLASS_NAMES,
}
