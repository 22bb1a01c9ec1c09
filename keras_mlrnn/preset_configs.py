"""Built-in preset configurations: each paper's setting per method and data set.

Presets are data: class names per data set, and per method the paper's
architecture choices (backbone, input size, steps, beam size, loss weights).
`keras_mlrnn.presets.load_preset` combines them; trained weights are found
separately (see `presets.weights_search_path`).
"""

from keras_mlrnn.data.coco import COCO_CLASSES
from keras_mlrnn.data.scenes import SCENE_CLASS_NAMES
from keras_mlrnn.data.voc import VOC_CLASSES

NUSWIDE_CONCEPTS = (
    "airport", "animal", "beach", "bear", "birds", "boats", "book", "bridge", "buildings", "cars",
    "castle", "cat", "cityscape", "clouds", "computer", "coral", "cow", "dancing", "dog",
    "earthquake", "elk", "fire", "fish", "flags", "flowers", "food", "fox", "frost", "garden",
    "glacier", "grass", "harbor", "horses", "house", "lake", "leaf", "map", "military", "moon",
    "mountain", "nighttime", "ocean", "person", "plane", "plants", "police", "protest",
    "railroad", "rainbow", "reflection", "road", "rocks", "running", "sand", "sign", "sky",
    "snow", "soccer", "sports", "statue", "street", "sun", "sunset", "surf", "swimmers",
    "tattoo", "temple", "tiger", "tower", "town", "toy", "train", "tree", "valley", "vehicle",
    "water", "waterfall", "wedding", "whales", "window", "zebra",
)  # fmt: skip

DATASET_CLASSES = {
    "coco": COCO_CLASSES,
    "voc2007": VOC_CLASSES,
    "nuswide": NUSWIDE_CONCEPTS,
    "scenes": SCENE_CLASS_NAMES,
}

# The papers' settings (METHODS.md and the papers' implementation sections).
PAPER_CONFIGS = {
    "BinaryRelevance": {"backbone": "resnet101", "image_size": 224},
    "CNNRNN": {
        "backbone": "vgg16",
        "image_size": 224,
        "backbone_trainable": False,  # VGG16 fc7 features, CNN frozen
        "embedding_dim": 64,
        "lstm_units": 512,
        "beam_size": 3,
        "label_order": "frequency_first",
    },
    "OrderFreeRNN": {
        "backbone": "resnet152",
        "image_size": 224,
        "backbone_trainable": False,  # "without fine-tuning"
        "dropout": 0.2,  # keep probability 0.8
        "beam_size": 3,
    },
    "RegionAttentionRNN": {
        "backbone": "vgg16",
        "image_size": 448,  # 512 x 512 resized, 448 crops
        "num_regions": 5,
        "constraint_weight": 0.1,
        "top_k": 3,
    },
    "MultiOrderRNN": {
        "backbone": "resnet101",
        "image_size": 224,
        "steps": 5,
        "lstm_units": 512,
        "embedding_dim": 256,
    },
    "CoarseToFineRNN": {
        "backbone": "vgg16",
        "image_size": 224,
        "horizontal_weight": 5e-2,
        "vertical_weight": 5e-2,
    },
}

# Per data set departures from a method's setting.
DATASET_OVERRIDES = {
    ("CNNRNN", "nuswide"): {"min_length": 3},  # "at least k labels" on NUS-WIDE
}

# The embedded data set trains on CPU: tiny backbone, 64 px.
SCENES_CONFIG = {"backbone": "tiny", "image_size": 64}


def builtin_config(class_name, preset):
    """Constructor arguments of a built-in preset for a model class, or None if unknown."""
    if preset not in DATASET_CLASSES or class_name not in PAPER_CONFIGS:
        return None
    names = list(DATASET_CLASSES[preset])
    config = dict(SCENES_CONFIG) if preset == "scenes" else dict(PAPER_CONFIGS[class_name])
    if preset == "scenes":
        config.pop("backbone_trainable", None)
    config.update(DATASET_OVERRIDES.get((class_name, preset), {}))
    config.update({"num_classes": len(names), "class_names": names})
    return config
