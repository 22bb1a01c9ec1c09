"""A model's backbone features: from images, or passed through as a feature cache holds them."""

from keras import ops

from keras_mlrnn.backbones import feature_extractors as backbones


class FeaturesMixin:
    """`MultiLabelModel`'s `image_features`: what every method's head reads."""

    @property
    def feature_shape(self):
        """`(h, w, D)`: the backbone's feature map for one image (what a feature cache holds)."""
        return tuple(int(d) for d in self.backbone.output_shape[1:])

    def image_features(self, images, training=False):
        """Backbone feature map `(B, h, w, D)` in the compute dtype.

        `images` are uint8 (or float [0, 255]) images `(B, S, S, 3)`, or
        feature maps the backbone already computed, `(B, *feature_shape)`
        (`keras_mlrnn.training.feature_cache`): those are used as they are, so a
        method's head trains on cached features with its own loss. A
        frozen backbone gives the same map either way.
        """
        shape = tuple(images.shape[1:])
        if shape == self.feature_shape:
            return ops.cast(images, self.compute_dtype)
        expected = (self.image_size, self.image_size, 3)
        if shape != expected:
            raise ValueError(
                f"{self.__class__.__name__} expects images of shape (B, {expected[0]}, "
                f"{expected[1]}, 3) (or backbone feature maps (B, "
                f"{', '.join(str(s) for s in self.feature_shape)})); got "
                f"(B, {', '.join(str(s) for s in shape)}). "
                "Resize them in the input pipeline or build the model with that image_size."
            )
        # Normalise in float32 (the caffe mean subtraction needs it), then
        # hand the backbone its compute dtype.
        x = backbones.preprocess(ops.cast(images, "float32"), self.preprocessing)
        return self.backbone(ops.cast(x, self.compute_dtype), training=training)
