"""One protocol, many methods: train each on the same data and budget over seeds, tabulate.

`compare(out_dir, models, seeds, **options)` trains every model spec for
every seed with `keras_mlrnn.training.runs.train` (same data, backbone, input size,
augmentation, epochs and optimizer), into `out_dir/<spec>/seed<k>`, skipping
runs that already finished (so an interrupted comparison resumes), then
writes `compare.json` and `compare.md`: mean +- std over seeds of every
metric under three decision rules (threshold 0.5, top-k, the method's own
`predict_sets`), with training time and parameter count. With a feature
cache, the tables end with the linear probe's mAP (`keras_mlrnn.training.probe`) next
to the label-frequency line.

A model spec is a registry name, optionally with constructor arguments for
ablations: `order-free-rnn:use_attention=false`,
`cnn-rnn:label_order=rare_first`, `region-attention-rnn:constraint_weight=0`,
`coarse-to-fine-rnn:horizontal_weight=0,vertical_weight=0`.

Example:
```python
from keras_mlrnn.training.compare import compare
compare("runs/compare", ["binary-relevance", "multi-order-rnn"], seeds=[0], epochs=1,
        train_size=256, val_size=64, test_size=128)
```
"""

import json
import os

import keras
import numpy as np

from keras_mlrnn.metrics.multilabel import REPORT_KEYS
from keras_mlrnn.models import MODELS, get_model_class
from keras_mlrnn.training import runs
from keras_mlrnn.training.run_config import RunConfig, parse_value
from keras_mlrnn.training.run_dir import RunDirectory
from keras_mlrnn.training.run_inputs import load_data


def _ablation(cli_name, arguments):
    """A model spec of `compare` ("order-free-rnn:use_attention=false") for one ablation."""
    values = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in arguments.items()]
    return f"{cli_name}:{','.join(values)}"


#: The papers' ablations (`keras-mlrnn compare --ablations`), as each method declares them.
ABLATIONS = tuple(_ablation(name, a) for name, cls in MODELS.items() for a in cls.ablations)


def parse_spec(spec):
    """`"name:key=value,key=value"` -> (name, {key: JSON value or string})."""
    name, _, arguments = spec.partition(":")
    args = {}
    for item in filter(None, arguments.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"Bad model spec {spec!r}: expected key=value after ':'.")
        args[key] = parse_value(value)
    return name, args


def _run_dir_name(spec):
    return spec.replace(":", "__").replace(",", "_").replace("=", "-")


def _run_path(out_dir, spec, seed):
    """The run directory of one spec and seed under `out_dir`."""
    return os.path.join(out_dir, _run_dir_name(spec), f"seed{seed}")


def _train_one(run_dir, spec, seed, options, command=None):
    run = RunDirectory(run_dir)
    if run.is_finished():
        return run.read_metrics()
    name, spec_args = parse_spec(spec)
    model_args = {**(options.pop("model_args", None) or {}), **spec_args}  # the spec wins
    resume = os.path.isfile(run.config_path)
    if not get_model_class(name).trains_in_stages:
        options.pop("warmup_epochs", None)  # a warm-up only for methods trained in stages
    return runs.train(
        run_dir,
        resume=resume,
        verbose=options.pop("verbose", 2),
        model=name,
        seed=seed,
        model_args=model_args or None,
        command=command,
        **options,
    )


def _aggregate(results):
    """results: list of metrics.json dicts (one per seed) -> mean/std per rule and key."""
    table = {}
    for rule in results[0]["reports"]:
        table[rule] = {}
        for key in REPORT_KEYS:
            values = np.array([r["reports"][rule][key] for r in results])
            table[rule][key] = {"mean": float(values.mean()), "std": float(values.std())}
    return table


def format_comparison(summary, keys=("mAP", "CF1", "OF1", "F1_I")):
    """Markdown tables (one per decision rule) of mean +- std in percent."""
    lines = []
    rules = list(next(iter(summary.values()))["metrics"])
    for rule in rules:
        lines += [f"### Decision rule: {rule}", ""]
        header = "| method | seeds | " + " | ".join(keys) + " | train s | parameters |"
        lines += [header, "|---" * (len(keys) + 4) + "|"]
        for spec, entry in summary.items():
            cells = " | ".join(
                f"{100 * entry['metrics'][rule][k]['mean']:.2f} +- "
                f"{100 * entry['metrics'][rule][k]['std']:.2f}"
                for k in keys
            )
            lines.append(
                f"| {spec} | {len(entry['seeds'])} | {cells} | "
                f"{entry['train_seconds']:.0f} | {entry['parameters']:,} |"
            )
        lines.append("")
    baseline = next(iter(summary.values())).get("label_frequency_mAP")
    if baseline is not None:
        lines.append(f"Label-frequency (constant) predictor mAP: {100 * baseline:.2f}")
    probe = next(iter(summary.values())).get("linear_probe_mAP")
    if probe is not None:
        lines.append(
            f"Linear probe (logistic regression, C=0.1, on the frozen backbone's average-pooled "
            f"features of the train split) mAP: {100 * probe:.2f}"
        )
    return "\n".join(lines)


