"""`keras-mlrnn benchmark`: throughput of every method beside BinaryRelevance, XLA costs, profiles.

Owns: the benchmark's processes and tables, the HLO reader, layer-by-layer profiles.
May import: `models`, `data`, `catalog`.
"""
