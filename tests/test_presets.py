import json
import os

import numpy as np
import pytest

import keras_mlrnn as km
from keras_mlrnn.data.coco import COCO_CLASSES
from keras_mlrnn.models import MODELS
from keras_mlrnn.presets.configs import builtin_config

TINY = dict(backbone="tiny", image_size=32)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_builtin_presets_without_weights(name):
    cls = MODELS[name]
    model = cls.from_preset("coco_paper", load_weights=False, **TINY)
    assert model.num_classes == 80 and model.class_names == list(COCO_CLASSES)
    voc = cls.from_preset("voc2007_paper", load_weights=False, **TINY)
    assert voc.class_names[0] == "aeroplane" and voc.num_classes == 20
    assert cls.from_preset("nuswide", load_weights=False, **TINY).num_classes == 81
    assert cls.from_preset("nuswide_paper", load_weights=False, **TINY).num_classes == 81
    with pytest.raises(FileNotFoundError) as error:
        cls.from_preset("coco_paper")  # a configuration: never trained weights
    message = str(error.value)
    assert "'coco_paper'" in message and "then load them as 'coco'" in message
    assert f"keras-mlrnn train --model {name} --dataset coco --data-dir" in message
    assert f"presets/coco/{name}" in message


def test_paper_configurations():
    assert builtin_config(km.OrderFreeRNN, "coco")["backbone"] == "resnet152"
    assert builtin_config(km.OrderFreeRNN, "coco_paper")["backbone_trainable"] is False
    assert builtin_config(km.OrderFreeRNN, "scenes_paper") is None
    assert builtin_config(km.RegionAttentionRNN, "voc2007")["image_size"] == 448
    assert builtin_config(km.CNNRNN, "nuswide")["min_length"] == 3
    assert "min_length" not in builtin_config(km.CNNRNN, "coco")
    assert builtin_config(km.CoarseToFineRNN, "coco")["horizontal_weight"] == 5e-2
    assert builtin_config(km.MultiOrderRNN, "scenes")["backbone"] == "tiny"
    assert builtin_config(km.MultiOrderRNN, "imagenet") is None


def test_home_directory_preset_and_sha256(tmp_path, monkeypatch, tiny_batch):
    images, _ = tiny_batch
    model = km.BinaryRelevance(num_classes=20, class_names=builtin_config(km.BinaryRelevance,
                               "scenes")["class_names"], **TINY)  # fmt: skip
    target = tmp_path / "presets" / "scenes" / "binary-relevance"
    model.save_to_preset(str(target), metadata={"dataset": "scenes"})
    monkeypatch.setenv("KERAS_MLRNN_HOME", str(tmp_path))
    loaded = km.BinaryRelevance.from_preset("scenes")
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
    with open(target / "metadata.json") as f:
        assert json.load(f)["dataset"] == "scenes"
    with open(target / "model.weights.h5", "r+b") as f:  # corrupt one byte
        f.seek(os.path.getsize(target / "model.weights.h5") // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="sha256 mismatch"):
        km.BinaryRelevance.from_preset("scenes")
    with pytest.raises(ValueError, match="holds a BinaryRelevance"):
        km.MultiOrderRNN.from_preset(str(target))


def test_coco_names_match_the_official_annotations(shared_dir):
    path = os.path.join(shared_dir, "data", "coco128", "annotations", "instances_train2017.json")
    with open(path) as f:
        categories = sorted(json.load(f)["categories"], key=lambda c: c["id"])
    assert [c["name"] for c in categories] == list(COCO_CLASSES)


def test_preset_of_a_trained_model_keeps_no_optimizer_state(tmp_path, tiny_batch):
    import h5py

    images, labels = tiny_batch
    model = km.BinaryRelevance(num_classes=20, **TINY)
    model.compile(optimizer="adam")
    model.fit(images, labels, epochs=1, verbose=0)
    preset = str(tmp_path / "preset")
    model.save_to_preset(preset)
    with h5py.File(os.path.join(preset, "model.weights.h5")) as f:
        assert "optimizer" not in f and "backbone" in f
    loaded = km.BinaryRelevance.from_preset(preset)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def test_preset_from_an_archive_url(tmp_path, monkeypatch, tiny_batch):
    import tarfile

    images, _ = tiny_batch
    model = km.CoarseToFineRNN(num_classes=20, steps=2, **TINY)
    model.save_to_preset(str(tmp_path / "my_preset"))
    archive = tmp_path / "my_preset.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "my_preset", arcname="my_preset")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache"))  # no network: a file:// URL
    loaded = km.CoarseToFineRNN.from_preset(archive.as_uri())
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )
    folder_url = (tmp_path / "my_preset").as_uri() + "/"  # a folder of the three files
    again = km.presets.load_preset(folder_url)
    assert type(again) is km.CoarseToFineRNN and again.steps == 2


