"""The option groups `keras-mlrnn train` and `compare` share: data, training, fine-tuning, runs.

No Keras: `--help` returns at once. Each group is one function adding its
options (most of each its help texts) to a parser.
"""

from keras_mlrnn.cli.argument_types import optional_path, positive_float, positive_int
from keras_mlrnn.training.run_config import DEFAULTS, HEAD_INITS


def add_data_arguments(parser, default_dataset=None):
    from keras_mlrnn.catalog import DATASETS

    parser.add_argument("--dataset", choices=DATASETS, default=default_dataset)
    parser.add_argument("--data-dir", default=None, help="root of coco / voc2007 / nuswide")
    parser.add_argument("--csv", default=None, help="labels CSV for --dataset csv")
    parser.add_argument(
        "--csv-delimiter",
        default=None,
        metavar="SEP",
        help="separator of the labels in the CSV's labels field (default: '|', ';' or "
        "space, whichever the file uses)",
    )


def add_training_options(parser):
    """The options `train` and `compare` share: data, backbone, budget, model arguments."""
    add_data_arguments(parser)
    parser.add_argument("--backbone", default=None, help="tiny (default), resnet50, ...")
    parser.add_argument(
        "--backbone-weights",
        default=None,
        type=optional_path,
        help="None (default), imagenet, a .weights.h5 path, or a trained model "
        "(preset dir / .keras file) whose backbone is copied",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        help=f"side of the square input images in pixels (default {DEFAULTS['image_size']})",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"training epochs (default {DEFAULTS['epochs']}); the best by val mAP is kept",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help=f"images per step (default {DEFAULTS['batch_size']}; global with --distribute)",
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=None,
        help=f"Adam's learning rate (default {DEFAULTS['learning_rate']})",
    )
    parser.add_argument(
        "--clipnorm", type=positive_float, default=None, help="clip each gradient's norm"
    )
    add_recipe_options(parser)
    add_fine_tune_options(parser)
    add_data_and_run_options(parser)


def add_fine_tune_options(parser):
    """The second stage of a two-stage run (keras_mlrnn.training.fine_tuning)."""
    parser.add_argument(
        "--fine-tune-epochs",
        type=positive_int,
        default=None,
        metavar="N",
        help="train in two stages: the head on the frozen backbone (--epochs, "
        "--learning-rate; with --cache-features on cached maps) into RUN_DIR/head, then the "
        "whole model from its best weights for at most N epochs (batch norm frozen, on "
        "augmented images), the best epoch by val mAP kept",
    )
    parser.add_argument(
        "--fine-tune-learning-rate",
        type=positive_float,
        default=None,
        metavar="LR",
        help=f"Adam's rate in the second stage (default {DEFAULTS['fine_tune_learning_rate']})",
    )
    parser.add_argument(
        "--fine-tune-image-size",
        type=positive_int,
        default=None,
        metavar="SIDE",
        help="the second stage's image side (default --image-size; e.g. 448 after a 224 head)",
    )
    parser.add_argument(
        "--fine-tune-patience",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop the second stage after N epochs without a better val mAP "
        f"(default {DEFAULTS['fine_tune_patience']})",
    )


def add_recipe_options(parser):
    """Augmentation, weight averaging and the staged methods' warm-up."""
    from keras_mlrnn.catalog import AUGMENTATIONS

    parser.add_argument(
        "--augment",
        choices=[*AUGMENTATIONS, "none"],
        default=None,
        help="the training images' augmentation (default flip; every choice but none flips "
        "first): randaugment, or mixup / cutmix with blend- or area-weighted labels "
        "(keras_mlrnn.data.augment); a feature cache serves flip, randaugment (a few cached "
        "views per image) and none",
    )
    parser.add_argument(
        "--ema",
        type=float,
        default=None,
        metavar="MOMENTUM",
        help="average the weights over the steps (Adam's use_ema, e.g. 0.999): validation, "
        "the kept model and the test tables use the averaged weights",
    )
    parser.add_argument(
        "--warmup-epochs",
        type=positive_int,
        default=None,
        metavar="N",
        help="order-free-rnn, multi-order-rnn: the first N epochs train only the CNN and its "
        "confidence head (the papers' first stage); in compare, other methods train as usual",
    )


def add_data_and_run_options(parser):
    """Feature cache, train-on-val, early stopping, head start, split sizes, model arguments."""
    parser.add_argument(
        "--cache-features",
        nargs="?",
        const=True,
        default=None,
        metavar="DIR",
        help="freeze the backbone, compute its feature maps once per split (image + mirror "
        "for training), store them in DIR "
        "(default: RUN_DIR/features; compare: OUT/features, shared by every run) and train "
        "the head on them",
    )
    parser.add_argument(
        "--train-on-val",
        action="store_const",
        const=True,
        default=None,
        help="fit on train + val for exactly --epochs and keep the last epoch (a final "
        "model, once the epochs were chosen on val)",
    )
    parser.add_argument(
        "--early-stopping",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop when the validation mAP has not improved for N epochs (the best epoch is "
        "kept either way)",
    )
    parser.add_argument(
        "--head-init",
        choices=HEAD_INITS,
        default=None,
        help="prior (default): start the method's once-scored sigmoid heads (its prior_heads) "
        "at the training labels' frequencies (zero kernel, bias logit(p)) and its step "
        "classifiers' bias there (prior_bias_heads); random: Keras' initialisers",
    )
    parser.add_argument(
        "--train-size", type=positive_int, default=None, help="images in the train split"
    )
    parser.add_argument("--val-size", type=positive_int, default=None)
    parser.add_argument("--test-size", type=positive_int, default=None)
    parser.add_argument(
        "--top-k", type=positive_int, default=None, help="k of the top-k table row (default 3)"
    )
    parser.add_argument(
        "--model-arg",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="extra constructor argument, VALUE read as JSON or a Python literal (false or "
        "False, null or None, numbers, lists, dicts; else a string) and checked against the "
        "argument's kind (e.g. use_attention=false); in compare, for every model (a spec's "
        "own arguments win)",
    )
