"""RegionAttentionRNN: test mAP of its softmax scores against the same logits ranked per class.

The paper's output `p = softmax(max_k s_k)` (eq. 7) normalises each
image's scores across the labels, so an image with three labels gets a
lower `p_c` for each than an image with one, while average precision ranks
the images of one class. This script scores a trained run's test split
both ways, to see whether the normalisation costs mAP that the logits hold
(on VOC it does not: benchmarks/RESULTS.md).

Usage: python benchmarks/ra_score_ranking.py RUN_DIR  (a run trained on a feature cache)
"""

import json
import sys

import keras
import numpy as np
from keras import ops

from keras_mlrnn.metrics.multilabel import multilabel_report
from keras_mlrnn.training.feature_cache import FeatureCache
from keras_mlrnn.training.run_config import RunConfig
from keras_mlrnn.training.run_inputs import load_data


def main(run_dir):
    with open(f"{run_dir}/run_config.json") as f:
        config = json.load(f)
    test = load_data(RunConfig.from_saved(config, run_dir))["test"]
    model = keras.saving.load_model(f"{run_dir}/model.keras")
    cache = FeatureCache(config["cache_features"], model, verbose=False)
    softmax, logits = [], []
    for features, _ in cache.batches(test, "test", batch_size=64):
        outputs = model.compute_outputs(features, training=False)
        softmax.append(ops.convert_to_numpy(outputs["scores"]))  # softmax(max_k s_k), eq. 7
        logits.append(ops.convert_to_numpy(ops.max(outputs["region_logits"], axis=1)))
    for name, scores in (("softmax (the method's scores)", softmax), ("max_k s_k logits", logits)):
        scores = np.concatenate(scores)
        report = multilabel_report(test.labels, scores, mask=test.mask)
        print(f"{name}: test mAP {100 * report['mAP']:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
