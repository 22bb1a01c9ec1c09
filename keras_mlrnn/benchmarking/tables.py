"""The benchmark's Markdown tables and its ratios to BinaryRelevance."""

RATIO_KEYS = ("train_images_per_s", "infer_images_per_s", "peak_memory_bytes")
COST_KEYS = (
    "train_flops",
    "train_bytes_accessed",
    "train_temp_bytes",
    "train_operations",
    "infer_flops",
    "infer_bytes_accessed",
    "infer_operations",
)


def add_ratios(results, keys=RATIO_KEYS):
    """Adds `<key>_ratio` = value / BinaryRelevance's at the same batch (None without one)."""
    base = {r["batch"]: r for r in results if r["method"] == "binary-relevance"}
    for r in results:
        b = base.get(r["batch"])
        for key in keys:
            r[f"{key}_ratio"] = r[key] / b[key] if b else None


def _ratio(r, key):
    return "-" if r[f"{key}_ratio"] is None else f"{r[f'{key}_ratio']:.3f}"


def cost_table(results):
    """Markdown table of cost analyses that went through `add_ratios(results, COST_KEYS)`."""
    lines = [
        "| method | batch | steps | train GFLOP/img | x BR | train GB moved | x BR "
        "| train temp MiB | x BR | train ops | x BR | infer GFLOP/img | x BR | infer GB moved "
        "| x BR | infer ops | x BR |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['batch']} | {r['steps'] or '-'} | "
            f"{r['train_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'train_flops')} | "
            f"{r['train_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'train_bytes_accessed')} | "
            f"{r['train_temp_bytes'] / 2**20:.0f} | {_ratio(r, 'train_temp_bytes')} | "
            f"{r['train_operations']} | {_ratio(r, 'train_operations')} | "
            f"{r['infer_flops'] / r['batch'] / 1e9:.2f} | {_ratio(r, 'infer_flops')} | "
            f"{r['infer_bytes_accessed'] / 1e9:.1f} | {_ratio(r, 'infer_bytes_accessed')} | "
            f"{r['infer_operations']} | {_ratio(r, 'infer_operations')} |"
        )
    return "\n".join(lines)


def profile_table(results, top=12):
    """Markdown: per method, its step times and the layers that cost the most."""
    base = {r["batch"]: r for r in results if r["method"] == "binary-relevance"}
    lines = []
    for r in results:
        train, infer = r["train"], r["infer"]
        line = (
            f"{r['method']}, batch {r['batch']}: train step {train['step_ms']:.2f} ms, "
            f"predict_sets step {infer['step_ms']:.2f} ms"
        )
        if r["batch"] in base:
            b = base[r["batch"]]
            line += (
                f" (x BR: {train['step_ms'] / b['train']['step_ms']:.3f} and "
                f"{infer['step_ms'] / b['infer']['step_ms']:.3f})"
            )
        lines += [line, "", "| layer | train ms/step | predict_sets ms/step |", "|---|---|---|"]
        both = set(train["layers"]) | set(infer["layers"])
        cost = {k: train["layers"].get(k, 0.0) + infer["layers"].get(k, 0.0) for k in both}
        for layer in sorted(both, key=lambda k: -cost[k])[:top]:
            lines.append(
                f"| {layer} | {train['layers'].get(layer, 0.0):.3f} | "
                f"{infer['layers'].get(layer, 0.0):.3f} |"
            )
        lines.append(
            f"| all operations | {train['attributed_ms']:.3f} | {infer['attributed_ms']:.3f} |"
        )
        lines.append("")
    return "\n".join(lines)


def _xla(result):
    """ "XLA" or "no XLA" as the measurement ran (Keras' own choice: `jit_compile="auto"`)."""
    if "xla" not in result:  # results written before the column existed
        return "?"
    return "XLA" if result["xla"] else "no XLA"


def timings_table(results):
    """Markdown table of results that went through `add_ratios`."""
    lines = [
        "| method | batch | train img/s | x BR | infer img/s | x BR | peak MiB | x BR | compiles "
        "| backend, XLA |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = {k: _ratio(r, k) for k in RATIO_KEYS}
        lines.append(
            f"| {r['method']} | {r['batch']} | {r['train_images_per_s']:.1f} | "
            f"{ratio['train_images_per_s']} | {r['infer_images_per_s']:.1f} | "
            f"{ratio['infer_images_per_s']} | {r['peak_memory_bytes'] / 2**20:.0f} | "
            f"{ratio['peak_memory_bytes']} | {r['compiles_after_warmup']} | "
            f"{r.get('backend', '?')}, {_xla(r)} |"
        )
    return "\n".join(lines)
