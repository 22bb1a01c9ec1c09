"""A run's data and model: its splits (files checked), the model at the label prior, its inputs.

The inputs are image pipelines, or a frozen backbone's cached feature maps
(`cache_features`); under JAX multi-worker each process trains on its share.
"""

import time

from keras_mlrnn.data.splits import concatenate, load_splits, process_share
from keras_mlrnn.models import get_model_class
from keras_mlrnn.training.distribute import process_index_and_count
from keras_mlrnn.training.head_init import initialize_heads


def load_data(config):
    """The train / val / test `DataSplit`s a run configuration names."""
    return load_splits(
        config.dataset,
        data_dir=config.data_dir,
        csv=config.csv,
        csv_delimiter=config.csv_delimiter,
        image_size=config.image_size,
        seed=config.seed,
        sizes={"train": config.train_size, "val": config.val_size, "test": config.test_size},
    )


def run_feature_cache(config, run, model):
    """The run's `FeatureCache` (None unless `cache_features`): `run.features` or a path."""
    where = config.cache_features
    if not where:
        return None
    from keras_mlrnn.training.feature_cache import FeatureCache

    directory = run.features if where is True else str(where)
    return FeatureCache(directory, model, batch_size=config.batch_size)


def checked_splits(config):
    """Phase 2: the run's splits, every image file checked (bad files named before training)."""
    splits = load_data(config)
    for split in splits.values():
        if split.files is not None:
            split.files.check_images()
    return splits


def build_model(config, fit_split):
    """Phase 3: the model, adapted to the training labels, its heads at their prior."""
    model = get_model_class(config.model)(
        num_classes=fit_split.labels.shape[1],
        backbone=config.backbone,
        backbone_weights=config.backbone_weights,
        image_size=config.image_size,
        class_names=fit_split.class_names,
        **(config.model_args or {}),
    )
    model.adapt(fit_split.labels)
    if config.head_init == "prior":
        initialize_heads(model, fit_split.labels)
    return model


def run_inputs(config, run, model, splits, fit_split):
    """Phase 4: `{"train", "val", "test"}` inputs (image pipelines or cached features).

    Returns:
        (inputs, cache_seconds): cache_seconds is None without a feature cache.
    """
    size, batch, seed = config.image_size, config.batch_size, config.seed
    fit_names = ("train", "val") if config.train_on_val else ("train",)
    cache = run_feature_cache(config, run, model)
    if cache is None:
        augment = config.augment  # runs before the option keep the flips
        share, share_batch = process_share_of(fit_split, batch)
        inputs = {"train": share.dataset(size, share_batch, True, augment, seed)}
        inputs.update({name: splits[name].dataset(size, batch) for name in ("val", "test")})
        return inputs, None
    from keras_mlrnn.training.feature_cache import training_views

    started = time.time()
    views = training_views(config.augment)
    fit_parts = tuple(splits[n] for n in fit_names)
    inputs = {"train": cache.batches(fit_parts, fit_names, batch, True, seed, views=views)}
    inputs.update({name: cache.batches(splits[name], name, batch) for name in ("val", "test")})
    return inputs, round(time.time() - started, 1)


def process_share_of(split, batch_size):
    """What this process trains on: `split` and the global batch, or under JAX multi-worker
    its share of both (validation and test stay whole: every process scores them all;
    `check_process_share` refused a batch the processes cannot share)."""
    processes = process_index_and_count()
    if processes is None:
        return split, batch_size
    index, count = processes
    return process_share(split, index, count), batch_size // count


def fit_split_of(config, splits):
    """What `fit` trains on: the train split, or train + val with `train_on_val`."""
    if config.train_on_val:
        return concatenate(splits["train"], splits["val"])
    return splits["train"]
