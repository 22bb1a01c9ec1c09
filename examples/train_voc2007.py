"""Train a method on PASCAL VOC 2007 in one call: a resumable run directory with everything.

    python examples/train_voc2007.py --data-dir /data/VOCdevkit --model multi-order-rnn
    python examples/train_voc2007.py --data-dir /data/VOCdevkit --resume   # after a crash

`--data-dir` is the folder holding `VOC2007/` (or `VOC2007` itself): train on
`trainval` (every 20th image held out for validation), test on `test`, with
"difficult" objects ignored in the metrics (the VOC protocol). The run
directory gets checkpoints each epoch, `history.csv`, the best `model.keras`,
`metrics.md` and `training_curves.png`; `keras-mlrnn train --dataset voc2007`
does the same from the shell.
"""

import argparse

from keras_mlrnn.cli.argument_types import optional_path
from keras_mlrnn.metrics import format_report
from keras_mlrnn.models import MODELS
from keras_mlrnn.presets.configs import builtin_config
from keras_mlrnn.training.runs import train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", required=True)
parser.add_argument("--model", default="multi-order-rnn", choices=sorted(MODELS))
parser.add_argument("--run-dir", default="runs/voc2007")
parser.add_argument("--backbone-weights", default="imagenet", type=optional_path)
parser.add_argument("--backbone", default=None, help="default: the paper's")
parser.add_argument("--image-size", type=int, default=None, help="default: the paper's")
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--learning-rate", type=float, default=1e-4)
parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
args = parser.parse_args()

# The paper's VOC 2007 configuration of this method (backbone, image size, steps...).
paper = builtin_config(MODELS[args.model], "voc2007")
run_options = ("num_classes", "class_names", "backbone", "image_size")
method_args = {key: value for key, value in paper.items() if key not in run_options}
result = train(
    args.run_dir,
    resume=args.resume,
    model=args.model,
    dataset="voc2007",
    data_dir=args.data_dir,
    backbone=args.backbone or paper["backbone"],
    backbone_weights=args.backbone_weights,
    image_size=args.image_size or paper["image_size"],
    epochs=args.epochs,
    batch_size=args.batch_size,
    learning_rate=args.learning_rate,
    model_args=method_args,
)
print(format_report(result["reports"], title=f"{args.model} on VOC 2007 test"))
