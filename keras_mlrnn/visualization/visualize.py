"""Where the model looked: attention maps and attended regions drawn over the image.

A method whose class declares `can_explain` has `model.explain(images)`:
the label each recurrent step points at, with, where the method attends to
places, per-step attention maps (`OrderFreeRNN`, `CoarseToFineRNN`) or the
box of each attended region (`RegionAttentionRNN`); `MultiOrderRNN`'s
steps have labels only. `explain` runs it over images (compiled, batch by
batch); `plot_explanation` draws one image's steps side by side;
`save_explanations` writes PNGs.

Example:
```python
import keras_mlrnn as km
from keras_mlrnn.data import load_scenes
from keras_mlrnn.visualization import visualize
x, _ = load_scenes("test", num_images=2)
model = km.CoarseToFineRNN(num_classes=20, backbone="tiny", image_size=64)
paths = visualize.save_explanations(model, x, "/tmp/attention", names=["a", "b"])
```
"""

import os

import numpy as np


def explainable_methods():
    """Class names of the methods that declare `can_explain` (e.g. for error messages)."""
    from keras_mlrnn.models import MODELS

    return [cls.__name__ for cls in MODELS.values() if cls.can_explain]


def has_attention(model):
    """Whether `model` can be explained: its class declares `can_explain`."""
    return type(model).can_explain


def explain(model, images, batch_size=16):
    """`model.explain` for uint8 images `(N, S, S, 3)`, with an error naming the methods that can.

    Returns:
        dict of numpy arrays (see `MultiLabelModel.explain`): "labels" and
        "scores" `(N, steps)` (label -1: none, e.g. the global glance),
        "step_scores", and "attention" `(N, steps, h, w)` or "boxes" `(N, K, 4)`.
    """
    if not has_attention(model):
        raise ValueError(
            f"{type(model).__name__} has no steps to draw; step pictures exist "
            f"for {', '.join(explainable_methods())}."
        )
    return model.explain(np.asarray(images), batch_size=batch_size)


def _class_name(model, index):
    if index < 0:
        return "glance"
    names = getattr(model, "class_names", None)
    return names[index] if names else f"class {index}"


def _upsample(attention_map, size):
    from PIL import Image

    peak = float(attention_map.max())
    scaled = attention_map / peak if peak > 0 else attention_map
    image = Image.fromarray(scaled.astype(np.float32), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.BILINEAR))


def plot_explanation(model, image, explanation, predicted=None):
    """A matplotlib figure: the image, then one panel per step with its map or box.

    Args:
        model: the model that produced `explanation` (for class names).
        image: uint8 `(H, W, 3)`.
        explanation: one image's entries of `explain(...)` (index each array).
        predicted: list of (name, score) or None; printed above the panels.

    Returns:
        `matplotlib.figure.Figure`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    steps = len(explanation["labels"])
    figure, axes = plt.subplots(1, steps + 1, figsize=(2.4 * (steps + 1), 2.8), squeeze=False)
    axes = axes[0]
    axes[0].imshow(image)
    axes[0].set_title("input", fontsize=9)
    for t in range(steps):
        axis = axes[t + 1]
        axis.imshow(image)
        label = int(explanation["labels"][t])
        name = _class_name(model, label)
        step = int(np.sum(np.asarray(explanation["labels"][:t]) >= 0)) + 1
        score = float(explanation["scores"][t])
        title = name if label < 0 else f"{step}: {name} {score:.2f}"
        if "attention" in explanation:
            heat = _upsample(np.asarray(explanation["attention"][t]), image.shape[:2])
            axis.imshow(heat, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0)
        elif "boxes" in explanation:
            x0, y0, x1, y1 = (float(v) for v in explanation["boxes"][t])
            axis.add_patch(
                patches.Rectangle(
                    (x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="yellow", linewidth=2
                )
            )
        axis.set_title(title, fontsize=9)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    if predicted:
        figure.suptitle(
            "predicted: " + ", ".join(f"{n} {s:.2f}" for n, s in predicted), fontsize=10
        )
    figure.tight_layout()
    return figure


def save_explanations(model, images, out_dir, names=None, predicted=None, batch_size=16):
    """Writes one PNG per image with its attention pictures.

    Args:
        model: an `OrderFreeRNN`, `CoarseToFineRNN` or `RegionAttentionRNN`.
        images: uint8 `(N, S, S, 3)` at the model's input size.
        out_dir: str. Created if missing; existing files of the same name are
            not overwritten (a numeric suffix is added).
        names: list of N file stems or None ("image_0", ...).
        predicted: list of N lists of (name, score) or None.
        batch_size: int. Images per compiled batch.

    Returns:
        list of N written paths.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    explanation = explain(model, images, batch_size=batch_size)
    os.makedirs(out_dir, exist_ok=True)
    names = names or [f"image_{i}" for i in range(len(images))]
    written = []
    for i, image in enumerate(images):
        one = {key: value[i] for key, value in explanation.items()}
        figure = plot_explanation(model, image, one, predicted[i] if predicted else None)
        path = os.path.join(out_dir, f"{names[i]}_attention.png")
        suffix = 1
        while os.path.exists(path):
            path = os.path.join(out_dir, f"{names[i]}_attention_{suffix}.png")
            suffix += 1
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
