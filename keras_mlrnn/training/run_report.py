"""What a finished run writes: its test tables (metrics.json / .md), its preset, its curves."""

from keras_mlrnn.evaluation.scoring import evaluate_model, label_frequency_map
from keras_mlrnn.metrics.multilabel import format_report


def save_curves(run):
    """`training_curves.png`: loss and mAP per epoch, train and val."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run.history()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for key in ("loss", "val_loss"):
        if key in rows.dtype.names:
            axes[0].plot(rows["epoch"] + 1, rows[key], label=key)
    for key in ("mAP", "val_mAP"):
        if key in rows.dtype.names:
            axes[1].plot(rows["epoch"] + 1, rows[key], label=key)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(run.curves_path, dpi=80)
    plt.close(fig)


def save_run_preset(model, config, result, test_split, test_inputs, overwrite):
    """Writes the run's preset, then scores the preset as loaded and records that table."""
    from keras_mlrnn import presets

    directory = config.save_preset
    metadata = {k: result[k] for k in ("dataset", "split", "num_train_images", "num_test_images")}
    metadata["command"] = config.command
    model.save_to_preset(
        directory,
        metadata=metadata,
        overwrite=overwrite,
        weights_dtype=config.save_preset_dtype or "float32",
        shared_backbone=config.save_preset_backbone,
    )
    saved = presets.load_preset(directory)
    if config.save_preset_dtype == "float16" and not config.save_preset_backbone:
        test_inputs = None  # a rounded backbone: the cached features no longer apply
    reports = evaluate_model(saved, test_split, top_k=config.top_k, data=test_inputs)
    presets.update_metadata(directory, reports=reports)


def write_report(run, config, best, tuning, splits, fit_split, inputs, seconds, head=None):
    """Phase 7: the test tables (metrics.json / .md), the preset if asked, the curves.

    A two-stage run's table also records its head's (`head`: the first stage).
    """
    test_split = splits["test"]
    reports = evaluate_model(best, test_split, top_k=config.top_k, data=inputs["test"])
    result = {
        "model": config.model,
        "dataset": config.dataset,
        "split": "test",
        "num_train_images": int(len(fit_split.labels)),
        "num_test_images": int(len(test_split.labels)),
        "train_seconds": round(seconds["train"], 1),
        "feature_cache_seconds": seconds["cache"],
        "label_frequency_mAP": label_frequency_map(fit_split.labels, test_split.labels),
        "validation_tuning": tuning,
        "parameters": int(best.count_params()),
        "reports": reports,
        "finished": True,
    }
    if head is not None:
        result["head"] = {
            "run_dir": run.head.path,
            "image_size": head["model"].image_size,
            "train_seconds": head["metrics"]["train_seconds"],
            "reports": head["metrics"]["reports"],
        }
    run.write_metrics(result)
    with open(run.report_path, "w") as f:
        f.write(format_report(reports, title=config.model) + "\n")
    save_curves(run)
    return result