def _frozen_on_file(tmp_path, cls=km.MultiOrderRNN):
    """A model whose frozen backbone was loaded from a weights file of its own."""
    donor = cls(num_classes=20, **TINY)
    donor.build()
    backbone_file = str(tmp_path / "shared" / "tiny.weights.h5")
    os.makedirs(os.path.dirname(backbone_file))
    donor.backbone.save_weights(backbone_file)
    model = cls(num_classes=20, backbone_weights=backbone_file, backbone_trainable=False, **TINY)
    model.build()
    return model, backbone_file


def test_preset_on_a_shared_backbone_file(tmp_path, tiny_batch):
    images, _ = tiny_batch
    model, backbone_file = _frozen_on_file(tmp_path)
    target = tmp_path / "presets" / "voc_tiny" / "multi-order-rnn"
    model.save_to_preset(str(target), shared_backbone=backbone_file)
    assert sorted(os.listdir(target)) == ["config.json", "head.weights.h5", "metadata.json"]
    with open(target / "config.json") as f:
        assert json.load(f)["shared_backbone"] == "../../../shared/tiny.weights.h5"
    full = tmp_path / "full"
    model.save_to_preset(str(full))
    backbone_bytes = os.path.getsize(backbone_file)
    head_bytes = os.path.getsize(target / "head.weights.h5")
    assert head_bytes < os.path.getsize(full / "model.weights.h5") - 0.9 * backbone_bytes
    loaded = km.MultiOrderRNN.from_preset(str(target))
    for ours, theirs in zip(model.weights, loaded.weights):  # backbone and head alike
        np.testing.assert_array_equal(theirs.numpy(), ours.numpy())
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
    # the backbone file is checked by its sha256 too
    with open(backbone_file, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="sha256 mismatch for .*tiny.weights.h5"):
        km.MultiOrderRNN.from_preset(str(target))


def test_a_preset_installed_apart_finds_its_shared_backbone_on_the_search_path(
    tmp_path, monkeypatch, tiny_batch
):
    import shutil

    images, _ = tiny_batch
    model, backbone_file = _frozen_on_file(tmp_path)
    made = tmp_path / "made" / "voc_tiny" / "multi-order-rnn"
    model.save_to_preset(str(made), shared_backbone=backbone_file)
    apart = tmp_path / "site" / "lib" / "voc_tiny" / "multi-order-rnn"  # no ../../../shared
    shutil.copytree(made, apart)
    with pytest.raises(FileNotFoundError, match="tiny.weights.h5"):
        km.MultiOrderRNN.from_preset(str(apart))
    home = tmp_path / "home"
    (home / "presets" / "backbones").mkdir(parents=True)
    shutil.copy(backbone_file, home / "presets" / "backbones")
    monkeypatch.setenv("KERAS_MLRNN_HOME", str(home))
    loaded = km.MultiOrderRNN.from_preset(str(apart))
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
    with open(home / "presets" / "backbones" / "tiny.weights.h5", "ab") as f:
        f.write(b"\0")  # another file of that name: refused by its sha256
    with pytest.raises(ValueError, match="sha256 mismatch"):
        km.MultiOrderRNN.from_preset(str(apart))


