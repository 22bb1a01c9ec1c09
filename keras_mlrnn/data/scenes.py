"""The embedded `scenes` data set: multi-label images drawn on the fly.

Every image shows one "scene" (kitchen, park, street, beach, office) through
1-5 objects. An object's class decides its shape and colour; most objects of
an image come from its scene's group, a few from anywhere. Two pairs of
classes look exactly alike and differ only in the company they keep:

- `apple` (kitchen) and `ball` (park) are both red disks;
- `plate` (kitchen) and `tire` (street) are both white rings.

A model can tell them apart only through the other labels of the image, so
label dependencies matter. Backgrounds are random textures independent of
the scene, so they carry no label information.

Generation is pure numpy, deterministic for a seed, and fast (10k images in a
few seconds on one core), so no data ships with the package.

Example:
```python
from keras_mlrnn.data import load_scenes, SCENE_CLASS_NAMES
images, labels = load_scenes("train", num_images=100)
images.shape, labels.shape   # ((100, 64, 64, 3), (100, 20))
```
"""

import numpy as np

# name: (shape, rgb colour, scene)
_CLASSES = (
    ("plate", "ring", (235, 235, 235), "kitchen"),
    ("cup", "square", (140, 80, 30), "kitchen"),
    ("apple", "disk", (220, 30, 30), "kitchen"),
    ("knife", "thin_hbar", (150, 150, 160), "kitchen"),
    ("tree", "triangle", (30, 160, 40), "park"),
    ("ball", "disk", (220, 30, 30), "park"),
    ("bench", "thick_hbar", (140, 80, 30), "park"),
    ("bird", "x_cross", (20, 20, 20), "park"),
    ("car", "rect", (30, 60, 220), "street"),
    ("sign", "diamond", (240, 220, 30), "street"),
    ("lamp", "vbar", (150, 150, 160), "street"),
    ("tire", "ring", (235, 235, 235), "street"),
    ("sun", "disk", (240, 220, 30), "beach"),
    ("boat", "triangle", (235, 235, 235), "beach"),
    ("umbrella", "triangle", (240, 100, 190), "beach"),
    ("crab", "plus_cross", (245, 140, 20), "beach"),
    ("screen", "square", (40, 210, 220), "office"),
    ("book", "rect", (30, 160, 40), "office"),
    ("clock", "ring", (20, 20, 20), "office"),
    ("pen", "vbar", (150, 60, 200), "office"),
)

SCENE_CLASS_NAMES = tuple(c[0] for c in _CLASSES)
SCENE_TYPES = ("kitchen", "park", "street", "beach", "office")
# Pairs of classes drawn identically; only co-occurrence separates them.
LOOKALIKE_PAIRS = (("apple", "ball"), ("plate", "tire"))

SPLITS = {"train": (0, 8000), "val": (1, 1000), "test": (2, 2000)}
# Probability of drawing 1..5 labels: mean 2.75.
_LABEL_COUNT_PROBS = (0.15, 0.30, 0.30, 0.15, 0.10)
# Probability that an object comes from its scene's group.
_IN_SCENE_PROB = 0.85


def _shape_mask(shape, yy, xx, half):
    """Boolean mask of `shape` centred at 0 with half-size `half` (pixels)."""
    ay, ax = np.abs(yy), np.abs(xx)
    if shape == "disk":
        return yy**2 + xx**2 <= half**2
    if shape == "ring":
        r2 = yy**2 + xx**2
        return (r2 <= half**2) & (r2 >= (0.55 * half) ** 2)
    if shape == "square":
        return (ay <= half) & (ax <= half)
    if shape == "rect":
        return (ay <= 0.5 * half) & (ax <= half)
    if shape == "thin_hbar":
        return (ay <= max(0.15 * half, 0.6)) & (ax <= half)
    if shape == "thick_hbar":
        return (ay <= 0.3 * half) & (ax <= half)
    if shape == "vbar":
        return (ax <= max(0.2 * half, 0.6)) & (ay <= half)
    if shape == "triangle":
        # Apex up: width grows linearly from top (y=-half) to bottom (y=+half).
        return (ay <= half) & (ax <= (yy + half) / 2)
    if shape == "diamond":
        return ax + ay <= half
    if shape == "plus_cross":
        arm = max(0.25 * half, 0.6)
        return ((ay <= arm) & (ax <= half)) | ((ax <= arm) & (ay <= half))
    if shape == "x_cross":
        arm = max(0.25 * half, 0.6) * 1.4142
        inside = (ay <= half) & (ax <= half)
        return inside & ((np.abs(yy - xx) <= arm) | (np.abs(yy + xx) <= arm))
    raise ValueError(f"Unknown shape {shape!r}.")


