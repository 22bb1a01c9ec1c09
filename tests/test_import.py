import os
import subprocess
import sys


def test_import_and_models_never_import_tensorflow():
    code = (
        "import sys, keras_mlrnn as km, keras_mlrnn.data, keras_mlrnn.runs, keras_mlrnn.cli\n"
        "km.OrderFreeRNN(num_classes=3, backbone='tiny', image_size=32).build()\n"
        "assert not any(m.split('.')[0] == 'tensorflow' for m in sys.modules), 'tensorflow'\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