def test_a_backbone_that_differs_from_the_file_is_not_shared(tmp_path):
    model, backbone_file = _frozen_on_file(tmp_path, km.BinaryRelevance)
    other = km.BinaryRelevance(num_classes=20, backbone_trainable=False, **TINY)
    other.build()
    with pytest.raises(ValueError, match="backbone differs from"):
        other.save_to_preset(str(tmp_path / "p"), shared_backbone=backbone_file)
    assert not os.path.exists(tmp_path / "p")


def test_float16_preset_halves_the_file_and_rounds_the_weights(tmp_path, tiny_batch):
    images, _ = tiny_batch
    model = km.CoarseToFineRNN(num_classes=20, **TINY)
    model.build()
    model.save_to_preset(str(tmp_path / "f32"))
    model.save_to_preset(str(tmp_path / "f16"), weights_dtype="float16")
    size = {d: os.path.getsize(tmp_path / d / "model.weights.h5") for d in ("f32", "f16")}
    assert size["f16"] < 0.6 * size["f32"]
    loaded = km.CoarseToFineRNN.from_preset(str(tmp_path / "f16"))
    for ours, theirs in zip(model.weights, loaded.weights):
        expected = np.asarray(ours.numpy(), np.float32)
        if np.issubdtype(expected.dtype, np.floating):
            expected = expected.astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(theirs.numpy(), expected)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=5e-3
    )


def test_trained_preset_names_are_found_before_paper_configs(tmp_path, monkeypatch):
    model, backbone_file = _frozen_on_file(tmp_path, km.BinaryRelevance)
    target = tmp_path / "home" / "presets" / "voc2007_tiny" / "binary-relevance"
    model.save_to_preset(str(target), shared_backbone=backbone_file)
    monkeypatch.setenv("KERAS_MLRNN_HOME", str(tmp_path / "home"))
    from keras_mlrnn.presets.names import trained_presets

    assert "voc2007_tiny" in trained_presets(km.BinaryRelevance)
    assert "voc2007_tiny" not in trained_presets(km.CNNRNN)
    assert km.BinaryRelevance.from_preset("voc2007_tiny").backbone_trainable is False
    with pytest.raises(ValueError, match=r"not a preset name of CNNRNN: coco, .*voc2007_paper\.$"):
        km.CNNRNN.from_preset("voc2007_tiny")


def test_missing_metadata_warns_and_a_truncated_file_is_named(tmp_path, tiny_batch):
    model = km.BinaryRelevance(num_classes=20, **TINY)
    preset = tmp_path / "p"
    model.save_to_preset(str(preset))
    os.remove(preset / "metadata.json")
    with pytest.warns(UserWarning, match=r"model.weights.h5: no sha256.*without a checksum"):
        km.BinaryRelevance.from_preset(str(preset))
    weights = preset / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:2000])
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="probably truncated") as error:
        km.BinaryRelevance.from_preset(str(preset))
    assert str(weights) in str(error.value)


def test_a_folder_does_not_hide_a_builtin_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenes").mkdir()  # e.g. the user's images, no preset inside
    with pytest.warns(UserWarning, match="holds no preset.*built-in preset 'scenes'"):
        model = km.BinaryRelevance.from_preset("scenes")
    assert model.class_names == builtin_config(km.BinaryRelevance, "scenes")["class_names"]
    km.BinaryRelevance(num_classes=2, **TINY).save_to_preset("coco")
    with pytest.warns(UserWarning, match="Loading the preset in the folder .*coco"):
        assert km.BinaryRelevance.from_preset("coco").num_classes == 2
    mine = km.BinaryRelevance.from_preset(os.path.join(".", "coco"))  # a path: no warning
    assert mine.num_classes == 2


def test_missing_weights_error_suggests_a_home_folder():
    with pytest.raises(FileNotFoundError) as error:
        km.OrderFreeRNN.from_preset("nuswide")  # no NUS-WIDE weights ship
    message = str(error.value)
    assert "--save-preset $KERAS_MLRNN_HOME/presets/nuswide/order-free-rnn" in message
    assert "site-packages" not in message.split("Train them with")[1]
    trained = message.split("with trained weights: ")[1]
    assert "scenes" in trained and "voc2007_mobilenet_v2" in trained


