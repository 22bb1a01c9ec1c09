import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.large  # end to end: left out of the fast tier (-m 'not large')


def test_import_and_models_never_import_tensorflow():
    code = (
        "import sys, keras_mlrnn as km, keras_mlrnn.data, keras_mlrnn.training.runs\n"
        "import keras_mlrnn.cli.commands\n"
        "km.OrderFreeRNN(num_classes=3, backbone='tiny', image_size=32).build()\n"
        "assert not any(m.split('.')[0] == 'tensorflow' for m in sys.modules), 'tensorflow'\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_keras_mlrnn_class_defines_forward():
    """On PyTorch a Keras layer is a `torch.nn.Module`, whose `__call__` runs `forward`:
    a method of that name in our models or layers would replace the Keras call there
    (`model(x)` returned the method's output dict before the hook became `compute_outputs`).
    """
    import keras

    import keras_mlrnn as km
    from keras_mlrnn.models import MODELS

    layers = [getattr(km.layers, name) for name in dir(km.layers) if not name.startswith("_")]
    classes = list(MODELS.values()) + [c for c in layers if isinstance(c, type)]
    assert len(classes) >= 6 + 3
    for cls in classes:
        assert issubclass(cls, keras.layers.Layer), cls
        for klass in cls.__mro__:
            if klass.__module__.startswith("keras_mlrnn"):
                assert "forward" not in vars(klass), f"{klass.__qualname__} defines forward"
