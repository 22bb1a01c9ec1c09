"""Per-class AP of trained scenes runs: do the lookalike classes gain more than the rest?

    python benchmarks/per_class_ap.py runs/binary-relevance runs/order-free-rnn ...

Prints a Markdown row per run: AP of each lookalike class (apple, ball,
plate, tire: drawn identically in pairs, told apart only by co-occurring
labels) and the mean AP of the other classes, on the scenes test split.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (with model.keras)")
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_mlrnn.data import LOOKALIKE_PAIRS, SCENE_CLASS_NAMES, load_scenes
    from keras_mlrnn.metrics.multilabel import average_precision

    lookalikes = [name for pair in LOOKALIKE_PAIRS for name in pair]
    index = [SCENE_CLASS_NAMES.index(n) for n in lookalikes]
    others = [c for c in range(len(SCENE_CLASS_NAMES)) if c not in index]
    print("| run | " + " | ".join(f"AP {n}" for n in lookalikes) + " | mean AP of the others |")
    print("|---" * (len(lookalikes) + 2) + "|")
    for run in args.runs:
        with open(os.path.join(run, "run_config.json")) as f:
            config = json.load(f)
        images, labels = load_scenes("test", config.get("test_size"), config["image_size"],
                                     config["seed"])  # fmt: skip
        model = keras.saving.load_model(os.path.join(run, "model.keras"))
        scores = model.predict(images, batch_size=128, verbose=0)
        ap = [average_precision(labels[:, c], scores[:, c]) for c in range(labels.shape[1])]
        cells = " | ".join(f"{100 * ap[c]:.1f}" for c in index)
        print(f"| {config['model']} | {cells} | {100 * np.mean([ap[c] for c in others]):.1f} |")


if __name__ == "__main__":
    main()
