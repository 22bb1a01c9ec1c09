"""The methods' own losses, and the per-class losses their heads can train with.

May import: nothing else of keras_mlrnn.
"""

from keras_mlrnn.losses.asymmetric import AsymmetricLoss
from keras_mlrnn.losses.joint_max_margin import JointMaxMargin
from keras_mlrnn.losses.multi_order_loss import MultiOrderLoss
from keras_mlrnn.losses.region_constraints import default_anchors, region_constraints
