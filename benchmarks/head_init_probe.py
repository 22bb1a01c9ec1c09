"""A Dense head on coco128's cached pooled MobileNetV2 features, under several recipes,
next to the logistic-regression probe: where BinaryRelevance's gap to the probe came from.

Run from the repository root with ../shared beside it; the argument is a JSON list of
recipes (keyword arguments of `run`), e.g.

    python benchmarks/head_init_probe.py '[{}, {"prior": true}, {"prior": true, "kzero": true}]'

Each line: the recipe, the test mAP of the last epoch, and the epoch with the best val mAP
with its val and test mAP.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

import keras_mlrnn as km
from keras_mlrnn.data.splits import load_splits
from keras_mlrnn.metrics.multilabel import multilabel_report
from keras_mlrnn.training.feature_cache import FeatureCache
from keras_mlrnn.training.probe import linear_probe_scores, pooled_features

splits = load_splits("coco128", data_dir="../shared/data/coco128", image_size=224, seed=0)
model = km.BinaryRelevance(
    80,
    backbone="mobilenet_v2",
    image_size=224,
    backbone_trainable=False,
    backbone_weights="../shared/weights/mobilenet_v2_1.0_224_imagenet_notop.weights.h5",
)
cache = FeatureCache("runs/head_init_probe/features", model, verbose=False)
x = {n: pooled_features(cache, splits[n], n) for n in ("train", "val", "test")}
xm = np.empty_like(x["train"])
maps = cache.view(splits["train"], "train", "mirror")
xm[:] = np.asarray(maps, np.float32).mean((1, 2))
y = {n: splits[n].labels.astype("float32") for n in ("train", "val", "test")}
print(
    "feature mean",
    x["train"].mean(),
    "std",
    x["train"].std(),
    "positives/img",
    y["train"].sum(1).mean(),
)


def m(split, s):
    return 100 * multilabel_report(y[split], s)["mAP"]


for C in (0.1, 1.0):
    print(
        "probe C",
        C,
        "test",
        round(m("test", linear_probe_scores(cache, splits["train"], splits["test"], C=C)), 2),
    )


def run(
    lr=1e-3,
    epochs=20,
    bs=16,
    dropout=0.5,
    wd=None,
    prior=False,
    l2=0.0,
    mirror=True,
    seed=0,
    select="last",
    kzero=False,
):
    keras.utils.set_random_seed(seed)
    prior_p = np.clip(y["train"].mean(0), 1e-3, 1 - 1e-3)
    binit = keras.initializers.Constant(np.log(prior_p / (1 - prior_p))) if prior else "zeros"
    inp = keras.Input((1280,))
    h = keras.layers.Dropout(dropout)(inp)
    out = keras.layers.Dense(
        80,
        bias_initializer=binit,
        kernel_initializer="zeros" if kzero else "glorot_uniform",
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
    )(h)
    net = keras.Model(inp, out)
    opt = keras.optimizers.AdamW(lr, weight_decay=wd) if wd else keras.optimizers.Adam(lr)
    net.compile(opt, keras.losses.BinaryCrossentropy(from_logits=True))
    xt = np.concatenate([x["train"], xm]) if mirror else x["train"]
    yt = np.concatenate([y["train"], y["train"]]) if mirror else y["train"]
    rng = np.random.default_rng(seed)
    best = (-1, None, 0)
    for e in range(epochs):
        # one pass = N samples, each image or its mirror
        idx = rng.permutation(len(y["train"]))
        pick = idx + (len(idx) * rng.integers(0, 2, len(idx)) if mirror else 0)
        net.fit(xt[pick], yt[pick], batch_size=bs, epochs=1, verbose=0, shuffle=False)
        v = m("val", net.predict(x["val"], verbose=0))
        if v > best[0]:
            best = (v, m("test", net.predict(x["test"], verbose=0)), e + 1)
    last = m("test", net.predict(x["test"], verbose=0))
    return last, best


grid = json.loads(sys.argv[1]) if len(sys.argv) > 1 else [{}]
for cfg in grid:
    last, best = run(**cfg)
    print(
        json.dumps(cfg),
        "test(last) %.2f  best-val-epoch %d val %.2f test %.2f" % (last, best[2], best[0], best[1]),
        flush=True,
    )