def _backgrounds(rng, n, size):
    """Random textured backgrounds (float32, 0..255), independent of labels."""
    f32 = np.float32
    coords = np.linspace(-1.0, 1.0, size, dtype=f32)
    yy, xx = coords[:, None], coords[None, :]
    canvas = rng.standard_normal((n, size, size, 3), dtype=f32)
    canvas *= f32(12.0)  # pixel noise
    canvas += rng.uniform(40, 200, size=(n, 1, 1, 3)).astype(f32)
    # A linear gradient in a random direction.
    angle = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(f32)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    canvas += ramp[..., None] * rng.uniform(-40, 40, size=(n, 1, 1, 3)).astype(f32)
    # Stripes of random frequency, direction and strength.
    freq = rng.uniform(2, 10, size=(n, 1, 1)).astype(f32)
    angle = rng.uniform(0, np.pi, size=(n, 1, 1)).astype(f32)
    stripes = np.sin(f32(np.pi) * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    stripes *= rng.uniform(0, 25, size=(n, 1, 1)).astype(f32)
    canvas += stripes[..., None]
    return canvas


def _draw_labels(rng, num_classes_by_scene, n):
    """Draw scene types and label sets; returns (scenes (n,), multi-hot)."""
    num_classes = len(_CLASSES)
    scenes = rng.integers(0, len(SCENE_TYPES), size=n)
    counts = rng.choice(np.arange(1, 6), size=n, p=_LABEL_COUNT_PROBS)
    labels = np.zeros((n, num_classes), dtype=np.float32)
    for i in range(n):
        group = list(num_classes_by_scene[scenes[i]])
        chosen = []
        for _ in range(counts[i]):
            in_group = [c for c in group if c not in chosen]
            if in_group and rng.random() < _IN_SCENE_PROB:
                pool = in_group
            else:
                pool = [c for c in range(num_classes) if c not in chosen]
            chosen.append(pool[rng.integers(len(pool))])
        labels[i, chosen] = 1.0
    return scenes, labels


def generate_scenes(num_images, image_size=64, seed=0):
    """Generates `num_images` scene images and their multi-hot labels.

    Args:
        num_images: int. How many images to draw.
        image_size: int. Side of the square RGB canvas. Defaults to 64.
        seed: int or sequence of ints. Seed of the generator; the same seed
            gives the same images. Defaults to 0.

    Returns:
        `(images, labels)`: uint8 `(N, S, S, 3)` and float32 multi-hot
        `(N, 20)` in the order of `SCENE_CLASS_NAMES`.
    """
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}.")
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16 pixels, got {image_size}.")
    rng = np.random.default_rng(seed)
    by_scene = [[i for i, c in enumerate(_CLASSES) if c[3] == scene] for scene in SCENE_TYPES]
    _, labels = _draw_labels(rng, by_scene, num_images)
    canvas = _backgrounds(rng, num_images, image_size)
    scale = image_size / 64.0
    for i in range(num_images):
        classes = np.flatnonzero(labels[i])
        rng.shuffle(classes)  # drawing order decides who occludes whom
        for c in classes:
            _, shape, colour, _ = _CLASSES[c]
            # Object size from ~6 px up to ~30 px (at 64 px), log-uniform.
            half = np.exp(rng.uniform(np.log(3.0), np.log(15.0))) * scale
            cy, cx = rng.uniform(half * 0.5, image_size - half * 0.5, size=2)
            y0, y1 = max(int(cy - half) - 1, 0), min(int(cy + half) + 2, image_size)
            x0, x1 = max(int(cx - half) - 1, 0), min(int(cx + half) + 2, image_size)
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            mask = _shape_mask(shape, yy - cy, xx - cx, half)
            jitter = rng.uniform(-20, 20, size=3)
            canvas[i, y0:y1, x0:x1][mask] = np.asarray(colour) + jitter
    images = np.clip(canvas, 0, 255).astype(np.uint8)
    return images, labels


def load_scenes(split="train", num_images=None, image_size=64, seed=0):
    """Loads a split of the embedded `scenes` data set (generated on the fly).

    The three splits come from independent streams of the same generator,
    so they never share an image. Default sizes: train 8000, val 1000,
    test 2000.

    Args:
        split: str. One of `"train"`, `"val"`, `"test"`.
        num_images: int or None. Number of images; None uses the split's
            default size.
        image_size: int. Side of the images in pixels. Defaults to 64.
        seed: int. Base seed; different seeds give different data sets.
            Defaults to 0.

    Returns:
        `(images, labels)`: uint8 `(N, S, S, 3)`, float32 multi-hot `(N, 20)`.

    Example:
    ```python
    images, labels = load_scenes("test", num_images=8)
    ```
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown scenes split {split!r}; expected one of {list(SPLITS)}.")
    stream, default_size = SPLITS[split]
    n = default_size if num_images is None else num_images
    return generate_scenes(n, image_size=image_size, seed=(seed, stream))


def save_sample_grid(path, rows=4, cols=8, image_size=64, seed=0):
    """Writes a PNG grid of training images with their labels as titles.

    Args:
        path: str. Output PNG path.
        rows: int. Grid rows. Defaults to 4.
        cols: int. Grid columns. Defaults to 8.
        image_size: int. Image side in pixels. Defaults to 64.
        seed: int. Data seed. Defaults to 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images, labels = load_scenes("train", rows * cols, image_size, seed)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9))
    for ax, image, label in zip(axes.ravel(), images, labels):
        ax.imshow(image)
        names = [SCENE_CLASS_NAMES[c] for c in np.flatnonzero(label)]
        ax.set_title("\n".join([", ".join(names[:2]), ", ".join(names[2:])]), fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
