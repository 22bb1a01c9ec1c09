"""`BatchedMethod`: any per-batch method of a model, run over a dataset like `predict`.

`MultiLabelModel.predict_with(name, x)` wraps `model.<name>(images)` in one
of these, so `predict_sets`, attention maps and regions run compiled, batch
by batch, with Keras' own data handling.
"""

import keras


class Unsaved:
    """Holds an object without Keras tracking it as a sublayer."""

    def __init__(self, value):
        self.value = value


class BatchedMethod(keras.Model):
    """Wraps one of a model's per-batch methods so `predict()` runs it, compiled."""

    def __init__(self, model, method):
        super().__init__(name=f"{model.name}_{method}", dtype=model.dtype_policy)
        self.inner = model
        self.method = method
        # Built now: Keras' JAX `predict` would otherwise build it by running
        # one batch eagerly, compiling every operation on its own.
        self.build()

    def build(self, input_shape=None):
        if not self.inner.built:
            self.inner.build()
        self.built = True

    def call(self, images):
        return getattr(self.inner, self.method)(images)