def _linear_probe_map(first_run, options):
    """Test mAP of the logistic-regression probe on the first run's cached features, or None.

    None without a feature cache (the probe would need a backbone pass of its
    own) or without scikit-learn.
    """
    if not options.get("cache_features"):
        return None
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None
    from keras_mlrnn.metrics.multilabel import multilabel_report
    from keras_mlrnn.training.feature_cache import FeatureCache
    from keras_mlrnn.training.probe import linear_probe_scores

    splits = load_data(RunConfig.from_options(options))
    model = _frozen_model(first_run)
    cache = FeatureCache(options["cache_features"], model, verbose=False)
    scores = linear_probe_scores(cache, splits["train"], splits["test"])
    return multilabel_report(splits["test"].labels, scores, mask=splits["test"].mask)["mAP"]


def _parameters(result, run_dir):
    """The trained model's parameter count: its metrics.json's, or (older runs) its model's."""
    if "parameters" in result:
        return int(result["parameters"])
    return int(keras.saving.load_model(RunDirectory(run_dir).model_path).count_params())


def _frozen_model(run_dir):
    """The model whose frozen backbone the probe reads: the run's (its head, in two stages)."""
    run = RunDirectory(run_dir)
    path = run.head.model_path if os.path.isfile(run.head.model_path) else run.model_path
    return keras.saving.load_model(path)


def compare(out_dir, models, seeds=(0, 1, 2), command=None, **options):
    """Trains every model spec for every seed and writes compare.json / compare.md.

    Args:
        out_dir: str. Where runs and tables go (reused: finished runs are kept).
        models: list of model specs (registry names, optionally `name:key=value,...`).
        seeds: sequence of int. Defaults to (0, 1, 2).
        command: str or None. The command line recorded in every run.
        **options: `keras_mlrnn.training.run_config.RunConfig` options shared by every run
            (dataset, backbone, image_size, epochs, batch_size, ...).

    Returns:
        dict: spec -> {"seeds", "metrics" (rule -> key -> mean/std),
        "train_seconds" (mean), "parameters"}.
    """
    if not models:
        raise ValueError("compare needs at least one model.")
    os.makedirs(out_dir, exist_ok=True)
    if options.get("cache_features") is True:  # one cache for every method and seed
        options["cache_features"] = os.path.join(out_dir, "features")
    summary = {}
    for spec in models:
        parse_spec(spec)  # fail early on a bad spec
        results = []
        for seed in seeds:
            run_dir = _run_path(out_dir, spec, seed)
            results.append(_train_one(run_dir, spec, seed, dict(options), command))
        common = {
            "seeds": list(seeds),
            "parameters": _parameters(results[0], run_dir),
            "label_frequency_mAP": float(results[0]["label_frequency_mAP"]),
        }
        if "head" in results[0]:  # two-stage runs: the frozen head's row, then the whole model's
            head_seconds = [r["head"]["train_seconds"] for r in results]
            summary[f"{spec} (head only)"] = {
                **common,
                "metrics": _aggregate([r["head"] for r in results]),
                "train_seconds": float(np.mean(head_seconds)),
            }
        else:
            head_seconds = [0.0] * len(results)
        summary[spec] = {
            **common,
            "metrics": _aggregate(results),
            # Both stages of a two-stage run: what the model cost.
            "train_seconds": float(
                np.mean([r["train_seconds"] + h for r, h in zip(results, head_seconds)])
            ),
        }
    probe = _linear_probe_map(_run_path(out_dir, models[0], seeds[0]), options)
    for entry in summary.values():
        entry["linear_probe_mAP"] = probe
    with open(os.path.join(out_dir, "compare.json"), "w") as f:
        json.dump({"options": options, "summary": summary}, f, indent=2)
    with open(os.path.join(out_dir, "compare.md"), "w") as f:
        f.write(format_comparison(summary))
    return summary
