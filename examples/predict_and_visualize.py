"""Label your images with a trained preset and draw where the model looked.

    python examples/predict_and_visualize.py photo1.jpg photo2.png --out attention/
    python examples/predict_and_visualize.py photo.jpg --preset runs/my_preset

Without `--preset` it uses the shipped `scenes` preset of `--method` (trained
on the embedded drawn scenes, so it knows those 20 classes only; pass your
own preset for photos). Each image gets one PNG: the input, then each
recurrent step's attention map (or attended region) labelled with the class
that step points at.
"""

import argparse
import os

from keras_mlrnn.data.images import read_images
from keras_mlrnn.models import MODELS
from keras_mlrnn.visualization import visualize

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("images", nargs="+")
parser.add_argument("--preset", default="scenes", help="built-in name or preset directory")
parser.add_argument(
    "--method",
    default="order-free-rnn",
    choices=["order-free-rnn", "coarse-to-fine-rnn", "region-attention-rnn"],
)
parser.add_argument("--out", default="attention")
args = parser.parse_args()

model = MODELS[args.method].from_preset(args.preset)
images = read_images(args.images, model.image_size)  # uint8, any mode -> RGB
predicted = model.predict_labels(images)  # [(name, score), ...] per image
for path, labels in zip(args.images, predicted):
    print(f"{path}: {', '.join(f'{n} {s:.2f}' for n, s in labels) or '(no label)'}")

stems = [os.path.splitext(os.path.basename(p))[0] for p in args.images]
written = visualize.save_explanations(model, images, args.out, names=stems, predicted=predicted)
print("wrote", *written)
