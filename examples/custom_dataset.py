"""Train on your own photos: a CSV of file names and labels, then predict a new image.

    python examples/custom_dataset.py --csv my_photos/labels.csv --predict new.jpg

The CSV (file names relative to its folder; labels separated by spaces; an
empty label field is a valid image with no label):

    filename,labels
    img/0001.jpg,dog person
    img/0002.png,cat

Images are split 80 / 10 / 10 (train / val / test) by the seed. Start from
ImageNet weights (`--backbone-weights imagenet`, or a local .weights.h5).
"""

import argparse

import keras

import keras_mlrnn as km
from keras_mlrnn.cli.argument_types import optional_path
from keras_mlrnn.data.images import read_images
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.evaluation.scoring import evaluate_model
from keras_mlrnn.metrics import format_report

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--csv", required=True)
parser.add_argument("--backbone", default="mobilenet_v2")
parser.add_argument("--backbone-weights", default="imagenet", type=optional_path)
parser.add_argument("--image-size", type=int, default=224)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--predict", nargs="*", default=[], help="image files to label afterwards")
parser.add_argument("--save", default="my_model.keras")
args = parser.parse_args()

splits = load_splits("csv", csv=args.csv)
train, val = splits["train"], splits["val"]
print(f"{len(train.labels)} training images, classes: {train.class_names}")

model = km.CoarseToFineRNN(
    num_classes=len(train.class_names),
    class_names=train.class_names,
    backbone=args.backbone,
    backbone_weights=args.backbone_weights,
    image_size=args.image_size,
)
model.compile(optimizer=keras.optimizers.Adam(1e-4))
model.fit(
    train.dataset(args.image_size, args.batch_size, shuffle=True, augment=True, seed=0),
    validation_data=val.dataset(args.image_size, args.batch_size),
    epochs=args.epochs,
)
print(format_report(evaluate_model(model, splits["test"]), title="test split"))
model.save(args.save)  # reload with keras.saving.load_model(args.save)

if args.predict:
    images = read_images(args.predict, args.image_size)
    for path, labels in zip(args.predict, model.predict_labels(images)):
        print(f"{path}: {', '.join(f'{n} {s:.2f}' for n, s in labels) or '(no label)'}")
