"""Fine-tune a method on MS-COCO with the Keras API, then evaluate and save a preset.

    python examples/train_coco.py --data-dir /data/coco --model order-free-rnn
    # offline, on the 128 photos in ../shared (a smoke-size run):
    python examples/train_coco.py --dataset coco128 --data-dir ../shared/data/coco128 \
        --backbone mobilenet_v2 \
        --backbone-weights ../shared/weights/mobilenet_v2_1.0_224_imagenet_notop.weights.h5

`--data-dir` holds `annotations/instances_{train,val}2014.json` and the image
folders `train2014/`, `val2014/` (the papers' protocol: train on train2014,
test on val2014). The model starts from the paper's COCO configuration
(`from_preset("coco_paper", load_weights=False)`), with any flag given overriding it.
"""

import argparse

import keras

from keras_mlrnn.cli.argument_types import optional_path
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.evaluation.scoring import evaluate_model
from keras_mlrnn.metrics import format_report
from keras_mlrnn.models import MODELS

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", required=True)
parser.add_argument("--dataset", default="coco", choices=["coco", "coco128"])
parser.add_argument("--model", default="order-free-rnn", choices=sorted(MODELS))
parser.add_argument("--backbone", default=None, help="default: the paper's")
parser.add_argument("--backbone-weights", default="imagenet", type=optional_path)
parser.add_argument("--image-size", type=int, default=None, help="default: the paper's")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--learning-rate", type=float, default=1e-4)
parser.add_argument("--preset-out", default=None, help="write the trained model here")
args = parser.parse_args()

# 1. The paper's configuration for COCO: 80 classes with their names.
overrides = {"backbone_weights": args.backbone_weights}
if args.backbone:
    overrides["backbone"] = args.backbone
if args.image_size:
    overrides["image_size"] = args.image_size
model = MODELS[args.model].from_preset("coco_paper", load_weights=False, **overrides)
size = model.image_size

# 2. The data: train / val / test splits of image files, decoded by tf.data.
splits = load_splits(args.dataset, data_dir=args.data_dir)
train = splits["train"]
model.adapt(train.labels)  # label statistics some methods use (e.g. CNN-RNN's order)

# 3. Train with Keras: the method's loss and streaming mAP / F1 come with compile().
model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
model.fit(
    train.dataset(size, args.batch_size, shuffle=True, augment=True, seed=0),
    validation_data=splits["val"].dataset(size, args.batch_size),
    epochs=args.epochs,
)

# 4. Tune the decision rule on validation data, then the full table on test.
val = splits["val"]
model.tune(val.dataset(size, args.batch_size), val.labels)
reports = evaluate_model(model, splits["test"], top_k=3, batch_size=args.batch_size)
print(format_report(reports, title=f"{args.model} on {args.dataset} (test)"))

if args.preset_out:
    model.save_to_preset(args.preset_out, metadata={"dataset": args.dataset, "reports": reports})
    print(f"Preset written to {args.preset_out}")
