"""Scoring and labelling with a trained model: decision rules, 10-crop, label a collection.

Owns: scoring a split under the three decision rules, multi-crop test-time
augmentation, streaming a photo collection through a model to a file.
May import: `models`, `data`, `metrics`, `backbones`.
"""
