"""Training runs: run directory, callbacks, feature caches, two stages, processes, comparisons.

Owns: `train` (runs), its typed options (`run_config.RunConfig`) and their checks,
the run directory's files, callbacks, the feature cache, fine-tuning's whole model,
distribution, `compare`, the linear probe, loading the model a command runs.
May import: `models`, `evaluation`, `presets`, `data`, `metrics`, `backbones`, `utils`,
`catalog`, `version`. This `__init__` imports nothing, so the Keras-free modules
(`run_config`, `run_dir`) stay Keras-free.
"""
