"""A model's ways out of Keras and back: export for serving, presets."""


class PortableMixin:
    """`MultiLabelModel`'s `export`, `from_preset`, `save_to_preset` (see `export`, `presets`)."""

    def export(self, filepath, format="saved_model", verbose=False, **kwargs):
        """Writes the model for serving outside Keras (`keras_mlrnn.export.formats.export_model`).

        The artifact takes uint8 images `(B, S, S, 3)` and returns `scores`
        and `sets` (the method's own decision); its class names and decision
        rule are written beside it (`serving.json`). No call is needed first.

        Args:
            filepath: str. A folder for "saved_model"; a file ending in
                `.onnx`, `.tflite` (litert) or `.xml` (openvino).
            format: str. "saved_model" (also "tf_saved_model"), "onnx",
                "litert" or "openvino". Defaults to "saved_model".
            verbose: bool. The converters' own messages. Defaults to False.

        Returns:
            dict: "path", "serving_file", "bytes", "format".

        Example:
        ```python
        model.export("br.onnx", format="onnx")
        from keras_mlrnn.export.serving import load_artifact
        scores, sets = load_artifact("br.onnx")(images)
        ```
        """
        if kwargs:
            raise ValueError(f"export takes no {', '.join(sorted(kwargs))}: the input is fixed.")
        from keras_mlrnn.export.formats import export_model

        return export_model(self, filepath, format=format, verbose=verbose)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **overrides):
        """Builds a model from a preset directory (see `keras_mlrnn.presets.loading`).

        Args:
            preset: str. A preset directory (config.json, model.weights.h5,
                metadata.json) or a built-in preset name.
            load_weights: bool. Load the preset's weights. Defaults to True.
            **overrides: constructor arguments replacing the preset's.
        """
        from keras_mlrnn import presets

        return presets.load_preset(preset, cls=cls, load_weights=load_weights, **overrides)

    def save_to_preset(self, preset_dir, metadata=None, **kwargs):
        """Writes this model as a preset directory (see `keras_mlrnn.presets.save_to_preset`).

        Keyword arguments: `overwrite`, `weights_dtype` ("float16" halves the
        file), `shared_backbone` (a backbone weights file to refer to instead
        of copying).
        """
        from keras_mlrnn import presets

        return presets.save_to_preset(self, preset_dir, metadata=metadata, **kwargs)
