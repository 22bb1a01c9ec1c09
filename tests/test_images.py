import numpy as np
import pytest
from PIL import Image

from keras_mlrnn.data.images import read_image, read_images


def test_modes_are_converted_to_rgb8(tmp_path):
    gray = np.array([[0, 128], [200, 255]], np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    np.testing.assert_array_equal(read_image(str(tmp_path / "gray.png")), np.stack([gray] * 3, -1))

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 90, 10  # alpha dropped, colour kept
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_image(str(tmp_path / "rgba.png"))[..., 0], 90)

    deep = np.array([[0, 65535], [257 * 100, 257 * 7]], np.uint16)  # 16-bit grayscale PNG
    Image.fromarray(deep).save(tmp_path / "deep.png")
    expected = np.array([[0, 255], [100, 7]], np.uint8)
    np.testing.assert_array_equal(read_image(str(tmp_path / "deep.png"))[..., 1], expected)

    palette = Image.fromarray(np.full((3, 3, 3), 40, np.uint8)).convert("P")
    palette.save(tmp_path / "palette.gif")
    assert read_image(str(tmp_path / "palette.gif")).shape == (3, 3, 3)


def test_resize_and_batch(tmp_path):
    Image.fromarray(np.full((10, 30, 3), 77, np.uint8)).save(tmp_path / "wide.jpg", quality=100)
    batch = read_images([str(tmp_path / "wide.jpg")] * 2, size=16)
    assert batch.shape == (2, 16, 16, 3) and batch.dtype == np.uint8
    assert abs(int(batch.mean()) - 77) <= 2
    with pytest.raises(ValueError, match="No image files"):
        read_images([], 16)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(str(tmp_path / "missing.png"))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match="junk.jpg: corrupt or truncated"):
        read_image(str(junk))
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "full.jpg"
    )
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg: corrupt or truncated"):
        read_image(str(tmp_path / "cut.jpg"))


def _with_orientation(path, pixels, orientation, kind="PNG"):
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, kind, exif=exif.tobytes(), **({"quality": 95} if kind == "JPEG" else {}))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_both_readers_turn_a_photo_upright_by_its_exif_orientation(tmp_path, orientation):
    from PIL import ImageOps

    from keras_mlrnn.data.pipeline import tf_files_dataset

    pixels = np.random.default_rng(orientation).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    pixels[:4, :16] = 255  # no symmetry: every turn gives another array
    path = str(tmp_path / "photo.png")
    _with_orientation(path, pixels, orientation)
    with Image.open(path) as stored:  # Pillow's own reading of the tag: the reference
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    assert (orientation == 1) == np.array_equal(expected, pixels)
    np.testing.assert_array_equal(read_image(path), expected)
    batch = next(iter(tf_files_dataset([path, path], image_size=32, batch_size=2)))
    np.testing.assert_array_equal(batch.numpy()[0], expected)


def test_a_real_photo_stored_sideways_is_read_upright(shared_dir, tmp_path):
    import os

    from keras_mlrnn.data.pipeline import tf_files_dataset

    photo = os.path.join(shared_dir, "data", "voc2007", "VOCdevkit", "VOC2007", "JPEGImages",
                         "000063.jpg")  # fmt: skip
    upright = np.asarray(Image.open(photo).convert("RGB"))
    sideways = np.ascontiguousarray(np.rot90(upright, k=1))  # what a phone stores, tag 6
    path = str(tmp_path / "phone.jpg")
    _with_orientation(path, sideways, 6, kind="JPEG")
    side = 128
    reference = np.asarray(Image.fromarray(upright).resize((side, side), Image.BILINEAR), float)
    read = read_image(path, side).astype(float)
    assert np.abs(read - reference).mean() < 6  # JPEG noise only
    turned_away = np.asarray(Image.fromarray(sideways).resize((side, side), Image.BILINEAR), float)
    assert np.abs(turned_away - reference).mean() > 30  # the tag matters
    batch = next(iter(tf_files_dataset([path], image_size=side, batch_size=1)))
    assert np.abs(batch.numpy()[0].astype(float) - reference).mean() < 8


def test_a_tiff_is_named_before_training_and_a_decompression_bomb_is_one_line(tmp_path):
    from keras_mlrnn.data.labeled_files import LabeledFiles

    paths = []
    for i, (kind, mode) in enumerate([("PNG", "RGB"), ("TIFF", "F")]):
        path = str(tmp_path / f"{i}.{kind.lower()}")
        pixels = np.full((8, 8), 0.5, np.float32) if mode == "F" else np.zeros((8, 8, 3), "uint8")
        Image.fromarray(pixels, mode).save(path, kind)
        paths.append(path)
    files = LabeledFiles(paths, np.eye(2, dtype="float32"), ["a", "b"], source="mine.csv")
    with pytest.raises(ValueError, match=r"1.tiff: a TIFF file, which the training pipeline"):
        files.check_images()
    assert read_image(paths[1]).shape == (8, 8, 3)  # prediction reads it (Pillow)
    bomb = str(tmp_path / "bomb.png")
    Image.new("L", (64, 64)).save(bomb)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 64 * 64 // 4  # 64x64 is now over twice the limit: a "bomb"
        with pytest.raises(ValueError, match=r"Cannot read image .*bomb.png: Image size"):
            read_image(bomb)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
