"""Data sets and input pipelines.

`load_scenes` and the numpy pipeline never import TensorFlow; the tf.data
pipeline imports it lazily when first used.

Owns: each data set's loader and class list, splits, the input pipelines and their
checks, augmentation, reading image files and finding the ones a command labels.
May import: `catalog`.
"""

from keras_mlrnn.data.class_lists import DATASET_CLASSES
from keras_mlrnn.data.coco import COCO_CLASSES, load_coco
from keras_mlrnn.data.csv import load_csv
from keras_mlrnn.data.labeled_files import LabeledFiles, label_statistics
from keras_mlrnn.data.nuswide import NUSWIDE_CONCEPTS, load_nuswide
from keras_mlrnn.data.pipeline import (
    NumpyBatches,
    has_tensorflow,
    make_dataset,
    tf_dataset,
    tf_files_dataset,
    validate_arrays,
)
from keras_mlrnn.data.scenes import (
    LOOKALIKE_PAIRS,
    SCENE_CLASS_NAMES,
    generate_scenes,
    load_scenes,
    save_sample_grid,
)
from keras_mlrnn.data.voc import VOC_CLASSES, load_voc2007
