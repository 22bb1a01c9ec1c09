"""`SpatialTransformer`: differentiable bilinear sampling of an attended region."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mlrnn")
class SpatialTransformer(keras.layers.Layer):
    """Samples a scaled and translated window of a feature map (Jaderberg et al. 2015).

    `theta = [s_x, s_y, t_x, t_y]` is the affine map
    `M = [[s_x, 0, t_x], [0, s_y, t_y]]`. The target grid is
    `x_t, y_t = linspace(-1, 1, out)`; the source point of a target point is
    `x_s = s_x x_t + t_x`, `y_s = s_y y_t + t_y`, in normalised coordinates
    where -1 and +1 are the centres of the first and last pixel
    (`pixel = (coord + 1) * (size - 1) / 2`). Values are read by bilinear
    interpolation; points outside the map read zeros. Differentiable in the
    map and in `theta`. Coordinates are computed in float32.

    Args:
        output_size: int or (int, int). Output height and width.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        feature_map: `(B, H, W, D)`.
        theta: `(B, 4)`, `[s_x, s_y, t_x, t_y]`.

    Returns:
        `(B, out_h, out_w, D)`.

    Example:
    ```python
    import numpy as np
    st = SpatialTransformer(4)
    identity = np.array([[1.0, 1.0, 0.0, 0.0]])
    st(np.random.rand(1, 4, 4, 2), identity)   # the input itself
    ```

    Reference: Jaderberg et al., "Spatial Transformer Networks", NeurIPS 2015;
    Wang et al., "Multi-label Image Recognition by Recurrently Discovering
    Attentional Regions", ICCV 2017.
    """

    def __init__(self, output_size, **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.output_size = tuple(int(s) for s in output_size)

    def call(self, feature_map, theta):
        height, width, depth = feature_map.shape[1:]
        out_h, out_w = self.output_size
        theta = ops.cast(theta, "float32")
        grid_x = ops.convert_to_tensor(np.linspace(-1.0, 1.0, out_w, dtype="float32"))
        grid_y = ops.convert_to_tensor(np.linspace(-1.0, 1.0, out_h, dtype="float32"))
        sx, sy, tx, ty = (theta[:, i : i + 1] for i in range(4))
        # Source pixel coordinates, (B, out_w) and (B, out_h).
        px = (sx * grid_x[None, :] + tx + 1.0) * (width - 1) / 2.0
        py = (sy * grid_y[None, :] + ty + 1.0) * (height - 1) / 2.0
        x0 = ops.floor(px)
        y0 = ops.floor(py)
        wx1, wy1 = px - x0, py - y0
        # The bilinear read as a matmul: `sampling[b, target, source]` holds
        # the weight of each source pixel, so the forward and backward passes
        # are dense products (no gather, no scatter-add in the gradient).
        sampling = 0.0
        for dy, wy in ((0.0, 1.0 - wy1), (1.0, wy1)):
            for dx, wx in ((0.0, 1.0 - wx1), (1.0, wx1)):
                xs, ys = x0 + dx, y0 + dy
                inside_x = ops.cast((xs >= 0) & (xs <= width - 1), "float32")
                inside_y = ops.cast((ys >= 0) & (ys <= height - 1), "float32")
                # Corner weights (B, out_h, out_w); zero where the corner is outside.
                weight = (wy * inside_y)[:, :, None] * (wx * inside_x)[:, None, :]
                xi = ops.cast(ops.clip(xs, 0, width - 1), "int32")
                yi = ops.cast(ops.clip(ys, 0, height - 1), "int32")
                index = ops.reshape(yi[:, :, None] * width + xi[:, None, :], (-1, out_h * out_w))
                weight = ops.reshape(weight, (-1, out_h * out_w, 1))
                sampling = sampling + weight * ops.one_hot(index, height * width)
        flat = ops.reshape(feature_map, (-1, height * width, depth))
        output = ops.matmul(ops.cast(sampling, flat.dtype), flat)
        return ops.reshape(output, (-1, out_h, out_w, depth))

    def compute_output_shape(self, feature_map_shape, theta_shape):
        return (feature_map_shape[0],) + self.output_size + (feature_map_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}