def test_the_announcement_of_a_preset_without_a_test_table_leaves_the_score_out(tmp_path, capsys):
    from keras_mlrnn.presets.names import announce

    folder = tmp_path / "coco_mine" / "binary-relevance"
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({"dataset": "coco"}))
    (folder / "config.json").write_text(json.dumps({"config": {"backbone": "tiny",
                                                               "image_size": 32}}))  # fmt: skip
    announce("coco", "BinaryRelevance", str(folder))
    assert capsys.readouterr().err.strip() == (
        "BinaryRelevance.from_preset('coco'): the preset coco_mine, trained on coco (tiny, 32 px)."
        " The paper's configuration: from_preset('coco_paper')."
    )


def test_a_data_sets_name_loads_the_zoos_model_for_it_and_says_so(tmp_path, monkeypatch, capsys):
    model = km.BinaryRelevance(num_classes=80, class_names=list(COCO_CLASSES), **TINY)
    target = tmp_path / "presets" / "coco_mobilenet_v2" / "binary-relevance"
    report = {"mAP": 0.5512}
    model.save_to_preset(str(target), metadata={"dataset": "coco", "num_train_images": 367,
                         "num_test_images": 176, "reports": {"predict_sets": report}})  # fmt: skip
    monkeypatch.setenv("KERAS_MLRNN_HOME", str(tmp_path))
    capsys.readouterr()
    loaded = km.BinaryRelevance.from_preset("coco")
    assert loaded.image_size == 32 and loaded.class_names == list(COCO_CLASSES)
    line = capsys.readouterr().err.strip()
    assert line == (
        "BinaryRelevance.from_preset('coco'): the preset coco_mobilenet_v2, trained on 367 "
        "coco photos (tiny, 32 px); test mAP 55.1 on 176 photos. The paper's configuration: "
        "from_preset('coco_paper')."
    )
    km.BinaryRelevance.from_preset("coco")
    assert capsys.readouterr().err == ""  # once a process
    paper = km.BinaryRelevance.from_preset("coco_paper", load_weights=False)
    assert paper.backbone_name == "resnet101"
    with pytest.raises(ValueError) as error:
        km.BinaryRelevance.from_preset("cocoa")
    names = str(error.value).split("BinaryRelevance: ")[1]
    for name in ("coco", "coco_mobilenet_v2", "coco_paper", "nuswide_paper", "scenes"):
        assert name in names.rstrip(".").split(", ")


def test_preset_table_rows_come_from_each_presets_files(tmp_path):
    from keras_mlrnn.presets.saving import preset_table

    folder = tmp_path / "voc" / "cnn-rnn"
    folder.mkdir(parents=True)
    report = {"mAP": 0.8321, "CF1": 0.70, "OF1": 0.7512, "F1_I": 0.7}
    fixed = {**report, "CF1": 0.5, "OF1": 0.25}
    (folder / "metadata.json").write_text(json.dumps(
        {"command": "keras-mlrnn train --model cnn-rnn", "reports":
         {"predict_sets": report, "threshold 0.5": fixed}}))  # fmt: skip
    (folder / "config.json").write_text(json.dumps({"config": {"image_size": 448}}))
    (folder / "model.weights.h5").write_bytes(b"\0" * (3 * 2**20 // 2))  # 1.5 MB
    (tmp_path / "voc" / "notes").mkdir()  # a folder without a preset: no row
    lines = preset_table(str(tmp_path), "voc").splitlines()
    assert lines[0].split(" | ")[-3:] == ["px", "weights MB", "command |"]
    assert lines[2:] == [
        "| cnn-rnn | 83.21 | 70.00 | 75.12 | 50.00 | 25.00 | 448 | 1.5 | "
        "`keras-mlrnn train --model cnn-rnn` |"
    ]
