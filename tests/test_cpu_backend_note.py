"""The one line a JAX user training on a CPU reads."""


def test_a_jax_user_training_on_a_cpu_is_told_once_what_to_do():
    from keras_mlrnn.training.runs import slow_cpu_training_note

    note = slow_cpu_training_note("jax", "cpu")
    assert "\n" not in note and "KERAS_BACKEND=tensorflow" in note
    assert slow_cpu_training_note("jax", "gpu") is None
    assert slow_cpu_training_note("tensorflow", None) is None
    assert slow_cpu_training_note("torch", None) is None
