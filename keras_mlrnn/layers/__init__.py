"""Layers shared by the methods, and on-device beam search over label sequences.

May import: nothing else of keras_mlrnn.
"""

from keras_mlrnn.layers.candidate_pool_mask import CandidatePoolMask
from keras_mlrnn.layers.label_embedding import LabelEmbedding
from keras_mlrnn.layers.soft_attention import SoftAttention
from keras_mlrnn.layers.spatial_transformer import SpatialTransformer
