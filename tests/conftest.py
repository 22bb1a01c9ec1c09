import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Compile for correctness, not speed. The test programs are tiny, so the
# compilers' optimisation passes cost more than they save: XLA's LLVM code
# generation at -O0 (JAX, and every subprocess the tests start) halves the
# JAX model tests (OrderFreeRNN's generic test 35 -> 17 s), and TensorFlow's
# graph optimiser (grappler) is off in this process (below). Both change how
# fast a program runs, never what it computes.
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]
).strip()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts with float32, a fixed seed and a clean Keras session."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()


@pytest.fixture
def shared_dir():
    """`../shared` beside the repository; the test skips where it is absent."""
    if not os.path.isdir(SHARED):
        pytest.skip("../shared is absent")
    return os.path.abspath(SHARED)


@pytest.fixture
def tiny_batch():
    """Six 32x32 scenes images and their 20-class targets."""
    from keras_mlrnn.data import load_scenes

    images, labels = load_scenes("train", num_images=6, image_size=32)
    return images, labels.astype(np.float32)


def pytest_collection_modifyitems(config, items):
    """The end-to-end (`large`) tests run first, in their collected order.

    Under `pytest -n 2` each worker then starts its long tests early, and the
    many short ones that follow even out when the two workers finish (a
    40-second test handed out last would leave the other worker idle).
    """
    items.sort(key=lambda item: item.get_closest_marker("large") is None)
