"""`region_constraints` (Wang et al. 2017, eqs. 9-12): scale, positive and anchor terms."""

import numpy as np
from keras import ops

# The paper's anchors for K = 5 (regions 2..5), in this order.
PAPER_ANCHORS_K5 = ((0.5, 0.5), (0.5, -0.5), (-0.5, 0.5), (-0.5, -0.5))


def default_anchors(num_regions):
    """Anchor centres `(K - 1, 2)` for regions 2..K.

    K = 5 gives the paper's four points; other K spread K - 1 points evenly
    on the circle of radius sqrt(2)/2 around the centre, from 45 degrees.
    """
    if num_regions == 5:
        return np.asarray(PAPER_ANCHORS_K5, dtype="float32")
    angles = np.deg2rad(45.0 + 360.0 * np.arange(num_regions - 1) / max(num_regions - 1, 1))
    radius = np.sqrt(2.0) / 2.0
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1).astype("float32")


def region_constraints(
    theta, anchors=None, alpha=0.5, beta=0.1, anchor_weight=0.01, positive_weight=0.1
):
    """`L_loc = l_S + anchor_weight * l_A + positive_weight * l_P`, averaged over the batch.

    For the K predicted transforms `theta[:, k] = [s_x, s_y, t_x, t_y]`:
    - scale `l_S = sum_k (max(|s_x| - alpha, 0))^2 + (max(|s_y| - alpha, 0))^2`;
    - positive `l_P = sum_k max(0, beta - s_x) + max(0, beta - s_y)`;
    - anchor `l_A = sum_{k>=2} 1/2 ((t_x - c_x)^2 + (t_y - c_y)^2)`, the first
      region free.
    Sums run over regions, the mean over images. Computed in float32.

    Args:
        theta: `(B, K, 4)` transforms.
        anchors: `(K - 1, 2)` anchor centres or None for `default_anchors(K)`.
        alpha: float. Scale bound. Defaults to 0.5.
        beta: float. Smallest scale before the positive term acts. Defaults to 0.1.
        anchor_weight: float. Defaults to 0.01.
        positive_weight: float. Defaults to 0.1.

    Returns:
        Scalar float32 tensor.

    Example:
    ```python
    import numpy as np
    theta = np.tile([[0.5, 0.5, 0.0, 0.0]], (1, 5, 1))   # (1, 5, 4)
    float(region_constraints(theta))   # only the anchor term: 0.01 * 4 * 0.25
    ```
    """
    theta = ops.cast(theta, "float32")
    num_regions = theta.shape[1]
    if anchors is None:
        anchors = default_anchors(num_regions)
    anchors = ops.convert_to_tensor(np.asarray(anchors, dtype="float32"))
    if tuple(anchors.shape) != (num_regions - 1, 2):
        raise ValueError(
            f"anchors must have shape ({num_regions - 1}, 2) for {num_regions} regions; "
            f"got {tuple(anchors.shape)}."
        )
    scales, shifts = theta[..., :2], theta[..., 2:]
    scale = ops.sum(ops.square(ops.relu(ops.abs(scales) - alpha)), axis=(1, 2))
    positive = ops.sum(ops.relu(beta - scales), axis=(1, 2))
    anchor = 0.5 * ops.sum(ops.square(shifts[:, 1:] - anchors[None]), axis=(1, 2))
    return ops.mean(scale + anchor_weight * anchor + positive_weight * positive)
